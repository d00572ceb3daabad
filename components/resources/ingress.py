"""The Istio ingress gateway (own injected namespace) and the routes to the public service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.builders import network_policies as np
from components.builders.istio_values import RESTART_HASH_ANNOTATION
from components.builders.security import RESTRICTED_CONTAINER
from components.config.models import OBSERVABILITY_NAMESPACE, IngressConfig
from components.plan import Caller
from components.resources.charts import ISTIO_REPO, ChartSource, Mirror, install
from components.resources.declare import declare_custom_resource, declare_network_policies
from components.resources.istio import DataPlane
from components.vocab import topology as topo
from components.vocab.istio import service_host

RELEASE = "istio-ingress"
GATEWAY_NAME = "public"
# Ref: gateway chart templates/_helpers.tpl: pods are labelled `istio: <release minus "istio-">`.
SELECTOR = {"istio": "ingress"}


@dataclass(frozen=True)
class Route:
    """An extra host routed through the gateway to an in-cluster Service (e.g. Kiali)."""

    name: str
    host: str
    destination: str
    port: int


@dataclass(frozen=True, kw_only=True)
class IngressArgs:
    config: IngressConfig
    """`mesh:ingress`."""
    version: str
    """Istio version: the gateway chart matches the control plane."""
    public_service: topo.Service
    """The service `/` routes to (its http port)."""
    mesh: DataPlane
    """The main istiod revision: the gateway's pods are injected by it and roll with its hash."""
    routes: tuple[Route, ...] = ()
    """Extra hosts (dashboards) served by the same Gateway."""
    scrapers: tuple[str, ...] = (OBSERVABILITY_NAMESPACE,)
    """Namespaces (or CIDRs) allowed to scrape the gateway's proxy metrics."""
    chart_mirror: Optional[Mirror] = None


def identity(cfg: IngressConfig) -> Caller:
    """The gateway pods' identity: the chart names the ServiceAccount after the release."""
    # Ref: https://github.com/istio/istio/blob/1.31.1/manifests/charts/gateway/templates/serviceaccount.yaml
    return Caller(cfg.namespace, RELEASE)


def public_url(cfg: IngressConfig, host: str, path: str = "") -> str:
    """The URL a person opens for `host` through this gateway (node port on kind)."""
    scheme = "https" if cfg.tls else "http"
    node_port = f":{cfg.node_port}" if cfg.node_port else ""
    return f"{scheme}://{host}{node_port}{path or '/'}"


def address(cfg: IngressConfig) -> str:
    """Where the public service answers: localhost on kind, its URL when a host is named, else how
    to find the load balancer's address."""
    if cfg.service_type == "NodePort":
        return public_url(cfg.model_copy(update={"tls": None}), "localhost")
    named = [h for h in cfg.hosts if "*" not in h]
    if named:
        return public_url(cfg, named[0])
    return f"kubectl -n {cfg.namespace} get svc {RELEASE}  # external address"


def service_ports(cfg: IngressConfig) -> list[dict[str, Any]]:
    """The gateway chart's `service.ports` (passed verbatim), with the HTTP nodePort when set."""
    # Ref: gateway chart values.yaml `service.ports` (status-port 15021, http2 80, https 443).
    http: dict[str, Any] = {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80}
    if cfg.node_port is not None:
        http["nodePort"] = cfg.node_port
    return [
        {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
        http,
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443},
    ]


def chart_values(cfg: IngressConfig, revision: str, restart_hash: str) -> dict[str, Any]:
    return {
        "revision": revision,
        # Helm merges this map with the chart's default podAnnotations (inject template, scraping);
        # the gateway's pods are injected too, so they roll with every other proxy.
        "podAnnotations": {RESTART_HASH_ANNOTATION: restart_hash},
        "service": {"type": cfg.service_type, "ports": service_ports(cfg)},
        "autoscaling": {"enabled": False},
        "replicaCount": cfg.replicas,
        "resources": cfg.resources.manifest(),
        "podDisruptionBudget": {"maxUnavailable": 1} if cfg.replicas > 1 else {},
        # The chart's default container context plus a seccomp profile (restricted pod security).
        # Ref: https://github.com/istio/istio/blob/1.30.3/manifests/charts/gateway/templates/deployment.yaml
        "containerSecurityContext": RESTRICTED_CONTAINER,
    }


def gateway_hosts(cfg: IngressConfig, routes: tuple[Route, ...]) -> list[str]:
    """The public hosts plus each extra route's host (unless `*` already covers them)."""
    hosts = list(cfg.hosts)
    return hosts if "*" in hosts else hosts + [r.host for r in routes if r.host not in hosts]


def gateway(cfg: IngressConfig, namespace: str, routes: tuple[Route, ...] = ()) -> dict[str, Any]:
    """networking.istio.io/v1 Gateway: HTTP on 80 (redirecting when TLS is on), HTTPS on 443."""
    hosts = gateway_hosts(cfg, routes)
    http: dict[str, Any] = {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": hosts}
    servers = [http]
    if cfg.tls:
        if cfg.tls.redirect_http:
            http["tls"] = {"httpsRedirect": True}
        servers.append({
            "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
            "hosts": hosts,
            "tls": {"mode": "SIMPLE", "credentialName": cfg.tls.credential_name},
        })
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": GATEWAY_NAME, "namespace": namespace},
        "spec": {"selector": SELECTOR, "servers": servers},
    }


def certificate(cfg: IngressConfig, namespace: str, routes: tuple[Route, ...]) -> dict[str, Any]:
    """A cert-manager Certificate for every host the gateway serves, into the gateway's credential."""
    # Ref: https://cert-manager.io/docs/usage/certificate/
    assert cfg.tls is not None and cfg.tls.cert_manager is not None
    issuer = cfg.tls.cert_manager
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": cfg.tls.credential_name, "namespace": namespace},
        "spec": {
            "secretName": cfg.tls.credential_name,
            "dnsNames": [h for h in gateway_hosts(cfg, routes) if h != "*"],
            "issuerRef": {"name": issuer.issuer, "kind": issuer.issuer_kind, "group": "cert-manager.io"},
        },
    }


def tls_status(cfg: IngressConfig, routes: tuple[Route, ...]) -> str:
    """What the operator must know about the gateway's TLS credential (a stack output)."""
    if cfg.tls is None:
        return "no TLS: the gateway serves plain HTTP"
    secret = f"{cfg.namespace}/{cfg.tls.credential_name}"
    if cfg.tls.cert_manager is not None:
        return f"cert-manager issues Secret {secret} ({cfg.tls.cert_manager.issuer_kind} {cfg.tls.cert_manager.issuer})"
    hosts = ", ".join(gateway_hosts(cfg, routes))
    return (f"create Secret {secret} (type kubernetes.io/tls, covering {hosts}) before traffic flows: "
            "the gateway serves no HTTPS until it exists")


def _route(name: str, namespace: str, hosts: list[str], destination: str, port: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hosts": hosts,
            "gateways": [f"{namespace}/{GATEWAY_NAME}"],
            "http": [{"match": [{"uri": {"prefix": "/"}}],
                      "route": [{"destination": {"host": destination, "port": {"number": port}}}]}],
        },
    }


def virtual_service(cfg: IngressConfig, namespace: str, service: topo.Service) -> dict[str, Any]:
    """Route `/` to the public service's HTTP port."""
    return _route(service.name, namespace, list(cfg.hosts), service_host(service.name, service.name),
                  service.port("http"))


def route_virtual_service(route: Route, namespace: str) -> dict[str, Any]:
    """Route an extra host (a dashboard) to its Service; the most specific host wins over `*`."""
    return _route(route.name, namespace, [route.host], route.destination, route.port)


class IngressGateway(pulumi.ComponentResource):
    """Gateway chart in its own namespace with sidecar injection (`image: auto` needs it)."""

    identity: Caller
    """The gateway's workload identity (allowed to call the public service)."""
    namespace: str

    def __init__(self, name: str, args: IngressArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:ingress:Gateway", name, None, opts)
        cfg, mesh = args.config, args.mesh
        self.namespace = cfg.namespace
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": cfg.namespace, "labels": mesh.namespace_labels},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(mesh.ready)),
        )
        chart = install(
            f"{name}-chart",
            ChartSource("gateway", args.version, ISTIO_REPO),
            args.chart_mirror,
            release=RELEASE,
            namespace=cfg.namespace,
            values=chart_values(cfg, mesh.revision, mesh.restart_hash),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, *mesh.ready]),
        )
        cr_opts = pulumi.ResourceOptions(parent=self, depends_on=[ns, chart, *mesh.crds, *mesh.ready])
        declare_custom_resource(f"{name}-gateway", gateway(cfg, cfg.namespace, args.routes), cr_opts)
        if cfg.tls is not None and cfg.tls.cert_manager is not None:
            declare_custom_resource(f"{name}-certificate", certificate(cfg, cfg.namespace, args.routes),
                            pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        self.tls = tls_status(cfg, args.routes)
        declare_network_policies(name, np.ingress_gateway(cfg.namespace, args.scrapers),
                         pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        declare_custom_resource(f"{name}-route", virtual_service(cfg, cfg.namespace, args.public_service), cr_opts)
        for route in args.routes:
            declare_custom_resource(f"{name}-route-{route.name}", route_virtual_service(route, cfg.namespace), cr_opts)
        self.identity = identity(cfg)
        self.register_outputs({"namespace": self.namespace, "principal": self.identity.principal, "tls": self.tls,
                               "service": service_host(RELEASE, cfg.namespace)})
