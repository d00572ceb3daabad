"""Pure builders (workload specs, ingress values and routes, Istio values) as case tables: no engine."""

import pytest

from components.builders import istio_values as iv
from components.builders import network_policies as np
from components.builders import workload_specs as ws
from components.config.loading import parse_stack_config
from components.config.models import AutoscalingConfig, IngressConfig
from components.plan import Caller, resolve_workload
from components.resources import ingress as ing
from components.vocab.topology import MERCARI, Port, Service
from tools.engine import stack_config

GATEWAY, DB = MERCARI.services[0], MERCARI.services[-1]
WEB = Service(name="web", ports=(Port(protocol="http", port=8080),), public=True)


def _workload(stack="prod", service="db", **workloads):
    raw = stack_config(stack)
    raw["workloads"] = {**raw["workloads"], **workloads}
    return resolve_workload(parse_stack_config(stack, raw), service)


def test_hpa_targets_the_services_deployment_on_cpu():
    spec = ws.hpa_spec(DB, AutoscalingConfig(min_replicas=3, max_replicas=9, cpu_utilization=65))
    assert spec == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "db"},
        "minReplicas": 3, "maxReplicas": 9,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                      "target": {"type": "Utilization", "averageUtilization": 65}}}],
    }


def test_spread_constraints_cover_zones_then_hosts_softly():
    assert ws.spread_constraints(DB) == [
        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": {"app": "db"}}}
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")]


@pytest.mark.parametrize("service,ports", [
    (GATEWAY, [("http", 4000)]), (DB, [("grpc", 5000)]), (WEB, [("http", 8080)])])
def test_ports_are_named_by_protocol(service, ports):
    assert [(p["name"], p["containerPort"]) for p in ws.container_ports(service)] == ports
    assert [(p["name"], p["port"], p["targetPort"], p["appProtocol"]) for p in ws.service_ports(service)] == \
        [(n, p, p, n) for n, p in ports]
    assert ws.probe(service, 7) == {"tcpSocket": {"port": ports[0][1]}, "periodSeconds": 7, "failureThreshold": 3}


def test_pod_template_carries_hash_image_and_hardening():
    wl = _workload(services={"db": {"env": {"B": "2", "A": "1"}}}, imagePullSecrets=["pull"])
    pod = ws.pod_template(DB, wl, "abc123")
    assert pod["metadata"]["annotations"] == {iv.RESTART_HASH_ANNOTATION: "abc123"}
    assert pod["metadata"]["labels"] == ws.labels(DB)
    (container,) = pod["spec"]["containers"]
    assert container["image"] == wl.image and container["env"] == [{"name": "A", "value": "1"},
                                                                     {"name": "B", "value": "2"}]
    assert container["resources"] == wl.resources.manifest()
    assert container["securityContext"]["runAsUser"] == ws.RUN_AS and pod["spec"]["securityContext"]["fsGroup"] == ws.RUN_AS
    assert pod["spec"]["serviceAccountName"] == "db" and pod["spec"]["automountServiceAccountToken"] is False
    assert pod["spec"]["imagePullSecrets"] == [{"name": "pull"}]
    assert "topologySpreadConstraints" in pod["spec"]
    assert ws.pod_template(DB, wl, "h", image="built:1")["spec"]["containers"][0]["image"] == "built:1"


@pytest.mark.parametrize("autoscaling,replicas", [(None, {"replicas": 3}), ({"minReplicas": 3, "maxReplicas": 4}, {})])
def test_deployment_leaves_replicas_to_the_hpa_when_there_is_one(autoscaling, replicas):
    spec = ws.deployment_spec(DB, _workload(autoscaling=autoscaling, services={}), "h")
    assert {k: v for k, v in spec.items() if k == "replicas"} == replicas
    assert spec["selector"] == {"matchLabels": {"app": "db"}}
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


@pytest.mark.parametrize("peers,first", [(["customer", "item"], {"customer", "item"}), ([], None)])
def test_network_policy_admits_callers_then_metrics(peers, first):
    spec = ws.network_policy_spec(DB, [Caller(p, p) for p in peers], "observability")
    rules = spec["ingress"]
    if first:
        assert {f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for f in rules[0]["from"]} == first
        assert rules[0]["ports"] == [{"protocol": "TCP", "port": 5000}]
    assert len(rules) == (2 if first else 1)
    assert rules[-1]["ports"] == [{"protocol": "TCP", "port": p} for p in np.PROXY_METRICS]
    assert spec["podSelector"] == {"matchLabels": {"app": "db"}} and spec["policyTypes"] == ["Ingress"]


def test_authorization_allows_only_the_given_principals_on_their_ports():
    callers = [Caller("b", "b"), Caller("a", "a"), Caller("edge", "gw", (4000,))]
    policy = ws.allow_callers(GATEWAY, callers)
    assert policy["metadata"] == {"name": "allow-callers", "namespace": "gateway"}
    # The gateway serves one port, so callers limited to it and callers of every port share one rule.
    assert policy["spec"]["rules"] == [
        {"from": [{"source": {"principals": ["cluster.local/ns/a/sa/a", "cluster.local/ns/b/sa/b",
                                             "cluster.local/ns/edge/sa/gw"]}}],
         "to": [{"operation": {"ports": ["4000"]}}]}]
    netpol = ws.network_policy_spec(GATEWAY, callers, ["observability"])["ingress"]
    assert netpol[0] == {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
                                  for ns in ("b", "a", "edge")],
                         "ports": [{"protocol": "TCP", "port": 4000}]}


def test_a_service_nobody_calls_allows_nobody():
    # An empty `principals` list would match every source; no rule matches none.
    assert ws.allow_callers(DB, [])["spec"]["rules"] == []
    assert ws.allow_nothing("db")["spec"] == {} and ws.allow_nothing("db")["metadata"]["namespace"] == "db"


# ------------------------------------------------------------------------------------------- ingress
@pytest.mark.parametrize("cfg,host,path,url", [
    ({"serviceType": "NodePort", "nodePort": 30000}, "g.localtest.me", "", "http://g.localtest.me:30000/"),
    ({"tls": {"credentialName": "t"}}, "kiali.example.com", "/kiali", "https://kiali.example.com/kiali"),
    ({}, "a.example.com", "", "http://a.example.com/"),
])
def test_public_url(cfg, host, path, url):
    assert ing.public_url(IngressConfig(**cfg), host, path) == url


@pytest.mark.parametrize("cfg,address", [
    ({"serviceType": "NodePort", "nodePort": 30000, "tls": {"credentialName": "t"}}, "http://localhost:30000/"),
    ({"serviceType": "LoadBalancer"}, "kubectl -n istio-ingress get svc istio-ingress  # external address"),
    ({"hosts": ["*.a.io", "shop.a.io"], "tls": {"credentialName": "t"}}, "https://shop.a.io/"),
])
def test_address(cfg, address):
    assert ing.address(IngressConfig(**cfg)) == address


def test_identity_is_the_releases_service_account():
    assert ing.identity(IngressConfig(namespace="edge")).principal == "cluster.local/ns/edge/sa/istio-ingress"


@pytest.mark.parametrize("hosts,routes,expected", [
    (["*"], ["kiali.a.io"], ["*"]),
    (["shop.a.io"], ["kiali.a.io", "shop.a.io"], ["shop.a.io", "kiali.a.io"]),
])
def test_gateway_hosts(hosts, routes, expected):
    extra = tuple(ing.Route(h, h, "svc", 1) for h in routes)
    assert ing.gateway_hosts(IngressConfig(hosts=hosts), extra) == expected


def test_route_virtual_service_sends_one_host_to_its_service():
    vs = ing.route_virtual_service(ing.Route("kiali", "kiali.a.io", "kiali.obs.svc.cluster.local", 20001), "edge")
    assert vs["metadata"] == {"name": "kiali", "namespace": "edge"}
    assert vs["spec"] == {"hosts": ["kiali.a.io"], "gateways": ["edge/public"], "http": [
        {"match": [{"uri": {"prefix": "/"}}],
         "route": [{"destination": {"host": "kiali.obs.svc.cluster.local", "port": {"number": 20001}}}]}]}


@pytest.mark.parametrize("cfg,node_port", [({"serviceType": "NodePort", "nodePort": 30001}, 30001), ({}, None)])
def test_gateway_chart_values(cfg, node_port):
    values = ing.chart_values(IngressConfig(**cfg, replicas=2), "rev", "hash")
    http = next(p for p in values["service"]["ports"] if p["name"] == "http2")
    assert http.get("nodePort") == node_port
    assert values["revision"] == "rev" and values["podAnnotations"] == {iv.RESTART_HASH_ANNOTATION: "hash"}
    assert values["podDisruptionBudget"] == {"maxUnavailable": 1} and values["replicaCount"] == 2


# --------------------------------------------------------------------------------------------- istio
@pytest.mark.parametrize("revision,labels,default", [("", {"istio-injection": "enabled"}, "default"),
                                                     ("canary", {"istio.io/rev": "canary"}, "canary")])
def test_revision_labels_and_default_revision(revision, labels, default):
    assert iv.injection_labels(revision) == labels
    assert iv.base_values(revision)["defaultRevision"] == default


def test_webhook_ignore_paths_one_per_webhook():
    assert iv.webhook_ignore_paths({"webhooks": [{}, {}]}) == ["webhooks[0].clientConfig.caBundle",
                                                               "webhooks[1].clientConfig.caBundle"]
    assert iv.webhook_ignore_paths({}) == []


@pytest.mark.parametrize("enabled,keys", [(True, {"accessLogging", "tracing"}), (False, {"accessLogging"})])
def test_mesh_telemetry(enabled, keys):
    istio = parse_stack_config("dev", stack_config("dev")).istio
    assert set(iv.mesh_telemetry(istio, enabled)["spec"]) == keys


def test_security_contexts_are_the_restricted_profile():
    assert ws.container_security_context() == {
        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
        "runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}}
    assert ws.pod_security_context() == {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                                         "fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}}


def test_labels():
    assert ws.labels(DB) == {"app": "db", "app.kubernetes.io/name": "db", "app.kubernetes.io/part-of": "mesh"}


def test_mesh_telemetry_in_full():
    istio = parse_stack_config("prod", stack_config("prod")).istio
    assert iv.mesh_telemetry(istio, True) == {
        "apiVersion": "telemetry.istio.io/v1", "kind": "Telemetry",
        "metadata": {"name": "mesh-default", "namespace": "istio-system"},
        "spec": {"accessLogging": [{"providers": [{"name": "envoy"}], "disabled": False}],
                 "tracing": [{"providers": [{"name": iv.TRACING_PROVIDER}], "randomSamplingPercentage": 1.0}]}}
    quiet = istio.model_copy(update={"access_log": istio.access_log.model_copy(update={"enabled": False})})
    assert iv.mesh_telemetry(quiet, False)["spec"] == {
        "accessLogging": [{"providers": [{"name": "envoy"}], "disabled": True}]}


def test_base_values_in_full():
    assert iv.base_values("") == {"defaultRevision": "default", "base": {"validationFailurePolicy": "Fail"}}


def test_gateway_service_ports_in_full():
    assert ing.service_ports(IngressConfig(service_type="NodePort", node_port=30000)) == [
        {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
        {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30000},
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}]


def test_probes_and_spread_follow_the_workload():
    wl = _workload("dev", topologySpread=False)
    pod = ws.pod_template(DB, wl, "h")
    (container,) = pod["spec"]["containers"]
    assert container["readinessProbe"]["periodSeconds"] == 5 and container["livenessProbe"]["periodSeconds"] == 10
    assert container["ports"] == ws.container_ports(DB) and container["name"] == "db"
    assert container["imagePullPolicy"] == "Never"
    assert "topologySpreadConstraints" not in pod["spec"] and "imagePullSecrets" not in pod["spec"]


def test_resolved_workload_fields():
    wl = _workload(services={"db": {"autoscaling": {"minReplicas": 4, "maxReplicas": 8}}})
    assert wl.image == "ghcr.io/example/mercari/db:git-9363ec85558f"  # the override replaced the services map
    assert wl.image_pull_policy == "IfNotPresent" and wl.secret_env is False
    assert (wl.autoscaling.min_replicas, wl.autoscaling.max_replicas) == (4, 8)
    assert wl.topology_spread is True
