"""Parse the stack's config once, build the mesh from typed components, export what people need."""

import pulumi

from components.cluster import kubernetes_provider
from components.config import is_built, parse_stack_config, read_pulumi_config
from components.image_build import ImageBuild, ImageBuildArgs, content_tag
from components.ingress import IngressArgs, IngressGateway, Route
from components.istio import IstioControlPlane, IstioControlPlaneArgs
from components.microservice import Microservice, MicroserviceArgs
from components.observability.stack import Observability, ObservabilityArgs
from components.workload_specs import principal, resolve_workload

stack = pulumi.get_stack()
cfg = parse_stack_config(stack, read_pulumi_config())  # ConfigError: a clear message, nothing registered
mirror = cfg.charts.mirror

provider = kubernetes_provider(f"{stack}-cluster", cfg.kubernetes)
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})

observability = Observability(
    "observability",
    ObservabilityArgs(config=cfg.observability, tracing_enabled=cfg.istio.tracing.enabled, chart_mirror=mirror),
    opts=on_cluster,
)
control_plane = IstioControlPlane(
    "istio",
    IstioControlPlaneArgs(istio=cfg.istio, chart_mirror=mirror, tracing=observability.tracing_target),
    opts=on_cluster,
)

ingress = None
public = cfg.topology.public_services()
if cfg.ingress.enabled:
    routes = tuple(Route(name, host, ep.host, ep.port) for name, (host, ep) in observability.exposed.items())
    ingress = IngressGateway(
        "ingress",
        IngressArgs(config=cfg.ingress, version=cfg.istio.version, public_service=public[0],
                    control_plane=control_plane, routes=routes, chart_mirror=mirror),
        opts=on_cluster,
    )

build = cfg.workloads.build
tag = content_tag(build) if build else None  # once per stack: hashing a checkout is not free
callers = cfg.topology.callers_of()
for svc in cfg.topology.services:
    image = None
    if is_built(cfg, svc.name):
        image = ImageBuild(f"{svc.name}-image", ImageBuildArgs(
            service=svc, build=build, repository=f"{cfg.workloads.registry}/{svc.name}", tag=tag)).ref
    peers = list(callers[svc.name])
    principals = [principal(c, c) for c in peers]
    if svc.public and ingress is not None:
        peers.append(ingress.namespace)
        principals.append(ingress.principal)
    Microservice(
        svc.name,
        MicroserviceArgs(service=svc, workload=resolve_workload(cfg, svc.name), control_plane=control_plane,
                         caller_principals=principals, caller_namespaces=peers,
                         metrics_namespace=cfg.observability.namespace, image=image),
        opts=on_cluster,
    )

pulumi.export("environment", cfg.environment)
pulumi.export("istioRevision", cfg.istio.revision or "default")
pulumi.export("restartHash", control_plane.restart_hash())
scheme = "https" if cfg.ingress.tls else "http"
node_port = f":{cfg.ingress.node_port}" if cfg.ingress.node_port else ""
pulumi.export("dashboards", {**observability.dashboards, **{
    name: f"{scheme}://{host}{node_port}{ep.path or '/'}" for name, (host, ep) in observability.exposed.items()}})
if ingress is not None:
    pulumi.export("ingress", f"http://localhost{node_port}/" if cfg.ingress.service_type == "NodePort"
                  else f"kubectl -n {ingress.namespace} get svc istio-ingress  # external address")
if observability.grafana_admin_password is not None:
    pulumi.export("grafanaAdminPassword", observability.grafana_admin_password)
