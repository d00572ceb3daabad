"""checkov (`--framework kubernetes`) over a list of Kubernetes objects: shared by the security-scan
test (the program's own objects) and `make chart-check` (the charts' rendered objects)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Optional

import yaml

from tools.engine import ROOT


def binary() -> Optional[str]:
    """checkov lives in its own venv (.venv-scan, made by `make test`); CHECKOV may point elsewhere."""
    candidates = [os.environ.get("CHECKOV"), str(ROOT / ".venv-scan" / "bin" / "checkov"), shutil.which("checkov")]
    return next((c for c in candidates if c and Path(c).exists()), None)


def scan(objects: list[dict[str, Any]], checkov: str, timeout: int = 900) -> dict[str, Any]:
    """checkov's JSON report (`summary`, `results.failed_checks`, ...) for the objects."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, obj in enumerate(objects):
            (Path(tmp) / f"{i:03d}.yaml").write_text(yaml.safe_dump(obj))
        proc = subprocess.run([checkov, "-d", tmp, "--framework", "kubernetes", "-o", "json", "--quiet"],
                              capture_output=True, text=True, timeout=timeout)
    report = json.loads(proc.stdout or "{}")
    result: dict[str, Any] = report[0] if isinstance(report, list) else report
    return result
