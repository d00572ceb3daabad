"""The Istio control plane: namespace, `base` and `istiod` charts, mesh mTLS and Telemetry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart

from components.builders import istio_values as iv
from components.builders import network_policies as np
from components.builders.security import pod_security_labels
from components.config.models import OBSERVABILITY_NAMESPACE, IstioConfig
from components.resources.charts import ISTIO_REPO, ChartSource, Mirror, install
from components.resources.declare import declare_custom_resource, declare_network_policies
from components.vocab.istio import CNI_NAMESPACE, ROOT_NAMESPACE
from components.vocab.names import istiod_release


@dataclass(frozen=True, kw_only=True)
class IstioControlPlaneArgs:
    istio: IstioConfig
    """The stack's `mesh:istio` section."""
    chart_mirror: Optional[Mirror] = None
    """`mesh:charts.mirror`: fetch the Istio charts from here instead of upstream."""
    tracing: Optional[iv.TracingTarget] = None
    """The tracing backend's collector (its outputs); None = no tracing provider at all."""
    scrapers: tuple[str, ...] = (OBSERVABILITY_NAMESPACE,)
    """Namespaces (or CIDRs) allowed to scrape istiod."""
    observability_namespace: str = OBSERVABILITY_NAMESPACE
    """Where Kiali runs (it reads istiod's status)."""
    kubernetes_version: str = "1.36"
    """`mesh:kubernetes.version`: the Pod Security Admission labels pin the standard to it."""


@dataclass(frozen=True)
class DataPlane:
    """What an injected workload needs from the control plane, for one istiod revision."""

    revision: str
    """The istiod revision that injects the sidecar ('' = default)."""
    labels: dict[str, str]
    """Namespace labels that select that revision's injector."""
    namespace_labels: dict[str, str]
    """Every label a mesh namespace carries: the injector's and Pod Security Admission's (restricted)."""
    restart_hash: str
    """Pod-template annotation value: changes exactly when the injected proxies must restart."""
    ready: tuple[pulumi.Resource, ...]
    """istiod releases and the CNI node agent: wait for these so no pod starts without its sidecar
    or without traffic redirection."""
    crds: tuple[pulumi.Resource, ...]
    """The CRD chart: Istio custom resources wait for it."""


class IstioControlPlane(pulumi.ComponentResource):
    """Istio base + istiod (+ an optional canary istiod), mesh-wide STRICT/PERMISSIVE mTLS and Telemetry.

    Workloads get a `DataPlane` value (`data_plane(revision)`), never the component itself.
    """

    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: IstioControlPlaneArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:istio:ControlPlane", name, None, opts)
        istio = args.istio
        restricted = pod_security_labels("restricted", args.kubernetes_version)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": ROOT_NAMESPACE, "labels": {"name": ROOT_NAMESPACE, **restricted}},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = ns.metadata.name
        cni = self._cni(name, args)
        base = install(
            f"{name}-base",
            ChartSource("base", iv.crd_version(istio), ISTIO_REPO),
            args.chart_mirror,
            release="istio-base",
            namespace=self.namespace,
            values=iv.base_values(istio.revision),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns], transforms=iv.chart_transforms("base")),
        )
        versions = {istio.revision: istio.version}
        istiods = [self._istiod(name, "istiod", istio.version, istio.revision, args, base)]
        if istio.canary:
            versions[istio.canary.revision] = istio.canary.version
            istiods.append(self._istiod(name, "istiod-canary", istio.canary.version, istio.canary.revision, args, base))
        self._main = istio.revision
        self._planes = {
            rev: DataPlane(revision=rev, labels=iv.injection_labels(rev),
                           namespace_labels={**iv.injection_labels(rev), **restricted},
                           restart_hash=iv.restart_hash(version, rev, istio.proxy),
                           ready=(*istiods, cni), crds=(base,))
            for rev, version in versions.items()
        }

        declare_network_policies(name, np.control_plane(ROOT_NAMESPACE, args.scrapers, args.observability_namespace),
                         pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        cr_opts = pulumi.ResourceOptions(parent=self, depends_on=[base, *istiods])
        declare_custom_resource(f"{name}-mtls", iv.peer_authentication(istio.mtls), cr_opts)
        declare_custom_resource(f"{name}-telemetry", iv.mesh_telemetry(istio, args.tracing is not None), cr_opts)

        main = self.data_plane()
        self.register_outputs(
            {
                "namespace": self.namespace,
                "revision": istio.revision or "default",
                "injectionLabels": main.labels,
                "restartHash": main.restart_hash,
                "revisions": {rev or "default": {"name": rev, "version": versions[rev], "labels": p.labels,
                                                 "restart_hash": p.restart_hash} for rev, p in self._planes.items()},
            }
        )

    def _cni(self, name: str, args: IstioControlPlaneArgs) -> Chart:
        """istio-cni's node agent in its own namespace, the only one that admits privileged pods: it
        writes the CNI configuration on each node and sets up every injected pod's redirection."""
        # Ref: https://istio.io/latest/docs/setup/additional-setup/cni/ (the agent is privileged, hostNetwork)
        ns = k8s.core.v1.Namespace(
            f"{name}-cni-namespace",
            metadata={"name": CNI_NAMESPACE,
                      "labels": pod_security_labels("privileged", args.kubernetes_version)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        declare_network_policies(f"{name}-cni", [np.default_deny(CNI_NAMESPACE)],
                         pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        return install(
            f"{name}-cni", ChartSource("cni", iv.crd_version(args.istio), ISTIO_REPO), args.chart_mirror,
            release="istio-cni", namespace=ns.metadata.name, values=iv.cni_values(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]),
        )

    def _istiod(
        self, name: str, role: str, version: str, revision: str, args: IstioControlPlaneArgs, base: Chart
    ) -> Chart:
        release = istiod_release(revision)
        return install(
            f"{name}-{role}",
            ChartSource("istiod", version, ISTIO_REPO),
            args.chart_mirror,
            release=release,
            namespace=self.namespace,
            values=iv.istiod_values(args.istio, revision, args.tracing),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[base], transforms=iv.chart_transforms("istiod")),
        )

    def data_plane(self, revision: Optional[str] = None) -> DataPlane:
        """The data-plane view of `revision` (None: the main istiod)."""
        return self._planes[self._main if revision is None else revision]
