"""What a snapshot of one stack means for the mesh (pure): edges per layer, mTLS, exposure, telemetry,
charts, pod templates, immutable fields, policy violations. `explain` compares two of these."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from components.builders.istio_values import RESTART_HASH_ANNOTATION
from components.builders.network_policies import PROXY_METRICS
from tools import pack

PRINCIPAL = re.compile(r"[^/]+/ns/([^/]+)/sa/[^/]+")
# Fields Kubernetes refuses to change in place: the resource is deleted and created again.
# Ref: https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#label-selector-updates
IMMUTABLE = {
    "Deployment": ("spec.selector",),
    "Service": ("spec.clusterIP",),
    "PersistentVolumeClaim": ("spec.storageClassName", "spec.accessModes"),
}


@dataclass
class Facts:
    authz_edges: set[tuple[str, str, str]] = field(default_factory=set)
    netpol_edges: set[tuple[str, str, str]] = field(default_factory=set)
    mtls: dict[str, str] = field(default_factory=dict)
    hosts: set[str] = field(default_factory=set)
    routes: set[str] = field(default_factory=set)
    access: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, str] = field(default_factory=dict)
    pod_templates: dict[str, dict[str, str]] = field(default_factory=dict)
    immutable: set[tuple[str, str]] = field(default_factory=set)
    resources: set[str] = field(default_factory=set)
    violations: set[str] = field(default_factory=set)


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _kind(r: dict[str, Any]) -> str:
    return str(r["type"]).rsplit(":", 1)[-1]


def _ports(ports: Any) -> str:
    return ",".join(sorted({str(int(float(p))) for p in ports or []}, key=int))


def _authz(r: dict[str, Any], f: Facts) -> None:
    spec, ns = r["inputs"].get("spec") or {}, r["inputs"]["metadata"]["namespace"]
    if spec.get("action", "ALLOW") != "ALLOW":
        return
    for rule in spec.get("rules") or []:
        ports = _ports([p for t in rule.get("to") or [] for p in (t.get("operation") or {}).get("ports") or []])
        for source in rule.get("from") or []:
            for principal in (source.get("source") or {}).get("principals") or []:
                match = PRINCIPAL.fullmatch(principal)
                f.authz_edges.add((match.group(1) if match else principal, ns, ports))


def _netpol(r: dict[str, Any], f: Facts) -> None:
    spec, ns = r["inputs"].get("spec") or {}, r["inputs"]["metadata"]["namespace"]
    if ((spec.get("podSelector") or {}).get("matchLabels") or {}).get("app") != ns:
        return  # a service's own policy (app=<its namespace>) carries the call graph; the rest is infrastructure
    for rule in spec.get("ingress") or []:
        ports = {int(float(p["port"])) for p in rule.get("ports") or []}
        if ports <= set(PROXY_METRICS):
            continue
        for peer in rule.get("from") or []:
            source = ((peer.get("namespaceSelector") or {}).get("matchLabels") or {}).get("kubernetes.io/metadata.name")
            if source:
                f.netpol_edges.add((source, ns, _ports(ports)))


def _mtls(r: dict[str, Any], f: Facts) -> None:
    meta, spec = r["inputs"]["metadata"], r["inputs"].get("spec") or {}
    where = f"{_kind(r)} {meta.get('namespace')}/{meta.get('name')}"
    if _kind(r) == "PeerAuthentication":
        f.mtls[where] = str((spec.get("mtls") or {}).get("mode", "UNSET"))
        for port, mode in (spec.get("portLevelMtls") or {}).items():
            f.mtls[f"{where} port {port}"] = str((mode or {}).get("mode"))
    else:
        f.mtls[where] = str(((spec.get("trafficPolicy") or {}).get("tls") or {}).get("mode", "ISTIO_MUTUAL"))


def _pod_template(r: dict[str, Any], f: Facts) -> None:
    template = _get(r["inputs"], "spec.template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    rest = json.loads(json.dumps(template))
    for c in (rest.get("spec") or {}).get("containers") or []:
        for key in ("image", "resources", "env"):
            c.pop(key, None)
    (rest.get("metadata") or {}).pop("annotations", None)
    f.pod_templates[r["name"]] = {
        "image": json.dumps([c.get("image") for c in containers]),
        "proxy config hash": str(annotations.get(RESTART_HASH_ANNOTATION)),
        "resources": json.dumps([c.get("resources") for c in containers], sort_keys=True),
        "env": json.dumps([c.get("env") for c in containers], sort_keys=True),
        "pod template": json.dumps(rest, sort_keys=True),
    }


def _chart(r: dict[str, Any], f: Facts) -> None:
    inputs = r["inputs"]
    release, values = inputs.get("name"), inputs.get("values") or {}
    f.charts[str(release)] = str(inputs.get("version"))
    if release == "kiali":
        f.access["Kiali auth"] = (values.get("auth") or {}).get("strategy")
    if release == "grafana":
        f.access["Grafana anonymous"] = ((values.get("grafana.ini") or {}).get("auth.anonymous") or {}).get("enabled")
    if release == "istio-ingress":  # its pods are injected: they roll with the proxy config
        f.pod_templates["istio-ingress (gateway chart)"] = {
            "proxy config hash": str((values.get("podAnnotations") or {}).get(RESTART_HASH_ANNOTATION))}
    if release == "istiod":
        mesh = values.get("meshConfig") or {}
        f.telemetry["access log encoding"] = mesh.get("accessLogEncoding")
        f.telemetry["outbound traffic policy"] = (mesh.get("outboundTrafficPolicy") or {}).get("mode")


def _violations(stack: str, resources: list[dict[str, Any]]) -> set[str]:
    """The policy pack (this checkout's rules) over the snapshot's resources."""
    declared = [(r["type"], r["inputs"]) for r in resources]
    return {message for _, message in pack.rules().violations(declared, pack.stack_config(stack))}


def facts(stack: str, snap: dict[str, Any]) -> Facts:
    f = Facts()
    for r in snap["resources"]:
        kind = _kind(r)
        if r["type"].startswith("kubernetes:") and kind != "Chart":
            f.resources.add(f"{kind} {r['name']}")
        if kind == "AuthorizationPolicy":
            _authz(r, f)
        elif kind == "NetworkPolicy":
            _netpol(r, f)
        elif kind in ("PeerAuthentication", "DestinationRule"):
            _mtls(r, f)
        elif kind == "Gateway":
            f.hosts |= {h for s in _get(r["inputs"], "spec.servers") or [] for h in s.get("hosts") or []}
        elif kind == "VirtualService":
            dest = [d["destination"]["host"] for h in _get(r["inputs"], "spec.http") or [] for d in h.get("route") or []]
            f.routes.add(f"{','.join(_get(r['inputs'], 'spec.hosts') or [])} -> {','.join(dest)}")
        elif kind == "Telemetry":
            tracing = (_get(r["inputs"], "spec.tracing") or [{}])[0]
            logging = (_get(r["inputs"], "spec.accessLogging") or [{}])[0]
            f.telemetry["trace sampling %"] = tracing.get("randomSamplingPercentage")
            f.telemetry["access logs"] = "off" if logging.get("disabled") else "on"
        elif kind == "Deployment":
            _pod_template(r, f)
        elif kind == "Chart":
            _chart(r, f)
        for path in IMMUTABLE.get(kind, ()):
            f.immutable.add((r["name"], f"{path}={json.dumps(_get(r['inputs'], path), sort_keys=True)}"))
    for addon, where in (snap.get("outputs", {}).get("dashboards") or {}).items():
        f.access[f"{addon} dashboard"] = where if str(where).startswith("http") else "port-forward only"
    f.violations = _violations(stack, snap["resources"])
    return f
