"""The policy pack's pure rules (policy/rules.py), for the offline tools that judge resources."""

from __future__ import annotations

import json
import sys
from typing import Any

from tools.engine import ROOT

POLICY = ROOT / "policy"


def rules() -> Any:
    """policy/rules.py (the pack imports its siblings by bare name, so policy/ goes on the path)."""
    if str(POLICY) not in sys.path:
        sys.path.insert(0, str(POLICY))
    import rules as module

    return module


def stack_config(stack: str) -> dict[str, Any]:
    """The pack's config for a stack (policy/config.<stack>.json)."""
    config: dict[str, Any] = json.loads((POLICY / f"config.{stack}.json").read_text())
    return config
