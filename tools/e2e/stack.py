"""The e2e stack: staging's config pointed at the local cluster and the loopback chart mirror, with
only what a bare cluster lacks adapted, as a user of such a cluster would do in stack config. Each
adaptation is listed (the README's table is this list). Pure functions: unit-tested in CI."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

ADAPTATIONS = (
    ("mesh:charts.mirror", "the loopback Helm repository serving CHARTS_DIR (no chart repository is reachable)"),
    ("mesh:kubernetes.context", "the local control plane's kubeconfig context"),
    ("mesh:kubernetes.version", "the local API server's minor version"),
    ("mesh:ingress.serviceType", "NodePort: no LoadBalancer controller on a bare cluster"),
    ("policy helm-chart-pinned.allowedRepositories", "the mirror added, as an air-gapped user must"),
    ("mesh:istio.version", "the Istio release whose istiod and charts were built here, when the pin differs"),
    ("mesh:observability.<addon>.chartVersion", "a chart CHARTS_DIR lacks at the pinned version: the newest it has"),
)
"""What differs from staging, and why. PersistentVolumeClaims stay: the harness creates volumes."""


CHART_KEYS = {"prometheus": ("mesh:observability", "prometheus"), "jaeger": ("mesh:observability", "jaeger"),
              "grafana": ("mesh:observability", "grafana"), "kiali-server": ("mesh:observability", "kiali")}
"""Addon chart -> (top-level key, section) of its `chartVersion`."""


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("-")[0].split(".") if p.isdigit())


def available(charts_dir: Path) -> dict[str, list[str]]:
    """Chart -> versions CHARTS_DIR holds (`<chart>-<version>/` folders), oldest first."""
    out: dict[str, list[str]] = {}
    for d in charts_dir.iterdir():
        name, _, version = d.name.rpartition("-")
        if d.is_dir() and name and version[:1].isdigit():
            out.setdefault(name, []).append(version)
    return {k: sorted(v, key=_version) for k, v in sorted(out.items())}


def substitutions(pinned: dict[str, str], have: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """Chart -> (pinned, used) for each pinned chart CHARTS_DIR lacks, using the newest it has."""
    return {chart: (version, have[chart][-1]) for chart, version in sorted(pinned.items())
            if version not in have.get(chart, []) and have.get(chart)}


def e2e_config(base: dict[str, Any], *, mirror: str, context: str, kubernetes_version: str,
               environment: str, istio_version: str | None = None,
               charts: dict[str, str] | None = None) -> dict[str, Any]:
    """A stack file (`config:` map) from a base stack file, adapted to the local cluster; `charts`
    maps an addon chart to the version to use instead of its pin."""
    config = copy.deepcopy(base.get("config") or {})
    if istio_version:
        config.setdefault("mesh:istio", {})["version"] = istio_version
    for chart, version in (charts or {}).items():
        top, section = CHART_KEYS[chart]
        config.setdefault(top, {}).setdefault(section, {})["chartVersion"] = version
    config["mesh:environment"] = environment
    config.setdefault("mesh:kubernetes", {}).update({"context": context, "version": kubernetes_version})
    config.setdefault("mesh:charts", {})["mirror"] = mirror
    ingress = config.setdefault("mesh:ingress", {})
    if ingress.get("serviceType", "LoadBalancer") == "LoadBalancer":
        ingress["serviceType"] = "NodePort"
    return {"config": config}


def policy_config(base: dict[str, Any], mirror: str) -> dict[str, Any]:
    """The stack's policy-pack config with the mirror among the allowed chart repositories."""
    out = copy.deepcopy(base)
    rule = out.setdefault("helm-chart-pinned", {})
    rule["allowedRepositories"] = [*rule.get("allowedRepositories", []), mirror]
    return out


def write_stack(repo: Path, name: str, base_stack: str, **kwargs: Any) -> Path:
    """stacks/Pulumi.<name>.yaml (gitignored) from stacks/Pulumi.<base_stack>.yaml."""
    base = yaml.safe_load((repo / "stacks" / f"Pulumi.{base_stack}.yaml").read_text())
    path = repo / "stacks" / f"Pulumi.{name}.yaml"
    body = yaml.safe_dump(e2e_config(base, **kwargs), sort_keys=False)
    path.write_text(f"# Written by make e2e-local from Pulumi.{base_stack}.yaml; not committed.\n{body}")
    return path


def write_policy(repo: Path, run: Path, base_stack: str, mirror: str) -> Path:
    base = json.loads((repo / "policy" / f"config.{base_stack}.json").read_text())
    path = run / f"policy.{base_stack}.json"
    path.write_text(json.dumps(policy_config(base, mirror), indent=2))
    return path
