"""Every key a stack may set: its type, default and rule. Types carry the rules (`components.vocab.fields`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import Field, PrivateAttr

from components.vocab import topology as topo
from components.vocab.fields import (
    MAX_INT32,
    ChartMirror,
    CpuQuantity,
    Digest,
    DnsLabel,
    DnsName,
    Duration,
    EnvVarName,
    GoDuration,
    Hostname,
    HttpsUrl,
    HttpUrl,
    ImageTag,
    IngressHost,
    Int,
    K8sMinor,
    MemoryQuantity,
    Number,
    ObjectName,
    OptionalDnsLabel,
    Replicas,
    Repository,
    ScrapeSource,
    SemVer,
    Strict,
    Text,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""Where Pulumi.yaml lives; relative paths in stack config are resolved from here."""

NAMESPACE = "mesh"
"""Config namespace: every key is `mesh:<section>` (the Pulumi project name)."""

OBSERVABILITY_NAMESPACE = "observability"
"""The addons' namespace unless `mesh:observability.namespace` says otherwise."""

GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(\.git)?", re.ASCII)
"""A GitHub repository URL; group 1 is owner/repo."""


class ComputeQuantities(Strict):
    cpu: CpuQuantity = Field(description="CPU quantity, e.g. '100m'.")
    memory: MemoryQuantity = Field(description="Memory quantity with unit, e.g. '128Mi'.")


class Resources(Strict):
    """Container requests and limits; both are required so no container is unbounded."""

    requests: ComputeQuantities
    limits: ComputeQuantities

    def manifest(self) -> dict[str, Any]:
        """The Kubernetes container `resources` value."""
        return self.model_dump(mode="json")


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Resources:
    """Shorthand for defaults."""
    return Resources(
        requests=ComputeQuantities(cpu=cpu, memory=memory),
        limits=ComputeQuantities(cpu=cpu_limit, memory=memory_limit),
    )


class KubernetesConfig(Strict):
    context: Optional[Text] = Field(None, description="kubeconfig context; required outside dev.")
    kubeconfig: Optional[str] = Field(None, description="Path to a kubeconfig file; unset = default lookup.")
    version: K8sMinor = Field("1.36", description="Kubernetes minor version of the target cluster, e.g. '1.36'.")
    allow_end_of_life: bool = Field(
        False, description="Accept a Kubernetes minor past its upstream end of life outside dev.")
    namespace: Optional[DnsLabel] = Field(None, description="Default namespace for objects that name none.")
    render_yaml_to: Optional[str] = Field(
        None, description="Render stacks only (`make render STACK=...` makes one): write manifests to this "
                          "directory instead of applying them; context and kubeconfig are then not used."
    )


class ChartsConfig(Strict):
    mirror: Optional[ChartMirror] = Field(
        None,
        description="Fetch every Helm chart from this mirror instead of upstream: "
        "'oci://registry/path' or 'https://host/path' (air-gapped clusters).",
    )
    mirror_username: Optional[Text] = Field(None, description="User name for the mirror, if it needs one.")
    mirror_password: Optional[str] = Field(
        None, description="Password for the mirror: set it with `pulumi config set --secret --path`.")


class CanaryConfig(Strict):
    version: SemVer = Field(description="Istio version of the canary control plane.")
    revision: DnsLabel = Field(description="Revision name of the canary istiod, e.g. '1-31-1'.")


class PilotConfig(Strict):
    replicas: Replicas = Field(1, description="istiod replicas (autoscaling is off so this is exact).")
    resources: Resources = resources("100m", "256Mi", "1", "1Gi")


class ProxyConfig(Strict):
    resources: Resources = resources("50m", "64Mi", "500m", "256Mi")
    hold_application_until_proxy_starts: bool = Field(
        True, description="Start the app container only once its sidecar is ready."
    )


class TracingConfig(Strict):
    enabled: bool = Field(True, description="Send spans to the tracing backend (Telemetry API).")
    sampling: Number = Field(1.0, ge=0, le=100, allow_inf_nan=False, description="Percent of requests traced, 0-100.")


class AccessLogConfig(Strict):
    enabled: bool = Field(True, description="Envoy access logs on the proxies' stdout (Telemetry API).")
    encoding: Literal["TEXT", "JSON"] = Field("TEXT", description="meshConfig.accessLogEncoding.")


class IstioConfig(Strict):
    version: SemVer = Field("1.31.4", description="Istio chart and proxy version (a release listed in "
                            "components/vocab/istio_releases.py).")
    allow_unknown_version: bool = Field(
        False, description="Accept Istio versions newer than the releases this program knows (you checked them).")
    allow_end_of_life: bool = Field(
        False, description="Accept an Istio minor past its end of life outside dev (an upgrade is under way).")
    revision: OptionalDnsLabel = Field("", description="Revision of the main istiod; '' = the default revision.")
    canary: Optional[CanaryConfig] = Field(None, description="A second istiod for canary upgrades.")
    mtls: Literal["STRICT", "PERMISSIVE"] = Field("STRICT", description="Mesh-wide PeerAuthentication mode.")
    outbound_traffic_policy: Literal["ALLOW_ANY", "REGISTRY_ONLY"] = Field(
        "ALLOW_ANY", description="REGISTRY_ONLY blocks egress to hosts the mesh does not know.")
    access_log: AccessLogConfig = AccessLogConfig()
    tracing: TracingConfig = TracingConfig()
    pilot: PilotConfig = PilotConfig()
    proxy: ProxyConfig = ProxyConfig()


class StorageConfig(Strict):
    size: MemoryQuantity = Field("10Gi", description="PersistentVolumeClaim size.")
    storage_class: Optional[ObjectName] = Field(None, description="StorageClass; unset = cluster default.")


class AlertmanagerConfig(Strict):
    webhook_url: Optional[HttpUrl] = Field(
        None, description="Receiver webhook (Slack, PagerDuty, ...): a secret, `pulumi config set --secret --path`; "
                          "unset = alerts only in Alertmanager's UI.")


class PrometheusConfig(Strict):
    enabled: bool = Field(True, description="Install Prometheus in the cluster.")
    external_url: Optional[HttpUrl] = Field(None, description="Use this Prometheus instead of installing one.")
    chart_version: SemVer = Field("29.27.0", description="prometheus-community `prometheus` chart.")
    retention: Duration = Field("15d", description="How long samples are kept (duration).")
    scrape_interval: Duration = Field("15s", description="Global scrape interval (duration).")
    storage: Optional[StorageConfig] = Field(None, description="Persistent volume; unset = emptyDir.")
    alertmanager: Optional[AlertmanagerConfig] = Field(
        None, description="Install Alertmanager for the SLO alerts (off unless set; off in dev).")
    scrape_from: list[ScrapeSource] = Field(
        default_factory=list, description="Another Prometheus that scrapes the mesh: its namespace or CIDR "
                                          "(every namespace admits it to the metrics ports).")
    resources: Resources = resources("100m", "512Mi", "1", "2Gi")


class JaegerExternal(Strict):
    collector_host: DnsName = Field(description="OTLP gRPC collector host, e.g. otel.observability.svc.cluster.local")
    collector_port: Int = Field(4317, ge=1, le=65535)
    query_url: Optional[HttpUrl] = Field(None, description="Jaeger query URL for Kiali, if any.")


class JaegerStorage(Strict):
    type: Literal["memory", "badger"] = Field("memory", description="memory (dev) or badger on a volume.")
    max_traces: Int = Field(100000, ge=1000, le=MAX_INT32, description="memory: traces kept.")
    size: MemoryQuantity = Field("10Gi", description="badger: volume size.")
    storage_class: Optional[ObjectName] = Field(None, description="StorageClass; unset = cluster default.")
    retention: GoDuration = Field("72h", description="badger: how long spans are kept (Go duration: no 'd').")


class JaegerConfig(Strict):
    enabled: bool = Field(True, description="Install Jaeger v2 as the tracing backend.")
    external: Optional[JaegerExternal] = Field(None, description="Send traces here instead of installing Jaeger.")
    chart_version: SemVer = Field("4.13.0", description="jaegertracing `jaeger` chart (v2 since 4.0).")
    storage: JaegerStorage = JaegerStorage()
    resources: Resources = resources("100m", "256Mi", "1", "1Gi")


class GrafanaConfig(Strict):
    enabled: bool = Field(True, description="Install Grafana with the Istio dashboards.")
    chart_version: SemVer = Field("12.11.1", description="grafana-community `grafana` chart.")
    anonymous_viewer: bool = Field(False, description="Let anonymous users view dashboards (dev only).")
    host: Optional[Hostname] = Field(None, description="Expose through the ingress gateway at this host name.")
    resources: Resources = resources("50m", "128Mi", "500m", "512Mi")


class OpenIdConfig(Strict):
    issuer_uri: HttpsUrl
    client_id: Text
    client_secret: Optional[str] = Field(
        None, description="Confidential client: set with `pulumi config set --secret --path`.")
    username_claim: Text = "email"
    disable_rbac: bool = Field(description="Required choice: true = every signed-in user sees what Kiali's "
                                           "ServiceAccount sees; false = the cluster must accept the OIDC token")


class KialiAuth(Strict):
    strategy: Literal["anonymous", "token", "openid"] = Field("token", description="anonymous only in dev.")
    openid: Optional[OpenIdConfig] = Field(None, description="issuerUri, clientId, usernameClaim.")


class KialiConfig(Strict):
    enabled: bool = Field(True, description="Install Kiali (needs Prometheus).")
    # Kiali 2.27.0 is the release Istio 1.31's own addons ship (istio/istio samples/addons/kiali.yaml).
    chart_version: SemVer = Field("2.27.0", description="`kiali-server` chart.")
    auth: KialiAuth = KialiAuth()
    view_only: bool = Field(False, description="Kiali can only read the mesh.")
    host: Optional[Hostname] = Field(None, description="Expose through the ingress gateway at this host name.")
    resources: Resources = resources("10m", "64Mi", "500m", "1Gi")


class ObservabilityConfig(Strict):
    namespace: DnsLabel = Field(OBSERVABILITY_NAMESPACE, description="Namespace of the addons (no injection).")
    prometheus: PrometheusConfig = PrometheusConfig()
    jaeger: JaegerConfig = JaegerConfig()
    grafana: GrafanaConfig = GrafanaConfig()
    kiali: KialiConfig = KialiConfig()


class CertManagerConfig(Strict):
    issuer: DnsLabel = Field(description="cert-manager issuer that signs the gateway's certificate.")
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = Field("ClusterIssuer", description="Kind of that issuer.")


class TlsConfig(Strict):
    credential_name: DnsLabel = Field(description="Secret in the ingress namespace holding the certificate.")
    redirect_http: bool = Field(True, description="Redirect HTTP to HTTPS.")
    cert_manager: Optional[CertManagerConfig] = Field(
        None, description="cert-manager is installed: request the certificate from this issuer. "
                          "Unset: you create the Secret (the `ingressTls` output says which).")


class IngressConfig(Strict):
    enabled: bool = Field(True, description="Install the ingress gateway and route to the public service.")
    namespace: DnsLabel = Field("istio-ingress", description="The gateway's own injected namespace.")
    service_type: Literal["NodePort", "LoadBalancer", "ClusterIP"] = Field(
        "LoadBalancer", description="Service type of the gateway.")
    node_port: Optional[Int] = Field(None, ge=30000, le=32767, description="HTTP nodePort when NodePort.")
    hosts: list[IngressHost] = Field(default_factory=lambda: ["*"], min_length=1,
                                     description="Host names the Gateway serves ('*', '*.example.com', 'a.example.com').")
    tls: Optional[TlsConfig] = None
    replicas: Replicas = Field(1, description="Gateway replicas (PDB when > 1).")
    resources: Resources = resources("100m", "128Mi", "2", "1Gi")


class ImageConfig(Strict):
    repository: Optional[Repository] = Field(None, description="Image repository; unset = <registry>/<service>.")
    tag: Optional[ImageTag] = None
    digest: Optional[Digest] = None


class BuildSource(Strict):
    """Build every service's image from the mercari sources and load it into kind (dev only)."""

    git: Optional[HttpUrl] = Field(None, description="Git URL of the source repository (with commit).")
    commit: Optional[str] = Field(None, description="Full 40-character commit SHA the git context is pinned to.")
    path: Optional[str] = Field(None, description="Local checkout instead of git (relative to the project).")
    kind_cluster: DnsLabel = Field("mercari", description="kind cluster the images are loaded into.")

    @property
    def github_repo(self) -> Optional[str]:
        """'owner/repo' when `git` is a GitHub repository URL, else None."""
        match = GITHUB.fullmatch(self.git or "")
        return match.group(1) if match else None

    @property
    def checkout(self) -> Optional[Path]:
        """The local checkout as an absolute path (relative paths are from the project root)."""
        return None if self.path is None else (PROJECT_ROOT / self.path).resolve()


class AutoscalingConfig(Strict):
    min_replicas: Replicas = 2
    max_replicas: Replicas = 5
    cpu_utilization: Int = Field(75, ge=1, le=100, description="Target average CPU, percent of requests.")


MAX_AVAILABILITY = 99.9999
"""The highest objective whose error budget (0.0001%) the alerts can still state: a budget that rounds
to 0 makes every burn-rate threshold 0, and each alert fires on the first failed request."""


class SloConfig(Strict):
    """Objectives; unset fields fall back to the stack's, then to the environment's defaults."""

    availability: Optional[Number] = Field(None, gt=0, le=MAX_AVAILABILITY, allow_inf_nan=False,
                                          description="Percent of inbound requests that succeed, e.g. 99.9.")
    latency_p99_ms: Optional[Int] = Field(None, ge=1, le=MAX_INT32, description="p99 latency bound (ms).")


class WorkloadSettings(Strict):
    """Settings one service may override."""

    image: Optional[ImageConfig] = None
    replicas: Optional[Replicas] = None
    resources: Optional[Resources] = None
    env: Optional[dict[EnvVarName, str]] = Field(
        None, description="Environment variables; a `--secret` value stays secret in the Deployment.")
    autoscaling: Optional[AutoscalingConfig] = None
    istio_revision: Optional[str] = Field(None, description="Inject with this istiod revision (canary).")
    slo: Optional[SloConfig] = Field(None, description="This service's objectives.")


class WorkloadsConfig(Strict):
    registry: Repository = Field("mercari/mercari-microservices-example", description="Image = <registry>/<service>.")
    tag: Optional[ImageTag] = Field("latest", description="Default image tag.")
    replicas: Replicas = Field(1, description="Default replicas per service (PDB when > 1).")
    resources: Resources = Field(resources("100m", "64Mi", "500m", "256Mi"),
                                 description="Default app container resources.")
    autoscaling: Optional[AutoscalingConfig] = Field(
        None, description="Default HPA: minReplicas, maxReplicas, cpuUtilization.")
    topology_spread: bool = Field(False, description="Spread replicas across zones and nodes.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="Never for images loaded into kind.")
    services: dict[str, WorkloadSettings] = Field(default_factory=dict, description="Per-service overrides.")
    build: Optional[BuildSource] = Field(None, description="Build images from source instead of pulling (dev).")
    image_pull_secrets: list[ObjectName] = Field(default_factory=list, description="Secrets for a private registry.")
    slo: SloConfig = Field(SloConfig(), description="Objectives of every service: availability %, p99 latency ms "
                                                    "(defaults: dev 99/1000, staging 99.5/500, prod 99.9/300).")


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
    _secret_sections: frozenset[str] = PrivateAttr(default_factory=frozenset)
    """Set by the loader, never by a stack: the `mesh:*` keys the CLI marks secret."""

    @property
    def secret_sections(self) -> frozenset[str]:
        return self._secret_sections
