"""Jaeger v2 (jaegertracing `jaeger` chart >= 4, all-in-one): the mesh's tracing backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.builders.endpoints import Endpoint
from components.builders.istio_values import TracingTarget
from components.builders.manifests import content_hash
from components.builders.security import RESTRICTED_CONTAINER, restricted_pod
from components.config.models import JaegerConfig, JaegerStorage
from components.resources.charts import JAEGER_REPO, AddonArgs, ChartSource, install_addon

FULLNAME = "jaeger"
OTLP_GRPC_PORT = 4317
QUERY_HTTP_PORT = 16686
QUERY_GRPC_PORT = 16685
METRICS_PORT = 8888
CONFIG_HASH_LABEL = "mesh/config-hash"
BADGER_MOUNT = "/badger"
BADGER_CLAIM = "jaeger-badger"


@dataclass(frozen=True, kw_only=True)
class JaegerArgs(AddonArgs):
    config: JaegerConfig
    """`mesh:observability.jaeger`."""


# Ref: jaeger chart 4.x templates/jaeger/jaeger-service.yaml: ONE Service named
# `jaeger.fullname` with otlp-grpc 4317, http-query 16686, grpc-query 16685. There is no
# `jaeger-collector` or `tracing` Service, so nothing may point at those names.
def collector(namespace: str) -> Endpoint:
    return Endpoint(FULLNAME, namespace, OTLP_GRPC_PORT)


def query(namespace: str) -> Endpoint:
    return Endpoint(FULLNAME, namespace, QUERY_HTTP_PORT)


def query_grpc(namespace: str) -> Endpoint:
    return Endpoint(FULLNAME, namespace, QUERY_GRPC_PORT)


def storage_backend(storage: JaegerStorage) -> dict[str, Any]:
    """jaeger_storage backend: in-memory (dev) or badger on a persistent volume."""
    # Ref: https://www.jaegertracing.io/docs/latest/deployment/configuration/ (memory, badger)
    if storage.type == "memory":
        return {"memory": {"max_traces": storage.max_traces}}
    return {
        "badger": {
            "directories": {"keys": f"{BADGER_MOUNT}/keys", "values": f"{BADGER_MOUNT}/values"},
            "ephemeral": False,
            "ttl": {"spans": storage.retention},
        }
    }


def user_config(storage: JaegerStorage) -> dict[str, Any]:
    """The complete Jaeger v2 configuration (chart `userconfig`): OTLP in, one store, query out."""
    # Ref: jaeger chart values.yaml `userconfig` example and cmd/jaeger/config.yaml
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            # The chart annotates the pod for scraping on 8888; the collector's own metrics listen on
            # localhost unless told otherwise, which leaves Prometheus a target that is always down.
            # Ref: https://github.com/jaegertracing/jaeger/blob/v2.10.0/cmd/jaeger/config.yaml (service.telemetry)
            # Ref: https://github.com/jaegertracing/helm-charts/blob/jaeger-4.11.1/charts/jaeger/templates/jaeger/jaeger-deploy.yaml
            "telemetry": {"metrics": {"level": "detailed", "readers": [
                {"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": METRICS_PORT}}}}]}},
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["jaeger_storage_exporter"]}
            },
        },
        "extensions": {
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": "0.0.0.0:13133"}},
            "jaeger_query": {"storage": {"traces": "primary_store"}},
            "jaeger_storage": {"backends": {"primary_store": storage_backend(storage)}},
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": "0.0.0.0:4318"},
                }
            }
        },
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "primary_store"}},
    }


def values(cfg: JaegerConfig) -> dict[str, Any]:
    config = user_config(cfg.storage)
    # The hash of the configuration, as a pod label: the chart's ConfigMap has a fixed name and the
    # pod no checksum, so without it a config change would never restart Jaeger.
    # Ref: https://github.com/jaegertracing/helm-charts/blob/jaeger-4.11.1/charts/jaeger/templates/jaeger/jaeger-deploy.yaml
    # (podLabels reach the pod template; podAnnotations do not)
    jaeger: dict[str, Any] = {"replicas": 1, "resources": cfg.resources.manifest(),
                              "podLabels": {CONFIG_HASH_LABEL: content_hash(config)},
                              # Ref: jaeger chart templates/jaeger/jaeger-deploy.yaml (securityContext,
                              # podSecurityContext); the image runs as 10001. Badger writes to its volume.
                              "podSecurityContext": restricted_pod(10001),
                              "securityContext": {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": False}}
    if cfg.storage.type == "badger":
        jaeger["extraVolumes"] = [{"name": "badger", "persistentVolumeClaim": {"claimName": BADGER_CLAIM}}]
        jaeger["extraVolumeMounts"] = [{"name": "badger", "mountPath": BADGER_MOUNT}]
    return {"fullnameOverride": FULLNAME, "jaeger": jaeger, "userconfig": config}


def badger_claim(storage: JaegerStorage, namespace: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage.size}}}
    if storage.storage_class:
        spec["storageClassName"] = storage.storage_class
    return {"metadata": {"name": BADGER_CLAIM, "namespace": namespace}, "spec": spec}


class Jaeger(pulumi.ComponentResource):
    """Installs Jaeger v2. `tracing_target` feeds Istio's tracing provider, `query_url` feeds Kiali."""

    tracing_target: TracingTarget
    query_url: pulumi.Output[str]

    def __init__(self, name: str, args: JaegerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:observability:Jaeger", name, None, opts)
        cfg = args.config
        deps: list[pulumi.Resource] = []
        if cfg.storage.type == "badger":
            claim = badger_claim(cfg.storage, args.namespace)
            deps.append(
                k8s.core.v1.PersistentVolumeClaim(
                    f"{name}-storage", metadata=claim["metadata"], spec=claim["spec"],
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.chart = install_addon(self, name, ChartSource("jaeger", cfg.chart_version, JAEGER_REPO), args,
                                   values=values(cfg), depends_on=deps)
        self.collector = collector(args.namespace)
        self.query = query(args.namespace)
        # Plain values: the Service names are known up front, and nothing needs Jaeger up to start
        # (a stuck Jaeger volume must not block istiod and with it the whole mesh).
        self.tracing_target = TracingTarget(host=self.collector.host, port=self.collector.port)
        self.query_url = pulumi.Output.from_input(self.query.url)
        self.kiali_url = query_grpc(args.namespace).url
        self.register_outputs(
            {"collectorHost": self.tracing_target.host, "collectorPort": self.tracing_target.port,
             "queryUrl": self.query_url}
        )
