"""Zero trust at layer 4: every namespace the program creates denies ingress by default, and each
allow the mesh needs exists (edges, webhooks, xDS, scraping, tracing, dashboards, public traffic)."""

import pytest

from components.builders import network_policies as np
from tools.engine import STACKS, evaluate

NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


@pytest.fixture(scope="module", params=STACKS)
def ev(request):
    return evaluate(request.param)


def _policies(ev, namespace):
    return {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in ev.of_type(NETPOL)
            if p.inputs["metadata"]["namespace"] == namespace}


def _admits(spec, port, source):
    """Whether any rule of `spec` admits `port` from a peer equal to `source` (None: from anywhere)."""
    for rule in spec["ingress"]:
        if port in [p["port"] for p in rule["ports"]]:
            if source is None and "from" not in rule:
                return True
            if source is not None and source in rule.get("from", []):
                return True
    return False


def test_every_namespace_the_program_creates_denies_ingress_by_default(ev):
    namespaces = {n.inputs["metadata"]["name"] for n in ev.of_type("kubernetes:core/v1:Namespace")}
    assert namespaces == {"istio-system", "istio-cni", "istio-ingress", "observability", "gateway", "authority",
                          "catalog", "customer", "item", "db"}
    for ns in namespaces:
        deny = _policies(ev, ns)["default-deny-ingress"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []}, ns


def test_the_control_plane_admits_webhooks_xds_and_scraping(ev):
    istiod = _policies(ev, "istio-system")["istiod"]
    assert istiod["podSelector"] == {"matchLabels": np.ISTIOD}
    assert _admits(istiod, 15017, None)  # the API server's webhook calls
    # xDS and CA: the mesh's proxies only, in namespaces injected by the default or a named revision
    assert all(_admits(istiod, 15012, mesh) for mesh in np.MESH_NAMESPACES)
    assert not _admits(istiod, 15012, np.peer("*"))
    assert _admits(istiod, 15014, np.pods(np.PROMETHEUS, "observability"))  # Prometheus, not every pod of its namespace
    assert not _admits(istiod, 15014, np.peer("observability"))
    assert _admits(istiod, 8080, np.pods(np.KIALI, "observability"))  # Kiali's debug view


def test_the_gateway_admits_the_public_and_prometheus(ev):
    gateway = _policies(ev, "istio-ingress")["gateway"]
    assert all(_admits(gateway, p, None) for p in (80, 443, 15021))
    assert all(_admits(gateway, p, np.pods(np.PROMETHEUS, "observability")) for p in np.PROXY_METRICS)


def test_the_addons_admit_spans_queries_and_scrapes(ev):
    obs = _policies(ev, "observability")
    assert all(_admits(obs["jaeger"], 4317, mesh) for mesh in np.MESH_NAMESPACES)  # spans from the sidecars
    assert not _admits(obs["jaeger"], 4317, np.peer("*"))
    assert _admits(obs["jaeger"], 16685, np.pods(np.KIALI))
    assert _admits(obs["jaeger"], 8888, np.pods(np.PROMETHEUS))
    assert _admits(obs["prometheus"], 9090, np.pods(np.KIALI)) and _admits(obs["prometheus"], 9090, np.pods(np.GRAFANA))
    assert _admits(obs["grafana"], 3000, np.pods(np.KIALI))
    assert _admits(obs["alertmanager"], 9093, np.pods(np.PROMETHEUS))


def test_dashboards_are_reachable_only_through_the_ingress_when_exposed():
    prod, dev = evaluate("prod"), evaluate("dev")  # prod exposes Kiali, dev exposes nothing
    assert _admits(_policies(prod, "observability")["kiali"], 20001, np.peer("istio-ingress"))
    assert not _admits(_policies(prod, "observability")["grafana"], 3000, np.peer("istio-ingress"))
    assert not _admits(_policies(dev, "observability")["kiali"], 20001, np.peer("istio-ingress"))  # port-forward only
    assert _admits(_policies(dev, "observability")["kiali"], 9090, np.pods(np.PROMETHEUS))
    exposed = evaluate("dev", {"observability": {"grafana": {"host": "grafana.localtest.me"}}})
    assert _admits(_policies(exposed, "observability")["grafana"], 3000, np.peer("istio-ingress"))


def test_every_application_namespace_admits_prometheus_to_the_proxy_metrics(ev):
    for ns in ("gateway", "authority", "catalog", "customer", "item", "db"):
        app = _policies(ev, ns)[ns]  # the service's own policy is named after it
        assert all(_admits(app, p, np.pods(np.PROMETHEUS, "observability")) for p in np.PROXY_METRICS), ns
        assert not any(_admits(app, p, np.peer("observability")) for p in np.PROXY_METRICS), ns


def test_an_outside_prometheus_can_be_admitted_by_config():
    ev = evaluate("prod", {"observability": {"prometheus": {"scrapeFrom": ["monitoring", "10.20.0.0/16"]}}})
    for source in (np.peer("monitoring"), {"ipBlock": {"cidr": "10.20.0.0/16"}}):
        assert _admits(_policies(ev, "istio-system")["istiod"], 15014, source)
        assert _admits(_policies(ev, "istio-ingress")["gateway"], 15090, source)
        assert _admits(_policies(ev, "db")["db"], 15020, source)


@pytest.mark.parametrize("value", ["10.0.0.0/33x", "http://prom", "Monitoring"])
def test_a_bad_scrape_source_is_refused(value):
    from tools.engine import attempt

    err = attempt("prod", {"observability": {"prometheus": {"scrapeFrom": [value]}}}).error
    assert "mesh:observability.prometheus.scrapeFrom[0]" in err.keys
