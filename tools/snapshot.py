"""A canonical JSON dump of every stack's evaluation: to prove a refactoring changed nothing, and the
input of `make explain`.

    python tools/snapshot.py [--root DIR] > snapshot.json

`--root` evaluates another checkout (e.g. a git worktree of the base commit) with this engine: the
engine is loaded from this file's directory, the program and its `components` from DIR.
Per resource: URN, type, name, inputs, parent, dependencies, provider, ignoreChanges, transforms and
which inputs are secret; per stack: outputs and which are secret, or the error the program raised.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any


def _engine() -> Any:
    """This directory's engine.py, under a name of its own (another checkout's `components` may differ)."""
    spec = importlib.util.spec_from_file_location("mesh_offline_engine", Path(__file__).with_name("engine.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mesh_offline_engine"] = module
    spec.loader.exec_module(module)
    return module


def snapshot(ev: Any) -> dict[str, Any]:
    if ev.error is not None:
        return {"error": str(ev.error), "resources": [], "outputs": {}, "secret_outputs": []}
    resources = [{"urn": r.urn, "type": r.type, "name": r.name, "inputs": r.inputs, "parent": r.parent,
                  "deps": sorted(r.dependencies), "provider": r.provider, "ignore": sorted(r.ignore_changes),
                  "transforms": r.transforms, "secret": sorted(r.secret_paths)} for r in ev.resources]
    return {"resources": sorted(resources, key=lambda d: d["urn"]), "outputs": ev.outputs,
            "secret_outputs": sorted(ev.secret_outputs)}


def snapshot_all(root: Path) -> dict[str, Any]:
    engine = _engine()
    sys.path.insert(0, str(root))
    out = {}
    for stack in engine.STACKS:
        try:
            out[stack] = snapshot(engine.attempt(stack, root=root))
        except engine.StackFileError as err:  # a stack file the CLI would refuse: said, not a traceback
            out[stack] = {"error": str(err), "resources": [], "outputs": {}, "secret_outputs": []}
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    json.dump(snapshot_all(args.root.resolve()), sys.stdout, sort_keys=True, indent=1, default=str)
