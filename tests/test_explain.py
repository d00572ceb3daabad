"""`make explain`: pairs of configs and topologies, each section of the report asserted."""

import subprocess
import sys

import pytest

from tools import explain
from tools.engine import evaluate
from tools.snapshot import snapshot

BASE = {}


def _report(stack, patch_before=None, patch_after=None):
    before = snapshot(evaluate(stack, patch_before or {}))
    after = snapshot(evaluate(stack, patch_after or {}))
    return "\n".join(explain.report_stack(stack, before, after))


def test_a_change_without_mesh_consequence_says_so_in_one_line():
    text = _report("dev", {}, {"observability": {"jaeger": {"resources": None}}})
    assert "No mesh-level consequence" in text and text.count("\n") <= 2


def test_an_added_edge_is_newly_allowed_in_both_layers_with_a_diagram():
    topology = lambda calls: {"topology": {"services": [  # noqa: E731
        {"name": "web", "public": True, "ports": [{"protocol": "http", "port": 8080}], "calls": calls},
        {"name": "api", "ports": [{"protocol": "grpc", "port": 9000}]},
        {"name": "db", "ports": [{"protocol": "grpc", "port": 5432}]}]}}
    text = _report("staging", topology(["api"]), topology(["api", "db"]))
    assert "AuthorizationPolicy: newly allowed web → db (5432)" in text
    assert "NetworkPolicy: newly allowed web → db (5432)" in text
    assert "web ==>|added| db" in text and "```mermaid" in text
    removed = _report("staging", topology(["api", "db"]), topology(["api"]))
    assert "AuthorizationPolicy: newly denied web → db (5432)" in removed and "web -.->|removed| db" in removed


def test_a_sampling_change_restarts_nothing():
    text = _report("dev", {}, {"istio": {"tracing": {"sampling": 50}}})
    assert "trace sampling %: `100` → `50`" in text
    assert "- no workload restarts" in text


def test_an_image_change_rolls_one_deployment_and_says_why():
    text = _report("staging", {}, {"workloads": {"services": {"item": {"image": {"tag": "v2"}}}}})
    assert "- item-deployment rolls: image changed" in text
    assert text.count(" rolls: ") == 1


def test_a_proxy_change_rolls_every_injected_workload_and_the_gateway():
    proxy = {"requests": {"cpu": "60m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    text = _report("dev", {}, {"istio": {"proxy": {"resources": proxy}}})
    assert text.count("rolls: proxy config hash changed") == 7  # six services and the ingress gateway


def test_exposing_kiali_and_changing_its_auth_shows_under_exposure():
    text = _report("dev", {}, {"observability": {"kiali": {"host": "kiali.localtest.me",
                                                           "auth": {"strategy": "token"}}}})
    assert "Kiali auth: `anonymous` → `token`" in text
    assert "kiali dashboard: `port-forward only` → `http://kiali.localtest.me:30000/kiali`" in text
    assert "route added: kiali.localtest.me -> kiali.observability.svc.cluster.local" in text


def test_an_immutable_field_change_is_flagged_as_a_replacement():
    grpc = lambda port: {"topology": {"services": [  # noqa: E731
        {"name": "web", "public": True, "ports": [{"protocol": "http", "port": 8080}]}]},
        "workloads": {"build": None, "tag": "v1"}}
    before = snapshot(evaluate("dev", grpc(8080)))
    after = snapshot(evaluate("dev", grpc(8080)))
    for r in after["resources"]:  # the program never changes a selector itself: simulate an edit of it
        if r["type"] == "kubernetes:apps/v1:Deployment":
            r["inputs"]["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "front"}}
    text = "\n".join(explain.report_stack("dev", before, after))
    assert "web-deployment: spec.selector changes, so it is deleted and recreated" in text


def test_chart_bumps_and_crd_changes():
    text = _report("dev", {}, {"istio": {"version": "1.31.0"}})
    assert "chart istiod: `1.31.4` → `1.31.0`" in text and "CRDs change" in text
    assert "Istio 1.31.4 → 1.31.0: release notes https://istio.io/latest/news/releases/1.31.x/announcing-1.31/" in text
    minor = _report("dev", {}, {"istio": {"version": "1.30.8"}})
    assert ("Istio 1.31.4 → 1.30.8: read the upgrade notes first "
            "https://istio.io/latest/news/releases/1.30.x/announcing-1.30/upgrade-notes/") in minor


def test_mtls_and_policy_sections():
    text = _report("dev", {}, {"istio": {"mtls": "PERMISSIVE"}})
    assert "PeerAuthentication istio-system/default: `STRICT` → `PERMISSIVE`" in text
    # dev's pack allows PERMISSIVE; a violation shows when a rule breaks (e.g. latest outside dev)
    prod = _report("prod", {}, {"workloads": {"replicas": 4}})
    assert "### Policy" not in prod


def test_policy_violations_introduced_and_fixed():
    a = snapshot(evaluate("staging"))
    b = snapshot(evaluate("staging"))
    for r in b["resources"]:
        if r["type"] == "kubernetes:apps/v1:Deployment" and r["name"] == "db-deployment":
            r["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/example/mercari/db:Latest"
    assert "violation introduced: Image 'ghcr.io/example/mercari/db:Latest'" in "\n".join(
        explain.report_stack("staging", a, b))
    assert "violation fixed: Image" in "\n".join(explain.report_stack("staging", b, a))


def test_the_report_has_a_marker_for_updating_one_pr_comment_in_place():
    snap = {s: snapshot(evaluate(s)) for s in ("dev",)}
    text = explain.report(snap, snap, stacks=("dev",))
    assert text.startswith("<!-- mesh-explain -->") and "No mesh-level consequence" in text


def test_make_explain_compares_a_git_ref_with_the_working_tree():
    result = subprocess.run([sys.executable, "-m", "tools.explain", "--base", "HEAD"],
                            capture_output=True, text=True, timeout=600, cwd=explain.ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!-- mesh-explain -->") and "## prod" in result.stdout


def test_a_bad_ref_is_refused():
    assert explain.main(["--base", "HEAD; rm -rf /"]) == 2


@pytest.mark.parametrize("text, found", [
    ("config:\n  mesh:istio:\n    version: 1.31.1\n  mesh:istio:\n    mtls: STRICT\n",
     "Pulumi.bad.yaml:4: key 'mesh:istio' is defined twice"),
    ("config:\n\tmesh:istio: {}\n", "Pulumi.bad.yaml:2:"),
    ("config: [1, 2]\n", "expected a mapping"),
    ("config:\n  mesh:istio: {version: 1.31.1\n", "Pulumi.bad.yaml:"),
])
def test_a_stack_file_the_cli_would_refuse_is_named_with_its_line(tmp_path, text, found):
    from tools.engine import StackFileError, read_stack_file

    (tmp_path / "Pulumi.bad.yaml").write_text(text)
    with pytest.raises(StackFileError) as err:
        read_stack_file(tmp_path / "Pulumi.bad.yaml")
    assert found in str(err.value) and "\n" not in str(err.value)


def test_make_validate_says_ok_per_stack_and_names_problems(tmp_path, monkeypatch, capsys):
    from tools import validate

    assert validate.main(["dev", "staging", "prod"]) == 0
    assert capsys.readouterr().out.splitlines() == ["dev: ok", "staging: ok", "prod: ok"]
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.dev.yaml").write_text("config:\n  mesh:istio:\n    mtls: SOMETIMES\n")
    (stacks / "Pulumi.prod.yaml").write_text("config:\n  mesh:istio: {}\n  mesh:istio: {}\n")
    monkeypatch.setattr(validate, "ROOT", tmp_path)
    assert validate.stacks() == ["dev", "prod"]
    assert validate.main([]) == 1
    out = capsys.readouterr().out
    assert "mesh:istio.mtls" in out and "SOMETIMES" in out and "Pulumi.prod.yaml:3: key 'mesh:istio' is defined twice" in out
