"""The blast radius of typical changes: each must touch only its expected set of resources.

Used by the benchmark's table and by the tests (no timing involved).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from tools.diff import compare
from tools.engine import Evaluation, evaluate

INJECTED = frozenset({"gateway-deployment", "authority-deployment", "catalog-deployment", "customer-deployment",
                      "item-deployment", "db-deployment"})
_PROXY = {"requests": {"cpu": "60m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}

# name -> (stack, patch, expected changed resource names, expected rolled Deployments).
# The image tag change runs on staging: on dev images are built from a pinned commit instead.
CHANGES: dict[str, tuple[str, dict[str, Any], frozenset[str], frozenset[str]]] = {
    "trace sampling 100 -> 50": ("dev", {"istio": {"tracing": {"sampling": 50}}},
                                 frozenset({"istio-telemetry"}), frozenset()),
    "one image tag (item, staging)": ("staging", {"workloads": {"services": {"item": {"image": {"tag": "v2"}}}}},
                                      frozenset({"item-deployment"}), frozenset({"item-deployment"})),
    "one service's replicas 1 -> 2 (item)": ("dev", {"workloads": {"services": {"item": {"replicas": 2}}}},
                                             frozenset({"item-deployment", "item-pdb"}), frozenset()),
    "proxy resources": ("dev", {"istio": {"proxy": {"resources": _PROXY}}},
                        frozenset({"istio-istiod", "ingress-chart", *INJECTED}), INJECTED),
    "Istio version 1.31.4 -> 1.31.5": ("dev", {"istio": {"version": "1.31.5", "allowUnknownVersion": True}},
                                       frozenset({"istio-base", "istio-istiod", "istio-cni", "ingress-chart",
                                                  *INJECTED}), INJECTED),
    "Kiali auth anonymous -> token": ("dev", {"observability": {"kiali": {"auth": {"strategy": "token"}}}},
                                      frozenset({"observability-kiali-chart"}), frozenset()),
    "Prometheus retention 2d -> 7d": ("dev", {"observability": {"prometheus": {"retention": "7d"}}},
                                      frozenset({"observability-prometheus-chart"}), frozenset()),
}


@dataclass(frozen=True)
class Row:
    changed: frozenset[str]
    rolled: frozenset[str]
    expected: frozenset[str]
    expected_rolls: frozenset[str]

    @property
    def ok(self) -> bool:
        return self.changed <= self.expected and self.rolled <= self.expected_rolls


@cache
def baseline(stack: str) -> Evaluation:
    return evaluate(stack)


def measure_change(name: str) -> Row:
    stack, patch, expected, expected_rolls = CHANGES[name]
    change = compare(baseline(stack), evaluate(stack, patch))
    return Row(change.changed, change.rolled, expected, expected_rolls)
