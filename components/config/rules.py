"""Rules that span several keys or depend on the environment; each returns Problems, never raises."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from components.config.errors import Problem, key_path
from components.config.models import BuildSource, Resources, StackConfig
from components.fields import cpu_millis, memory_bytes
from components.plan import image_problems


def check_rules(cfg: StackConfig) -> list[Problem]:
    """Every cross-key rule, in a stable order (topology, resources, istio, addons, ingress, workloads)."""
    problems = [Problem(f"mesh:topology.{k}", v, rule) for k, v, rule in cfg.topology.problems()]
    problems += [p for key, res in resource_settings(cfg) for p in _resource_bounds(key, res)]
    problems += _istio_rules(cfg)
    problems += _observability_rules(cfg)
    problems += _ingress_rules(cfg)
    problems += _workload_rules(cfg)
    return problems


def resource_settings(model: BaseModel, loc: tuple[Any, ...] = ()) -> Iterator[tuple[str, Resources]]:
    """(key path, Resources) for every `resources` setting in the config, found by walking the models."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        here = (*loc, field.alias or name)
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, item in items:
            path = here if sub is None else (*here, sub)
            if isinstance(item, Resources):
                yield key_path(path), item
            elif isinstance(item, BaseModel):
                yield from resource_settings(item, path)


def _resource_bounds(key: str, res: Resources) -> list[Problem]:
    out = []
    if cpu_millis(res.requests.cpu) > cpu_millis(res.limits.cpu):
        out.append(Problem(f"{key}.requests.cpu", res.requests.cpu, f"must not exceed limits.cpu ({res.limits.cpu})"))
    if memory_bytes(res.requests.memory) > memory_bytes(res.limits.memory):
        out.append(
            Problem(f"{key}.requests.memory", res.requests.memory, f"must not exceed limits.memory ({res.limits.memory})")
        )
    return out


def _istio_rules(cfg: StackConfig) -> list[Problem]:
    istio, out = cfg.istio, []
    if istio.canary and istio.canary.revision == istio.revision:
        out.append(Problem("mesh:istio.canary.revision", istio.canary.revision, "must differ from mesh:istio.revision"))
    if cfg.environment != "dev" and istio.mtls != "STRICT":
        out.append(Problem("mesh:istio.mtls", istio.mtls, f"must be STRICT in {cfg.environment}; PERMISSIVE is dev only"))
    return out


def _observability_rules(cfg: StackConfig) -> list[Problem]:
    obs, out = cfg.observability, []
    prom, jaeger, kiali = obs.prometheus, obs.jaeger, obs.kiali
    if prom.enabled and prom.external_url:
        out.append(Problem("mesh:observability.prometheus.externalUrl", prom.external_url,
                           "set either enabled: true (install) or externalUrl (use existing), not both"))
    if jaeger.enabled and jaeger.external:
        out.append(Problem("mesh:observability.jaeger.external", jaeger.external.model_dump(by_alias=True),
                           "set either enabled: true (install) or external (use existing), not both"))
    for addon in ("kiali", "grafana"):
        if getattr(obs, addon).enabled and not prom.enabled and not prom.external_url:
            out.append(Problem(f"mesh:observability.{addon}.enabled", True,
                               f"{addon.capitalize()} needs Prometheus: enable mesh:observability.prometheus "
                               "or set its externalUrl"))
    if cfg.istio.tracing.enabled and not jaeger.enabled and not jaeger.external:
        out.append(Problem("mesh:istio.tracing.enabled", True,
                           "tracing needs a backend: enable mesh:observability.jaeger or set jaeger.external"))
    if kiali.auth.strategy == "anonymous" and cfg.environment != "dev":
        out.append(Problem("mesh:observability.kiali.auth.strategy", "anonymous",
                           f"anonymous Kiali is allowed only in dev, not {cfg.environment}; use token or openid"))
    if kiali.auth.strategy == "openid" and kiali.auth.openid is None:
        out.append(Problem("mesh:observability.kiali.auth.openid", None, "required when strategy is openid"))
    for addon in ("grafana", "kiali"):
        host = getattr(obs, addon).host
        if host and not cfg.ingress.enabled:
            out.append(Problem(f"mesh:observability.{addon}.host", host, "needs mesh:ingress.enabled: true"))
    if obs.grafana.anonymous_viewer and cfg.environment != "dev":
        out.append(Problem("mesh:observability.grafana.anonymousViewer", True, "allowed only in dev"))
    return out


def _ingress_rules(cfg: StackConfig) -> list[Problem]:
    ing, out = cfg.ingress, []
    if ing.node_port is not None and ing.service_type != "NodePort":
        out.append(Problem("mesh:ingress.nodePort", ing.node_port, "only valid with serviceType: NodePort"))
    public = cfg.topology.public_services()
    if ing.enabled and not public:
        out.append(Problem("mesh:ingress.enabled", True, "no service in mesh:topology is public"))
    if len(public) > 1:
        out.append(Problem("mesh:topology", [s.name for s in public],
                           "at most one public service: the ingress routes / to it"))
    if public and public[0].port("http") is None:
        out.append(Problem("mesh:topology", public[0].name, "the public service needs an http port for the ingress route"))
    if ing.namespace in {s.name for s in cfg.topology.services} | {"istio-system", cfg.observability.namespace}:
        out.append(Problem("mesh:ingress.namespace", ing.namespace, "must be its own namespace, not a service's"))
    return out


def _workload_rules(cfg: StackConfig) -> list[Problem]:
    wl, out = cfg.workloads, []
    names = [s.name for s in cfg.topology.services]
    revisions = {cfg.istio.revision} | ({cfg.istio.canary.revision} if cfg.istio.canary else set())
    for name, svc in wl.services.items():
        key = f"mesh:workloads.services.{name}"
        if name not in names:
            out.append(Problem(key, name, f"not a service in mesh:topology; services: {', '.join(names)}"))
        if svc.istio_revision is not None and svc.istio_revision not in revisions:
            out.append(Problem(f"{key}.istioRevision", svc.istio_revision,
                               f"must be one of the declared revisions: {sorted(revisions)}"))
        auto = svc.autoscaling or wl.autoscaling
        if auto and auto.min_replicas > auto.max_replicas:
            out.append(Problem(f"{key}.autoscaling.minReplicas", auto.min_replicas, "must not exceed maxReplicas"))
    if wl.autoscaling and wl.autoscaling.min_replicas > wl.autoscaling.max_replicas:
        out.append(Problem("mesh:workloads.autoscaling.minReplicas", wl.autoscaling.min_replicas,
                           "must not exceed maxReplicas"))
    if wl.build is not None:
        out += _build_rules(cfg, wl.build)
    return out + image_problems(cfg)


_FULL_SHA = re.compile(r"[0-9a-f]{40}")


def _build_rules(cfg: StackConfig, build: BuildSource) -> list[Problem]:
    key = "mesh:workloads.build"
    if cfg.environment != "dev":
        return [Problem(key, build.model_dump(by_alias=True, exclude_none=True),
                        f"images are built only in dev (loaded into kind); {cfg.environment} pulls pinned images")]
    if (build.git is None) == (build.path is None):
        return [Problem(key, build.model_dump(by_alias=True, exclude_none=True),
                        "set exactly one of git (with commit) or path")]
    if build.git is not None:
        if build.github_repo is None:
            return [Problem(f"{key}.git", build.git, "must be a GitHub repository URL https://github.com/<owner>/<repo>"
                                                      " (the Dockerfiles are read at the pinned commit); else use path")]
        if build.commit is None or not _FULL_SHA.fullmatch(build.commit):
            return [Problem(f"{key}.commit", build.commit, "must be a full 40-character lowercase commit SHA")]
        return []
    if build.commit is not None:
        return [Problem(f"{key}.commit", build.commit, "only with git; a path builds the working tree")]
    return _checkout_rules(cfg, build)


def _checkout_rules(cfg: StackConfig, build: BuildSource) -> list[Problem]:
    key, root = "mesh:workloads.build.path", build.checkout
    if root is None or not root.is_dir():
        return [Problem(key, build.path, f"directory {root} does not exist")]
    missing = [s.dockerfile_path for s in cfg.topology.services if not (root / s.dockerfile_path).is_file()]
    if missing:
        return [Problem(key, build.path, f"no Dockerfile at {', '.join(missing)} under {root}")]
    return []
