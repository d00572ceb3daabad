"""Parse the stack's config once, build the mesh from typed components, export what people need."""

import pulumi

from components.config.loading import parse_stack_config, read_pulumi_config
from components.plan import objectives, plan_services, scrapers
from components.resources import ingress as ing
from components.resources.charts import mirror_of
from components.resources.cluster import kubernetes_provider
from components.resources.image_build import ImageBuild, ImageBuildArgs, content_tag
from components.resources.istio import IstioControlPlane, IstioControlPlaneArgs
from components.resources.microservice import Microservice, MicroserviceArgs
from components.resources.observability.stack import Observability, ObservabilityArgs

stack = pulumi.get_stack()
cfg = parse_stack_config(stack, read_pulumi_config())  # ConfigError: a clear message, nothing registered
mirror, build, scrape = mirror_of(cfg.charts), cfg.workloads.build, scrapers(cfg)
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": kubernetes_provider(f"{stack}-cluster", cfg.kubernetes)})

observability = Observability("observability", ObservabilityArgs(
    config=cfg.observability, tracing_enabled=cfg.istio.tracing.enabled, chart_mirror=mirror,
    topology=cfg.topology, objectives=objectives(cfg), scrapers=scrape,
    ingress=cfg.ingress if cfg.ingress.enabled else None, kubernetes_version=cfg.kubernetes.version), opts=on_cluster)
control_plane = IstioControlPlane("istio", IstioControlPlaneArgs(
    istio=cfg.istio, chart_mirror=mirror, tracing=observability.tracing_target, scrapers=scrape,
    observability_namespace=cfg.observability.namespace, kubernetes_version=cfg.kubernetes.version), opts=on_cluster)
gateway = None
if cfg.ingress.enabled:
    routes = tuple(ing.Route(name, host, ep.host, ep.port) for name, (host, ep) in observability.exposed.items())
    gateway = ing.IngressGateway("ingress", ing.IngressArgs(
        config=cfg.ingress, version=cfg.istio.version, public_service=cfg.topology.public_services()[0],
        mesh=control_plane.data_plane(), routes=routes, scrapers=scrape, chart_mirror=mirror), opts=on_cluster)

tag = content_tag(build) if build else None  # once per stack: hashing a checkout is not free
for plan in plan_services(cfg, ing.identity(cfg.ingress) if cfg.ingress.enabled else None, tag):
    name = plan.service.name
    image = ImageBuild(f"{name}-image", ImageBuildArgs(service=plan.service, build=build, repository=plan.repository,
                                                      tag=tag)).ref if plan.build and build and tag else None
    Microservice(name, MicroserviceArgs(
        plan=plan, mesh=control_plane.data_plane(plan.workload.istio_revision),
        scrapers=scrape, image=image), opts=on_cluster)

pulumi.export("environment", cfg.environment)
pulumi.export("istioRevision", cfg.istio.revision or "default")
pulumi.export("restartHash", control_plane.data_plane().restart_hash)
pulumi.export("dashboards", {**observability.dashboards, **{
    name: ing.public_url(cfg.ingress, host, ep.path) for name, (host, ep) in observability.exposed.items()}})
if gateway is not None:
    pulumi.export("ingress", ing.address(cfg.ingress))
    pulumi.export("ingressTls", gateway.tls)
if observability.grafana_admin_password is not None:
    pulumi.export("grafanaAdminPassword", observability.grafana_admin_password)
