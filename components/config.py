"""Stack configuration: parsed once into frozen, typed objects.

Every key a stack may set is declared here with its type, default and rule. Unknown keys,
bad values and contradictions become one `ConfigError` that names the stack, the key path
(`mesh:istio.tracing.sampling`), the bad value and what is allowed. It is raised before any
resource is registered and is a `pulumi.RunError`, so the user sees the message and no
Python traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Union, get_args, get_origin

import pulumi
from pydantic import BaseModel, Field, ValidationError, field_validator

from components import topology as topo
from components.validation import (
    Strict,
    check_chart_mirror,
    check_cpu,
    check_digest,
    check_dns_label,
    check_duration,
    check_hostname,
    check_http_url,
    check_k8s_minor,
    check_memory,
    check_repository,
    check_semver,
    check_tag,
    cpu_millis,
    memory_bytes,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""Where Pulumi.yaml lives; relative paths in stack config are resolved from here."""

NAMESPACE = "mesh"
"""Config namespace: every key is `mesh:<section>` (the Pulumi project name)."""

ENVIRONMENTS = ("dev", "staging", "prod")

class ConfigError(pulumi.RunError):
    """Bad stack configuration: one line per problem, each naming stack, key, value, rule."""

    def __init__(self, stack: str, problems: list["Problem"]):
        self.stack = stack
        self.problems = problems
        lines = [f"stack '{stack}': invalid configuration ({len(problems)} problem(s))"]
        lines += [f"  {p.key} = {json.dumps(p.value, default=str)}: {p.allowed}" for p in problems]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        """The key paths named, in order."""
        return [p.key for p in self.problems]


@dataclass(frozen=True)
class Problem:
    key: str
    value: Any
    allowed: str


# --------------------------------------------------------------------------- models
class ComputeQuantities(Strict):
    cpu: str = Field(description="CPU quantity, e.g. '100m'.")
    memory: str = Field(description="Memory quantity with unit, e.g. '128Mi'.")

    _cpu = field_validator("cpu", mode="before")(check_cpu)
    _memory = field_validator("memory", mode="before")(check_memory)


class Resources(Strict):
    """Container requests and limits; both are required so no container is unbounded."""

    requests: ComputeQuantities
    limits: ComputeQuantities


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Resources:
    """Shorthand for defaults."""
    return Resources(
        requests=ComputeQuantities(cpu=cpu, memory=memory),
        limits=ComputeQuantities(cpu=cpu_limit, memory=memory_limit),
    )


class KubernetesConfig(Strict):
    context: Optional[str] = Field(None, description="kubeconfig context; unset = current context.")
    kubeconfig: Optional[str] = Field(None, description="Path to a kubeconfig file; unset = default lookup.")
    version: str = Field("1.33", description="Kubernetes minor version of the target cluster, e.g. '1.33'.")
    namespace: Optional[str] = Field(None, description="Default namespace for objects that name none.")
    render_yaml_to: Optional[str] = Field(
        None, description="Write manifests to this directory instead of applying them (review, GitOps)."
    )

    _version = field_validator("version")(check_k8s_minor)

    _namespace = field_validator("namespace")(lambda v: v if v is None else check_dns_label(v))


class ChartsConfig(Strict):
    mirror: Optional[str] = Field(
        None,
        description="Fetch every Helm chart from this mirror instead of upstream: "
        "'oci://registry/path' or 'https://host/path' (air-gapped clusters).",
    )

    _mirror = field_validator("mirror")(lambda v: v if v is None else check_chart_mirror(v))


class CanaryConfig(Strict):
    version: str = Field(description="Istio version of the canary control plane.")
    revision: str = Field(description="Revision name of the canary istiod, e.g. '1-31-1'.")

    _version = field_validator("version")(check_semver)
    _revision = field_validator("revision")(check_dns_label)


class PilotConfig(Strict):
    replicas: int = Field(1, ge=1, description="istiod replicas (autoscaling is off so this is exact).")
    resources: Resources = resources("100m", "256Mi", "1", "1Gi")


class ProxyConfig(Strict):
    resources: Resources = resources("50m", "64Mi", "500m", "256Mi")
    hold_application_until_proxy_starts: bool = Field(
        True, description="Start the app container only once its sidecar is ready."
    )


class TracingConfig(Strict):
    enabled: bool = Field(True, description="Send spans to the tracing backend (Telemetry API).")
    sampling: float = Field(1.0, ge=0, le=100, description="Percent of requests traced, 0-100.")


class AccessLogConfig(Strict):
    enabled: bool = Field(True, description="Envoy access logs on the proxies' stdout (Telemetry API).")
    encoding: Literal["TEXT", "JSON"] = Field("TEXT", description="meshConfig.accessLogEncoding.")


class IstioConfig(Strict):
    version: str = Field("1.31.1", description="Istio chart and proxy version.")
    revision: str = Field("", description="Revision of the main istiod; '' = the default revision.")
    canary: Optional[CanaryConfig] = Field(None, description="A second istiod for canary upgrades.")
    mtls: Literal["STRICT", "PERMISSIVE"] = Field("STRICT", description="Mesh-wide PeerAuthentication mode.")
    outbound_traffic_policy: Literal["ALLOW_ANY", "REGISTRY_ONLY"] = Field(
        "ALLOW_ANY", description="REGISTRY_ONLY blocks egress to hosts the mesh does not know.")
    access_log: AccessLogConfig = AccessLogConfig()
    tracing: TracingConfig = TracingConfig()
    pilot: PilotConfig = PilotConfig()
    proxy: ProxyConfig = ProxyConfig()

    _version = field_validator("version")(check_semver)
    _revision = field_validator("revision")(lambda v: v if v == "" else check_dns_label(v))


class StorageConfig(Strict):
    size: str = Field("10Gi", description="PersistentVolumeClaim size.")
    storage_class: Optional[str] = Field(None, description="StorageClass; unset = cluster default.")

    _size = field_validator("size", mode="before")(check_memory)


class PrometheusConfig(Strict):
    enabled: bool = Field(True, description="Install Prometheus in the cluster.")
    external_url: Optional[str] = Field(None, description="Use this Prometheus instead of installing one.")
    chart_version: str = Field("28.0.0", description="prometheus-community `prometheus` chart.")
    retention: str = Field("15d", description="How long samples are kept (duration).")
    scrape_interval: str = Field("15s", description="Global scrape interval (duration).")
    storage: Optional[StorageConfig] = Field(None, description="Persistent volume; unset = emptyDir.")
    resources: Resources = resources("100m", "512Mi", "1", "2Gi")

    _chart = field_validator("chart_version")(check_semver)
    _retention = field_validator("retention", "scrape_interval")(check_duration)
    _url = field_validator("external_url")(lambda v: v if v is None else check_http_url(v))


class JaegerExternal(Strict):
    collector_host: str = Field(description="OTLP gRPC collector host, e.g. otel.observability.svc.cluster.local")
    collector_port: int = Field(4317, ge=1, le=65535)
    query_url: Optional[str] = Field(None, description="Jaeger query URL for Kiali, if any.")

    _url = field_validator("query_url")(lambda v: v if v is None else check_http_url(v))


class JaegerStorage(Strict):
    type: Literal["memory", "badger"] = Field("memory", description="memory (dev) or badger on a volume.")
    max_traces: int = Field(100000, ge=1000, description="memory: traces kept.")
    size: str = Field("10Gi", description="badger: volume size.")
    storage_class: Optional[str] = None
    retention: str = Field("72h", description="badger: how long spans are kept.")

    _size = field_validator("size", mode="before")(check_memory)
    _retention = field_validator("retention")(check_duration)


class JaegerConfig(Strict):
    enabled: bool = Field(True, description="Install Jaeger v2 as the tracing backend.")
    external: Optional[JaegerExternal] = Field(None, description="Send traces here instead of installing Jaeger.")
    chart_version: str = Field("4.13.0", description="jaegertracing `jaeger` chart (v2 since 4.0).")
    storage: JaegerStorage = JaegerStorage()
    resources: Resources = resources("100m", "256Mi", "1", "1Gi")

    _chart = field_validator("chart_version")(check_semver)


class GrafanaConfig(Strict):
    enabled: bool = Field(True, description="Install Grafana with the Istio dashboards.")
    chart_version: str = Field("11.1.0", description="grafana-community `grafana` chart.")
    anonymous_viewer: bool = Field(False, description="Let anonymous users view dashboards (dev only).")
    host: Optional[str] = Field(None, description="Expose through the ingress gateway at this host name.")
    resources: Resources = resources("50m", "128Mi", "500m", "512Mi")

    _chart = field_validator("chart_version")(check_semver)
    _host = field_validator("host")(lambda v: v if v is None else check_hostname(v))


class OpenIdConfig(Strict):
    issuer_uri: str
    client_id: str
    username_claim: str = "email"

    _issuer = field_validator("issuer_uri")(lambda v: check_http_url(v))


class KialiAuth(Strict):
    strategy: Literal["anonymous", "token", "openid"] = Field("token", description="anonymous only in dev.")
    openid: Optional[OpenIdConfig] = Field(None, description="issuerUri, clientId, usernameClaim.")


class KialiConfig(Strict):
    enabled: bool = Field(True, description="Install Kiali (needs Prometheus).")
    chart_version: str = Field("2.20.0", description="`kiali-server` chart.")
    auth: KialiAuth = KialiAuth()
    view_only: bool = Field(False, description="Kiali can only read the mesh.")
    host: Optional[str] = Field(None, description="Expose through the ingress gateway at this host name.")
    resources: Resources = resources("10m", "64Mi", "500m", "1Gi")

    _chart = field_validator("chart_version")(check_semver)
    _host = field_validator("host")(lambda v: v if v is None else check_hostname(v))


class ObservabilityConfig(Strict):
    namespace: str = Field("observability", description="Namespace of the addons (no injection).")
    prometheus: PrometheusConfig = PrometheusConfig()
    jaeger: JaegerConfig = JaegerConfig()
    grafana: GrafanaConfig = GrafanaConfig()
    kiali: KialiConfig = KialiConfig()

    _namespace = field_validator("namespace")(check_dns_label)


class TlsConfig(Strict):
    credential_name: str = Field(description="Secret in the ingress namespace holding the certificate.")
    redirect_http: bool = Field(True, description="Redirect HTTP to HTTPS.")

    _name = field_validator("credential_name")(check_dns_label)


class IngressConfig(Strict):
    enabled: bool = Field(True, description="Install the ingress gateway and route to the public service.")
    namespace: str = Field("istio-ingress", description="The gateway's own injected namespace.")
    service_type: Literal["NodePort", "LoadBalancer", "ClusterIP"] = Field(
        "LoadBalancer", description="Service type of the gateway.")
    node_port: Optional[int] = Field(None, ge=30000, le=32767, description="HTTP nodePort when NodePort.")
    hosts: list[str] = Field(default_factory=lambda: ["*"], description="Host names the Gateway serves.")
    tls: Optional[TlsConfig] = None
    replicas: int = Field(1, ge=1, description="Gateway replicas (PDB when > 1).")
    resources: Resources = resources("100m", "128Mi", "2", "1Gi")

    _namespace = field_validator("namespace")(check_dns_label)


class ImageConfig(Strict):
    repository: Optional[str] = Field(None, description="Image repository; unset = <registry>/<service>.")
    tag: Optional[str] = None
    digest: Optional[str] = None

    _repository = field_validator("repository")(lambda v: v if v is None else check_repository(v))
    _tag = field_validator("tag")(lambda v: v if v is None else check_tag(v))
    _digest = field_validator("digest")(lambda v: v if v is None else check_digest(v))


class BuildSource(Strict):
    """Build every service's image from the mercari sources and load it into kind (dev only)."""

    git: Optional[str] = Field(None, description="Git URL of the source repository (with commit).")
    commit: Optional[str] = Field(None, description="Full 40-character commit SHA the git context is pinned to.")
    path: Optional[str] = Field(None, description="Local checkout instead of git (relative to the project).")
    kind_cluster: str = Field("mercari", description="kind cluster the images are loaded into.")

    _git = field_validator("git")(lambda v: v if v is None else check_http_url(v))
    _cluster = field_validator("kind_cluster")(check_dns_label)

    @property
    def checkout(self) -> Optional[Path]:
        """The local checkout as an absolute path (relative paths are from the project root)."""
        return None if self.path is None else (PROJECT_ROOT / self.path).resolve()


class AutoscalingConfig(Strict):
    min_replicas: int = Field(2, ge=1)
    max_replicas: int = Field(5, ge=1)
    cpu_utilization: int = Field(75, ge=1, le=100, description="Target average CPU, percent of requests.")


class WorkloadSettings(Strict):
    """Settings one service may override."""

    image: Optional[ImageConfig] = None
    replicas: Optional[int] = Field(None, ge=1)
    resources: Optional[Resources] = None
    env: Optional[dict[str, str]] = None
    autoscaling: Optional[AutoscalingConfig] = None
    istio_revision: Optional[str] = Field(None, description="Inject with this istiod revision (canary).")


class WorkloadsConfig(Strict):
    registry: str = Field("mercari/mercari-microservices-example", description="Image = <registry>/<service>.")
    tag: Optional[str] = Field("latest", description="Default image tag.")
    replicas: int = Field(1, ge=1, description="Default replicas per service (PDB when > 1).")
    resources: Resources = Field(resources("100m", "64Mi", "500m", "256Mi"), description="Default app container resources.")
    autoscaling: Optional[AutoscalingConfig] = Field(None, description="Default HPA: minReplicas, maxReplicas, cpuUtilization.")
    topology_spread: bool = Field(False, description="Spread replicas across zones and nodes.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="Never for images loaded into kind.")
    services: dict[str, WorkloadSettings] = Field(default_factory=dict, description="Per-service overrides.")
    build: Optional[BuildSource] = Field(None, description="Build images from source instead of pulling (dev).")
    image_pull_secrets: list[str] = Field(default_factory=list, description="Secrets for a private registry.")

    _registry = field_validator("registry")(check_repository)
    _tag = field_validator("tag")(lambda v: v if v is None else check_tag(v))


class StackConfig(Strict):
    """The whole stack: one field per `mesh:<key>`."""

    environment: Literal["dev", "staging", "prod"] = Field(description="Defaults to the stack name.")
    kubernetes: KubernetesConfig = KubernetesConfig()
    charts: ChartsConfig = ChartsConfig()
    istio: IstioConfig = IstioConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    ingress: IngressConfig = IngressConfig()
    workloads: WorkloadsConfig = WorkloadsConfig()
    topology: topo.Topology = topo.MERCARI


# --------------------------------------------------------------------------- parsing
def parse_stack_config(stack: str, raw: Mapping[str, Any]) -> StackConfig:
    """Raw `mesh:*` config (keys without namespace, values decoded) -> StackConfig, or ConfigError."""
    data = dict(raw)
    if "environment" not in data:
        if stack not in ENVIRONMENTS:
            raise ConfigError(stack, [Problem("mesh:environment", None,
                                              f"required for a stack not named {', '.join(ENVIRONMENTS)}")])
        data["environment"] = stack
    try:
        cfg = StackConfig.model_validate(data)
    except ValidationError as err:
        errors = err.errors()
        # Keep the innermost errors: an outer one only repeats that its items failed.
        locs = [e["loc"] for e in errors]
        inner = [e for e in errors if not any(len(o) > len(e["loc"]) and o[: len(e["loc"])] == e["loc"] for o in locs)]
        raise ConfigError(stack, [_problem(e) for e in inner]) from None
    problems = check_rules(cfg)
    if problems:
        raise ConfigError(stack, problems)
    return cfg


def read_pulumi_config() -> dict[str, Any]:
    """All `mesh:*` keys the engine passed, namespace stripped, structured values decoded."""
    merged = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    out: dict[str, Any] = {}
    for key, value in merged.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        out[name] = _decode(value)
    return out


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, (dict, list)) else value


def _key_path(loc: tuple) -> str:
    head, *rest = loc or ("(root)",)
    path = f"{NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _problem(error: dict) -> Problem:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    key = _key_path(loc)
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(StackConfig, loc[:-1])
        return Problem(key, error["input"], f"unknown key; allowed keys here: {', '.join(allowed)}")
    if error["type"] == "missing":
        return Problem(key, None, "required key is missing")
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error":
        msg = "must be one of " + msg.removeprefix("Input should be ")
    return Problem(key, error.get("input"), msg)


def _allowed_keys(model: type, loc: tuple) -> list[str]:
    """Aliases of the model reached by walking loc from the root model."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
            current = field.annotation if field else None
        elif get_origin(current) in (dict, list, tuple):
            current = get_args(current)[-1]
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    if get_origin(annotation) is Union:
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


# --------------------------------------------------------------------------- cross-field rules
def check_rules(cfg: StackConfig) -> list[Problem]:
    """Rules that span several keys or depend on the environment."""
    problems = [Problem(f"mesh:topology.{k}", v, rule) for k, v, rule in cfg.topology.problems()]
    problems += _resource_rules(cfg)
    problems += _istio_rules(cfg)
    problems += _observability_rules(cfg)
    problems += _ingress_rules(cfg)
    problems += _workload_rules(cfg)
    return problems


def _resource_bounds(key: str, res: Optional[Resources]) -> list[Problem]:
    if res is None:
        return []
    out = []
    if cpu_millis(res.requests.cpu) > cpu_millis(res.limits.cpu):
        out.append(Problem(f"{key}.requests.cpu", res.requests.cpu, f"must not exceed limits.cpu ({res.limits.cpu})"))
    if memory_bytes(res.requests.memory) > memory_bytes(res.limits.memory):
        out.append(
            Problem(f"{key}.requests.memory", res.requests.memory, f"must not exceed limits.memory ({res.limits.memory})")
        )
    return out


def _resource_rules(cfg: StackConfig) -> list[Problem]:
    obs = cfg.observability
    pairs = [
        ("mesh:istio.pilot.resources", cfg.istio.pilot.resources),
        ("mesh:istio.proxy.resources", cfg.istio.proxy.resources),
        ("mesh:observability.prometheus.resources", obs.prometheus.resources),
        ("mesh:observability.jaeger.resources", obs.jaeger.resources),
        ("mesh:observability.grafana.resources", obs.grafana.resources),
        ("mesh:observability.kiali.resources", obs.kiali.resources),
        ("mesh:ingress.resources", cfg.ingress.resources),
        ("mesh:workloads.resources", cfg.workloads.resources),
    ]
    pairs += [(f"mesh:workloads.services.{n}.resources", s.resources) for n, s in cfg.workloads.services.items()]
    return [p for key, res in pairs for p in _resource_bounds(key, res)]


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
    if kiali.enabled and not prom.enabled and not prom.external_url:
        out.append(Problem("mesh:observability.kiali.enabled", True,
                           "Kiali needs Prometheus: enable mesh:observability.prometheus or set its externalUrl"))
    if obs.grafana.enabled and not prom.enabled and not prom.external_url:
        out.append(Problem("mesh:observability.grafana.enabled", True,
                           "Grafana needs Prometheus: enable mesh:observability.prometheus or set its externalUrl"))
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
    for name in names:
        if is_built(cfg, name):
            continue
        for problem in _image_rules(cfg, name, image_of(cfg, name)):
            if problem not in out:  # a shared default (mesh:workloads.tag) is reported once
                out.append(problem)
    return out


_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
GITHUB = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(\.git)?$")


def _build_rules(cfg: StackConfig, build: BuildSource) -> list[Problem]:
    key = "mesh:workloads.build"
    if cfg.environment != "dev":
        return [Problem(key, build.model_dump(by_alias=True, exclude_none=True),
                        f"images are built only in dev (loaded into kind); {cfg.environment} pulls pinned images")]
    if (build.git is None) == (build.path is None):
        return [Problem(key, build.model_dump(by_alias=True, exclude_none=True),
                        "set exactly one of git (with commit) or path")]
    if build.git is not None:
        if not GITHUB.match(build.git):
            return [Problem(f"{key}.git", build.git, "must be a GitHub repository URL https://github.com/<owner>/<repo>"
                                                      " (the Dockerfiles are read at the pinned commit); else use path")]
        if build.commit is None or not _FULL_SHA.match(build.commit):
            return [Problem(f"{key}.commit", build.commit, "must be a full 40-character lowercase commit SHA")]
        return []
    if build.commit is not None:
        return [Problem(f"{key}.commit", build.commit, "only with git; a path builds the working tree")]
    root = build.checkout
    if not root.is_dir():
        return [Problem(f"{key}.path", build.path, f"directory {root} does not exist")]
    missing = [s.dockerfile_path for s in cfg.topology.services if not (root / s.dockerfile_path).is_file()]
    if missing:
        return [Problem(f"{key}.path", build.path, f"no Dockerfile at {', '.join(missing)} under {root}")]
    return []


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: Optional[str]
    digest: Optional[str]
    key: str

    @property
    def reference(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"


def is_built(cfg: StackConfig, service: str) -> bool:
    """Built from source (mesh:workloads.build) unless the service names its own registry image."""
    override = cfg.workloads.services.get(service)
    return cfg.workloads.build is not None and not (override and override.image)


def image_of(cfg: StackConfig, service: str) -> ImageRef:
    """The image a service runs: its override, else <registry>/<service>:<tag>."""
    override = cfg.workloads.services.get(service)
    img = override.image if override and override.image else ImageConfig()
    key = f"mesh:workloads.services.{service}.image" if override and override.image else "mesh:workloads.tag"
    tag = img.tag if (img.tag or img.digest) else cfg.workloads.tag
    return ImageRef(
        repository=img.repository or f"{cfg.workloads.registry}/{service}",
        tag=tag,
        digest=img.digest,
        key=key,
    )


def _image_rules(cfg: StackConfig, service: str, image: ImageRef) -> list[Problem]:
    if image.tag and image.digest:
        return [Problem(f"{image.key}.digest", image.digest, "set tag or digest, not both")]
    if not image.tag and not image.digest:
        return [Problem(image.key, None, f"service '{service}' needs an image tag or digest")]
    if cfg.environment != "dev" and image.tag == "latest" and not image.digest:
        return [Problem(image.key if image.key.endswith("tag") else f"{image.key}.tag", "latest",
                        f"'latest' is not allowed in {cfg.environment}: pin a version tag or a sha256 digest")]
    return []
