"""What `make e2e-local` checks, as pure functions over objects read from the API server, and the
result lines it prints (one per check, then `e2e: N checks, M failed`). Unit-tested in CI."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Object = dict[str, Any]
Key = tuple[str, str, str, str]
"""(apiVersion group/version, kind, namespace, name)."""

EPHEMERAL = {"Event", "Lease", "Endpoints", "EndpointSlice", "TokenReview", "SubjectAccessReview",
             "SelfSubjectAccessReview", "ControllerRevision", "ComponentStatus"}
"""Kinds the control plane itself writes and rewrites; not the program's."""


@dataclass
class Results:
    lines: list[str] = field(default_factory=list)
    failed: int = 0

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        line = f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}"
        self.lines.append(line[:600])
        print(self.lines[-1], flush=True)
        self.failed += 0 if ok else 1
        return ok

    def summary(self) -> str:
        return f"e2e: {len(self.lines)} checks, {self.failed} failed"


def key(obj: Object) -> Key:
    meta = obj.get("metadata") or {}
    return (str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(meta.get("namespace") or ""),
            str(meta.get("name", "")))


def leftovers(before: Iterable[Object], after: Iterable[Object]) -> list[Key]:
    """Objects present after `destroy` that were not there before `up` (ephemeral kinds aside)."""
    seen = {key(o) for o in before}
    return sorted(k for k in (key(o) for o in after) if k not in seen and k[1] not in EPHEMERAL)


ISTIOD_WRITES = {"istio-ca-root-cert", "istio-ca-crl"}
"""ConfigMaps istiod's namespace controller writes into every namespace it watches, at run time."""


def runtime_writes(left: list[Key], owned: set[str]) -> tuple[list[Key], list[Key]]:
    """Split leftovers into (the program's, istiod's own writes in namespaces the program does not own).
    The second kind is not something the program declared or a chart rendered: istiod writes its root
    certificate into every namespace; in a namespace the stack deletes it goes with the namespace."""
    theirs = [k for k in left if k[1] == "ConfigMap" and k[3] in ISTIOD_WRITES and k[2] not in owned]
    return [k for k in left if k not in theirs], theirs


def created(before: Iterable[Object], after: Iterable[Object]) -> list[Key]:
    """What `up` added (ephemeral kinds aside)."""
    return leftovers(before, after)


def injected(pod: Object) -> bool:
    """The pod carries istiod's `istio-proxy` (a native sidecar init container or a container)."""
    spec = pod.get("spec") or {}
    names = {c.get("name") for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]}
    return "istio-proxy" in names


def privileged(pod: Object) -> bool:
    """Any container of the pod privileged, adding capabilities, or on the host's network or PID space."""
    spec = pod.get("spec") or {}
    if spec.get("hostNetwork") or spec.get("hostPID"):
        return True
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        sc = c.get("securityContext") or {}
        if sc.get("privileged") or ((sc.get("capabilities") or {}).get("add")):
            return True
    return False


def mesh_namespaces(namespaces: Iterable[Object]) -> list[str]:
    """Namespaces labelled for sidecar injection (default revision or a revision label)."""
    out = []
    for ns in namespaces:
        labels = (ns.get("metadata") or {}).get("labels") or {}
        if labels.get("istio-injection") == "enabled" or "istio.io/rev" in labels:
            out.append(ns["metadata"]["name"])
    return sorted(out)


def rollout_state(deployments: Iterable[Object], replicasets: Iterable[Object]) -> dict[str, str]:
    """'namespace/deployment' -> the name of its newest ReplicaSet (by revision annotation)."""
    newest: dict[str, tuple[int, str]] = {}
    for rs in replicasets:
        meta = rs["metadata"]
        owner = next((o["name"] for o in meta.get("ownerReferences") or [] if o.get("kind") == "Deployment"), None)
        if owner is None:
            continue
        revision = int((meta.get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))
        name = f"{meta['namespace']}/{owner}"
        if revision >= newest.get(name, (-1, ""))[0]:
            newest[name] = (revision, meta["name"])
    known = {f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in deployments}
    return {name: rs for name, (_, rs) in sorted(newest.items()) if name in known}


def rolled(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Deployments whose newest ReplicaSet changed (a new pod template), or that appeared."""
    return sorted(name for name, rs in after.items() if before.get(name) != rs)


def pod_uids(pods: Iterable[Object]) -> set[str]:
    return {p["metadata"]["uid"] for p in pods}


def not_ready(deployments: Iterable[Object]) -> list[str]:
    """Deployments whose ready replicas are short of what they ask for."""
    out = []
    for d in deployments:
        want = (d.get("spec") or {}).get("replicas", 1)
        have = (d.get("status") or {}).get("readyReplicas", 0)
        if have < want:
            out.append(f"{d['metadata']['namespace']}/{d['metadata']['name']} {have}/{want}")
    return out


def failed_creates(replicasets: Iterable[Object]) -> list[str]:
    """ReplicaSets whose pods the API server refused (admission: Pod Security, webhooks, quota)."""
    out = []
    for rs in replicasets:
        for cond in (rs.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
                out.append(f"{rs['metadata']['namespace']}/{rs['metadata']['name']}: {cond.get('message', '')[:200]}")
    return out


def describe(keys: list[Key], limit: int = 8) -> str:
    shown = ", ".join(f"{k[1]} {k[2] + '/' if k[2] else ''}{k[3]}" for k in keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")
