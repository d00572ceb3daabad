"""The serial readiness waits of `pulumi up`: the longest chain of resources, each of which Pulumi
waits on until it is ready (a Helm chart's objects, a Deployment's rollout, an image build), linked by
dependencies. Its length is the number of readiness waits that cannot overlap."""

from __future__ import annotations

from functools import cache

from components.offline.engine import Evaluation

AWAITED = ("kubernetes:helm.sh/v4:Chart", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:PersistentVolumeClaim",
           "docker-build:index:Image", "command:local:Command")


def longest_wait_chain(ev: Evaluation) -> list[str]:
    """Names along the longest dependency chain, counting only awaited resources."""
    by_urn = {r.urn: r for r in ev.resources}

    @cache
    def chain(urn: str) -> tuple[str, ...]:
        r = by_urn[urn]
        best: tuple[str, ...] = max((chain(d) for d in r.dependencies if d in by_urn), key=lambda c: len(c),
                                    default=())
        return (*best, r.name) if r.type in AWAITED else best

    chains: list[tuple[str, ...]] = [chain(u) for u in by_urn]
    return list(max(chains, key=len)) if chains else []
