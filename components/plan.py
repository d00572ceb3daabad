"""What runs for each service, decided in one place: image source, settings, callers, exposure.

Pure functions of the stack config (and the ingress identity): `__main__.py` hands each
`ServicePlan` to a `Microservice`. Which image a service runs is read from the config in
`components.config.images`, whose rules make an unresolvable image a `ConfigError` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.config.images import image_of, is_built
from components.config.models import AutoscalingConfig, Resources, StackConfig
from components.vocab import topology as topo
from components.vocab.istio import principal


@dataclass(frozen=True)
class Objective:
    """One service's objectives."""

    availability: float
    """Percent of requests that succeed, e.g. 99.9."""
    latency_p99_ms: int
    """99th percentile latency bound, milliseconds."""

    @property
    def error_budget(self) -> float:
        return round(1 - self.availability / 100, 10)


@dataclass(frozen=True)
class Workload:
    """Everything stack config decides about one service's pods."""

    image: str
    replicas: int
    resources: Resources
    env: dict[str, str]
    autoscaling: Optional[AutoscalingConfig]
    istio_revision: Optional[str]
    topology_spread: bool
    image_pull_policy: str
    image_pull_secrets: tuple[str, ...] = ()
    secret_env: bool = False
    """`mesh:workloads` is a secret key: every env value stays a Pulumi secret in the Deployment."""

    @property
    def min_replicas(self) -> int:
        return self.autoscaling.min_replicas if self.autoscaling else self.replicas


def image_reference(cfg: StackConfig, service: str, build_tag: Optional[str] = None) -> str:
    """The image a service's pods run: the one a build makes (`<registry>/<service>:<build tag>`) when it
    is built and the tag is known, else its registry image."""
    if build_tag is not None and is_built(cfg, service):
        return f"{cfg.workloads.registry}/{service}:{build_tag}"
    return image_of(cfg, service).reference


def resolve_workload(cfg: StackConfig, service: str, build_tag: Optional[str] = None) -> Workload:
    """Stack defaults overlaid with the service's overrides."""
    wl = cfg.workloads
    own = wl.services.get(service)
    return Workload(
        image=image_reference(cfg, service, build_tag),
        replicas=own.replicas if own and own.replicas is not None else wl.replicas,
        resources=own.resources if own and own.resources is not None else wl.resources,
        env=dict(sorted((own.env if own and own.env is not None else {}).items())),
        autoscaling=own.autoscaling if own and own.autoscaling is not None else wl.autoscaling,
        istio_revision=own.istio_revision if own else None,
        topology_spread=wl.topology_spread,
        image_pull_policy=wl.image_pull_policy,
        image_pull_secrets=tuple(wl.image_pull_secrets),
        secret_env="workloads" in cfg.secret_sections,
    )


def scrapers(cfg: StackConfig) -> tuple[str, ...]:
    """Who may scrape metrics ports: the addons' namespace (Prometheus), plus any configured outside one."""
    return (cfg.observability.namespace, *cfg.observability.prometheus.scrape_from)


# Defaults per environment (dev tolerates more: it runs one replica of everything on a laptop).
SLO_DEFAULTS = {"dev": Objective(99.0, 1000), "staging": Objective(99.5, 500), "prod": Objective(99.9, 300)}


def objective(cfg: StackConfig, service: str) -> Objective:
    """The service's objectives: its override, else the stack's, else the environment's default."""
    default = SLO_DEFAULTS[cfg.environment]
    layers = [cfg.workloads.slo, *([own.slo] if (own := cfg.workloads.services.get(service)) and own.slo else [])]
    availability, latency = default.availability, default.latency_p99_ms
    for layer in layers:
        availability = layer.availability if layer.availability is not None else availability
        latency = layer.latency_p99_ms if layer.latency_p99_ms is not None else latency
    return Objective(availability, latency)


def objectives(cfg: StackConfig) -> dict[str, Objective]:
    return {s.name: objective(cfg, s.name) for s in cfg.topology.services}


@dataclass(frozen=True)
class Caller:
    """A workload identity allowed to call a service: its namespace and ServiceAccount, and the
    ports it may use (None: every port of the service)."""

    namespace: str
    service_account: str
    ports: Optional[tuple[int, ...]] = None

    @property
    def principal(self) -> str:
        return principal(self.namespace, self.service_account)


@dataclass(frozen=True)
class ServicePlan:
    """One service as it will run: the topology entry, its pod settings, its image source, its callers."""

    service: topo.Service
    workload: Workload
    built: bool
    """True: the image is built from `mesh:workloads.build` (into `workload.image`); False: pulled."""
    @property
    def repository(self) -> str:
        """`workload.image` without its tag or digest."""
        return self.workload.image.split("@")[0].rsplit(":", 1)[0]
    callers: tuple[Caller, ...]
    """Declared callers (sorted), then the ingress gateway if the service is public."""
    build: bool = False
    """True: this `pulumi up` runs the build (built, and not a render, which only names the image)."""


def plan_services(cfg: StackConfig, ingress: Optional[Caller], build_tag: Optional[str] = None) -> list[ServicePlan]:
    """A plan per service, in topology order. `ingress`: the gateway's identity, or None without one;
    `build_tag`: the tag this stack's build gives its images (a content hash, computed once)."""
    rendering = cfg.kubernetes.render_yaml_to is not None
    callers = cfg.topology.callers_of()
    plans = []
    for svc in cfg.topology.services:
        allowed = [Caller(c, c) for c in callers[svc.name]]
        http = svc.port("http")
        if svc.public and ingress is not None and http is not None:
            allowed.append(Caller(ingress.namespace, ingress.service_account, (http,)))  # the routed port only
        built = is_built(cfg, svc.name)
        plans.append(ServicePlan(service=svc, workload=resolve_workload(cfg, svc.name, build_tag), built=built,
                                 build=built and build_tag is not None and not rendering, callers=tuple(allowed)))
    return plans
