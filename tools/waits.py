"""The serial readiness waits of `pulumi up`: the longest chain of resources, each of which Pulumi
waits on until it is ready (a Helm chart's objects, a Deployment's rollout, an image build), linked by
dependencies. Its length is the number of readiness waits that cannot overlap."""

from __future__ import annotations

from tools.engine import Evaluation

AWAITED = ("kubernetes:helm.sh/v4:Chart", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:PersistentVolumeClaim",
           "docker-build:index:Image", "command:local:Command")


def longest_wait_chain(ev: Evaluation) -> list[str]:
    """Names along the longest dependency chain, counting only awaited resources."""
    by_urn = {r.urn: r for r in ev.resources}
    memo: dict[str, list[str]] = {}

    def chain(urn: str) -> list[str]:
        if urn not in memo:
            r = by_urn[urn]
            best: list[str] = []
            for dep in r.dependencies:
                if dep in by_urn and len(candidate := chain(dep)) > len(best):
                    best = candidate
            memo[urn] = [*best, r.name] if r.type in AWAITED else best
        return memo[urn]

    longest: list[str] = []
    for urn in by_urn:
        if len(candidate := chain(urn)) > len(longest):
            longest = candidate
    return longest
