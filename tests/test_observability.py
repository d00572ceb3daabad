"""Addons: chart values, and wiring that can only point at Services that really exist."""


from components.resources.observability import grafana, jaeger, kiali, prometheus
from tools.engine import evaluate


def _service_url(chart, name_key_path, port, path=""):
    """URL of the Service a chart creates, from the values that name it and its namespace."""
    values = chart.inputs["values"]
    for key in name_key_path:
        values = values[key]
    return f"http://{values}.{chart.inputs['namespace']}.svc.cluster.local:{port}{path}"


def test_prometheus_is_server_only_and_scrapes_the_mesh(prod):
    chart = prod.charts()["prometheus"]
    values = chart.inputs["values"]
    assert (chart.inputs["chart"], chart.inputs["version"]) == ("prometheus", "29.27.0")
    for sub in ("alertmanager", "prometheus-pushgateway", "kube-state-metrics", "prometheus-node-exporter"):
        assert values[sub] == {"enabled": False}
    assert values["scrapeConfigs"]["kubernetes-pods"] == {"enabled": True}
    server = values["server"]
    assert server["retention"] == "30d" and server["global"] == {"scrape_interval": "30s"}
    assert server["persistentVolume"] == {"enabled": True, "size": "100Gi", "storageClass": "premium-rwo"}
    assert server["service"] == {"servicePort": prometheus.PORT}


def test_prometheus_uses_empty_dir_where_the_stack_asks_for_no_volume(dev):
    assert dev.charts()["prometheus"].inputs["values"]["server"]["persistentVolume"] == {"enabled": False}


def test_jaeger_is_v2_with_memory_in_dev_and_badger_on_a_volume_in_prod(dev, prod):
    dev_values = dev.charts()["jaeger"].inputs["values"]
    assert int(dev.charts()["jaeger"].inputs["version"].split(".")[0]) >= 4  # v2 chart, not the EOL v1
    assert dev_values["userconfig"]["extensions"]["jaeger_storage"]["backends"]["primary_store"] == {
        "memory": {"max_traces": 50000}}
    assert dev.of_type("kubernetes:core/v1:PersistentVolumeClaim") == []
    prod_values = prod.charts()["jaeger"].inputs["values"]
    store = prod_values["userconfig"]["extensions"]["jaeger_storage"]["backends"]["primary_store"]["badger"]
    assert store["ttl"] == {"spans": "168h"} and store["ephemeral"] is False
    claim = prod.of_type("kubernetes:core/v1:PersistentVolumeClaim")[0]
    assert claim.inputs["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert prod_values["jaeger"]["extraVolumes"][0]["persistentVolumeClaim"]["claimName"] == \
        claim.inputs["metadata"]["name"]
    assert claim.urn in prod.charts()["jaeger"].dependencies
    receivers = prod_values["userconfig"]["receivers"]["otlp"]["protocols"]["grpc"]
    assert receivers == {"endpoint": f"0.0.0.0:{jaeger.OTLP_GRPC_PORT}"}


def test_kiali_points_at_the_real_prometheus_jaeger_and_grafana_services(dev):
    charts = dev.charts()
    ext = charts["kiali"].inputs["values"]["external_services"]
    assert ext["prometheus"]["url"] == _service_url(charts["prometheus"], ["server", "fullnameOverride"], 9090)
    assert ext["prometheus"]["url"] == prometheus.endpoint("observability").url
    assert ext["tracing"] == {"enabled": True, "provider": "jaeger", "use_grpc": True,
                              "internal_url": _service_url(charts["jaeger"], ["fullnameOverride"], 16685),
                              "external_url": "http://localhost:16686/"}
    # dev's Grafana is anonymous: Kiali needs no credentials to list its dashboards.
    dashboards = ext["grafana"].pop("dashboards")
    assert ext["grafana"] == {"enabled": True, "external_url": "http://localhost:3000/",
                              "internal_url": _service_url(charts["grafana"], ["fullnameOverride"], grafana.PORT)}
    assert len(dashboards) == 8
    assert charts["grafana"].inputs["values"]["service"] == {"port": grafana.PORT}


def test_grafana_reads_the_same_prometheus_and_ships_the_programs_dashboards(dev, prod):
    values = prod.charts()["grafana"].inputs["values"]
    source = values["datasources"]["datasources.yaml"]["datasources"][0]
    assert source["url"] == prometheus.endpoint("observability").url and source["type"] == "prometheus"
    assert source["uid"] == "prometheus"
    # Nothing is downloaded at pod start: no `dashboards` value (it adds the chart's download init container).
    assert "dashboards" not in values and "gnetId" not in str(values) and "downloadDashboards" not in values
    maps = {m.inputs["metadata"]["name"]: m for m in prod.of_type("kubernetes:core/v1:ConfigMap")}
    mounts = values["extraConfigmapMounts"]
    assert {m["configMap"] for m in mounts} == set(maps) and len(maps) == 2 + 6  # overview, control plane, 6 services
    assert all(m["mountPath"].startswith(grafana.DASHBOARD_ROOT + "/") and m["readOnly"] for m in mounts)
    provider = values["dashboardProviders"]["dashboardproviders.yaml"]["providers"][0]
    assert provider["options"]["path"] == grafana.DASHBOARD_ROOT
    assert {m.urn for m in maps.values()} <= set(prod.charts()["grafana"].dependencies)
    assert values["grafana.ini"]["auth.anonymous"] == {"enabled": False, "org_role": "Viewer"}
    assert "values" in prod.charts()["grafana"].secret_paths
    assert dev.charts()["grafana"].inputs["values"]["grafana.ini"]["auth.anonymous"]["enabled"] is True
    kiali_links = prod.charts()["kiali"].inputs["values"]["external_services"]["grafana"]["dashboards"]
    assert {"name": "Mesh overview"} in kiali_links and {"name": "Service gateway"} in kiali_links


def test_kiali_auth_and_signing_key(dev, prod):
    dev_values, prod_values = dev.charts()["kiali"].inputs["values"], prod.charts()["kiali"].inputs["values"]
    assert dev_values["auth"] == {"strategy": "anonymous"}
    assert prod_values["auth"] == {"strategy": "openid", "openid": {
        "issuer_uri": "https://login.example.com/realms/platform", "client_id": "kiali", "username_claim": "email",
        "disable_rbac": True}}
    assert prod_values["deployment"]["view_only_mode"] is True
    keys = [r for r in prod.of_type("random:index/randomPassword:RandomPassword") if "signing-key" in r.name]
    assert len(keys) == 1 and keys[0].inputs["length"] == kiali.SIGNING_KEY_BYTES
    assert kiali.SIGNING_KEY_BYTES in (16, 24, 32)
    # The key reaches Kiali through a Secret mounted where Kiali reads it, never through chart values
    # (the chart copies its values into ConfigMap `kiali`).
    assert "values" not in prod.charts()["kiali"].secret_paths
    assert prod_values["login_token"] == {"signing_key": "secret:kiali-signing-key:value.txt"}
    secret = next(s for s in prod.of_type("kubernetes:core/v1:Secret")
                  if s.inputs["metadata"]["name"] == "kiali-signing-key")
    assert secret.secret_paths == ["stringData"] and set(secret.inputs["stringData"]) == {"value.txt"}
    # kiali-server >= 2.27 mounts every `secret:<name>:<key>` value under /kiali-override-secrets/ itself;
    # a custom_secrets mount of the same Secret is a second volumeMount at that path (refused: e2e-local).
    assert "custom_secrets" not in prod_values["deployment"]
    assert secret.urn in prod.charts()["kiali"].dependencies
    # prod's Grafana is not anonymous: Kiali gets its admin password the same way.
    assert prod_values["external_services"]["grafana"]["auth"] == {
        "type": "basic", "username": "admin", "password": "secret:kiali-grafana-password:value.txt"}
    for unread in ("nameOverride", "fullnameOverride", "istio_namespace"):
        assert unread not in prod_values
    assert prod_values["deployment"]["instance_name"] == "kiali"


def test_an_openid_client_secret_is_a_mounted_secret():
    patch = {"observability": {"kiali": {"auth": {"openid": {"clientSecret": "s3cr3t"}}}}}
    ev = evaluate("prod", patch, secret=("observability",))
    secret = next(s for s in ev.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["name"] == "kiali-oidc")
    assert secret.inputs["stringData"] == {"oidc-secret": "s3cr3t"} and secret.secret_paths == ["stringData"]
    values = ev.charts()["kiali"].inputs["values"]
    assert values["deployment"]["secret_name"] == "kiali-oidc"
    assert "s3cr3t" not in str(values)


def test_kiali_is_token_auth_by_default():
    ev = evaluate("staging", {"observability": {"kiali": {"auth": None}}})
    assert ev.charts()["kiali"].inputs["values"]["auth"] == {"strategy": "token"}


def test_external_prometheus_replaces_the_install():
    url = "https://prometheus.monitoring.example.com"
    ev = evaluate("prod", {"observability": {"prometheus": {"enabled": False, "externalUrl": url, "storage": None}}})
    assert "prometheus" not in ev.charts()
    assert ev.charts()["kiali"].inputs["values"]["external_services"]["prometheus"]["url"] == url
    grafana_values = ev.charts()["grafana"].inputs["values"]
    assert grafana_values["datasources"]["datasources.yaml"]["datasources"][0]["url"] == url
    assert "prometheus" not in ev.outputs["dashboards"]


def test_addons_can_be_disabled():
    ev = evaluate("dev", {"observability": {"kiali": {"enabled": False}, "grafana": {"enabled": False}}})
    assert {"kiali", "grafana"}.isdisjoint(ev.charts())
    assert set(ev.outputs["dashboards"]) == {"prometheus", "jaeger"}


def test_addons_run_in_a_namespace_without_injection(dev):
    ns = [r for r in dev.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == "observability"]
    labels = ns[0].inputs["metadata"]["labels"]
    assert labels["istio-injection"] == "disabled" and labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for release in ("prometheus", "jaeger", "grafana", "kiali"):
        assert dev.charts()[release].inputs["namespace"] == "observability"


def test_outputs_tell_people_how_to_open_each_dashboard(dev):
    dashboards = dev.outputs["dashboards"]
    assert dashboards["kiali"].startswith("kubectl -n observability port-forward svc/kiali 20001:20001")
    assert "http://localhost:20001/kiali" in dashboards["kiali"]
    assert set(dashboards) == {"prometheus", "jaeger", "grafana", "kiali"}


def test_dashboards_can_be_served_through_the_ingress_by_host_name(prod):
    assert prod.outputs["dashboards"]["kiali"] == "https://kiali.example.com/kiali"
    route = next(v for v in prod.of_type("kubernetes:networking.istio.io/v1:VirtualService")
                 if v.inputs["metadata"]["name"] == "kiali").inputs["spec"]
    assert route["hosts"] == ["kiali.example.com"] and route["gateways"] == ["istio-ingress/public"]
    assert route["http"][0]["route"][0]["destination"] == {"host": kiali.endpoint("observability").host,
                                                           "port": {"number": kiali.PORT}}
    servers = prod.of_type("kubernetes:networking.istio.io/v1:Gateway")[0].inputs["spec"]["servers"]
    assert all("kiali.example.com" in s["hosts"] for s in servers)


def test_a_dev_host_uses_the_node_port_and_the_wildcard_gateway():
    ev = evaluate("dev", {"observability": {"grafana": {"host": "grafana.localtest.me"}}})
    assert ev.outputs["dashboards"]["grafana"] == "http://grafana.localtest.me:30000/"
    assert ev.of_type("kubernetes:networking.istio.io/v1:Gateway")[0].inputs["spec"]["servers"][0]["hosts"] == ["*"]


def test_charts_wait_only_for_what_they_need_at_runtime(dev):
    charts = dev.charts()
    waits = {release: {r for r, c in charts.items() if c.urn in chart.dependencies} for release, chart in charts.items()}
    # Kiali does not start while its tracing backend is unreachable; Service names are known up front,
    # so nothing else waits: a stuck Jaeger volume cannot block istiod and the mesh.
    assert waits["kiali"] == {"jaeger"}
    assert waits["istiod"] == {"istio-base"} and waits["grafana"] == set()
    assert waits["prometheus"] == set() and waits["jaeger"] == set()


def test_without_jaeger_kiali_waits_for_no_chart():
    ev = evaluate("dev", {"istio": {"tracing": {"enabled": False}}})
    kiali = ev.charts()["kiali"]
    assert not {c.urn for c in ev.charts().values()} & set(kiali.dependencies)


def test_kialis_chart_declares_no_network_policy_the_program_owns_kialis(dev, prod):
    # kiali-server renders NetworkPolicy `kiali` (open to any source) unless told not to; the program
    # declares that name itself, admitting the ingress only.
    for ev in (dev, prod):
        values = ev.charts()["kiali"].inputs["values"]
        assert values["deployment"]["network_policy"] == {"enabled": False}
        names = {(p.inputs["metadata"]["namespace"], p.inputs["metadata"]["name"])
                 for p in ev.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
        assert ("observability", kiali.FULLNAME) in names
