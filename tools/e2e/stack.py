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
)
"""What differs from staging, and why. PersistentVolumeClaims stay: the harness creates volumes."""


def e2e_config(base: dict[str, Any], *, mirror: str, context: str, kubernetes_version: str,
               environment: str) -> dict[str, Any]:
    """A stack file (`config:` map) from a base stack file, adapted to the local cluster."""
    config = copy.deepcopy(base.get("config") or {})
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


def write_stack(repo: Path, name: str, base_stack: str, **kwargs: str) -> Path:
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
