"""One microservice in its own injected namespace, reachable only by its declared callers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.builders import network_policies as np
from components.builders import workload_specs as ws
from components.builders.manifests import typed
from components.config.models import OBSERVABILITY_NAMESPACE
from components.plan import ServicePlan
from components.resources.declare import declare_custom_resource, declare_network_policies
from components.resources.istio import DataPlane
from components.vocab.istio import service_host


@dataclass(frozen=True, kw_only=True)
class MicroserviceArgs:
    plan: ServicePlan
    """The service, its pod settings and its callers, as `components.plan` resolved them."""
    mesh: DataPlane
    """Injection labels, restart hash and the readiness every pod must wait for."""
    scrapers: tuple[str, ...] = (OBSERVABILITY_NAMESPACE,)
    """Namespaces (or CIDRs) allowed to scrape the proxy metrics ports: Prometheus'."""
    image: Optional[pulumi.Input[str]] = None
    """A built image (ImageBuild.ref) instead of the workload's registry image."""


class Microservice(pulumi.ComponentResource):
    """Namespace, ServiceAccount, Deployment, Service, PDB/HPA, NetworkPolicy, AuthorizationPolicies."""

    namespace: pulumi.Output[str]
    address: pulumi.Output[str]

    def __init__(self, name: str, args: MicroserviceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:app:Microservice", name, None, opts)
        svc, wl, mesh = args.plan.service, args.plan.workload, args.mesh
        # The namespace (and so every pod in it) waits for istiod: no pod ever starts without its sidecar.
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": svc.name, "labels": {**mesh.namespace_labels, "app.kubernetes.io/part-of": "mesh"}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(mesh.ready)),
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        meta = k8s.meta.v1.ObjectMetaArgsDict(name=svc.name, namespace=svc.name, labels=ws.labels(svc))

        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta, automount_service_account_token=False, opts=in_ns)
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta,
            spec=typed(ws.deployment_spec(svc, wl, mesh.restart_hash, args.image)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, sa, *mesh.ready]),
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta,
            spec=typed({"selector": {"app": svc.name}, "ports": ws.service_ports(svc), "type": "ClusterIP"}),
            opts=in_ns,
        )
        if wl.min_replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb", metadata=meta,
                spec=typed({"maxUnavailable": 1, "selector": {"matchLabels": {"app": svc.name}}}), opts=in_ns,
            )
        if wl.autoscaling:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa", metadata=meta, spec=typed(ws.hpa_spec(svc, wl.autoscaling)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]),
            )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol", metadata=meta,
            spec=typed(ws.network_policy_spec(svc, args.plan.callers, args.scrapers)), opts=in_ns,
        )
        declare_network_policies(name, [np.default_deny(svc.name)], in_ns)
        cr_opts = pulumi.ResourceOptions(parent=self, depends_on=[ns, *mesh.crds, *mesh.ready])
        policies = (("deny", ws.allow_nothing(svc.name)), ("allow", ws.allow_callers(svc, args.plan.callers)))
        for role, manifest in policies:
            declare_custom_resource(f"{name}-authz-{role}", manifest, cr_opts)

        self.namespace = ns.metadata.name
        self.address = service.metadata.name.apply(lambda n: service_host(n, svc.name))
        self.register_outputs({"namespace": self.namespace, "address": self.address,
                               "image": args.image if args.image is not None else wl.image})
