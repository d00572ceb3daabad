"""All addons in one namespace, wired only through each other's outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.builders import network_policies as np
from components.builders.dashboards import all_dashboards
from components.builders.endpoints import Endpoint
from components.builders.istio_values import TracingTarget
from components.builders.security import pod_security_labels
from components.builders.slo import rule_files
from components.config.models import OBSERVABILITY_NAMESPACE, IngressConfig, ObservabilityConfig
from components.plan import Objective
from components.resources.charts import Mirror
from components.resources.declare import declare_network_policies
from components.resources.ingress import public_url
from components.resources.observability.grafana import Grafana, GrafanaArgs
from components.resources.observability.jaeger import Jaeger, JaegerArgs
from components.resources.observability.kiali import Kiali, KialiArgs, Link
from components.resources.observability.prometheus import Prometheus, PrometheusArgs
from components.vocab.topology import MERCARI, Topology


@dataclass(frozen=True, kw_only=True)
class ObservabilityArgs:
    config: ObservabilityConfig
    """`mesh:observability`."""
    tracing_enabled: bool
    """`mesh:istio.tracing.enabled`: with it off, no Jaeger wiring anywhere."""
    topology: Topology = MERCARI
    """The call graph: the dashboards and SLO rules are built from it."""
    objectives: dict[str, Objective] = field(default_factory=dict)
    """Each service's objectives (components.plan.objectives)."""
    scrapers: tuple[str, ...] = (OBSERVABILITY_NAMESPACE,)
    """Namespaces (or CIDRs) allowed to scrape metrics (Prometheus' own first)."""
    ingress: Optional[IngressConfig] = None
    """`mesh:ingress` when enabled: dashboards with a host are linked through it."""
    chart_mirror: Optional[Mirror] = None
    kubernetes_version: str = "1.36"
    """`mesh:kubernetes.version`: the Pod Security Admission labels pin the standard to it."""


class Observability(pulumi.ComponentResource):
    """Prometheus, Jaeger, Grafana and Kiali (each optional or external) in their own namespace.

    The addons run without sidecars (`istio-injection=disabled`): Prometheus scrapes the proxies'
    plaintext metrics port and sidecars reach the collector without mTLS.
    """

    prometheus_url: Optional[pulumi.Output[str]]
    tracing_target: Optional[TracingTarget]
    dashboards: dict[str, str]
    exposed: dict[str, tuple[str, Endpoint]]
    """Addons to serve through the ingress: name -> (host, in-cluster endpoint)."""
    grafana_admin_password: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:observability:Stack", name, None, opts)
        cfg, mirror = args.config, args.chart_mirror
        ns_name = cfg.namespace
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": ns_name, "labels": {"istio-injection": "disabled",
                                                  **pod_security_labels("restricted", args.kubernetes_version)}},
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        self.dashboards: dict[str, str] = {}
        self.exposed = {}

        self.prometheus_url = None
        if cfg.prometheus.enabled:
            prom = Prometheus(f"{name}-prometheus", PrometheusArgs(
                config=cfg.prometheus, namespace=ns_name, chart_mirror=mirror,
                rules=rule_files(args.topology, args.objectives)), opts=child)
            self.prometheus_url = prom.url
            self.dashboards["prometheus"] = prom.endpoint.port_forward()
        elif cfg.prometheus.external_url:
            self.prometheus_url = pulumi.Output.from_input(cfg.prometheus.external_url)

        self.tracing_target, tracing = None, None
        kiali_waits: tuple[pulumi.Resource, ...] = ()
        if args.tracing_enabled and cfg.jaeger.enabled:
            jaeger = Jaeger(f"{name}-jaeger", JaegerArgs(config=cfg.jaeger, namespace=ns_name, chart_mirror=mirror),
                            opts=child)
            self.tracing_target = jaeger.tracing_target
            tracing = Link(jaeger.kiali_url, _browser_url(jaeger.query, None, args.ingress))
            kiali_waits = (jaeger.chart,)  # Kiali does not start while its tracing backend is unreachable
            self.dashboards["jaeger"] = jaeger.query.port_forward()
        elif args.tracing_enabled and cfg.jaeger.external:
            ext = cfg.jaeger.external
            self.tracing_target = TracingTarget(host=ext.collector_host, port=ext.collector_port)
            tracing = Link(ext.query_url, ext.query_url) if ext.query_url else None

        grafana_link, self.grafana_admin_password = None, None
        if cfg.grafana.enabled and self.prometheus_url is not None:
            boards = all_dashboards(args.topology)
            grafana = Grafana(f"{name}-grafana", GrafanaArgs(config=cfg.grafana, namespace=ns_name,
                                                             prometheus_url=self.prometheus_url, dashboards=boards,
                                                             chart_mirror=mirror), opts=child)
            grafana_link = Link(grafana.url, _browser_url(grafana.endpoint, cfg.grafana.host, args.ingress),
                                tuple(b["title"] for b in boards.values()))
            self.grafana_admin_password = grafana.admin_password
            self.dashboards["grafana"] = grafana.endpoint.port_forward()
            if cfg.grafana.host:
                self.exposed["grafana"] = (cfg.grafana.host, grafana.endpoint)

        if cfg.kiali.enabled and self.prometheus_url is not None:
            openid = cfg.kiali.auth.openid
            kiali = Kiali(f"{name}-kiali", KialiArgs(
                config=cfg.kiali, namespace=ns_name, prometheus_url=self.prometheus_url, tracing=tracing,
                grafana=grafana_link, wait_for=kiali_waits, chart_mirror=mirror,
                # An anonymous Grafana lets Kiali list dashboards without credentials.
                grafana_password=None if cfg.grafana.anonymous_viewer else self.grafana_admin_password,
                client_secret=openid.client_secret if openid else None), opts=child)
            self.dashboards["kiali"] = kiali.endpoint.port_forward()
            if cfg.kiali.host:
                self.exposed["kiali"] = (cfg.kiali.host, kiali.endpoint)

        ingress_ns = args.ingress.namespace if args.ingress else None
        declare_network_policies(name, np.observability(ns_name, args.scrapers, ingress_ns, self.exposed), child)
        self.register_outputs({"namespace": ns.metadata.name, "prometheusUrl": self.prometheus_url,
                               "dashboards": self.dashboards})


def _browser_url(endpoint: Endpoint, host: Optional[str], ingress: Optional[IngressConfig]) -> str:
    """Where a person's browser opens an addon: its ingress host, else the port-forward address."""
    if host and ingress is not None:
        return public_url(ingress, host, endpoint.path)
    return endpoint.local_url()
