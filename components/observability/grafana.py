"""Grafana (grafana-community `grafana` chart) with the Istio dashboards on Prometheus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from components.charts import GRAFANA_REPO, ChartSource, Mirror, generated_secret, install
from components.config.models import GrafanaConfig
from components.observability.endpoints import Endpoint

FULLNAME = "grafana"
PORT = 3000
DATASOURCE = "Prometheus"
# Ref: https://grafana.com/orgs/istio/dashboards (Istio's dashboards published on grafana.com).
DASHBOARDS = {
    "istio-mesh": 7639,
    "istio-service": 7636,
    "istio-workload": 7630,
    "istio-performance": 11829,
    "istio-control-plane": 7645,
}


@dataclass(frozen=True, kw_only=True)
class GrafanaArgs:
    config: GrafanaConfig
    """`mesh:observability.grafana`."""
    namespace: str
    prometheus_url: pulumi.Input[str]
    """The Prometheus component's `url` (or the stack's external Prometheus)."""
    chart_mirror: Optional[Mirror] = None


def endpoint(namespace: str) -> Endpoint:
    # Ref: grafana chart templates/service.yaml: name = fullname, port = service.port.
    return Endpoint(FULLNAME, namespace, PORT)


def values(cfg: GrafanaConfig, prometheus_url: pulumi.Input[str], admin_password: pulumi.Input[str]) -> dict[str, Any]:
    """Chart values: a Prometheus datasource, the Istio dashboards, a generated admin password."""
    return {
        "fullnameOverride": FULLNAME,
        "adminUser": "admin",
        "adminPassword": admin_password,
        "service": {"port": PORT},
        "testFramework": {"enabled": False},
        # Ref: grafana chart values.yaml `downloadDashboards.resources` (init container fetching gnetIds).
        "downloadDashboards": {"resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                                             "limits": {"cpu": "100m", "memory": "64Mi"}}},
        "resources": cfg.resources.manifest(),
        "grafana.ini": {
            "analytics": {"check_for_updates": False, "reporting_enabled": False},
            # Istio's sample grants anonymous *Admin*; here anonymous is Viewer and dev only.
            "auth.anonymous": {"enabled": cfg.anonymous_viewer, "org_role": "Viewer"},
        },
        "datasources": {
            "datasources.yaml": {
                "apiVersion": 1,
                "datasources": [
                    {"name": DATASOURCE, "type": "prometheus", "url": prometheus_url, "access": "proxy",
                     "isDefault": True, "editable": False}
                ],
            }
        },
        "dashboardProviders": {
            "dashboardproviders.yaml": {
                "apiVersion": 1,
                "providers": [
                    {"name": "istio", "orgId": 1, "folder": "Istio", "type": "file", "disableDeletion": True,
                     "options": {"path": "/var/lib/grafana/dashboards/istio"}}
                ],
            }
        },
        # Ref: grafana chart README "dashboards.<provider>.<name>.gnetId".
        "dashboards": {"istio": {n: {"gnetId": g, "datasource": DATASOURCE} for n, g in DASHBOARDS.items()}},
    }


class Grafana(pulumi.ComponentResource):
    """Installs Grafana; the admin password is generated once and kept as a Pulumi secret."""

    url: pulumi.Output[str]
    admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: GrafanaArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:observability:Grafana", name, None, opts)
        self.admin_password = generated_secret(f"{name}-admin-password", 32, self)
        self.endpoint = endpoint(args.namespace)
        self.chart = install(
            f"{name}-chart",
            ChartSource("grafana", args.config.chart_version, GRAFANA_REPO),
            args.chart_mirror,
            release="grafana",
            namespace=args.namespace,
            values=values(args.config, args.prometheus_url, self.admin_password),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = pulumi.Output.from_input(self.endpoint.url)  # known up front: nothing waits on it
        self.register_outputs({"url": self.url, "adminPassword": self.admin_password})
