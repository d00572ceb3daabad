"""Where each Helm chart comes from, and the Chart v4 arguments that fetch it.

Every chart is pinned (version) and comes from its upstream repository, or, when the stack
sets `mesh:charts.mirror`, from that mirror (OCI registry or HTTP chart repository), so an
air-gapped cluster needs one switch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_random as random
from pulumi_kubernetes.helm.v4 import Chart, ChartArgs, RepositoryOptsArgs

from components.config.models import ChartsConfig

ISTIO_REPO = "https://blob.istio.io/istio-release/charts"
PROMETHEUS_REPO = "https://prometheus-community.github.io/helm-charts"
JAEGER_REPO = "https://jaegertracing.github.io/helm-charts"
GRAFANA_REPO = "https://grafana-community.github.io/helm-charts"
KIALI_REPO = "https://kiali.org/helm-charts"


@dataclass(frozen=True)
class ChartSource:
    """A pinned chart in its upstream repository."""

    chart: str
    version: str
    repo: str


@dataclass(frozen=True)
class Mirror:
    """`mesh:charts.mirror` and its optional credentials (the password is a Pulumi secret)."""

    url: str
    username: Optional[str] = None
    password: Optional[pulumi.Input[str]] = None


def mirror_of(cfg: ChartsConfig) -> Optional[Mirror]:
    """The stack's mirror, or None for upstream repositories."""
    if cfg.mirror is None:
        return None
    password = pulumi.Output.secret(cfg.mirror_password) if cfg.mirror_password else None
    return Mirror(cfg.mirror, cfg.mirror_username, password)


def locate(source: ChartSource, mirror: Optional[Mirror]) -> tuple[str, Optional[str]]:
    """(chart reference, repository URL or None for OCI) for the upstream repo or the mirror."""
    repo = mirror.url if mirror else source.repo
    if repo.startswith("oci://"):
        return f"{repo}/{source.chart}", None
    return source.chart, repo


def chart_args(
    source: ChartSource,
    mirror: Optional[Mirror],
    *,
    release: str,
    namespace: Any,
    values: Mapping[str, Any],
) -> ChartArgs:
    """Chart v4 args for `source`, released as `release` into `namespace`."""
    chart, repo = locate(source, mirror)
    authed = mirror is not None and mirror.username is not None
    return ChartArgs(
        chart=chart,
        version=source.version,
        repository_opts=RepositoryOptsArgs(
            repo=repo, username=mirror.username if mirror else None, password=mirror.password if mirror else None,
        ) if repo or authed else None,
        name=release,
        namespace=namespace,
        values=values,
    )


def install(
    name: str,
    source: ChartSource,
    mirror: Optional[Mirror],
    *,
    release: str,
    namespace: Any,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> Chart:
    """One pinned chart release (Chart v4), from upstream or the mirror."""
    return Chart(name, chart_args(source, mirror, release=release, namespace=namespace, values=values), opts=opts)


@dataclass(frozen=True, kw_only=True)
class AddonArgs:
    """What every addon takes besides its own config: where it runs and where its chart comes from."""

    namespace: str
    """Namespace to install into."""
    chart_mirror: Optional[Mirror] = None
    """`mesh:charts.mirror`, if set."""


def install_addon(component: pulumi.Resource, name: str, source: ChartSource, args: AddonArgs, *,
                  values: Mapping[str, Any], depends_on: Sequence[pulumi.Resource] = ()) -> Chart:
    """An addon's chart as the component's child `<name>-chart`, released under the chart's own name."""
    release = source.chart.removesuffix("-server")
    return install(f"{name}-chart", source, args.chart_mirror, release=release, namespace=args.namespace,
                   values=values, opts=pulumi.ResourceOptions(parent=component, depends_on=list(depends_on)))


def generated_secret(name: str, length: int, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A random alphanumeric value generated once, kept in state, and marked secret."""
    password = random.RandomPassword(name, length=length, special=False, opts=pulumi.ResourceOptions(parent=parent))
    return pulumi.Output.secret(password.result)
