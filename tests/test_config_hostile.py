"""Hostile and careless configs: each would break a real cluster or leak a secret, and each is a
ConfigError naming the key, the value (or [secret]) and the rule, before anything is registered."""

import pytest
from ids import case_id

from components.config.errors import ConfigError
from tools.engine import attempt, evaluate

_svc = lambda name, *calls, port=5000, public=False, protocol="grpc", **kw: {  # noqa: E731
    "name": name, "ports": [{"protocol": protocol, "port": port}], "calls": list(calls), "public": public, **kw}
_web = _svc("web", protocol="http", port=8080, public=True)
_res = lambda mem: {"requests": {"cpu": "100m", "memory": mem}, "limits": {"cpu": "1", "memory": "1Gi"}}  # noqa: E731

# (category, stack, patch, key named, fragment of the rule)
CASES = [
    # Patterns match the whole value, ASCII only.
    # (a trailing newline is caught before the patterns, as a control character; test_fields checks the patterns)
    ("pattern", "dev", {"istio": {"version": "1.31.1\n"}}, "mesh:istio.version", "control characters"),
    ("pattern", "dev", {"istio": {"version": "1.٣1.1"}}, "mesh:istio.version", "semantic version"),
    ("pattern", "dev", {"kubernetes": {"version": "1.３4"}}, "mesh:kubernetes.version", "minor version"),
    ("pattern", "dev", {"workloads": {"resources": _res("２56Mi")}}, "mesh:workloads.resources.requests.memory", "unit"),
    ("pattern", "dev", {"observability": {"prometheus": {"retention": "2d\n"}}},
     "mesh:observability.prometheus.retention", "control characters"),
    ("pattern", "dev", {"observability": {"namespace": "obs\n"}}, "mesh:observability.namespace", "control"),
    ("pattern", "staging", {"workloads": {"tag": "v1.4.2\n"}}, "mesh:workloads.tag", "control characters"),
    ("pattern", "staging", {"workloads": {"tag": "v１.4.2"}}, "mesh:workloads.tag", "image tag"),
    ("pattern", "dev", {"observability": {"kiali": {"host": "kiali.exámple.com"}}}, "mesh:observability.kiali.host",
     "host name"),
    # Kubernetes' own limits.
    ("limits", "dev", {"workloads": {"replicas": 2**31}}, "mesh:workloads.replicas", "2147483647"),
    ("limits", "dev", {"workloads": {"autoscaling": {"minReplicas": 1, "maxReplicas": 2**31}}},
     "mesh:workloads.autoscaling.maxReplicas", "2147483647"),
    ("limits", "dev", {"istio": {"pilot": {"replicas": 2**40}}}, "mesh:istio.pilot.replicas", "2147483647"),
    ("limits", "dev", {"topology": {"services": [_svc("web", protocol="http", port=70000, public=True)]}},
     "mesh:topology.services[0].ports[0].port", "65535"),
    ("limits", "dev", {"observability": {"jaeger": {"storage": {"size": "0Gi"}}}},
     "mesh:observability.jaeger.storage.size", "above 0"),
    ("limits", "dev", {"topology": {"services": [_svc("1web", protocol="http", public=True)]}},
     "mesh:topology.services[0].name", "DNS-1035"),
    ("limits", "dev", {"workloads": {"services": {"item": {"env": {"1BAD": "x"}}}}},
     "mesh:workloads.services.item.env.1BAD.[key]", "environment variable name"),
    ("limits", "dev", {"workloads": {"services": {"item": {"env": {"A=B": "x"}}}}},
     "mesh:workloads.services.item.env.A=B.[key]", "environment variable name"),
    # Istio's reserved ports.
    ("istio ports", "dev", {"topology": {"services": [_svc("web", protocol="http", port=15001, public=True)]}},
     "mesh:topology.services[0].ports[0].port", "Istio sidecar"),
    ("istio ports", "dev", {"topology": {"services": [_web, _svc("api", port=15090)]}},
     "mesh:topology.services[1].ports[0].port", "15090"),
    # Namespaces: one owner each, none of the system's.
    ("namespaces", "dev", {"observability": {"namespace": "gateway"}}, "mesh:observability.namespace",
     "mesh:topology.services[0].name already claims it"),
    ("namespaces", "dev", {"observability": {"namespace": "kube-system"}}, "mesh:observability.namespace",
     "Kubernetes system"),
    ("namespaces", "dev", {"ingress": {"namespace": "istio-system"}}, "mesh:ingress.namespace", "control plane"),
    ("namespaces", "dev", {"ingress": {"namespace": "observability"}}, "mesh:ingress.namespace", "already claims"),
    ("namespaces", "dev", {"topology": {"services": [_web, _svc("default")]}}, "mesh:topology.services[1].name",
     "Kubernetes system"),
    ("namespaces", "dev", {"topology": {"services": [_web, _svc("observability")]}},
     "mesh:observability.namespace", "already claims"),
    # Host names.
    ("hosts", "staging", {"ingress": {"hosts": ["https://mercari.staging.example.com"]}}, "mesh:ingress.hosts[0]",
     "not a URL"),
    ("hosts", "staging", {"ingress": {"hosts": [""]}}, "mesh:ingress.hosts[0]", "not a URL"),
    ("hosts", "staging", {"ingress": {"hosts": []}}, "mesh:ingress.hosts", "at least 1"),
    ("hosts", "staging", {"ingress": {"hosts": ["a.example.com", "a.example.com"]}}, "mesh:ingress.hosts[1]",
     "listed twice"),
    ("hosts", "staging", {"observability": {"grafana": {"host": "kiali.staging.example.com"}}},
     "mesh:observability.kiali.host", "another dashboard"),
    ("hosts", "prod", {"observability": {"kiali": {"host": "mercari.example.com"}}}, "mesh:observability.kiali.host",
     "public host"),
    # Durations in the reading program's format.
    ("durations", "prod", {"observability": {"jaeger": {"storage": {"retention": "7d"}}}},
     "mesh:observability.jaeger.storage.retention", "Go has no 'd'"),
    ("durations", "dev", {"observability": {"prometheus": {"retention": "0d"}}},
     "mesh:observability.prometheus.retention", "above 0"),
    ("durations", "dev", {"observability": {"prometheus": {"scrapeInterval": "30s1m"}}},
     "mesh:observability.prometheus.scrapeInterval", "in that order"),
    # Overrides that silently change meaning; build inputs; control characters.
    ("overrides", "dev", {"workloads": {"services": {"db": {"image": {}}}}}, "mesh:workloads.services.db.image",
     "empty image block"),
    ("overrides", "dev", {"topology": {"services": [_svc("web", protocol="http", public=True,
                                                         dockerfile="../../etc/Dockerfile")]}},
     "mesh:topology.services[0].dockerfile", "relative path"),
    ("overrides", "dev", {"topology": {"services": [_svc("web", protocol="http", public=True,
                                                         dockerfile="/etc/Dockerfile")]}},
     "mesh:topology.services[0].dockerfile", "relative path"),
    ("overrides", "dev", {"workloads": {"services": {"item": {"env": {"A": "x\x00y"}}}}},
     "mesh:workloads.services.item.env.A", "control characters"),
    ("overrides", "dev", {"workloads": {"build": {"git": None, "commit": None, "path": "src\x00"}}},
     "mesh:workloads.build.path", "control characters"),
    ("overrides", "dev", {"observability": {"kiali\n": {}}}, "mesh:observability.kiali\n", "control characters"),
    # Environment rules that cannot be sidestepped.
    ("environment", "prod", {"environment": "dev"}, "mesh:environment", "is the prod environment"),
    ("environment", "staging", {"kubernetes": {"context": None}}, "mesh:kubernetes.context", "required in staging"),
    ("environment", "prod", {"observability": {"kiali": {"auth": {"openid": {"issuerUri": "http://login.example.com",
                                                                             "clientId": "kiali"}}}}},
     "mesh:observability.kiali.auth.openid.issuerUri", "https://"),
    ("environment", "prod", {"observability": {"kiali": {"auth": {"openid": {"clientId": ""}}}}},
     "mesh:observability.kiali.auth.openid.clientId", "non-empty"),
    ("environment", "prod", {"observability": {"grafana": {"anonymousViewer": True, "enabled": False}}},
     "mesh:observability.grafana.anonymousViewer", "only in dev"),
    # Credentials embedded in URLs.
    ("credentials", "prod", {"charts": {"mirror": "https://ci:hunter2@charts.internal/m"}}, "mesh:charts.mirror",
     "mesh:charts.mirrorPassword"),
    ("credentials", "prod", {"observability": {"prometheus": {"enabled": False, "storage": None,
                                                              "externalUrl": "https://u:p@prom.example.com"}}},
     "mesh:observability.prometheus.externalUrl", "user:password@"),
    ("credentials", "prod", {"charts": {"mirror": "https://charts.internal", "mirrorUsername": "ci",
                                        "mirrorPassword": "hunter2"}}, "mesh:charts.mirrorPassword", "--secret"),
    ("credentials", "prod", {"observability": {"prometheus": {"alertmanager": {
        "webhookUrl": "https://hooks.example.com/T0/B0/x"}}}},
     "mesh:observability.prometheus.alertmanager.webhookUrl", "must be a secret"),
    ("credentials", "prod", {"observability": {"kiali": {"auth": {"openid": {"clientSecret": "s3cr3t"}}}}},
     "mesh:observability.kiali.auth.openid.clientSecret", "must be a secret"),
    ("environment", "dev", {"observability": {"prometheus": {"alertmanager": {}}}},
     "mesh:observability.prometheus.alertmanager", "off in dev"),
    ("limits", "dev", {"workloads": {"replicas": True}}, "mesh:workloads.replicas", "not a boolean"),
    ("limits", "dev", {"istio": {"tracing": {"sampling": True}}}, "mesh:istio.tracing.sampling", "not a boolean"),
    ("limits", "dev", {"topology": {"services": [_svc("web", protocol="http", port=True, public=True)]}},
     "mesh:topology.services[0].ports[0].port", "not a boolean"),
    ("versions", "dev", {"istio": {"canary": {"version": "1.31.0", "revision": "default"}}},
     "mesh:istio.canary.revision", "reserved for Istio's default revision tag"),
    ("credentials", "dev", {"workloads": {"build": {
        "git": "https://bob:ghp_token@github.com/mercari/mercari-microservices-example"}}},
     "mesh:workloads.build.git", "user:password@"),
    # The version window.
    ("versions", "dev", {"istio": {"version": "1.29.3"}}, "mesh:istio.version", "not a release this program knows"),
    ("versions", "dev", {"istio": {"version": "1.31.9"}}, "mesh:istio.version", "allowUnknownVersion"),
    ("versions", "dev", {"kubernetes": {"version": "1.31"}}, "mesh:istio.version", "does not support Kubernetes 1.31"),
    ("versions", "dev", {"istio": {"allowUnknownVersion": True, "canary": {"version": "1.34.0", "revision": "c"}}},
     "mesh:istio.canary.version", "at most 2 minors apart"),
    # CLI mistakes.
    ("cli", "dev", {"kubernetes": {"version": 1.3}}, "mesh:kubernetes.version", "quote it"),
    ("cli", "dev", {"istio": {"version": 1.31}}, "mesh:istio.version", "quote it"),
    ("cli", "dev", {"topology": {"services": [{**_web, "port": 8080}]}}, "mesh:topology.services[0].port",
     "allowed keys here: name, ports, public, calls, dockerfile"),
]


@pytest.mark.parametrize("category,stack,patch,key,rule", CASES, ids=[case_id(c[0], c[3]) for c in CASES])
def test_hostile_config_is_refused_naming_the_key(category, stack, patch, key, rule):
    result = attempt(stack, patch)
    assert isinstance(result.error, ConfigError), result.error
    assert key in result.error.keys, str(result.error)
    problem = next(p for p in result.error.problems if p.key == key)
    assert rule in problem.allowed, problem
    assert result.resources == [], "a resource was registered before the config error"


@pytest.mark.parametrize("extra,key,rule", [
    ({"mseh:istio": '{"mtls": "STRICT"}'}, "mseh:istio", "did you mean 'mesh:istio'"),
    ({"mesh:istio.tracing.sampling": "50"}, "mesh:istio.tracing.sampling", "pulumi config set --path"),
])
def test_cli_mistakes_name_the_fix(extra, key, rule):
    result = attempt("dev", extra=extra)
    problem = next(p for p in result.error.problems if p.key == key)
    assert rule in problem.allowed and result.resources == []


def test_other_namespaces_are_left_alone():
    assert attempt("dev", extra={"kubernetes:context": "x", "aws:region": "eu-west-1"}).error is None


def test_a_newer_release_is_accepted_when_asked_for_explicitly():
    ev = evaluate("dev", {"istio": {"version": "1.31.9", "allowUnknownVersion": True}})
    assert ev.charts()["istiod"].inputs["version"] == "1.31.9"


# ------------------------------------------------------------------------------------------ secrets
def test_a_secret_env_value_stays_secret_in_the_deployment():
    patch = {"workloads": {"services": {"item": {"env": {"API_TOKEN": "hunter2"}}}}}
    plain, secret = evaluate("dev", patch), evaluate("dev", patch, secret=("workloads",))
    item = lambda ev: next(d for d in ev.of_type("kubernetes:apps/v1:Deployment")  # noqa: E731
                           if d.inputs["metadata"]["name"] == "item")
    assert "spec" not in item(plain).secret_paths
    assert "spec" in item(secret).secret_paths
    env = item(secret).inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "API_TOKEN", "value": "hunter2"}]  # same value, only marked secret


def test_error_messages_never_print_a_secret_value():
    patch = {"workloads": {"services": {"item": {"env": {"API_TOKEN": ["hunter2"]}}}}}
    err = attempt("dev", patch, secret=("workloads",)).error
    assert "hunter2" not in str(err) and '[secret]' in str(err)
    assert "hunter2" in str(attempt("dev", patch).error)  # the same error, not secret, shows the value


def test_a_mirror_password_set_as_secret_reaches_the_chart_as_a_secret():
    patch = {"charts": {"mirror": "https://charts.internal", "mirrorUsername": "ci", "mirrorPassword": "hunter2"}}
    ev = evaluate("prod", patch, secret=("charts",))
    for release, chart in ev.charts().items():
        assert chart.inputs["repositoryOpts"] == {"repo": "https://charts.internal", "username": "ci",
                                                  "password": "hunter2"}, release
        assert "repositoryOpts" in chart.secret_paths, release


def test_provider_inputs_do_not_depend_on_the_operators_environment(monkeypatch):
    provider = lambda: evaluate("staging").of_type("pulumi:providers:kubernetes")[0].inputs  # noqa: E731
    clean = provider()
    monkeypatch.setenv("KUBECONFIG", "/home/someone/.kube/config")
    monkeypatch.setenv("PULUMI_K8S_ENABLE_PATCH_FORCE", "true")
    monkeypatch.setenv("PULUMI_K8S_DELETE_UNREACHABLE", "true")
    assert provider() == clean
    assert clean["kubeconfig"] == "" and clean["context"] == "staging"
