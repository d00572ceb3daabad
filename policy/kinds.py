"""The pack's shared vocabulary: the Pulumi type tokens its rules judge, the shapes of props and
config, what each environment allows (`environments.json`), and the readers every rule uses
(rules.py and security.py import these)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml  # PyYAML, a dependency of the pulumi SDK the pack already installs

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


PROGRAM_ROOT = Path(__file__).resolve().parents[1]
"""The Pulumi program's directory: Pulumi resolves a relative FileAsset path from there."""


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of two values maps: `over` wins, maps merge key by key, null deletes a key."""
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _asset(asset: Any) -> tuple[str | None, str]:
    """(text, label) of a FileAsset (path relative to the program) or StringAsset, as the analyzer hands
    it over (a pulumi Asset object) or as the wire format spells it (a dict); text None if the pack
    cannot read it (a RemoteAsset, a missing file)."""
    def field(key: str) -> Any:
        return asset.get(key) if isinstance(asset, Mapping) else getattr(asset, key, None)

    if isinstance(field("text"), str):
        return str(field("text")), "an inline values file"
    path, uri = field("path"), field("uri")
    if not isinstance(path, str):
        return None, f"remote values file {uri}" if uri else "a values file of unknown shape"
    try:
        return (PROGRAM_ROOT / path).read_text(), f"values file {path}"  # an absolute path stays absolute
    except (OSError, UnicodeDecodeError):
        return None, f"values file {path} (not readable from {PROGRAM_ROOT})"


def chart_values(props: Props) -> tuple[Mapping[str, Any], list[str]]:
    """The values a chart renders with, merged as Helm merges them (each of `valueYamlFiles` in order,
    then `values` on top), and each values file the pack could not read: rules judge the merged
    values, and strict-values reports what no rule could judge."""
    # Ref: https://www.pulumi.com/registry/packages/kubernetes/api-docs/helm/v4/chart/#inputs (valueYamlFiles)
    merged: dict[str, Any] = {}
    unreadable: list[str] = []
    for asset in props.get("valueYamlFiles") or []:
        text, label = _asset(asset)
        try:
            loaded = yaml.safe_load(text) if text is not None else None
        except yaml.YAMLError:
            text, label = None, f"{label} (not YAML)"
        if text is None or not isinstance(loaded, Mapping | None):
            unreadable.append(label)
        elif loaded:
            merged = _merge(merged, loaded)
    values = props.get("values") or {}
    return (_merge(merged, values) if isinstance(values, Mapping) else merged), unreadable


def name_of(props: Props) -> str:
    return str((props.get("metadata") or {}).get("name", "?"))


def environment(config: Config) -> str:
    """The stack's environment from the rule's config; unset means the strictest, prod."""
    return str(config.get("environment", "prod"))


POSTURES: dict[str, dict[str, Any]] = json.loads((Path(__file__).parent / "environments.json").read_text())
"""What each environment allows: written by `make docs` from the program's components/vocab/environments.py,
the one table the config rules judge by too (the pack is published on its own, so it reads a copy)."""


def posture(config: Config) -> dict[str, Any]:
    """The row of the rule's environment; an environment the table lacks gets prod's, the strictest."""
    return POSTURES.get(environment(config), POSTURES["prod"])


def mesh_wide_peer_authentication(type_: str, props: Props) -> bool:
    """A PeerAuthentication in the root namespace without a selector: it sets mTLS for the whole mesh."""
    # Ref: https://istio.io/latest/docs/reference/config/security/peer_authentication/
    return (type_ == PEER_AUTHENTICATION and (props.get("metadata") or {}).get("namespace") == ROOT_NAMESPACE
            and not (props.get("spec") or {}).get("selector"))
