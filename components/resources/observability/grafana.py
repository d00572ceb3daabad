"""Grafana (grafana-community `grafana` chart) on Prometheus, with the dashboards the program builds.

The dashboards ship with the program as ConfigMaps mounted into the pod: nothing is downloaded at
pod start (the chart's `dashboards` value would add an init container that fetches them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.builders.dashboards import DATASOURCE_UID
from components.builders.endpoints import Endpoint
from components.config.models import GrafanaConfig
from components.resources.charts import GRAFANA_REPO, AddonArgs, ChartSource, generated_secret, install_addon
from components.vocab.names import dashboard_configmap

FULLNAME = "grafana"
PORT = 3000
DATASOURCE = "Prometheus"
DASHBOARD_ROOT = "/var/lib/grafana/dashboards/mesh"


@dataclass(frozen=True, kw_only=True)
class GrafanaArgs(AddonArgs):
    config: GrafanaConfig
    """`mesh:observability.grafana`."""
    prometheus_url: pulumi.Input[str]
    """The Prometheus component's `url` (or the stack's external Prometheus)."""
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    """File name -> dashboard JSON (components.builders.dashboards)."""


def endpoint(namespace: str) -> Endpoint:
    # Ref: grafana chart templates/service.yaml: name = fullname, port = service.port.
    return Endpoint(FULLNAME, namespace, PORT)


def dashboard_mounts(names: list[str]) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard (each stays far below the 1 MiB ConfigMap limit), each in its own
    directory under the provider's path (the file provider scans it recursively)."""
    # Ref: https://github.com/grafana-community/helm-charts/blob/grafana-12.11.1/charts/grafana/templates/_pod.tpl
    # (extraConfigmapMounts)
    return [{"name": dashboard_configmap(n), "configMap": dashboard_configmap(n), "mountPath": f"{DASHBOARD_ROOT}/{n}",
             "readOnly": True} for n in names]


def values(cfg: GrafanaConfig, prometheus_url: pulumi.Input[str], admin_password: pulumi.Input[str],
           dashboards: list[str]) -> dict[str, Any]:
    """Chart values: a Prometheus datasource (by uid), the program's dashboards, a generated admin password."""
    return {
        "fullnameOverride": FULLNAME,
        "adminUser": "admin",
        "adminPassword": admin_password,
        "service": {"port": PORT},
        # No sidecars (dashboards are mounted ConfigMaps): Grafana needs no API access. The chart's
        # Role and ClusterRole would carry `rules: []`, which the API server drops: a diff on every preview.
        # Ref: https://github.com/grafana-community/helm-charts/blob/grafana-12.11.1/charts/grafana/templates/role.yaml
        "rbac": {"create": False},
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
                    {"name": DATASOURCE, "uid": DATASOURCE_UID, "type": "prometheus", "url": prometheus_url,
                     "access": "proxy", "isDefault": True, "editable": False}
                ],
            }
        },
        "dashboardProviders": {
            "dashboardproviders.yaml": {
                "apiVersion": 1,
                "providers": [
                    {"name": "mesh", "orgId": 1, "folder": "Mesh", "type": "file", "disableDeletion": True,
                     "options": {"path": DASHBOARD_ROOT}}
                ],
            }
        },
        "extraConfigmapMounts": dashboard_mounts(dashboards),
    }


class Grafana(pulumi.ComponentResource):
    """Installs Grafana; the admin password is generated once and kept as a Pulumi secret."""

    url: pulumi.Output[str]
    admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: GrafanaArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:observability:Grafana", name, None, opts)
        self.admin_password = generated_secret(f"{name}-admin-password", 32, self)
        self.endpoint = endpoint(args.namespace)
        maps = [
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{board}",
                metadata={"name": dashboard_configmap(board), "namespace": args.namespace,
                          "labels": {"app.kubernetes.io/part-of": "mesh-dashboards"}},
                data={f"{board}.json": json.dumps(content, sort_keys=True)},
                opts=pulumi.ResourceOptions(parent=self))
            for board, content in args.dashboards.items()
        ]
        self.chart = install_addon(
            self, name, ChartSource("grafana", args.config.chart_version, GRAFANA_REPO), args,
            values=values(args.config, args.prometheus_url, self.admin_password, list(args.dashboards)),
            depends_on=maps)
        self.url = pulumi.Output.from_input(self.endpoint.url)  # known up front: nothing waits on it
        self.register_outputs({"url": self.url, "adminPassword": self.admin_password})
