"""The pack's shared vocabulary: the Pulumi type tokens its rules judge, the shapes of props and
config, and the readers every rule uses (rules.py and security.py import these)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Config = Mapping[str, Any]
Props = Mapping[str, Any]

CHARTS = {"kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release"}
PEER_AUTHENTICATION = "kubernetes:security.istio.io/v1:PeerAuthentication"
TELEMETRY = "kubernetes:telemetry.istio.io/v1:Telemetry"
ROOT_NAMESPACE = "istio-system"
CONTROLLERS = {"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
               "kubernetes:batch/v1:Job"}
"""Controllers whose `spec.template` is a pod template."""
CRON_JOB = "kubernetes:batch/v1:CronJob"
EXACT_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)
"""MAJOR.MINOR.PATCH in ASCII digits; use with fullmatch (the whole value)."""


NAMESPACE = "kubernetes:core/v1:Namespace"
PRIVILEGED_NAMESPACES = ["istio-cni"]
"""Namespaces whose pods may be privileged (Pod Security `privileged`): istio-cni's node agent configures
every pod's networking. Rules take `privilegedNamespaces` to change it, with the reason in the config."""


def privileged_namespaces(config: Config) -> list[str]:
    return list(config.get("privilegedNamespaces", PRIVILEGED_NAMESPACES))
ISTIO_KINDS = {"security.istio.io": ("AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication"),
               "networking.istio.io": ("DestinationRule", "EnvoyFilter", "Gateway", "ServiceEntry", "Sidecar",
                                       "VirtualService", "WorkloadEntry", "WorkloadGroup", "ProxyConfig"),
               "telemetry.istio.io": ("Telemetry",), "extensions.istio.io": ("WasmPlugin",)}
"""Istio's kinds and groups; each is served in v1 (and older v1beta1/v1alpha3 spellings)."""
# Kinds once served in another group (Kubernetes' `extensions` group, long removed but still a
# spelling a program can send).
GROUP_ALIASES = {("extensions", k): "apps" for k in ("Deployment", "DaemonSet", "ReplicaSet")} | {
    ("extensions", "NetworkPolicy"): "networking.k8s.io", ("policy", "PodSecurityPolicy"): "policy"}
CANONICAL_VERSION = {"core": "v1", "apps": "v1", "batch": "v1", "networking.k8s.io": "v1",
                     "rbac.authorization.k8s.io": "v1", "admissionregistration.k8s.io": "v1",
                     **{g: "v1" for g in ISTIO_KINDS}}


def canonical(type_: str) -> str:
    """The pack's one spelling of a type token: any served version of a (group, kind) the pack knows
    is judged as that kind, so `kubernetes:security.istio.io/v1beta1:AuthorizationPolicy` and
    `kubernetes:extensions/v1beta1:Deployment` meet the same rules as their v1 forms."""
    head, _, kind = type_.rpartition(":")
    provider, _, group_version = head.partition(":")
    if provider != "kubernetes" or "/" not in group_version:
        return type_
    group = group_version.rsplit("/", 1)[0]
    group = GROUP_ALIASES.get((group, kind), group)
    version = CANONICAL_VERSION.get(group)
    return f"kubernetes:{group}/{version}:{kind}" if version else type_


def declared_chart(type_: str, props: Props) -> bool:
    """A chart whose declared inputs the pack can read. Under the real engine a Chart v4 is a
    component the provider constructs, registered with no inputs: the analyzer sees `{}`, and the
    chart is judged by the objects it renders (each its own resource). The offline tools (mock engine)
    and a Helm v3 Release do pass the inputs."""
    return type_ in CHARTS and "chart" in props


def name_of(props: Props) -> str:
    return str((props.get("metadata") or {}).get("name", "?"))


def environment(config: Config) -> str:
    """The stack's environment from the rule's config; unset means the strictest, prod."""
    return str(config.get("environment", "prod"))


def mesh_wide_peer_authentication(type_: str, props: Props) -> bool:
    """A PeerAuthentication in the root namespace without a selector: it sets mTLS for the whole mesh."""
    # Ref: https://istio.io/latest/docs/reference/config/security/peer_authentication/
    return (type_ == PEER_AUTHENTICATION and (props.get("metadata") or {}).get("namespace") == ROOT_NAMESPACE
            and not (props.get("spec") or {}).get("selector"))
