"""The CrossGuard pack: each rule fails a bad resource and passes a good one; all stacks pass."""

import json
import sys

import pytest
from pulumi_policy import PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs
from pulumi_policy.policy import PolicyResource

from tools.engine import ROOT, STACKS, evaluate

sys.path.insert(0, str(ROOT / "policy"))
import kinds  # noqa: E402
import rules  # noqa: E402
import security as sec  # noqa: E402

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
GOOD_RES = {"requests": {"cpu": "10m", "memory": "1Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def _deploy(image="ghcr.io/x/app:v1", resources=GOOD_RES):
    return {"metadata": {"name": "app"}, "spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": image, "resources": resources}]}}}}


def _chart(chart="istiod", version="1.31.1", repo="https://blob.istio.io/istio-release/charts", values=None):
    return {"chart": chart, "version": version, "repositoryOpts": {"repo": repo}, "values": values or {}}


def _netpol(peer):
    return {"metadata": {"name": "np", "namespace": "catalog"},
            "spec": {"podSelector": {}, "ingress": [{"from": [peer], "ports": [{"port": 5000}]}]}}


def _envoy_filter(operation):
    return {"metadata": {"name": "ef"}, "spec": {"configPatches": [{"applyTo": "HTTP_FILTER", "patch": {
        "operation": operation}, "match": {"listener": {"filterChain": {"filter": {
            "name": "envoy.filters.network.http_connection_manager", "subFilter": {"name": "envoy.filters.http.rbac"}}}}}}]}}


def _annotated(annotations):
    deploy = _deploy()
    deploy["spec"]["template"]["metadata"] = {"annotations": annotations}
    return deploy


def _config(stack):
    return json.loads((ROOT / "policy" / f"config.{stack}.json").read_text())


PROD = _config("prod")

CASES = [  # (rule name, type, good props, bad props, config)
    ("namespace-injection", "kubernetes:core/v1:Namespace",
     {"metadata": {"name": "a", "labels": {"app.kubernetes.io/part-of": "mesh", "istio-injection": "enabled"}}},
     {"metadata": {"name": "a", "labels": {"app.kubernetes.io/part-of": "mesh"}}}, {}),
    ("container-resources", DEPLOYMENT, _deploy(), _deploy(resources={"requests": {"cpu": "1m"}}), {}),
    ("image-pinned", DEPLOYMENT, _deploy("ghcr.io/x/app@sha256:" + "a" * 64), _deploy("ghcr.io/x/app:latest"),
     PROD["image-pinned"]),
    ("image-pinned", DEPLOYMENT, _deploy("localhost:5000/app:v2"), _deploy("localhost:5000/app"),
     PROD["image-pinned"]),
    ("kiali-not-anonymous", "kubernetes:helm.sh/v4:Chart",
     _chart("kiali-server", values={"auth": {"strategy": "openid"}}),
     _chart("kiali-server", values={"auth": {"strategy": "anonymous"}}), PROD["kiali-not-anonymous"]),
    ("trace-sampling-ceiling", kinds.TELEMETRY,
     {"metadata": {"name": "t"}, "spec": {"tracing": [{"randomSamplingPercentage": 1}]}},
     {"metadata": {"name": "t"}, "spec": {"tracing": [{"randomSamplingPercentage": 50}]}},
     PROD["trace-sampling-ceiling"]),
    ("helm-chart-pinned", "kubernetes:helm.sh/v4:Chart", _chart(), _chart(version="1.31.x"),
     PROD["helm-chart-pinned"]),
    ("helm-chart-pinned", "kubernetes:helm.sh/v4:Chart", _chart(), _chart(repo="https://charts.example.com"),
     PROD["helm-chart-pinned"]),
    ("network-policy-not-open", sec.NETWORK_POLICY, _netpol({"namespaceSelector": {"matchLabels": {"team": "a"}}}),
     _netpol({"namespaceSelector": {}}), {}),
    ("envoy-filter-keeps-security-filters", sec.ENVOY_FILTER, _envoy_filter("INSERT_BEFORE"), _envoy_filter("REMOVE"), {}),
    ("no-sidecar-bypass", DEPLOYMENT, _deploy(), _annotated({"sidecar.istio.io/interceptionMode": "NONE"}), {}),
]


@pytest.mark.parametrize("name,type_,good,bad,config", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_passes_good_and_fails_bad(name, type_, good, bad, config):
    rule = rules.RESOURCE_RULES[name][0]
    assert rule(type_, good, config) == []
    (message,) = rule(type_, bad, config)
    assert "Fix:" in message  # says why and how to fix


def test_latest_is_allowed_in_dev_only():
    assert rules.image_pinned(DEPLOYMENT, _deploy("x/app:latest"), {"environment": "dev"}) == []
    assert rules.image_pinned(DEPLOYMENT, _deploy("x/app:latest"), {"environment": "staging"}) != []


def test_strict_mtls_stack_rule():
    strict = (kinds.PEER_AUTHENTICATION, {"metadata": {"name": "default", "namespace": "istio-system"},
                                          "spec": {"mtls": {"mode": "STRICT"}}})
    permissive = (strict[0], {**strict[1], "spec": {"mtls": {"mode": "PERMISSIVE"}}})
    assert sec.strict_mtls([strict], {"environment": "prod"}) == []
    assert "Fix:" in sec.strict_mtls([permissive], {"environment": "prod"})[0]
    assert sec.strict_mtls([], {"environment": "staging"}) != []
    assert sec.strict_mtls([], {"environment": "dev"}) == []


def test_every_rule_has_a_name_description_and_tested_failure():
    tested = {c[0] for c in CASES}  # the security rules are tested in test_policy_security.py (some here too)
    hygiene = set(rules.RESOURCE_RULES) - {n for n, spec in rules.RESOURCE_RULES.items()
                                           if spec[0].__module__ == "security"}
    assert hygiene <= tested <= set(rules.RESOURCE_RULES)
    for policy in rules.policies():
        assert policy.name and policy.description


def _violations(ev, config):
    """Run the real PolicyPack objects over every resource the stack declares."""
    found = []
    report = lambda message, urn=None: found.append(message)  # noqa: E731
    resources = []
    for r in ev.resources:
        opts = PolicyResourceOptions(protect=False, ignore_changes=r.ignore_changes, delete_before_replace=None,
                                     aliases=[], custom_timeouts=None, additional_secret_outputs=[], parent=r.parent)
        props = r.manifest()
        resources.append(PolicyResource(r.type, props, r.urn, r.name, opts, None, None, [], {}))
        for policy in rules.policies():
            if isinstance(policy, ResourceValidationPolicy):
                policy.validate(ResourceValidationArgs(r.type, props, r.urn, r.name, opts, None,
                                                       config.get(policy.name, {})), report)
    for policy in rules.policies():
        if not isinstance(policy, ResourceValidationPolicy):
            policy.validate(StackValidationArgs(resources, config.get(policy.name, {})), report)
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_the_whole_pack_passes_on_every_stack(stack):
    assert _violations(evaluate(stack), _config(stack)) == []


def test_the_pack_catches_a_bad_stack():
    ev = evaluate("dev", {"istio": {"mtls": "PERMISSIVE"}, "observability": {"kiali": {"auth": {"strategy": "anonymous"}}},
                          "workloads": {"build": None, "tag": "latest"}})
    messages = _violations(ev, _config("prod"))  # dev resources judged by prod's rules
    assert any("STRICT" in m for m in messages)
    assert any("anonymous" in m for m in messages)
    assert any("latest" in m for m in messages)
    assert any("samples 100" in m for m in messages)
