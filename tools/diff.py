"""Compare two evaluations of the program: which resources change, which Deployments roll."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tools.engine import Evaluation, Registered

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _inputs(r: Registered) -> str:
    return json.dumps(r.inputs, sort_keys=True)


def _template(r: Registered) -> str:
    return json.dumps(r.inputs.get("spec", {}).get("template"), sort_keys=True)


@dataclass(frozen=True)
class Change:
    """Resource names (not URNs) changed, added or removed, and Deployments whose pod template changed."""

    changed: frozenset[str]
    rolled: frozenset[str]


def compare(before: Evaluation, after: Evaluation) -> Change:
    """What `pulumi up` would touch going from `before` to `after` (by inputs; outputs are mocks)."""
    old = {r.urn: r for r in before.resources}
    new = {r.urn: r for r in after.resources}
    both = old.keys() & new.keys()
    changed = {new[u].name for u in both if _inputs(new[u]) != _inputs(old[u])}
    changed |= {new[u].name for u in new.keys() - old.keys()} | {old[u].name for u in old.keys() - new.keys()}
    rolled = {new[u].name for u in both if new[u].type == DEPLOYMENT and _template(new[u]) != _template(old[u])}
    return Change(frozenset(changed), frozenset(rolled))
