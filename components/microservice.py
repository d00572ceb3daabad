"""One microservice in its own injected namespace, reachable only by its declared callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components import topology as topo
from components import workload_specs as ws
from components.istio import IstioControlPlane
from components.manifests import custom_resource


@dataclass(frozen=True, kw_only=True)
class MicroserviceArgs:
    service: topo.Service
    """The service as declared in the topology."""
    workload: ws.Workload
    """Image, replicas, resources, env as the stack resolved them."""
    control_plane: IstioControlPlane
    """Injection labels, restart hash and the readiness every pod must wait for."""
    caller_principals: list[str] = field(default_factory=list)
    """mTLS identities allowed to call this service (callers, plus the ingress if public)."""
    caller_namespaces: list[str] = field(default_factory=list)
    """Namespaces of those identities, for the NetworkPolicy."""
    metrics_namespace: str = "observability"
    """Where Prometheus runs (allowed to scrape the proxy metrics ports)."""
    image: Optional[pulumi.Input[str]] = None
    """A built image (ImageBuild.ref) instead of the workload's registry image."""


class Microservice(pulumi.ComponentResource):
    """Namespace, ServiceAccount, Deployment, Service, PDB/HPA, NetworkPolicy, AuthorizationPolicies."""

    namespace: pulumi.Output[str]
    address: pulumi.Output[str]

    def __init__(self, name: str, args: MicroserviceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:app:Microservice", name, None, opts)
        svc, wl, cp = args.service, args.workload, args.control_plane
        revision = wl.istio_revision
        # The namespace (and so every pod in it) waits for istiod: no pod ever starts without its sidecar.
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": svc.name, "labels": {**cp.injection_labels(revision), "app.kubernetes.io/part-of": "mesh"}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=cp.ready),
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        meta = lambda n: {"name": n, "namespace": svc.name, "labels": ws.labels(svc)}  # noqa: E731

        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=meta(svc.name), automount_service_account_token=False, opts=in_ns
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(svc.name),
            spec=ws.deployment_spec(svc, wl, cp.restart_hash(revision), args.image),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, sa, *cp.ready]),
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta(svc.name),
            spec={"selector": {"app": svc.name}, "ports": ws.service_ports(svc), "type": "ClusterIP"},
            opts=in_ns,
        )
        if wl.min_replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb", metadata=meta(svc.name),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": {"app": svc.name}}}, opts=in_ns,
            )
        if wl.autoscaling:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa", metadata=meta(svc.name), spec=ws.hpa_spec(svc, wl.autoscaling),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]),
            )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol", metadata=meta(svc.name),
            spec=ws.network_policy_spec(svc, args.caller_namespaces, args.metrics_namespace), opts=in_ns,
        )
        cr_opts = pulumi.ResourceOptions(parent=self, depends_on=[ns, *cp.crds_ready, *cp.ready])
        for role, manifest in (("deny", ws.allow_nothing(svc.name)), ("allow", ws.allow_callers(svc, args.caller_principals))):
            custom_resource(f"{name}-authz-{role}", manifest, cr_opts)

        self.namespace = ns.metadata.name
        self.address = service.metadata.name.apply(lambda n: f"{n}.{svc.name}.svc.cluster.local")
        self.register_outputs({"namespace": self.namespace, "address": self.address,
                               "image": args.image if args.image is not None else wl.image})
