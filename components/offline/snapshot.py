"""A canonical JSON dump of every stack's evaluation, to prove a refactoring changed nothing.

    python -m components.offline.snapshot > before.json   # at the old commit
    python -m components.offline.snapshot > after.json    # at the new one; then cmp the two

Per resource: URN, type, inputs, parent, dependencies, provider, ignoreChanges, transforms and
which inputs are secret; per stack: the outputs and which are secret.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from components.offline.engine import STACKS, Evaluation, evaluate


def snapshot(ev: Evaluation) -> dict[str, Any]:
    resources = [{"urn": r.urn, "type": r.type, "inputs": r.inputs, "parent": r.parent,
                  "deps": sorted(r.dependencies), "provider": r.provider, "ignore": sorted(r.ignore_changes),
                  "transforms": r.transforms, "secret": sorted(r.secret_paths)} for r in ev.resources]
    return {"resources": sorted(resources, key=lambda d: d["urn"]), "outputs": ev.outputs,
            "secret_outputs": sorted(ev.secret_outputs)}


if __name__ == "__main__":
    json.dump({s: snapshot(evaluate(s)) for s in STACKS}, sys.stdout, sort_keys=True, indent=1, default=str)
