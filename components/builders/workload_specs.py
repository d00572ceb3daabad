"""Pure builders for one microservice's Kubernetes and Istio objects (tested without mocks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from components.builders.istio_values import RESTART_HASH_ANNOTATION
from components.builders.network_policies import PROXY_METRICS, peer, rule, scraping
from components.builders.security import restricted_container, restricted_pod
from components.config.models import AutoscalingConfig
from components.plan import Caller, Workload
from components.vocab import topology as topo

RUN_AS = 65532  # distroless "nonroot"; >= 10000 so it never collides with a host user.


def labels(service: topo.Service) -> dict[str, str]:
    return {"app": service.name, "app.kubernetes.io/name": service.name, "app.kubernetes.io/part-of": "mesh"}


def container_ports(service: topo.Service) -> list[dict[str, Any]]:
    return [{"name": p.protocol, "containerPort": p.port, "protocol": "TCP"} for p in service.ports]


def service_ports(service: topo.Service) -> list[dict[str, Any]]:
    """Named ports with appProtocol, so Istio never guesses the protocol."""
    # Ref: https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/
    return [
        {"name": p.protocol, "port": p.port, "targetPort": p.port, "protocol": "TCP", "appProtocol": p.protocol}
        for p in service.ports
    ]


def probe(service: topo.Service, period: int) -> dict[str, Any]:
    """TCP probe on the first port (the mercari services expose no health endpoint)."""
    return {"tcpSocket": {"port": service.ports[0].port}, "periodSeconds": period, "failureThreshold": 3}


def container_security_context() -> dict[str, Any]:
    return restricted_container(RUN_AS)


def pod_security_context() -> dict[str, Any]:
    return restricted_pod(RUN_AS)


def spread_constraints(service: topo.Service) -> list[dict[str, Any]]:
    selector = {"matchLabels": {"app": service.name}}
    return [
        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector}
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def pod_template(service: topo.Service, workload: Workload, restart_hash: str, image: Any = None) -> dict[str, Any]:
    """Pod template; the restart hash annotation rolls pods exactly when proxies must restart.
    `image` (e.g. a build's output) replaces the workload's registry image."""
    container = {
        "name": service.name,
        "image": image if image is not None else workload.image,
        "imagePullPolicy": workload.image_pull_policy,
        "ports": container_ports(service),
        "env": [{"name": k, "value": pulumi.Output.secret(v) if workload.secret_env else v}
                for k, v in workload.env.items()],
        "resources": workload.resources.manifest(),
        "readinessProbe": probe(service, 5),
        "livenessProbe": probe(service, 10),
        "securityContext": container_security_context(),
    }
    spec: dict[str, Any] = {
        "serviceAccountName": service.name,
        # The app never calls the Kubernetes API; istio-proxy gets its own projected token.
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "containers": [container],
    }
    if workload.topology_spread:
        spec["topologySpreadConstraints"] = spread_constraints(service)
    if workload.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": n} for n in workload.image_pull_secrets]
    return {
        "metadata": {"labels": labels(service), "annotations": {RESTART_HASH_ANNOTATION: restart_hash}},
        "spec": spec,
    }


def deployment_spec(service: topo.Service, workload: Workload, restart_hash: str, image: Any = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": service.name}},
        # Zero unavailable pods while rolling, so a proxy restart causes no downtime.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": pod_template(service, workload, restart_hash, image),
    }
    if workload.autoscaling is None:
        spec["replicas"] = workload.replicas
    return spec


def hpa_spec(service: topo.Service, auto: AutoscalingConfig) -> dict[str, Any]:
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
        "minReplicas": auto.min_replicas,
        "maxReplicas": auto.max_replicas,
        "metrics": [
            {"type": "Resource",
             "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": auto.cpu_utilization}}}
        ],
    }


def by_ports(service: topo.Service, callers: Sequence[Caller]) -> list[tuple[tuple[int, ...], list[Caller]]]:
    """Callers grouped by the ports they may use (all of the service's, or their own subset), in order."""
    groups: dict[tuple[int, ...], list[Caller]] = {}
    for caller in callers:
        groups.setdefault(caller.ports or tuple(p.port for p in service.ports), []).append(caller)
    return list(groups.items())


def network_policy_spec(service: topo.Service, callers: Sequence[Caller], scrapers: Sequence[str]) -> dict[str, Any]:
    """Layer-4 twin of the AuthorizationPolicy: only callers' namespaces reach their ports."""
    rules = [rule(ports, [peer(c.namespace) for c in group]) for ports, group in by_ports(service, callers)]
    rules.append(rule(PROXY_METRICS, scraping(scrapers)))  # Prometheus scrapes the proxies
    return {"podSelector": {"matchLabels": {"app": service.name}}, "policyTypes": ["Ingress"], "ingress": rules}


def allow_nothing(namespace: str) -> dict[str, Any]:
    """Default deny: an empty AuthorizationPolicy denies every request to the namespace."""
    # Ref: https://istio.io/latest/docs/reference/config/security/authorization-policy/ (allow-nothing)
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "allow-nothing", "namespace": namespace},
        "spec": {},
    }


def allow_callers(service: topo.Service, callers: Sequence[Caller]) -> dict[str, Any]:
    """ALLOW exactly the declared callers' mTLS identities, each on its ports. No callers: no rule,
    so nothing is allowed (an empty `principals` list would match every source)."""
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "allow-callers", "namespace": service.name},
        "spec": {
            "selector": {"matchLabels": {"app": service.name}},
            "action": "ALLOW",
            "rules": [
                {"from": [{"source": {"principals": sorted(c.principal for c in group)}}],
                 "to": [{"operation": {"ports": [str(p) for p in ports]}}]}
                for ports, group in by_ports(service, callers)
            ],
        },
    }
