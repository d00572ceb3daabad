"""Kiali (`kiali-server` chart, 2.x) wired to the real Prometheus, tracing and Grafana."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from components.charts import KIALI_REPO, ChartSource, Mirror, generated_secret, install, when_ready
from components.config.models import KialiConfig
from components.istio_values import ROOT_NAMESPACE
from components.observability.endpoints import Endpoint

FULLNAME = "kiali"
PORT = 20001
WEB_ROOT = "/kiali"
SIGNING_KEY_BYTES = 32  # Kiali accepts 16, 24 or 32.


@dataclass(frozen=True, kw_only=True)
class KialiArgs:
    config: KialiConfig
    """`mesh:observability.kiali`."""
    namespace: str
    prometheus_url: pulumi.Input[str]
    """Required: Kiali without Prometheus shows no graph."""
    tracing_url: Optional[pulumi.Input[str]] = None
    """Jaeger query URL (gRPC 16685); None = tracing off in Kiali."""
    grafana_url: Optional[pulumi.Input[str]] = None
    chart_mirror: Optional[Mirror] = None


def endpoint(namespace: str) -> Endpoint:
    # Ref: kiali-server templates/service.yaml: name = fullname, port = server.port; web_root /kiali.
    return Endpoint(FULLNAME, namespace, PORT, WEB_ROOT)


def auth_values(cfg: KialiConfig) -> dict[str, Any]:
    auth: dict[str, Any] = {"strategy": cfg.auth.strategy}
    if cfg.auth.openid:
        auth["openid"] = {
            "issuer_uri": cfg.auth.openid.issuer_uri,
            "client_id": cfg.auth.openid.client_id,
            "username_claim": cfg.auth.openid.username_claim,
        }
    return auth


def values(
    cfg: KialiConfig,
    *,
    prometheus_url: pulumi.Input[str],
    tracing_url: Optional[pulumi.Input[str]],
    grafana_url: Optional[pulumi.Input[str]],
    signing_key: pulumi.Input[str],
) -> dict[str, Any]:
    """Chart values. Tracing is enabled only with a real backend: Kiali will not start otherwise."""
    tracing: dict[str, Any] = {"enabled": tracing_url is not None}
    if tracing_url is not None:
        tracing.update({"provider": "jaeger", "internal_url": tracing_url, "use_grpc": True})
    grafana: dict[str, Any] = {"enabled": grafana_url is not None}
    if grafana_url is not None:
        grafana["internal_url"] = grafana_url
    return {
        "nameOverride": FULLNAME,
        "fullnameOverride": FULLNAME,
        "auth": auth_values(cfg),
        "deployment": {
            "cluster_wide_access": True,
            "view_only_mode": cfg.view_only,
            "resources": cfg.resources.manifest(),
        },
        "external_services": {
            "istio": {"root_namespace": ROOT_NAMESPACE},
            "prometheus": {"url": prometheus_url},
            "tracing": tracing,
            "grafana": grafana,
        },
        "istio_namespace": ROOT_NAMESPACE,
        # An empty key makes the chart generate a new random one on every render (a permanent diff).
        # Ref: https://github.com/kiali/helm-charts/blob/v2.20.0/kiali-server/templates/_helpers.tpl
        "login_token": {"signing_key": signing_key},
        "server": {"port": PORT, "web_root": WEB_ROOT},
    }


class Kiali(pulumi.ComponentResource):
    """Installs Kiali with a generated, stable signing key kept as a Pulumi secret."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: KialiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:observability:Kiali", name, None, opts)
        self.signing_key = generated_secret(f"{name}-signing-key", SIGNING_KEY_BYTES, self)
        self.endpoint = endpoint(args.namespace)
        self.chart = install(
            f"{name}-chart",
            ChartSource("kiali-server", args.config.chart_version, KIALI_REPO),
            args.chart_mirror,
            release="kiali",
            namespace=args.namespace,
            values=values(args.config, prometheus_url=args.prometheus_url, tracing_url=args.tracing_url,
                          grafana_url=args.grafana_url, signing_key=self.signing_key),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = when_ready(self.chart, self.endpoint.url)
        self.register_outputs({"url": self.url})
