"""Istio's own names, used by every layer: the root namespace the control plane lives in, the
trust domain and the workload identity (principal) mTLS certificates carry."""

from __future__ import annotations

ROOT_NAMESPACE = "istio-system"
"""The control plane's namespace, Istio's root namespace (mesh-wide policy lives here)."""
CNI_NAMESPACE = "istio-cni"
"""istio-cni's node agent: the one namespace whose pods are privileged (they configure pod networking)."""
TRUST_DOMAIN = "cluster.local"


CLUSTER_DOMAIN = "cluster.local"
"""Kubernetes' cluster DNS domain (Service names resolve under `<svc>.<ns>.svc.<domain>`)."""


def service_host(service: str, namespace: str) -> str:
    """A Service's in-cluster DNS name."""
    return f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}"


def principal(namespace: str, service_account: str) -> str:
    """The SPIFFE identity Istio gives a workload's mTLS certificate (`<trust domain>/ns/<ns>/sa/<sa>`)."""
    # Ref: https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"
