"""Microservices: injected namespaces, hardened pods, authorization equal to the call graph, ingress."""

import re

import pytest

from components.vocab import istio as vocab
from components.vocab import topology as topo
from tools.engine import ROOT, STACKS, evaluate, stack_config

AUTHZ = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
MERCARI_EDGES = {("gateway", "authority"), ("gateway", "catalog"), ("authority", "customer"),
                 ("catalog", "customer"), ("catalog", "item"), ("customer", "db"), ("item", "db")}


@pytest.fixture(scope="module", params=STACKS)
def ev(request):
    return evaluate(request.param)


def test_topology_is_the_mercari_example():
    assert topo.MERCARI.problems() == []
    assert topo.MERCARI.edges() == MERCARI_EDGES
    gateway = topo.MERCARI.services[0]
    assert (gateway.name, gateway.public, gateway.port("http"), gateway.port("grpc")) == ("gateway", True, 4000, None)
    assert all(s.ports == (topo.Port(protocol="grpc", port=5000),) for s in topo.MERCARI.services[1:])


def test_six_namespaces_with_injection(ev):
    names = {s.name for s in topo.MERCARI.services}
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
                  for r in ev.of_type("kubernetes:core/v1:Namespace")}
    for name in names:
        assert namespaces[name]["istio-injection"] == "enabled"


def test_allowed_callers_equal_the_call_graph_and_nothing_else(ev):
    policies = [r.inputs for r in ev.of_type(AUTHZ)]
    allowed = set()
    for p in policies:
        ns = p["metadata"]["namespace"]
        if p["spec"] == {}:
            continue  # allow-nothing
        assert p["spec"]["action"] == "ALLOW" and p["spec"]["selector"] == {"matchLabels": {"app": ns}}
        for rule in p["spec"]["rules"]:
            for source in rule["from"]:
                for principal in source["source"]["principals"]:
                    m = re.fullmatch(r"cluster\.local/ns/([a-z0-9-]+)/sa/([a-z0-9-]+)", principal)
                    allowed.add((m.group(1), ns))
    expected = MERCARI_EDGES | {("istio-ingress", "gateway")}
    assert allowed == expected
    deny_all = {p["metadata"]["namespace"] for p in policies if p["spec"] == {}}
    assert deny_all == {s.name for s in topo.MERCARI.services}


def test_authorization_follows_a_changed_graph():
    graph = {"services": [
        {"name": "web", "public": True, "ports": [{"protocol": "http", "port": 8080}], "calls": ["api"]},
        {"name": "api", "ports": [{"protocol": "grpc", "port": 9000}], "calls": []}]}
    ev = evaluate("dev", {"topology": graph})
    allow = {r.inputs["metadata"]["namespace"]: r.inputs["spec"] for r in ev.of_type(AUTHZ) if r.inputs["spec"]}
    assert allow["api"]["rules"][0]["from"][0]["source"]["principals"] == ["cluster.local/ns/web/sa/web"]
    assert allow["api"]["rules"][0]["to"] == [{"operation": {"ports": ["9000"]}}]
    assert allow["web"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/istio-ingress/sa/istio-ingress"]
    route = next(v for v in ev.of_type("kubernetes:networking.istio.io/v1:VirtualService")
                 if v.inputs["metadata"]["name"] == "web").inputs["spec"]
    assert route["http"][0]["route"][0]["destination"] == {"host": "web.web.svc.cluster.local", "port": {"number": 8080}}


def test_network_policy_admits_the_same_callers(ev):
    services = {s.name for s in topo.MERCARI.services}
    for netpol in [n for n in ev.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                   if n.name.removesuffix("-netpol") in services]:
        ns = netpol.inputs["metadata"]["namespace"]
        rules = netpol.inputs["spec"]["ingress"]
        app_sources = {f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                       for f in rules[0]["from"]}
        expected = {c for c, callee in MERCARI_EDGES if callee == ns} | ({"istio-ingress"} if ns == "gateway" else set())
        assert app_sources == expected, ns
        assert rules[-1]["from"][0]["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": "observability"}


def test_deployments_are_hardened(ev):
    for d in ev.of_type("kubernetes:apps/v1:Deployment"):
        pod = d.inputs["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = pod["containers"]
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert set(container["resources"]) == {"requests", "limits"}
        assert container["readinessProbe"] and container["livenessProbe"]


def test_services_name_ports_with_app_protocol(ev):
    services = {r.inputs["metadata"]["name"]: r.inputs["spec"]["ports"] for r in ev.of_type("kubernetes:core/v1:Service")}
    # Only what the code listens on: the gateway serves HTTP on 4000, nothing on 5000.
    assert services["gateway"] == [
        {"name": "http", "port": 4000, "targetPort": 4000, "protocol": "TCP", "appProtocol": "http"}]
    assert services["db"][0]["appProtocol"] == "grpc"


def test_pdb_only_with_more_than_one_replica_and_spread_in_prod():
    dev, prod = evaluate("dev"), evaluate("prod")
    assert dev.of_type("kubernetes:policy/v1:PodDisruptionBudget") == []
    assert len(prod.of_type("kubernetes:policy/v1:PodDisruptionBudget")) == 6
    hpas = {h.inputs["metadata"]["name"]: h.inputs["spec"] for h in prod.of_type(
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")}
    assert hpas["gateway"]["maxReplicas"] == 20 and hpas["db"]["maxReplicas"] == 10
    for d in prod.of_type("kubernetes:apps/v1:Deployment"):
        assert "replicas" not in d.inputs["spec"]  # the HPA owns it; no fight on every `pulumi up`
        keys = {c["topologyKey"] for c in d.inputs["spec"]["template"]["spec"]["topologySpreadConstraints"]}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for d in dev.of_type("kubernetes:apps/v1:Deployment"):
        assert "topologySpreadConstraints" not in d.inputs["spec"]["template"]["spec"]


def test_images_and_overrides():
    # What deploy.yml sets: the digest staging ran, per service (the tag stays, the digest wins).
    digest = "sha256:" + "4b" * 32
    prod = evaluate("prod", {"workloads": {"services": {"db": {"image": {"digest": digest}}}}})
    images = {d.inputs["metadata"]["name"]: d.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
              for d in prod.of_type("kubernetes:apps/v1:Deployment")}
    assert images["gateway"] == "ghcr.io/example/mercari/gateway:git-9363ec85558f"
    assert images["db"] == f"ghcr.io/example/mercari/db@{digest}"
    dev = evaluate("dev", {"workloads": {"services": {"item": {"env": {"LOG_LEVEL": "debug"}, "replicas": 2}}}})
    item = next(d for d in dev.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "item")
    assert item.inputs["spec"]["replicas"] == 2
    assert item.inputs["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "LOG_LEVEL", "value": "debug"}]


# ---------------------------------------------------------------------------------------- ingress
def test_ingress_routes_to_gateway_http_port(ev):
    vs = next(v for v in ev.of_type("kubernetes:networking.istio.io/v1:VirtualService")
              if v.inputs["metadata"]["name"] == "gateway")
    spec = vs.inputs["spec"]
    assert spec["gateways"] == ["istio-ingress/public"]
    assert spec["http"][0]["route"][0]["destination"] == {"host": "gateway.gateway.svc.cluster.local",
                                                           "port": {"number": 4000}}
    (gw,) = ev.of_type("kubernetes:networking.istio.io/v1:Gateway")
    assert gw.inputs["spec"]["selector"] == {"istio": "ingress"}


def test_ingress_gateway_lives_in_its_own_injected_namespace(ev):
    chart = ev.charts()["istio-ingress"]
    assert chart.inputs["namespace"] == "istio-ingress"
    ns = next(r for r in ev.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == "istio-ingress")
    labels = ns.inputs["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled" and labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == f"v{stack_config(ev.stack)['kubernetes']['version']}"


def test_dev_exposes_nodeport_30000_and_prod_a_load_balancer_with_tls():
    dev, prod = evaluate("dev"), evaluate("prod")
    service = dev.charts()["istio-ingress"].inputs["values"]["service"]
    http = next(p for p in service["ports"] if p["name"] == "http2")
    assert service["type"] == "NodePort" and http["nodePort"] == 30000
    assert dev.outputs["ingress"] == "http://localhost:30000/"
    assert prod.charts()["istio-ingress"].inputs["values"]["service"]["type"] == "LoadBalancer"
    servers = prod.of_type("kubernetes:networking.istio.io/v1:Gateway")[0].inputs["spec"]["servers"]
    assert servers[0]["tls"] == {"httpsRedirect": True}
    assert servers[1]["tls"] == {"mode": "SIMPLE", "credentialName": "mercari-tls"}
    assert servers[1]["hosts"] == ["mercari.example.com", "kiali.example.com"]


def test_readme_diagram_matches_the_topology():
    readme = (ROOT / "README.md").read_text()
    assert f"```mermaid\n{topo.mermaid(topo.MERCARI)}\n```" in readme


def test_principal_format():
    assert vocab.principal("catalog", "catalog") == "cluster.local/ns/catalog/sa/catalog"


def test_tls_credential_is_requested_from_cert_manager_when_asked():
    ev = evaluate("prod", {"ingress": {"tls": {"certManager": {"issuer": "letsencrypt"}}}})
    (cert,) = ev.of_type("kubernetes:cert-manager.io/v1:Certificate")
    assert cert.inputs["metadata"] == {"name": "mercari-tls", "namespace": "istio-ingress"}
    assert cert.inputs["spec"] == {"secretName": "mercari-tls", "dnsNames": ["mercari.example.com", "kiali.example.com"],
                                   "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"}}
    assert ev.outputs["ingressTls"].startswith("cert-manager issues Secret istio-ingress/mercari-tls")


def test_without_cert_manager_the_output_says_which_secret_to_create(prod):
    assert prod.of_type("kubernetes:cert-manager.io/v1:Certificate") == []
    assert prod.outputs["ingressTls"] == (
        "create Secret istio-ingress/mercari-tls (type kubernetes.io/tls, covering mercari.example.com, "
        "kiali.example.com) before traffic flows: the gateway serves no HTTPS until it exists")
    assert prod.outputs["ingress"] == "https://mercari.example.com/"
