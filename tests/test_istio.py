"""The Istio control plane: chart values, ordering, tracing wiring, mTLS, restarts, canaries."""

import pulumi
import pytest

from components.builders import istio_values as iv
from components.config.loading import parse_stack_config
from components.resources.observability import jaeger
from tools.engine import evaluate, stack_config

ISTIOD = "kubernetes:helm.sh/v4:Chart"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
TELEMETRY = "kubernetes:telemetry.istio.io/v1:Telemetry"
PEER_AUTH = "kubernetes:security.istio.io/v1:PeerAuthentication"


def test_charts_are_pinned_per_stack_from_the_istio_repository(dev, prod):
    for ev, version in ((dev, "1.31.4"), (prod, "1.31.4")):
        charts = ev.charts()
        for release, chart_name in (("istio-base", "base"), ("istiod", "istiod"), ("istio-ingress", "gateway")):
            chart = charts[release]
            assert (chart.inputs["chart"], chart.inputs["version"]) == (chart_name, version)
            assert chart.inputs["repositoryOpts"]["repo"] == "https://blob.istio.io/istio-release/charts"
            assert chart.inputs["namespace"] == ("istio-ingress" if release == "istio-ingress" else "istio-system")


def test_base_values_pin_the_webhook_failure_policy(dev):
    values = dev.charts()["istio-base"].inputs["values"]
    assert values == {"defaultRevision": "default", "base": {"validationFailurePolicy": "Fail"}}


def test_istiod_values(prod):
    values = prod.charts()["istiod"].inputs["values"]
    assert values["revision"] == ""
    assert values["autoscaleEnabled"] is False and values["replicaCount"] == 3
    assert values["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    assert values["global"] == {"istioNamespace": "istio-system",
                                "proxy": {"resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                        "limits": {"cpu": "1", "memory": "512Mi"}},
                                          "seccompProfile": {"type": "RuntimeDefault"}}}
    assert values["base"] == {"validationFailurePolicy": "Fail"}
    assert values["pilot"] == {"cni": {"enabled": True}}  # istio-cni: no istio-init with NET_ADMIN/NET_RAW
    mesh = values["meshConfig"]
    assert mesh["accessLogEncoding"] == "JSON"
    assert mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert mesh["enableTracing"] is True and mesh["enablePrometheusMerge"] is True
    # Legacy tracing (zipkin address in defaultConfig) is off; tracing goes through the Telemetry API.
    assert mesh["defaultConfig"] == {"holdApplicationUntilProxyStarts": True, "tracing": {}}


def test_tracing_provider_is_the_service_the_jaeger_chart_creates(dev):
    charts = dev.charts()
    jaeger_chart = charts["jaeger"]
    values, namespace = jaeger_chart.inputs["values"], jaeger_chart.inputs["namespace"]
    real_service = f"{values['fullnameOverride']}.{namespace}.svc.cluster.local"
    provider = charts["istiod"].inputs["values"]["meshConfig"]["extensionProviders"]
    assert provider == [{"name": iv.TRACING_PROVIDER,
                         "opentelemetry": {"service": real_service, "port": jaeger.OTLP_GRPC_PORT}}]
    # 4317 is the chart Service's otlp-grpc port (templates/jaeger/jaeger-service.yaml).
    assert jaeger.OTLP_GRPC_PORT == 4317
    telemetry = dev.of_type(TELEMETRY)[0].inputs["spec"]
    assert telemetry["tracing"][0]["providers"] == [{"name": iv.TRACING_PROVIDER}]


def test_tracing_provider_can_be_an_external_collector():
    ev = evaluate("staging", {"observability": {"jaeger": {"enabled": False, "external": {
        "collectorHost": "otel-collector.monitoring.svc.cluster.local", "collectorPort": 4317}}}})
    assert "jaeger" not in ev.charts()
    provider = ev.charts()["istiod"].inputs["values"]["meshConfig"]["extensionProviders"][0]
    assert provider["opentelemetry"] == {"service": "otel-collector.monitoring.svc.cluster.local", "port": 4317}


def test_with_tracing_off_there_is_no_provider_and_no_address():
    ev = evaluate("dev", {"istio": {"tracing": {"enabled": False}}})
    mesh = ev.charts()["istiod"].inputs["values"]["meshConfig"]
    assert "extensionProviders" not in mesh and mesh["enableTracing"] is False
    assert "tracing" not in ev.of_type(TELEMETRY)[0].inputs["spec"]
    assert "jaeger" not in ev.charts()
    assert ev.charts()["kiali"].inputs["values"]["external_services"]["tracing"] == {"enabled": False}


@pytest.mark.parametrize("stack,sampling", [("dev", 100), ("staging", 10), ("prod", 1)])
def test_sampling_is_per_stack_in_the_mesh_telemetry(stack, sampling):
    telemetry = evaluate(stack).of_type(TELEMETRY)[0].inputs
    assert telemetry["metadata"] == {"name": "mesh-default", "namespace": "istio-system"}
    assert telemetry["spec"]["tracing"][0]["randomSamplingPercentage"] == sampling
    assert telemetry["spec"]["accessLogging"] == [{"providers": [{"name": "envoy"}], "disabled": False}]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_mtls_is_strict_outside_dev(stack):
    peer = evaluate(stack).of_type(PEER_AUTH)[0].inputs
    assert peer["metadata"] == {"name": "default", "namespace": "istio-system"}
    assert peer["spec"] == {"mtls": {"mode": "STRICT"}}


def test_dev_may_choose_permissive():
    peer = evaluate("dev", {"istio": {"mtls": "PERMISSIVE"}}).of_type(PEER_AUTH)[0].inputs
    assert peer["spec"] == {"mtls": {"mode": "PERMISSIVE"}}


def test_injected_namespaces_and_workloads_wait_for_istiod(dev):
    istiod = dev.charts()["istiod"].urn
    base = dev.charts()["istio-base"].urn
    app_namespaces = [r for r in dev.of_type("kubernetes:core/v1:Namespace")
                      if "istio-injection" in r.inputs["metadata"].get("labels", {})
                      and r.inputs["metadata"]["labels"]["istio-injection"] == "enabled"]
    assert {n.inputs["metadata"]["name"] for n in app_namespaces} == {
        "gateway", "authority", "catalog", "customer", "item", "db", "istio-ingress"}
    for ns in app_namespaces:
        assert istiod in ns.dependencies, ns.name
    for d in dev.of_type(DEPLOYMENT):
        assert istiod in d.dependencies, d.name
    assert istiod in dev.charts()["istio-ingress"].dependencies
    assert base in dev.charts()["istiod"].dependencies
    for cr in dev.istio_resources():
        assert base in cr.dependencies and istiod in cr.dependencies, cr.name


def test_istio_charts_carry_the_webhook_drift_transform(dev):
    charts = dev.charts()
    assert charts["istio-base"].transforms == 2 and charts["istiod"].transforms == 1
    assert charts["prometheus"].transforms == 0


def _transform(type_, props, transform=iv.await_webhook_ca):
    args = pulumi.ResourceTransformArgs(custom=True, type_=type_, name="x", props=props,
                                        opts=pulumi.ResourceOptions())
    return transform(args)


def test_only_istiod_waits_for_the_ca_bundle_base_would_deadlock():
    # base is installed before istiod and istiod waits for it: base waiting for istiod's patch never ends.
    assert iv.chart_transforms("base") == [iv.ignore_webhook_drift, iv.delete_crds_with_the_stack]
    assert iv.chart_transforms("istiod") == [iv.await_webhook_ca]
    props = {"webhooks": [{"name": "validation.istio.io", "clientConfig": {"caBundle": ""}}]}
    base = _transform("kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration", props,
                      iv.ignore_webhook_drift)
    assert base.props == props and base.opts.ignore_changes == ["webhooks[0].clientConfig.caBundle"]


def test_transform_ignores_ca_bundle_of_every_webhook():
    props = {"webhooks": [{"name": "rev.validation.istio.io", "clientConfig": {"caBundle": ""}, "failurePolicy": "Fail"},
                          {"name": "second", "clientConfig": {}}]}
    result = _transform("kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration", props)
    assert result.opts.ignore_changes == ["webhooks[0].clientConfig.caBundle", "webhooks[1].clientConfig.caBundle"]
    assert {k: v for k, v in result.props.items() if k != "metadata"} == props  # webhooks unchanged
    assert result.props["metadata"]["annotations"]["pulumi.com/waitFor"] == iv.WAIT_FOR_CA_BUNDLE
    assert "metadata" not in props  # the input is not mutated
    mutating = _transform("kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration",
                          {"webhooks": [{"name": n} for n in "abcd"]})
    assert len(mutating.opts.ignore_changes) == 4


def test_transform_leaves_other_resources_alone():
    assert _transform("kubernetes:apps/v1:Deployment", {"spec": {}}) is None
    assert _transform("kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration", {}) is None


# ---------------------------------------------------------------------------------------- restarts
def _hash(patch):
    cfg = parse_stack_config("dev", patch)
    return iv.restart_hash(cfg.istio.version, cfg.istio.revision, cfg.istio.proxy)


RESTARTING = [
    {"istio": {"version": "1.31.2", "allowUnknownVersion": True}},
    {"istio": {"revision": "r1"}},
    {"istio": {"proxy": {"resources": {"requests": {"cpu": "60m", "memory": "64Mi"},
                                       "limits": {"cpu": "500m", "memory": "256Mi"}}}}},
    {"istio": {"proxy": {"holdApplicationUntilProxyStarts": False}}},
]
LIVE = [
    {"istio": {"tracing": {"sampling": 42}}},
    {"istio": {"tracing": {"enabled": False}}},
    {"istio": {"accessLog": {"enabled": False, "encoding": "JSON"}}},
    {"istio": {"mtls": "PERMISSIVE"}},
    {"istio": {"outboundTrafficPolicy": "REGISTRY_ONLY"}},
    {"istio": {"pilot": {"replicas": 2}}},
    {"observability": {"prometheus": {"retention": "30d"}, "kiali": {"viewOnly": True}}},
]


@pytest.mark.parametrize("patch", RESTARTING)
def test_hash_changes_when_proxies_must_restart(patch):
    assert _hash(patch) != _hash({})


@pytest.mark.parametrize("patch", LIVE)
def test_hash_is_stable_for_changes_istiod_pushes_live(patch):
    assert _hash(patch) == _hash({})


def _pod_hashes(ev):
    return {d.inputs["metadata"]["name"]: d.inputs["spec"]["template"]["metadata"]["annotations"][iv.RESTART_HASH_ANNOTATION]
            for d in ev.of_type(DEPLOYMENT)}


def test_every_deployment_carries_the_hash_and_rolls_with_zero_unavailable(dev):
    hashes = _pod_hashes(dev)
    assert len(hashes) == 6 and set(hashes.values()) == {dev.outputs["restartHash"]}
    for d in dev.of_type(DEPLOYMENT):
        assert d.inputs["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def _gateway_hash(ev):
    return ev.charts()["istio-ingress"].inputs["values"]["podAnnotations"][iv.RESTART_HASH_ANNOTATION]


def test_proxy_change_rolls_every_workload_and_sampling_rolls_none(dev):
    before = _pod_hashes(dev)
    proxy, sampling = evaluate("dev", RESTARTING[2]), evaluate("dev", LIVE[0])
    after_proxy, after_sampling = _pod_hashes(proxy), _pod_hashes(sampling)
    assert all(after_proxy[n] != before[n] for n in before)
    assert after_sampling == before
    # The ingress gateway's pods are injected too: they roll with the same hash.
    assert _gateway_hash(dev) == dev.outputs["restartHash"]
    assert _gateway_hash(proxy) != _gateway_hash(dev) and _gateway_hash(sampling) == _gateway_hash(dev)


# ---------------------------------------------------------------------------------------- canary
def test_canary_revision_is_a_second_istiod_and_a_per_namespace_choice():
    ev = evaluate("dev", {"istio": {"allowUnknownVersion": True, "canary": {"version": "1.31.2", "revision": "1-31-2"}},
                          "workloads": {"services": {"item": {"istioRevision": "1-31-2"}}}})
    charts = ev.charts()
    canary = charts["istiod-1-31-2"]
    assert canary.inputs["version"] == "1.31.2" and canary.inputs["values"]["revision"] == "1-31-2"
    assert charts["istio-base"].urn in canary.dependencies
    labels = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
              for r in ev.of_type("kubernetes:core/v1:Namespace")}
    assert labels["item"]["istio.io/rev"] == "1-31-2" and "istio-injection" not in labels["item"]
    assert labels["catalog"]["istio-injection"] == "enabled"
    hashes = _pod_hashes(ev)
    assert hashes["item"] != hashes["catalog"]
    assert hashes["item"] == iv.restart_hash("1.31.2", "1-31-2", parse_stack_config("dev", {}).istio.proxy)
    for ns in ev.of_type("kubernetes:core/v1:Namespace"):
        if ns.inputs["metadata"]["name"] == "item":
            assert canary.urn in ns.dependencies


def test_injection_labels():
    assert iv.injection_labels("") == {"istio-injection": "enabled"}
    assert iv.injection_labels("1-31-1") == {"istio.io/rev": "1-31-1"}


def test_workloads_get_a_data_plane_value_per_revision():
    ev = evaluate("dev", {"istio": {"allowUnknownVersion": True, "canary": {"version": "1.31.2", "revision": "1-31-2"}},
                          "workloads": {"services": {"item": {"istioRevision": "1-31-2"}}}})
    item = next(d for d in ev.of_type(DEPLOYMENT) if d.inputs["metadata"]["name"] == "item")
    istiods = {ev.charts()["istiod"].urn, ev.charts()["istiod-1-31-2"].urn}
    assert istiods <= set(item.dependencies)  # pods never start before an injector is up
    gateway = ev.charts()["istio-ingress"].inputs["values"]
    assert gateway["revision"] == "" and gateway["podAnnotations"][iv.RESTART_HASH_ANNOTATION] == ev.outputs["restartHash"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_namespace_carries_pod_security_labels_and_only_cni_is_privileged(stack):
    ev = evaluate(stack)
    version = f"v{stack_config(stack)['kubernetes']['version']}"
    levels = {}
    for ns in ev.of_type("kubernetes:core/v1:Namespace"):
        labels = ns.inputs["metadata"]["labels"]
        modes = {m: labels.get(f"pod-security.kubernetes.io/{m}") for m in ("enforce", "audit", "warn")}
        assert len(set(modes.values())) == 1, (ns.name, modes)  # audit and warn at the enforced level
        assert all(labels.get(f"pod-security.kubernetes.io/{m}-version") == version for m in modes), ns.name
        levels[ns.inputs["metadata"]["name"]] = modes["enforce"]
    assert {n for n, level in levels.items() if level != "restricted"} == {"istio-cni"}
    assert levels["istio-cni"] == "privileged"


def test_injected_workloads_wait_for_the_cni_agent(dev):
    cni = dev.charts()["istio-cni"]
    assert (cni.inputs["chart"], cni.inputs["namespace"]) == ("cni", "istio-cni")
    assert cni.inputs["values"]["repair"]["repairPods"] is True  # a pod that raced the agent is repaired
    for ns in dev.of_type("kubernetes:core/v1:Namespace"):
        if ns.inputs["metadata"]["labels"].get("istio-injection") == "enabled":
            assert cni.urn in ns.dependencies, ns.name


def test_the_base_charts_crds_are_deleted_with_the_stack():
    # Chart v4 turns `helm.sh/resource-policy: keep` into retainOnDelete; destroy left 27 CRDs (e2e-local).
    crd = {"metadata": {"name": "telemetries.telemetry.istio.io", "annotations": {"helm.sh/resource-policy": "keep"}}}
    args = pulumi.ResourceTransformArgs(custom=True, type_=iv.CRD, name="x", props=crd,
                                        opts=pulumi.ResourceOptions(retain_on_delete=True))
    result = iv.delete_crds_with_the_stack(args)
    assert result is not None and result.opts.retain_on_delete is False
    assert _transform("kubernetes:core/v1:ConfigMap", {}, iv.delete_crds_with_the_stack) is None
