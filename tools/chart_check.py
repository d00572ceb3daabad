"""`make chart-check`: render every pinned chart with exactly the values the program passes, then
check what the mock engine cannot: the values fit the chart's schema, every value is read, the
objects are valid Kubernetes, pass the policy pack, and contain what the program wires to.

    python -m tools.chart_check [--stack dev] [--charts-dir DIR] [--kiali-keys FILE]

Without --charts-dir each chart is pulled from its repository (needs the network). With it, each
chart is read from DIR/<chart>-<version>/ or DIR/<chart>/. Exit status 1 when anything is found.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tools import chart_render as cr
from tools import checkov, pack, waitfor
from tools.engine import ROOT, STACKS, Evaluation, _ints, evaluate, stack_config

KIALI_KEYS = ROOT / "tools" / "facts" / "kiali-v2.27.0-config-keys.json"
"""Every key the Kiali server reads at the pinned version (`python -m tools.kiali_keys`, from kiali/kiali's
config structs at that tag); a test keeps its version the pinned chart's."""
CONFIG_DUMPS = {"kiali-server": ("templates/configmap.yaml",)}
"""Templates that copy all values into a ConfigMap: a key counts as read only if another template, or
the program reading that ConfigMap (Kiali), uses it."""


HOW_TO_PROVIDE = ("set CHARTS_DIR to a directory of <chart>-<version>/ chart sources "
                  "(`python -m tools.e2e.pull_charts DIR` fills one where the chart repositories are reachable)")


@dataclass(frozen=True)
class Expect:
    """An object the program wires to: kind and name, the ports it must have, labels its pods carry."""

    kind: str
    name: str
    ports: tuple[int, ...] = ()
    pod_labels: tuple[tuple[str, str], ...] = ()
    node_port: Optional[int] = None


@dataclass
class Report:
    findings: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(stack, release, check, detail)."""
    rendered: dict[str, int] = field(default_factory=dict)
    """'stack/release' -> objects rendered."""

    def add(self, stack: str, release: str, check: str, details: Iterable[str]) -> None:
        self.findings += [(stack, release, check, d) for d in details]


def expectations(ev: Evaluation) -> dict[str, list[Expect]]:
    """What the program's own wiring assumes each release creates."""
    from components.builders import network_policies as np
    from components.resources import ingress
    from components.resources.observability import grafana, jaeger, kiali, prometheus

    charts = ev.charts()
    out: dict[str, list[Expect]] = {}
    # The NetworkPolicies select pods by these labels: the charts must put them there.
    selected = {"prometheus": ("prometheus", np.PROMETHEUS), "jaeger": ("jaeger", np.JAEGER),
                "grafana": ("grafana", np.GRAFANA), "kiali": ("kiali", np.KIALI), "istiod": ("istiod", np.ISTIOD)}
    for release, (deployment, labels) in selected.items():
        if release in charts:
            out.setdefault(release, []).append(Expect("Deployment", deployment, pod_labels=tuple(labels.items())))
    if "prometheus" in charts and charts["prometheus"].inputs["values"]["alertmanager"].get("enabled"):
        out["prometheus"].append(Expect("StatefulSet", "prometheus-alertmanager",
                                        pod_labels=tuple(np.ALERTMANAGER.items())))
    for release, service, ports in (
            ("prometheus", prometheus.FULLNAME, (prometheus.PORT,)), ("grafana", grafana.FULLNAME, (grafana.PORT,)),
            ("kiali", kiali.FULLNAME, (kiali.PORT,)),
            ("jaeger", jaeger.FULLNAME, (jaeger.OTLP_GRPC_PORT, jaeger.QUERY_HTTP_PORT, jaeger.QUERY_GRPC_PORT))):
        if release in charts:
            out.setdefault(release, []).append(Expect("Service", service, ports))
    if ingress.RELEASE in charts:
        values = charts[ingress.RELEASE].inputs["values"]
        http = next(p for p in values["service"]["ports"] if p["name"] == "http2")
        node_port = int(http["nodePort"]) if "nodePort" in http else None
        out[ingress.RELEASE] = [
            Expect("Service", ingress.RELEASE, (80,), node_port=node_port),
            Expect("ServiceAccount", ingress.RELEASE),  # the principal the public service allows
            Expect("Deployment", ingress.RELEASE, pod_labels=tuple(ingress.SELECTOR.items())),  # Gateway selector
        ]
    return out


def wiring_problems(objects: list[dict[str, Any]], expects: list[Expect]) -> list[str]:
    """Expected objects missing from the render, or without the ports and labels the program uses."""
    out = []
    for e in expects:
        found = next((o for o in objects if o.get("kind") == e.kind and o["metadata"].get("name") == e.name), None)
        if found is None:
            out.append(f"no {e.kind} '{e.name}' in the render, but the program wires to it")
            continue
        ports = found.get("spec", {}).get("ports", []) if e.kind == "Service" else []
        missing = [p for p in e.ports if p not in {q.get("port") for q in ports}]
        if missing:
            out.append(f"{e.kind} '{e.name}' has no port {missing}")
        if e.node_port is not None and e.node_port not in {q.get("nodePort") for q in ports}:
            out.append(f"{e.kind} '{e.name}' has no nodePort {e.node_port}")
        labels = found.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        for key, value in e.pod_labels:
            if labels.get(key) != value:
                out.append(f"{e.kind} '{e.name}' pods lack label {key}={value}")
    return out


def server_unread(keys: list[str], tree: dict[str, Any]) -> list[str]:
    """Of `keys` (dotted), those the server's config tree does not know ('*' accepts any sub-key)."""
    def known(parts: list[str], node: Any) -> bool:
        if node == "*" or not parts:
            return True
        return isinstance(node, dict) and parts[0] in node and known(parts[1:], node[parts[0]])
    return [k for k in keys if not known(k.split("."), tree)]


def kubernetes_problems(objects: list[dict[str, Any]], version: str) -> list[str]:
    """kubernetes-validate strict (unknown fields fail) on every built-in object; custom kinds skipped."""
    import kubernetes_validate

    out = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            continue  # a custom resource (e.g. an Istio CR): its CRD is validated elsewhere
        except Exception as err:  # noqa: BLE001 - every validation failure is a finding
            out.append(f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}: {str(err).splitlines()[0]}")
    return out


def resource_type(obj: dict[str, Any]) -> str:
    """The Pulumi type token a chart child gets: `kubernetes:apps/v1:Deployment`, `kubernetes:core/v1:Pod`."""
    api = obj.get("apiVersion", "")
    return f"kubernetes:{api if '/' in api else 'core/' + api}:{obj.get('kind', '')}"


def policy_problems(objects: list[dict[str, Any]], config: dict[str, Any]) -> list[str]:
    """The CrossGuard pack's resource rules, on each rendered object as a real preview hands them over."""
    found = pack.rules().violations([(resource_type(o), o) for o in objects], config, stack_rules=False)
    return [f"{name}: {message}" for name, message in found]


DEPENDS_ON = "config.kubernetes.io/depends-on"


def depends_on_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Every `config.kubernetes.io/depends-on` reference names an object of the same render: Chart v4
    orders a chart's objects by it, and a reference outside the chart is not supported."""
    # Ref: https://github.com/pulumi/pulumi-kubernetes/blob/v4.25.0/provider/pkg/gen/examples/overlays/chartV4.md
    # (<group>/namespaces/<namespace>/<kind>/<name>, <group>/<kind>/<name>)
    def ref(o: dict[str, Any]) -> str:
        group = o.get("apiVersion", "").rpartition("/")[0]
        meta = o.get("metadata") or {}
        scope = f"namespaces/{meta['namespace']}/" if meta.get("namespace") else ""
        return f"{group}/{scope}{o.get('kind')}/{meta.get('name')}"

    present = {ref(o) for o in objects}
    return [f"{o.get('kind')} {(o.get('metadata') or {}).get('name')}: depends on {target}, which the chart does not "
            "render" for o in objects
            for target in ((o.get("metadata") or {}).get("annotations") or {}).get(DEPENDS_ON, "").split(",")
            if target.strip() and target.strip() not in present]


def stack_policy_problems(objects: list[dict[str, Any]], config: dict[str, Any]) -> list[str]:
    """The pack's stack rules (RBAC bindings, mesh-wide mTLS, CNI mode, ...) over everything a preview
    of the stack hands the pack: the program's own objects and every chart's rendered ones."""
    rules = pack.rules()
    resources = [(rules.canonical(resource_type(o)), o) for o in objects]
    return [f"{name}: {m}" for name, (rule, _, _) in rules.STACK_RULES.items()
            for m in rule(resources, config.get(name, {}))]


def startup_downloads(objects: list[dict[str, Any]]) -> list[str]:
    """Pods that fetch something from a URL when they start (a cluster without egress never starts
    them): container commands and args, and the scripts ConfigMaps hand to them."""
    out = []
    for obj in objects:
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            words = " ".join(map(str, [*(c.get("command") or []), *(c.get("args") or [])]))
            if any(f in words for f in ("curl ", "wget ")):
                out.append(f"{obj['kind']} {obj['metadata']['name']}: container {c['name']} runs: {words[:120]}")
        if obj.get("kind") == "ConfigMap":
            for key, text in (obj.get("data") or {}).items():
                if key.endswith(".sh") and any(f in str(text) for f in ("curl ", "wget ")):
                    out.append(f"ConfigMap {obj['metadata']['name']}: script {key} downloads at pod start")
    return out


def read_back_drift(objects: list[dict[str, Any]]) -> list[str]:
    """Fields a chart renders that the API server does not return (omitempty): the object read back
    differs from what Pulumi sent, so every preview shows a change (found by make e2e-local)."""
    return [f"{o['kind']} {o['metadata'].get('name')}: renders `rules: []`, which the API server drops"
            for o in objects if o.get("kind") in ("Role", "ClusterRole") and o.get("rules") == []]


# Lists the API server keys by a field: server-side apply refuses two entries with one key
# ("duplicate entries for key"), which no schema check sees (found by make e2e-local on Kiali 2.27).
# Ref: https://github.com/kubernetes/api/blob/v0.36.3/core/v1/types.go (+listType=map, +listMapKey)
POD_LIST_KEYS: dict[str, tuple[str, ...]] = {"containers": ("name",), "initContainers": ("name",), "volumes": ("name",)}
CONTAINER_LIST_KEYS: dict[str, tuple[str, ...]] = {"volumeMounts": ("mountPath",), "env": ("name",),
                                                    "ports": ("containerPort", "protocol")}


def _duplicates(items: list[Any], fields: tuple[str, ...]) -> list[str]:
    seen, out = set(), []
    for item in items:
        key = tuple(str(item.get(f, "TCP" if f == "protocol" else "")) for f in fields)
        if key in seen:
            out.append("/".join(key))
        seen.add(key)
    return out


def duplicate_list_keys(objects: list[dict[str, Any]]) -> list[str]:
    """Pod templates with two entries under one key in a list the API server keys (containers, volumes,
    volumeMounts, env, ports): the create fails."""
    out = []
    for obj in objects:
        pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        where = f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}"
        for name, keys in POD_LIST_KEYS.items():
            out += [f"{where}: two {name} named {d}" for d in _duplicates(pod.get(name) or [], keys)]
        for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            for name, keys in CONTAINER_LIST_KEYS.items():
                out += [f"{where}: container {c.get('name')} has two {name} at {d}"
                        for d in _duplicates(c.get(name) or [], keys)]
    return out


def identity(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(API group, kind, namespace, name): what the API server keys an object by, in any version."""
    api = str(obj.get("apiVersion", ""))
    meta = obj.get("metadata") or {}
    return (api.rsplit("/", 1)[0] if "/" in api else "", str(obj.get("kind", "")),
            str(meta.get("namespace") or ""), str(meta.get("name", "")))


def declared_twice(owners: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """Objects two declarations claim (the program and a chart, or two charts): the second create
    fails with AlreadyExists on every `pulumi up`. `owners` pairs who declares it with the object."""
    seen: dict[tuple[str, str, str, str], str] = {}
    out = []
    for owner, obj in owners:
        key = identity(obj)
        if key in seen and seen[key] != owner:
            group, kind, namespace, name = key
            where = f"{namespace}/{name}" if namespace else name
            out.append(f"{kind}{'.' + group if group else ''} {where} is declared by {seen[key]} and by {owner}")
        seen.setdefault(key, owner)
    return out


def patched_ca_bundle(obj: dict[str, Any]) -> dict[str, Any]:
    """A webhook configuration after istiod's CA patch: every webhook carries a bundle."""
    hooks = [{**h, "clientConfig": {**(h.get("clientConfig") or {}), "caBundle": "LS0tLS1CRUdJTg=="}}
             for h in obj.get("webhooks") or []]
    return {**obj, "webhooks": hooks}


def wait_problems(chart: str, objects: list[dict[str, Any]]) -> list[str]:
    """Each waitFor the program's transforms put on the chart's objects, evaluated as the provider
    would: it must not hold for the object as rendered (else it waits for nothing) and must hold once
    istiod has patched the CA bundle (else it waits forever)."""
    import pulumi

    from components.builders import istio_values as iv

    out = []
    for obj in objects:
        props = obj
        for transform in iv.chart_transforms(chart):
            args = pulumi.ResourceTransformArgs(custom=True, type_=resource_type(obj), name=obj["metadata"]["name"],
                                                props=props, opts=pulumi.ResourceOptions())
            result = transform(args)
            props = result.props if result is not None else props
        for expr in waitfor.expressions(props):
            label = f"{obj['kind']} {obj['metadata']['name']}: {expr}"
            try:
                if waitfor.matches(expr, props):
                    out.append(f"{label} already holds as rendered: the wait waits for nothing")
                if not waitfor.matches(expr, patched_ca_bundle(props)):
                    out.append(f"{label} never holds, even after istiod's CA patch")
            except waitfor.WaitForError as err:
                out.append(f"{label}: the provider refuses it ({err})")
    return out


def checkov_problems(objects: list[dict[str, Any]], binary: Optional[str]) -> list[str]:
    """checkov --framework kubernetes on the rendered objects: failed checks as 'ID name (object)'."""
    if binary is None:
        return []
    failed = (checkov.scan(objects, binary).get("results") or {}).get("failed_checks") or []
    return sorted({f"{f['check_id']} {f['check_name']} ({f['resource']})" for f in failed})


def check_release(stack: str, release: str, chart: dict[str, Any], source: Path, *, version: str,
                  expects: list[Expect], kiali_keys: Optional[dict[str, Any]], policy: dict[str, Any],
                  report: Report) -> list[dict[str, Any]]:
    """Every check for one release; returns the rendered objects."""
    values, namespace = _ints(chart["values"]), chart["namespace"]
    chart_name = str(chart["chart"]).rsplit("/", 1)[-1]
    schema = cr.schema_problems(source, values)
    report.add(stack, release, "schema", schema)
    if schema:
        return []  # Helm refuses to render values its schema rejects
    skip = CONFIG_DUMPS.get(chart_name, ())
    unread = cr.unread_keys(source, values, release, namespace, skip)
    if skip and kiali_keys is not None:
        unread = server_unread(unread, kiali_keys)
    report.add(stack, release, "unread value", unread)
    try:
        objects = cr.objects(cr.render_text(source, values, release, namespace), namespace)
    except Exception as err:  # noqa: BLE001 - a render failure is the finding
        report.add(stack, release, "render", [str(err).splitlines()[0]])
        return []
    report.rendered[f"{stack}/{release}"] = len(objects)
    report.add(stack, release, "kubernetes-validate", kubernetes_problems(objects, version))
    report.add(stack, release, "downloads at start", startup_downloads(objects))
    report.add(stack, release, "policy", policy_problems(objects, policy))
    report.add(stack, release, "wiring", wiring_problems(objects, expects))
    report.add(stack, release, "waitFor", wait_problems(chart_name, objects))
    report.add(stack, release, "read-back drift", read_back_drift(objects))
    report.add(stack, release, "duplicate list keys", duplicate_list_keys(objects))
    report.add(stack, release, "depends-on", depends_on_problems(objects))
    return objects


def check_stack(stack: str, located: Located, kiali_keys: Optional[dict[str, Any]],
                report: Report, checkov: Optional[str] = None) -> list[dict[str, Any]]:
    """Every check on one stack's releases, each chart read from where `sources` located it."""
    ev = evaluate(stack)
    version = stack_config(stack)["kubernetes"]["version"]
    policy = pack.stack_config(stack)
    expects = expectations(ev)
    rendered: list[dict[str, Any]] = []
    owners: list[tuple[str, dict[str, Any]]] = [("the program", r.manifest())
                                                for r in [*ev.kubernetes_objects(), *ev.istio_resources()]]
    for release, chart in ev.charts().items():
        inputs = chart.inputs
        name, chart_version, _ = source_of(inputs)
        objects = check_release(stack, release, inputs, located[(name, chart_version)], version=version,
                                expects=expects.get(release, []), kiali_keys=kiali_keys, policy=policy, report=report)
        report.add(stack, release, "checkov", checkov_problems(objects, checkov))
        owners += [(f"chart {release}", o) for o in objects]
        rendered += objects
    report.add(stack, "*", "declared twice", declared_twice(owners))
    report.add(stack, "*", "policy (whole stack)", stack_policy_problems([o for _, o in owners], policy))
    return rendered


Located = dict[tuple[str, str], Path]
"""(chart, version) -> its chart directory."""


def source_of(inputs: dict[str, Any]) -> tuple[str, str, Optional[str]]:
    """(chart, version, repository or None) of a Chart's declared inputs."""
    return str(inputs["chart"]), str(inputs["version"]), (inputs.get("repositoryOpts") or {}).get("repo")


def releases(stacks: Iterable[str], patch: Optional[dict[str, Any]] = None) -> list[tuple[str, str, Optional[str]]]:
    """(chart, version, repository) of every chart the stacks install, each once, in stack order."""
    out: list[tuple[str, str, Optional[str]]] = []
    for stack in stacks:
        for chart in evaluate(stack, patch).charts().values():
            if (found := source_of(chart.inputs)) not in out:
                out.append(found)
    return out


def sources(stacks: Iterable[str], charts_dir: Optional[Path]) -> tuple[Located, list[str]]:
    """Every chart the stacks install, located (in CHARTS_DIR, or pulled once): the directories found,
    and one line per chart that could not be had, so a missing chart is named before anything is checked."""
    found: Located = {}
    missing: list[str] = []
    for name, version, repo in releases(stacks):
        if (name, version) in found:
            continue
        try:
            found[(name, version)] = cr.chart_source(name, version, repo, charts_dir)
        except Exception as err:  # noqa: BLE001 - each chart that cannot be had is one line
            reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
            where = f"not in {charts_dir}" if charts_dir else f"could not be pulled from {repo}: {reason}"
            missing.append(f"{name} {version}: {where}")
    return found, missing


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", action="append", choices=STACKS, help="default: every stack")
    parser.add_argument("--charts-dir", type=Path, help="local chart sources instead of pulling them")
    parser.add_argument("--kiali-keys", type=Path, default=KIALI_KEYS, help="Kiali server config keys (JSON)")
    parser.add_argument("--checkov", help="checkov binary (default: $CHECKOV, .venv-scan/bin/checkov, or on PATH)")
    parser.add_argument("--no-checkov", action="store_true", help="skip checkov (faster)")
    args = parser.parse_args(argv)
    keys = json.loads(args.kiali_keys.read_text())["tree"] if args.kiali_keys.is_file() else None
    if args.charts_dir is not None and not args.charts_dir.is_dir():
        print(f"chart-check: CHARTS_DIR {args.charts_dir} is not a directory; {HOW_TO_PROVIDE}")
        return 2
    located, missing = sources(args.stack or STACKS, args.charts_dir)
    if missing:
        for line in missing:
            print(f"chart-check: missing chart {line}")
        print(f"chart-check: {len(missing)} chart(s) missing; {HOW_TO_PROVIDE}")
        return 2
    report = Report()
    scanner = None if args.no_checkov else args.checkov or checkov.binary()
    for stack in args.stack or STACKS:
        check_stack(stack, located, keys, report, scanner)
    for name, count in report.rendered.items():
        print(f"rendered {name}: {count} objects")
    if keys is None:
        print(f"note: {args.kiali_keys} not found; Kiali keys checked against templates only")
    for stack, release, check, detail in report.findings:
        print(f"{stack} {release} [{check}] {detail}")
    print(f"{len(report.findings)} finding(s) in {len(report.rendered)} render(s)")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
