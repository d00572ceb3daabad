"""Prometheus (prometheus-community `prometheus` chart): server only, scraping the mesh."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi

from components.builders.endpoints import Endpoint
from components.builders.security import RESTRICTED_CONTAINER, restricted_pod
from components.config.models import PrometheusConfig
from components.resources.charts import PROMETHEUS_REPO, AddonArgs, ChartSource, install_addon
from components.resources.declare import declare_secret

FULLNAME = "prometheus"
SIDECAR_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}
PORT = 9090
WEBHOOK_SECRET = "alertmanager-webhook"
"""The Secret holding the Alertmanager receiver's webhook URL (a credential)."""
WEBHOOK_DIR = "/etc/alertmanager/webhook"


@dataclass(frozen=True, kw_only=True)
class PrometheusArgs(AddonArgs):
    config: PrometheusConfig
    """`mesh:observability.prometheus`."""
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Rule files (components.builders.slo.rule_files)."""


def endpoint(namespace: str) -> Endpoint:
    # Ref: prometheus chart templates/service.yaml: name = server.fullnameOverride,
    # port = server.service.servicePort.
    return Endpoint(FULLNAME, namespace, PORT)


def alertmanager_values(cfg: PrometheusConfig) -> dict[str, Any]:
    """The chart's Alertmanager subchart: off unless configured; one route to the webhook receiver."""
    if cfg.alertmanager is None:
        return {"enabled": False}
    receiver: dict[str, Any] = {"name": "mesh"}
    mounts = []
    if cfg.alertmanager.webhook_url:
        # The URL is read from a mounted Secret: the subchart renders `config` into a ConfigMap, where a
        # URL would be plaintext (and Chart v4 children do not inherit the secretness of values).
        # Ref: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config (url_file)
        receiver["webhook_configs"] = [{"url_file": f"{WEBHOOK_DIR}/url", "send_resolved": True}]
        # Ref: https://github.com/prometheus-community/helm-charts/blob/alertmanager-1.42.0/charts/alertmanager/templates/statefulset.yaml
        # (extraSecretMounts)
        mounts = [{"name": "webhook", "mountPath": WEBHOOK_DIR, "subPath": "", "secretName": WEBHOOK_SECRET,
                   "readOnly": True}]
    return {
        "extraSecretMounts": mounts,
        "enabled": True,
        "persistence": {"enabled": False},
        "resources": SIDECAR_RESOURCES,
        # Restricted pod security, like every other pod (the subchart's defaults only set fsGroup).
        # Ref: https://github.com/prometheus-community/helm-charts/blob/prometheus-29.27.0/charts/alertmanager/templates/statefulset.yaml
        "podSecurityContext": restricted_pod(65534),
        "securityContext": RESTRICTED_CONTAINER,
        # Ref: https://github.com/prometheus-community/helm-charts/blob/prometheus-29.27.0/charts/alertmanager/values.yaml
        "config": {"receivers": [receiver],
                   "route": {"receiver": "mesh", "group_by": ["alertname", "service", "severity"],
                             "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}},
    }


def values(cfg: PrometheusConfig, rules: Optional[dict[str, dict[str, Any]]] = None) -> dict[str, Any]:
    """Chart values: server only; the chart's `kubernetes-pods` job scrapes istiod (pod
    annotations prometheus.io/port=15014) and every sidecar's merged metrics (injection rewrites
    the annotations to 15020 /stats/prometheus)."""
    # Ref: https://github.com/istio/istio/blob/master/manifests/addons/values-prometheus.yaml
    storage: dict[str, Any] = {"enabled": cfg.storage is not None}
    if cfg.storage:
        storage["size"] = cfg.storage.size
        if cfg.storage.storage_class:
            storage["storageClass"] = cfg.storage.storage_class
    return {
        "alertmanager": alertmanager_values(cfg),
        # The SLO rules, in the rule files the chart's default server config loads.
        # Ref: https://github.com/prometheus-community/helm-charts/blob/prometheus-29.27.0/charts/prometheus/values.yaml
        # (serverFiles)
        "serverFiles": dict(rules or {}),
        "prometheus-pushgateway": {"enabled": False},
        "kube-state-metrics": {"enabled": False},
        "prometheus-node-exporter": {"enabled": False},
        # Ref: chart 28.0.0 moved default jobs into the `scrapeConfigs` map (PR #6429).
        # Ref: prometheus chart values.yaml `configmapReload.prometheus.resources` (the reload sidecar).
        "configmapReload": {"prometheus": {"resources": SIDECAR_RESOURCES,
                                           "containerSecurityContext": RESTRICTED_CONTAINER}},
        "scrapeConfigs": {"kubernetes-pods": {"enabled": True}, "prometheus-pushgateway": {"enabled": False}},
        "server": {
            "fullnameOverride": FULLNAME,
            "service": {"servicePort": PORT},
            "podLabels": {"sidecar.istio.io/inject": "false"},
            "global": {"scrape_interval": cfg.scrape_interval},
            "retention": cfg.retention,
            "persistentVolume": storage,
            "resources": cfg.resources.manifest(),
            # Ref: prometheus chart values.yaml server.securityContext (65534 is the image's `nobody`)
            "securityContext": restricted_pod(65534),
            "containerSecurityContext": RESTRICTED_CONTAINER,
        },
    }


class Prometheus(pulumi.ComponentResource):
    """Installs Prometheus; `url` is the in-cluster query URL Kiali and Grafana use."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: PrometheusArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:observability:Prometheus", name, None, opts)
        cfg = args.config
        self.endpoint = endpoint(args.namespace)
        webhook = cfg.alertmanager.webhook_url if cfg.alertmanager else None
        secrets = [declare_secret(f"{name}-webhook-secret", WEBHOOK_SECRET, args.namespace, {"url": webhook}, self)
                   ] if webhook else []
        self.chart = install_addon(self, name, ChartSource("prometheus", cfg.chart_version, PROMETHEUS_REPO), args,
                                   values=values(cfg, args.rules), depends_on=secrets)
        self.url = pulumi.Output.from_input(self.endpoint.url)  # known up front: nothing waits on it
        self.register_outputs({"url": self.url})
