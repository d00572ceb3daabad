"""The pure parts of `make e2e-local` (the e2e itself needs built components and charts, so it is not
part of `make test`): cluster flags and namespace set-up, the e2e stack and policy config, what each
check concludes from API objects, istiod's launch from its pod, the certificates."""

from pathlib import Path

import pytest
import yaml
from cryptography import x509

from tools.e2e import checks, cluster, istiod, kube, pki, stack

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = cluster.Layout(run=Path("/run/x"), bin=Path("/bin/e2e"))


def _flag(args, name):
    return next(a.split("=", 1)[1] for a in args if a.startswith(f"--{name}="))


def test_everything_listens_on_loopback_and_dials_webhooks_at_the_cluster_ip():
    api = cluster.apiserver_args(LAYOUT)
    assert api[0] == "/bin/e2e/kube-apiserver"
    assert _flag(api, "bind-address") == "127.0.0.1" and _flag(api, "secure-port") == str(cluster.API_PORT)
    assert _flag(api, "enable-aggregator-routing") == "false"  # webhooks at ClusterIP:port, routed locally
    assert _flag(api, "service-cluster-ip-range") == cluster.SERVICE_CIDR
    assert _flag(api, "authorization-mode") == "Node,RBAC"
    for args in (cluster.controller_manager_args(LAYOUT), cluster.scheduler_args(LAYOUT)):
        assert _flag(args, "bind-address") == "127.0.0.1" and _flag(args, "leader-elect") == "false"
    assert all(u.startswith("http://127.0.0.1:") for a in cluster.etcd_args(LAYOUT) if a.startswith("--listen")
               for u in [a.split("=", 1)[1]])
    assert _flag(cluster.kwok_args(LAYOUT), "server-address").startswith("127.0.0.1:")


def test_the_namespace_routes_the_service_range_to_its_own_loopback():
    cmds = cluster.namespace_setup("ns1")
    assert cmds[0] == ["ip", "netns", "add", "ns1"]
    assert all(c[:4] == ["ip", "netns", "exec", "ns1"] for c in cmds[1:])
    assert ["ip", "route", "add", "local", cluster.SERVICE_CIDR, "dev", "lo"] in [c[4:] for c in cmds]
    # Loopback is the only link: nothing can leave the namespace.
    assert not [c for c in cmds if "link" in c and "add" in c]
    assert all(c[-2:] == ["dev", "lo"] for c in cmds if "addr" in c or "route" in c)


def test_kubeconfig_and_node_shapes():
    config = cluster.kubeconfig("https://127.0.0.1:6443", Path("ca"), Path("c"), Path("k"), "admin")
    assert config["current-context"] == "admin" and config["clusters"][0]["cluster"]["server"].startswith("https://127")
    node = cluster.node("kwok-node-1")
    assert node["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "zone-1"


def test_the_e2e_stack_is_staging_with_only_the_listed_adaptations():
    base = yaml.safe_load((ROOT / "stacks" / "Pulumi.staging.yaml").read_text())
    out = stack.e2e_config(base, mirror="http://127.0.0.1:9", context="admin", kubernetes_version="1.36",
                           environment="staging")["config"]
    assert out["mesh:environment"] == "staging" and out["mesh:charts"] == {"mirror": "http://127.0.0.1:9"}
    assert out["mesh:kubernetes"] == {"context": "admin", "version": "1.36"}
    assert out["mesh:ingress"]["serviceType"] == "NodePort"
    changed = {k for k in out if out[k] != base["config"].get(k)}
    assert changed == {"mesh:environment", "mesh:charts", "mesh:kubernetes", "mesh:ingress"}
    assert changed - {"mesh:environment"} <= {k.split(".")[0] for k, _ in stack.ADAPTATIONS if k.startswith("mesh:")}
    assert {k: v for k, v in out["mesh:ingress"].items() if k != "serviceType"} == \
        {k: v for k, v in base["config"]["mesh:ingress"].items() if k != "serviceType"}
    assert base["config"]["mesh:ingress"]["serviceType"] == "LoadBalancer"  # the input is not mutated


def test_the_policy_config_adds_the_mirror_and_keeps_the_rest():
    base = {"helm-chart-pinned": {"allowedRepositories": ["https://a"]}, "strict-mtls": {"environment": "staging"}}
    out = stack.policy_config(base, "http://127.0.0.1:9")
    assert out["helm-chart-pinned"]["allowedRepositories"] == ["https://a", "http://127.0.0.1:9"]
    assert out["strict-mtls"] == base["strict-mtls"] and base["helm-chart-pinned"]["allowedRepositories"] == ["https://a"]


def _obj(kind, name, ns="", api="v1", **extra):
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, **({"namespace": ns} if ns else {})}, **extra}


def test_leftovers_are_what_destroy_did_not_remove():
    before = [_obj("Namespace", "default"), _obj("Event", "e1", "default")]
    after = [*before, _obj("Namespace", "catalog"), _obj("Event", "e2", "default"),
             _obj("CustomResourceDefinition", "telemetries.telemetry.istio.io", api="apiextensions.k8s.io/v1")]
    assert checks.leftovers(before, after) == [
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "telemetries.telemetry.istio.io"),
        ("v1", "Namespace", "", "catalog")]
    assert checks.leftovers(before, before) == []
    assert "+1 more" in checks.describe(checks.leftovers(before, after), limit=1)


def _rs(ns, name, owner, revision):
    return {"metadata": {"namespace": ns, "name": name, "ownerReferences": [{"kind": "Deployment", "name": owner}],
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)}}}


def test_a_rollout_is_a_new_newest_replicaset():
    deployments = [_obj("Deployment", "catalog", "catalog"), _obj("Deployment", "item", "item")]
    before = checks.rollout_state(deployments, [_rs("catalog", "catalog-1", "catalog", 1), _rs("item", "item-1", "item", 1)])
    assert before == {"catalog/catalog": "catalog-1", "item/item": "item-1"}
    after = checks.rollout_state(deployments, [_rs("catalog", "catalog-1", "catalog", 1), _rs("item", "item-1", "item", 1),
                                               _rs("catalog", "catalog-2", "catalog", 2)])
    assert checks.rolled(before, after) == ["catalog/catalog"]
    assert checks.rolled(before, before) == []


def test_injection_readiness_and_admission_failures_are_read_from_the_objects():
    native = {"spec": {"initContainers": [{"name": "istio-proxy"}], "containers": [{"name": "app"}]}}
    assert checks.injected(native) and checks.injected({"spec": {"containers": [{"name": "istio-proxy"}]}})
    assert not checks.injected({"spec": {"containers": [{"name": "app"}], "initContainers": [{"name": "istio-init"}]}})
    namespaces = [{"metadata": {"name": "a", "labels": {"istio-injection": "enabled"}}},
                  {"metadata": {"name": "b", "labels": {"istio.io/rev": "1-31"}}}, {"metadata": {"name": "c"}}]
    assert checks.mesh_namespaces(namespaces) == ["a", "b"]
    short = [{"metadata": {"namespace": "a", "name": "d"}, "spec": {"replicas": 2}, "status": {"readyReplicas": 1}},
             {"metadata": {"namespace": "a", "name": "e"}, "spec": {"replicas": 1}, "status": {"readyReplicas": 1}}]
    assert checks.not_ready(short) == ["a/d 1/2"]
    refused = {"metadata": {"namespace": "a", "name": "d-1"}, "status": {"conditions": [
        {"type": "ReplicaFailure", "status": "True", "message": 'pods "d-1-x" is forbidden: violates PodSecurity'}]}}
    assert checks.failed_creates([refused]) == ['a/d-1: pods "d-1-x" is forbidden: violates PodSecurity']


def test_results_print_one_line_each_and_a_summary(capsys):
    results = checks.Results()
    assert results.add("up", True, "12 s") and not results.add("drift", False, "x" * 1000)
    assert results.summary() == "e2e: 2 checks, 1 failed"
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ok   up: 12 s" and out[1].startswith("FAIL drift: ") and len(out[1]) == 600


ISTIOD_POD = {
    "metadata": {"name": "istiod-abc", "namespace": "istio-system", "uid": "u1"},
    "spec": {"serviceAccountName": "istiod",
             "containers": [{"name": "discovery", "args": ["discovery", "--monitoringAddr=:15014"],
                             "env": [{"name": "REVISION", "value": "default"},
                                     {"name": "POD_NAMESPACE",
                                      "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                     {"name": "SERVICE_ACCOUNT",
                                      "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
                                     {"name": "GOMAXPROCS", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}],
                             "volumeMounts": [{"name": "istio-token", "mountPath": "/var/run/secrets/tokens"},
                                              {"name": "inject", "mountPath": "/var/lib/istio/inject"},
                                              {"name": "config-volume", "mountPath": "/etc/istio/config"},
                                              {"name": "cacerts", "mountPath": "/etc/cacerts"}]}],
             "volumes": [{"name": "istio-token", "projected": {"sources": [
                 {"serviceAccountToken": {"audience": "istio-ca", "path": "istio-token"}}]}},
                 {"name": "inject", "configMap": {"name": "istio-sidecar-injector"}},
                 {"name": "config-volume", "configMap": {"name": "istio"}},
                 {"name": "cacerts", "secret": {"secretName": "cacerts", "optional": True}}]},
}


def test_istiod_runs_with_its_pods_args_env_mounts_and_identity():
    launch = istiod.launch(ISTIOD_POD, {"istio-sidecar-injector": {"config": "c", "values": "v"}, "istio": {"mesh": "m"}})
    assert launch.args == ["discovery", "--monitoringAddr=:15014"]
    assert launch.env == {"REVISION": "default", "POD_NAMESPACE": "istio-system", "SERVICE_ACCOUNT": "istiod",
                          "GOMAXPROCS": "2"}
    assert launch.files == {"var/lib/istio/inject/config": "c", "var/lib/istio/inject/values": "v",
                            "etc/istio/config/mesh": "m"}
    assert (launch.service_account, launch.namespace, launch.token_audience) == ("istiod", "istio-system", "istio-ca")
    with pytest.raises(LookupError, match="istio-sidecar-injector"):
        istiod.launch(ISTIOD_POD, {"istio": {"mesh": "m"}})


def test_istiod_mounts_are_written_under_its_root(tmp_path):
    istiod.materialise(tmp_path, {"etc/istio/config/mesh": "m"}, "tok")
    assert (tmp_path / "etc/istio/config/mesh").read_text() == "m"
    assert (tmp_path / "var/run/secrets/tokens/istio-token").read_text() == "tok"
    assert (tmp_path / "var/run/secrets/istio-dns").is_dir()


def test_the_certificates_chain_to_the_ca_with_the_right_names(tmp_path):
    ca = pki.Authority(tmp_path)
    server = ca.issue("apiserver", "kube-apiserver", server=True, hosts=("127.0.0.1", "kubernetes.default.svc"))
    client = ca.issue("admin", "e2e-admin", org="system:masters")
    root = x509.load_pem_x509_certificate(ca.ca.cert.read_bytes())
    for pair in (server, client):
        cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
        cert.verify_directly_issued_by(root)
        assert oct(pair.key.stat().st_mode & 0o777) == "0o600"
    sans = x509.load_pem_x509_certificate(server.cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert sans.get_values_for_type(x509.DNSName) == ["kubernetes.default.svc"]
    subject = x509.load_pem_x509_certificate(client.cert.read_bytes()).subject.rfc4514_string()
    assert "O=system:masters" in subject and "CN=e2e-admin" in subject


def test_resource_paths():
    assert kube.ResourceType("v1", "Pod", "pods", True).path("a") == "/api/v1/namespaces/a/pods"
    assert kube.ResourceType("apps/v1", "Deployment", "deployments", True).path() == "/apis/apps/v1/deployments"
    assert kube.ResourceType("v1", "Node", "nodes", False).path("a") == "/api/v1/nodes"


def test_a_chart_missing_at_its_pin_is_replaced_by_the_newest_there_and_said(tmp_path):
    for d in ("jaeger-4.10.0", "jaeger-4.11.1", "kiali-server-2.20.0", "istiod-1.31.0", "notes"):
        (tmp_path / d).mkdir()
    have = stack.available(tmp_path)
    assert have == {"istiod": ["1.31.0"], "jaeger": ["4.10.0", "4.11.1"], "kiali-server": ["2.20.0"]}
    subs = stack.substitutions({"jaeger": "4.13.0", "kiali-server": "2.20.0", "grafana": "11.1.0"}, have)
    assert subs == {"jaeger": ("4.13.0", "4.11.1")}  # grafana: nothing to use, the run will say so
    base = {"config": {"mesh:observability": {"jaeger": {"storage": {"type": "memory"}}}}}
    out = stack.e2e_config(base, mirror="m", context="c", kubernetes_version="1.36", environment="staging",
                           istio_version="1.31.0", charts={"jaeger": "4.11.1"})["config"]
    assert out["mesh:observability"]["jaeger"] == {"storage": {"type": "memory"}, "chartVersion": "4.11.1"}
    assert out["mesh:istio"] == {"version": "1.31.0"}


def test_privileged_pods_are_found():
    assert not checks.privileged({"spec": {"containers": [{"name": "a", "securityContext": {"privileged": False}}]}})
    assert checks.privileged({"spec": {"hostNetwork": True, "containers": []}})
    assert checks.privileged({"spec": {"initContainers": [{"name": "i", "securityContext": {
        "capabilities": {"add": ["NET_ADMIN"]}}}], "containers": []}})


def test_istiods_own_root_cert_configmaps_outside_the_stacks_namespaces_are_told_apart():
    left = [("v1", "ConfigMap", "default", "istio-ca-root-cert"), ("v1", "ConfigMap", "catalog", "istio-ca-root-cert"),
            ("v1", "ConfigMap", "default", "grafana-dashboards"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                                                                 "", "telemetries.telemetry.istio.io")]
    ours, theirs = checks.runtime_writes(left, owned={"catalog"})
    assert theirs == [("v1", "ConfigMap", "default", "istio-ca-root-cert")]
    assert len(ours) == 3  # in a namespace the stack owns, or not istiod's: the program's to remove
