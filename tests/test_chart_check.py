"""`make chart-check` on a small chart written for the tests: each detection fires on it.

The real charts are checked by `make chart-check` (it needs the chart sources, pulled or local);
this proves the machinery offline, with the same Helm library, validators and policy pack.
"""

from pathlib import Path

import pytest

from tools import chart_check as cc
from tools import chart_render as cr
from tools.engine import evaluate

DEMO = Path(__file__).parent / "fixtures" / "charts" / "demo"
GOOD = {"replicas": 2, "port": 8080, "image": "ghcr.io/example/demo:v1",
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"}}}


def _check(values, expects=(), keys=None):
    report = cc.Report()
    chart = {"chart": "demo", "values": values, "namespace": "apps"}
    objects = cc.check_release("dev", "demo", chart, DEMO, version="1.33", expects=list(expects), kiali_keys=keys,
                               policy={}, report=report)
    return report, objects


def _found(report, check):
    return [d for _, _, c, d in report.findings if c == check]


def test_a_good_release_has_no_findings():
    report, objects = _check(GOOD, [cc.Expect("Service", "demo", (8080,))])
    assert report.findings == [] and {o["kind"] for o in objects} == {"Service", "Deployment"}
    assert all(o["metadata"]["namespace"] == "apps" for o in objects)  # placed as Chart v4 places them


def test_a_value_no_template_reads_is_reported():
    report, _ = _check({**GOOD, "replicaCount": 3, "nested": {"typo": True}})
    assert sorted(_found(report, "unread value")) == ["nested.typo", "replicaCount"]


def test_values_against_the_charts_schema():
    report, _ = _check({**GOOD, "replicas": 0})
    assert len(_found(report, "schema")) == 1 and "replicas" in _found(report, "schema")[0]


def test_wiring_to_an_object_the_chart_does_not_create():
    report, _ = _check(GOOD, [cc.Expect("Service", "demo", (9090,)), cc.Expect("ServiceAccount", "demo"),
                              cc.Expect("Deployment", "demo", pod_labels=(("istio", "ingress"),))])
    assert _found(report, "wiring") == ["Service 'demo' has no port [9090]", "no ServiceAccount 'demo' in the render, "
                                        "but the program wires to it", "Deployment 'demo' pods lack label istio=ingress"]


def test_kubernetes_validate_strict_on_rendered_objects():
    report, _ = _check({**GOOD, "broken": True})
    (problem,) = _found(report, "kubernetes-validate")
    assert problem.startswith("Deployment demo:") and "resource" in problem


def test_the_policy_pack_sees_rendered_objects():
    report, _ = _check({**GOOD, "resources": {}, "securityContext": {}})
    found = _found(report, "policy")
    assert any(p.startswith("container-resources:") for p in found)
    # A chart child reaches the pack as its own resource (kubernetes:apps/v1:Deployment), so pod security
    # applies to what charts render, not only to what the program declares.
    assert any(p.startswith("pod-security-restricted: Deployment 'demo'") for p in found)


def test_a_pod_that_downloads_at_start_is_reported():
    report, _ = _check({**GOOD, "download": True})
    assert _found(report, "downloads at start") == ["ConfigMap demo-fetch: script fetch.sh downloads at pod start"]


def test_checkov_runs_on_rendered_objects():
    from test_security_scan import checkov_binary

    _, objects = _check(GOOD)
    failed = cc.checkov_problems(objects, checkov_binary())
    assert any(f.startswith("CKV_K8S_43 ") for f in failed)  # the demo image has no digest


@pytest.mark.parametrize("keys,unread", [
    (["auth.strategy", "external_services.grafana.url", "nameOverride"], ["nameOverride"]),
    (["external_services.prometheus.custom_headers.X-Org"], []),  # '*' accepts any sub-key
])
def test_keys_of_a_config_dump_are_checked_against_the_reader(keys, unread):
    tree = {"auth": {"strategy": {}}, "external_services": {"grafana": {"url": {}},
                                                            "prometheus": {"custom_headers": "*"}}}
    assert cc.server_unread(keys, tree) == unread


def test_expectations_come_from_the_programs_own_wiring(dev):
    expects = cc.expectations(dev)
    assert cc.Expect("Service", "jaeger", (4317, 16686, 16685)) in expects["jaeger"]
    assert cc.Expect("Service", "istio-ingress", (80,), node_port=30000) in expects["istio-ingress"]
    assert cc.Expect("Deployment", "istio-ingress", pod_labels=(("istio", "ingress"),)) in expects["istio-ingress"]


def test_every_stack_release_has_a_source_in_a_charts_dir(tmp_path):
    ev = evaluate("prod")
    for chart in ev.charts().values():
        (tmp_path / f"{chart.inputs['chart']}-{chart.inputs['version']}").mkdir()
        (tmp_path / f"{chart.inputs['chart']}-{chart.inputs['version']}" / "Chart.yaml").write_text("name: x\n")
    for release, chart in ev.charts().items():
        assert cr.chart_source(chart.inputs["chart"], chart.inputs["version"], None, tmp_path).is_dir(), release
    with pytest.raises(FileNotFoundError, match="not in"):
        cr.chart_source("nope", "1.0.0", None, tmp_path)


# ------------------------------------------------------------------ waits and double declarations
# A webhook configuration as the istiod chart renders it: no caBundle key (istiod patches it in).
RENDERED_WEBHOOKS = {
    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
    "metadata": {"name": "istio-sidecar-injector", "labels": {"istio.io/rev": "default"}},
    "webhooks": [{"name": f"{n}.sidecar-injector.istio.io",
                  "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system", "port": 443}}}
                 for n in ("rev.namespace", "rev.object")],
}


def test_istiods_webhook_wait_holds_only_after_the_ca_patch():
    assert cc.wait_problems("istiod", [RENDERED_WEBHOOKS]) == []
    assert cc.wait_problems("base", [RENDERED_WEBHOOKS]) == []  # base only ignores the drift: no wait


@pytest.mark.parametrize("expr, problem", [
    # The expression the program wrote before: the provider's `=` split tears `!=` apart...
    ('jsonpath={.webhooks[?(@.clientConfig.caBundle!="")].name}', "the provider refuses it"),
    # ...and read as RFC 9535 (a provider that parses `!=`) a comparison with an absent caBundle is not
    # equal to "": it selects a webhook without any caBundle, ready at once. The same, spelt without `!=`:
    ('jsonpath={.webhooks[?!(@.clientConfig.caBundle=="")].name}', "already holds as rendered"),
    ("jsonpath={.webhooks[*].clientConfig.caBundle}=x", "never holds"),
    (".webhooks[*].clientConfig.caBundle", "the provider refuses it"),
])
def test_a_wait_that_holds_at_once_never_holds_or_is_refused_is_found(monkeypatch, expr, problem):
    from components.builders import istio_values as iv
    monkeypatch.setattr(iv, "WAIT_FOR_CA_BUNDLE", expr)
    found = cc.wait_problems("istiod", [RENDERED_WEBHOOKS])
    assert len(found) == 1 and problem in found[0], found


def test_one_object_declared_by_the_program_and_a_chart_is_found():
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "kiali", "namespace": "observability"}}
    older = {**policy, "apiVersion": "networking.k8s.io/v1beta1"}  # the same object in another version
    other_ns = {**policy, "metadata": {"name": "kiali", "namespace": "apps"}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "kiali"}}
    found = cc.declared_twice([("the program", policy), ("chart kiali", older), ("chart kiali", other_ns),
                               ("chart kiali", role), ("chart kiali", role)])
    assert found == ["NetworkPolicy.networking.k8s.io observability/kiali is declared by the program and by chart kiali"]


def test_the_program_itself_declares_no_object_twice():
    for stack in ("dev", "staging", "prod"):
        ev = evaluate(stack)
        owners = [(r.urn, r.manifest()) for r in [*ev.kubernetes_objects(), *ev.istio_resources()]]
        assert cc.declared_twice(owners) == [], stack


def test_a_field_the_api_server_drops_is_a_perpetual_diff():
    role = {"kind": "Role", "metadata": {"name": "grafana"}, "rules": []}
    assert cc.read_back_drift([role]) == ["Role grafana: renders `rules: []`, which the API server drops"]
    assert cc.read_back_drift([{**role, "rules": [{"verbs": ["get"]}]}]) == []


def test_grafana_asks_for_no_rbac_it_does_not_use(dev, prod):
    for ev in (dev, prod):
        values = ev.charts()["grafana"].inputs["values"]
        assert values["rbac"] == {"create": False} and "sidecar" not in values


def test_missing_charts_are_named_one_line_each_before_anything_runs(tmp_path, capsys):
    (tmp_path / "kiali-server-2.20.0").mkdir()  # no Chart.yaml: not a chart
    assert cc.main(["--stack", "staging", "--charts-dir", str(tmp_path), "--no-checkov"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert all(line.startswith("chart-check: ") for line in out)
    assert "chart-check: missing chart istiod 1.31.4: not in " + str(tmp_path) in out
    assert out[-1].startswith("chart-check: 8 chart(s) missing; set CHARTS_DIR")
    assert cc.main(["--charts-dir", str(tmp_path / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().out


def test_two_entries_under_one_key_of_a_keyed_list_are_found():
    # kiali-server 2.27 mounts `secret:` values itself; the program's own mounts of them made two
    # volumeMounts at one path, which server-side apply refuses (make e2e-local).
    mount = {"name": "a", "mountPath": "/kiali-override-secrets/login-token-signing-key"}
    pod = {"containers": [{"name": "kiali", "volumeMounts": [mount, {**mount, "name": "b"}],
                           "ports": [{"containerPort": 20001}, {"containerPort": 20001, "protocol": "UDP"}]}],
           "volumes": [{"name": "a"}, {"name": "a"}]}
    deployment = {"kind": "Deployment", "metadata": {"name": "kiali"}, "spec": {"template": {"spec": pod}}}
    assert cc.duplicate_list_keys([deployment]) == [
        "Deployment kiali: two volumes named a",
        "Deployment kiali: container kiali has two volumeMounts at /kiali-override-secrets/login-token-signing-key"]


def test_the_packs_stack_rules_judge_the_program_and_every_chart_together():
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "everything"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                               "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "x"}]}
    found = cc.stack_policy_problems([binding], {"no-powerful-role-bindings": {}})
    assert any(f.startswith("no-powerful-role-bindings: ") and "cluster-admin" in f for f in found), found
    assert not any(f.startswith("no-powerful-role-bindings") for f in cc.stack_policy_problems([], {}))


def test_a_depends_on_reference_must_name_an_object_of_the_same_render():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"}}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "istiod", "namespace": "istio-system",
        "annotations": {cc.DEPENDS_ON: "/namespaces/istio-system/ConfigMap/istio,/namespaces/istio-system/ConfigMap/x"}}}
    assert cc.depends_on_problems([cm, deploy]) == [
        "Deployment istiod: depends on /namespaces/istio-system/ConfigMap/x, which the chart does not render"]
    assert cc.depends_on_problems([deploy]) and not cc.depends_on_problems([cm])


@pytest.mark.parametrize("revision", ["", "canary"])
def test_istiod_waits_for_the_configmaps_it_reads_once_at_start(revision):
    from components.builders.istio_values import DEPENDS_ON, depends_on_configmaps

    suffix = f"-{revision}" if revision else ""
    assert depends_on_configmaps(revision).split(",") == [f"/namespaces/istio-system/ConfigMap/istio{suffix}",
                                                          f"/namespaces/istio-system/ConfigMap/istio-sidecar-injector{suffix}"]
    ev = evaluate("dev", {"istio": {"revision": revision}} if revision else {})
    values = ev.charts()["istiod" if not revision else f"istiod-{revision}"].inputs["values"]
    assert values["deploymentAnnotations"] == {DEPENDS_ON: depends_on_configmaps(revision)}
