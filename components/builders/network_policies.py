"""NetworkPolicies (pure): a default-deny ingress policy for every namespace the program creates,
plus exactly the allows the mesh needs. Each allow says what it is for.

Kubernetes always admits traffic from a pod's own node (kubelet probes, `kubectl port-forward`),
and these policies restrict ingress only: DNS and other egress are untouched.
Ref: https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# Pod labels the charts put on their pods (checked against the rendered charts by `make chart-check`).
ISTIOD = {"app": "istiod"}
GATEWAY = {"istio": "ingress"}
PROMETHEUS = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server"}
JAEGER = {"app.kubernetes.io/name": "jaeger"}
GRAFANA = {"app.kubernetes.io/name": "grafana"}
KIALI = {"app.kubernetes.io/name": "kiali"}
ALERTMANAGER = {"app.kubernetes.io/name": "alertmanager"}
# Ref: https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
PROXY_METRICS = (15020, 15090)
ANYWHERE = "*"


def peer(source: str) -> dict[str, Any]:
    """A namespace name, a CIDR (`10.0.0.0/8`), or `*` for every namespace."""
    if source == ANYWHERE:
        return {"namespaceSelector": {}}
    if "/" in source:
        return {"ipBlock": {"cidr": source}}
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": source}}}


# Namespaces in the mesh: labelled for injection by the default revision or by a named one.
# Ref: https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy
MESH_NAMESPACES = (
    {"namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}},
    {"namespaceSelector": {"matchExpressions": [{"key": "istio.io/rev", "operator": "Exists"}]}},
)


def scraping(scrapers: Sequence[str]) -> list[dict[str, Any]]:
    """Who may scrape a metrics port: the stack's own Prometheus pods (in the first scraper, its
    namespace), then each configured outside source (a namespace or CIDR)."""
    own, *others = scrapers
    return [pods(PROMETHEUS, own), *(peer(s) for s in others)]


def pods(labels: dict[str, str], namespace: str | None = None) -> dict[str, Any]:
    """Pods with `labels` (in `namespace`, else in the policy's own namespace)."""
    selector: dict[str, Any] = {"podSelector": {"matchLabels": dict(labels)}}
    if namespace is not None:
        selector["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    return selector


def rule(ports: Iterable[int], sources: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Admit `ports` from `sources`; None = from anywhere, including outside the cluster."""
    out: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": p} for p in ports]}
    if sources is not None:
        out["from"] = list(sources)
    return out


def policy(name: str, namespace: str, selector: dict[str, str], rules: list[dict[str, Any]],
           purpose: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "annotations": {"mesh/purpose": purpose}},
        "spec": {"podSelector": {"matchLabels": selector} if selector else {}, "policyTypes": ["Ingress"],
                 "ingress": rules},
    }


def default_deny(namespace: str) -> dict[str, Any]:
    """Every pod in the namespace is isolated for ingress; only the allows below admit traffic."""
    return policy("default-deny-ingress", namespace, {}, [], "deny all ingress not allowed by another policy")


def control_plane(namespace: str, scrapers: Sequence[str], observability: str) -> list[dict[str, Any]]:
    """istio-system: the API server reaches the webhooks, every proxy reaches xDS and the CA."""
    return [
        default_deny(namespace),
        policy("istiod", namespace, ISTIOD, [
            # The API server calls the validating and injecting webhooks. Its address is not a pod's and
            # differs per platform (a node's address on kubeadm and kind, the managed control plane's
            # range on GKE, EKS and AKS), so the port admits any source; the webhooks serve only TLS
            # with istiod's own CA.
            rule([15017]),
            # Every injected proxy (a mesh namespace) fetches config (xDS) and its certificate (CA).
            rule([15012], list(MESH_NAMESPACES)),
            # Prometheus scrapes istiod; Kiali reads its status (15014) and debug endpoints (8080).
            rule([15014], scraping(scrapers)),
            rule([15014, 8080], [pods(KIALI, observability)]),
        ], "webhooks from the API server, xDS and CA from the mesh's proxies, metrics and Kiali"),
    ]


def ingress_gateway(namespace: str, scrapers: Sequence[str]) -> list[dict[str, Any]]:
    """istio-ingress: the world reaches the gateway; Prometheus its proxy metrics."""
    return [
        default_deny(namespace),
        policy("gateway", namespace, GATEWAY, [
            rule([80, 443, 15021]),  # public traffic and the load balancer's health checks
            rule(PROXY_METRICS, scraping(scrapers)),
        ], "public traffic to the gateway, its metrics to Prometheus"),
    ]


def observability(namespace: str, scrapers: Sequence[str], ingress: str | None,
                  exposed: Iterable[str]) -> list[dict[str, Any]]:
    """The addons: sidecars send spans, Kiali and Grafana read, the ingress serves exposed dashboards."""
    via_ingress = [peer(ingress)] if ingress else []
    exposed = set(exposed)
    return [
        default_deny(namespace),
        policy("jaeger", namespace, JAEGER, [
            rule([4317, 4318], list(MESH_NAMESPACES)),  # OTLP spans from the sidecars (mesh namespaces)
            rule([16685, 16686], [pods(KIALI)]),  # Kiali queries traces
            rule([8888], [pods(PROMETHEUS)]),  # the collector's own metrics
        ], "spans from sidecars, queries from Kiali, metrics to Prometheus"),
        policy("prometheus", namespace, PROMETHEUS, [
            rule([9090], [pods(KIALI), pods(GRAFANA)]),
        ], "queries from Kiali and Grafana"),
        policy("alertmanager", namespace, ALERTMANAGER, [
            rule([9093], [pods(PROMETHEUS)]),  # Prometheus sends alerts (selects nothing while Alertmanager is off)
        ], "alerts from Prometheus"),
        policy("grafana", namespace, GRAFANA, [
            rule([3000], [pods(KIALI), *(via_ingress if "grafana" in exposed else [])]),
        ], "Kiali lists dashboards; people come through the ingress when exposed, else port-forward"),
        policy("kiali", namespace, KIALI, [
            rule([9090], [pods(PROMETHEUS)]),  # Kiali's own metrics (the chart annotates its pod for scraping)
            *([rule([20001], via_ingress)] if "kiali" in exposed and ingress else []),
        ], "people come through the ingress when exposed, else port-forward; metrics to Prometheus"),
    ]
