"""The Istio control plane: namespace, `base` and `istiod` charts, mesh mTLS and Telemetry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart

from components import istio_values as iv
from components.charts import ISTIO_REPO, ChartSource, install
from components.config import IstioConfig
from components.manifests import custom_resource


@dataclass(frozen=True, kw_only=True)
class IstioControlPlaneArgs:
    istio: IstioConfig
    """The stack's `mesh:istio` section."""
    chart_mirror: Optional[str] = None
    """`mesh:charts.mirror`: fetch the Istio charts from here instead of upstream."""
    tracing: Optional[iv.TracingTarget] = None
    """The tracing backend's collector (its outputs); None = no tracing provider at all."""


@dataclass(frozen=True)
class Revision:
    """One istiod revision as app namespaces see it."""

    name: str
    version: str
    labels: dict[str, str]
    restart_hash: str


class IstioControlPlane(pulumi.ComponentResource):
    """Istio base + istiod (+ an optional canary istiod), mesh-wide STRICT/PERMISSIVE mTLS and Telemetry.

    Dependents wait on `ready` (istiod up, so every injected pod gets its sidecar) and Istio
    custom resources wait on `crds_ready`.
    """

    namespace: pulumi.Output[str]
    ready: list[pulumi.Resource]
    crds_ready: list[pulumi.Resource]
    revisions: dict[str, Revision]

    def __init__(self, name: str, args: IstioControlPlaneArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:istio:ControlPlane", name, None, opts)
        istio = args.istio
        child = pulumi.ResourceOptions(parent=self)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": iv.ROOT_NAMESPACE, "labels": {"name": iv.ROOT_NAMESPACE}}, opts=child
        )
        self.namespace = ns.metadata.name
        drift = pulumi.ResourceOptions(parent=self, transforms=[iv.ignore_webhook_drift])

        base = install(
            f"{name}-base",
            ChartSource("base", istio.version, ISTIO_REPO),
            args.chart_mirror,
            release="istio-base",
            namespace=self.namespace,
            values=iv.base_values(istio.revision),
            opts=pulumi.ResourceOptions.merge(drift, pulumi.ResourceOptions(depends_on=[ns])),
        )
        self.crds_ready = [base]

        self.revisions = {istio.revision: self._revision(istio.revision, istio.version, istio)}
        istiods = [self._istiod(name, "istiod", istio.version, istio.revision, args, base)]
        if istio.canary:
            canary = istio.canary
            self.revisions[canary.revision] = self._revision(canary.revision, canary.version, istio)
            istiods.append(self._istiod(name, "istiod-canary", canary.version, canary.revision, args, base))
        self.ready = istiods

        cr_opts = pulumi.ResourceOptions(parent=self, depends_on=[*self.crds_ready, *self.ready])
        self.peer_authentication = custom_resource(f"{name}-mtls", iv.peer_authentication(istio.mtls), cr_opts)
        self.telemetry = custom_resource(
            f"{name}-telemetry", iv.mesh_telemetry(istio, args.tracing is not None), cr_opts
        )

        self.register_outputs(
            {
                "namespace": self.namespace,
                "revision": istio.revision or "default",
                "injectionLabels": self.injection_labels(),
                "restartHash": self.restart_hash(),
                "revisions": {k or "default": v.__dict__ for k, v in self.revisions.items()},
            }
        )

    @staticmethod
    def _revision(revision: str, version: str, istio: IstioConfig) -> Revision:
        return Revision(
            name=revision,
            version=version,
            labels=iv.injection_labels(revision),
            restart_hash=iv.restart_hash(version, revision, istio.proxy),
        )

    def _istiod(
        self, name: str, role: str, version: str, revision: str, args: IstioControlPlaneArgs, base: Chart
    ) -> Chart:
        release = "istiod" if not revision else f"istiod-{revision}"
        return install(
            f"{name}-{role}",
            ChartSource("istiod", version, ISTIO_REPO),
            args.chart_mirror,
            release=release,
            namespace=self.namespace,
            values=iv.istiod_values(args.istio, revision, args.tracing),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[base], transforms=[iv.ignore_webhook_drift]),
        )

    def _pick(self, revision: Optional[str]) -> Revision:
        key = next(iter(self.revisions)) if revision is None else revision
        return self.revisions[key]

    def injection_labels(self, revision: Optional[str] = None) -> dict[str, str]:
        """Namespace labels for sidecar injection by `revision` (default: the main istiod)."""
        return self._pick(revision).labels

    def restart_hash(self, revision: Optional[str] = None) -> str:
        """Pod-template annotation value: changes exactly when injected proxies must restart."""
        return self._pick(revision).restart_hash

