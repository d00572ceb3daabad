"""Render a Helm chart offline with helm-python-sdk (Helm's Go library, no helm binary), and ask
what only the real chart can answer: do the values fit its schema, and which values does no
template read?"""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


def _helm() -> Any:
    import helm_python  # a test/tool dependency (requirements-dev.txt), never needed by the program

    return helm_python


def chart_source(chart: str, version: str, repo: str | None, charts_dir: Path | None) -> Path:
    """The chart's directory: `<charts_dir>/<chart>-<version>` or `<charts_dir>/<chart>`, else pulled
    from its repository (needs the network) into a temporary directory."""
    if charts_dir is not None:
        for candidate in (charts_dir / f"{chart}-{version}", charts_dir / chart):
            if (candidate / "Chart.yaml").is_file():
                return candidate
        raise FileNotFoundError(f"{chart} {version}: not in {charts_dir} (expected {chart}-{version}/Chart.yaml)")
    target = Path(tempfile.mkdtemp(prefix="chart-check-"))
    name = chart.rsplit("/", 1)[-1]
    _helm().pull(chart if repo is None else name, repo_url=repo, version=version, destination=target,
                 untar=True, untar_dir=target)
    return target / name


def render_text(path: Path, values: dict[str, Any], release: str, namespace: str,
                skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` (Pulumi's Chart v4) renders an install."""
    with _helm().Chart.load(str(path)) as chart:
        out = chart.render(values, name=release, namespace=namespace, is_install=True)
    return {k: v for k, v in out.items() if not k.endswith("NOTES.txt") and not any(k.endswith(s) for s in skip)}


CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "StorageClass",
                  "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "PersistentVolume"}


def objects(rendered: dict[str, str], namespace: str) -> list[dict[str, Any]]:
    """The Kubernetes objects in a render, namespaced ones in `namespace` when their template names
    none (as Pulumi's Chart v4 and `helm install` place them)."""
    out = [doc for text in rendered.values() for doc in yaml.safe_load_all(text) if isinstance(doc, dict) and doc]
    for obj in out:
        if obj.get("kind") not in CLUSTER_SCOPED:
            obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return out


def schema_problems(path: Path, values: dict[str, Any]) -> list[str]:
    """values.schema.json violations (charts without a schema pass)."""
    helm = _helm()
    with helm.Chart.load(str(path)) as chart:
        try:
            chart.validate_schema(values)
        except helm.HelmError as err:
            return [str(err)]
    return []


def leaves(values: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Key paths of every leaf (scalar, list, or empty map) the program passes."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaves(value, (*path, str(key)))
    else:
        yield path


def _changed(value: Any) -> Any:
    """A different value of the same kind, to see whether a template reads it."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 7
    if isinstance(value, str):
        return value + "-probe"
    if isinstance(value, list):
        return [*value, copy.deepcopy(value[-1])] if value else ["probe"]
    if isinstance(value, dict):
        return {"probe": "probe"}
    return "probe"


_CHECKSUM = re.compile(r"^\s*checksum/[^:]*:.*$", re.MULTILINE)


def _comparable(rendered: dict[str, str]) -> dict[str, str]:
    """A render without `checksum/...` annotations: they hash other templates, so they would make
    every key look read."""
    return {k: _CHECKSUM.sub("", v) for k, v in rendered.items()}


def unread_keys(path: Path, values: dict[str, Any], release: str, namespace: str,
                skip: tuple[str, ...] = ()) -> list[str]:
    """Keys whose value, changed, changes nothing in the render: no template reads them.

    `skip`: templates that dump all values verbatim (e.g. Kiali's ConfigMap), so a key counts as
    read only if another template uses it; the reader of such a dump is checked separately.
    """
    base = _comparable(render_text(path, values, release, namespace, skip))
    unread = []
    for leaf in leaves(values):
        probe = copy.deepcopy(values)
        node = probe
        for key in leaf[:-1]:
            node = node[key]
        node[leaf[-1]] = _changed(node[leaf[-1]])
        try:
            changed = _comparable(render_text(path, probe, release, namespace, skip)) != base
        except Exception:  # noqa: BLE001 - a render that fails on the probe reads the key
            changed = True
        if not changed:
            unread.append(".".join(leaf))
    return unread
