"""The restricted pod security standard, for every pod template the program writes or a chart renders
(the policy pack requires it): one home for the security contexts.
Ref: https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"""

from __future__ import annotations

from typing import Any

SECCOMP = {"type": "RuntimeDefault"}
RESTRICTED_CONTAINER: dict[str, Any] = {
    "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": SECCOMP,
}
"""A container context that runs as the image's own non-root user."""


def restricted_container(uid: int) -> dict[str, Any]:
    """The restricted container context, running as `uid`."""
    return {**RESTRICTED_CONTAINER, "runAsUser": uid, "runAsGroup": uid}


def restricted_pod(uid: int) -> dict[str, Any]:
    """A pod security context running as `uid` (the image's own non-root user) with RuntimeDefault seccomp."""
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid, "seccompProfile": SECCOMP}


PSA_MODES = ("enforce", "audit", "warn")


def pod_security_labels(level: str, kubernetes_version: str) -> dict[str, str]:
    """Pod Security Admission labels: `level` enforced, audited and warned, each pinned to the
    stack's Kubernetes minor (a cluster upgrade does not silently tighten or loosen the standard).
    Ref: https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces"""
    labels: dict[str, str] = {}
    for mode in PSA_MODES:
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = f"v{kubernetes_version}"
    return labels
