"""Hostile and careless configs: each would break a real cluster or leak a secret, and each is a
ConfigError naming the key, the value (or [secret]) and the rule, before anything is registered."""

import json
from datetime import date

import pytest
from ids import case_id

from components.config.errors import MAX_KEY, MAX_LINES, MAX_RULE, MAX_VALUE, ConfigError
from tools.engine import StackFileError, attempt, evaluate, stack_config

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
    # Each environment's row of components.vocab.environments.
    ("environment", "staging", {"ingress": {"tls": None}}, "mesh:ingress.tls", "required in staging"),
    ("environment", "prod", {"observability": {"kiali": {"viewOnly": False}}}, "mesh:observability.kiali.viewOnly",
     "disableRbac"),
    ("environment", "prod", {"observability": {"prometheus": {"scrapeFrom": ["0.0.0.0/0"]}}},
     "mesh:observability.prometheus.scrapeFrom[0]", "admits every address"),
    ("environment", "prod", {"istio": {"tracing": {"sampling": 50}}}, "mesh:istio.tracing.sampling", "at most 5 in prod"),
    ("environment", "staging", {"istio": {"mtls": "PERMISSIVE"}}, "mesh:istio.mtls", "allowed only in dev"),
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
    # Names valid alone, too long once the program builds on them.
    ("names", "dev", {"istio": {"revision": "r" * 50}}, "mesh:istio.revision", "istiod's Helm release name"),
    ("names", "dev", {"istio": {"canary": {"version": "1.31.0", "revision": "c" * 47}}}, "mesh:istio.canary.revision",
     "at most 53"),
    ("names", "dev", {"topology": {"services": [_svc("w" * 30, protocol="http", port=8080, public=True)]}},
     "mesh:topology.services[0].name", "Grafana dashboard uid"),
    ("names", "staging", {"ingress": {"hosts": [".".join(["a" * 63] * 4) + ".com"]}}, "mesh:ingress.hosts[0]",
     "at most 253 characters"),
    ("names", "dev", {"observability": {"kiali": {"host": ".".join(["k" * 63] * 4) + ".io"}}},
     "mesh:observability.kiali.host", "at most 253"),
    ("namespaces", "dev", {"observability": {"namespace": "istio-cni"}}, "mesh:observability.namespace", "istio-cni's"),
    ("namespaces", "dev", {"ingress": {"namespace": "kube-flannel"}}, "mesh:ingress.namespace", "Kubernetes system"),
    ("namespaces", "staging", {"observability": {"namespace": "cert-manager"},
                               "ingress": {"tls": {"certManager": {"issuer": "letsencrypt"}}}},
     "mesh:observability.namespace", "cert-manager's"),
    # Values that parse but cannot work.
    ("values", "dev", {"observability": {"prometheus": {"scrapeFrom": ["999.0.0.0/8"]}}},
     "mesh:observability.prometheus.scrapeFrom[0]", "octets 0-255"),
    ("values", "dev", {"observability": {"prometheus": {"scrapeFrom": ["10.0.0.1/8"]}}},
     "mesh:observability.prometheus.scrapeFrom[0]", "has host bits set"),
    ("values", "dev", {"observability": {"prometheus": {"scrapeFrom": ["10.0.0.0/33"]}}},
     "mesh:observability.prometheus.scrapeFrom[0]", "prefix 0-32"),
    ("values", "prod", {"observability": {"prometheus": {"storage": {"storageClass": "Premium_RWO"}}}},
     "mesh:observability.prometheus.storage.storageClass", "DNS-1123 subdomain"),
    ("values", "prod", {"workloads": {"imagePullSecrets": ["ghcr creds"]}}, "mesh:workloads.imagePullSecrets[0]",
     "object name"),
    ("values", "prod", {"observability": {"jaeger": {"storage": {"retention": "0h"}}}},
     "mesh:observability.jaeger.storage.retention", "above 0"),
    ("values", "prod", {"observability": {"prometheus": {"scrapeInterval": "2m"}}},
     "mesh:observability.prometheus.scrapeInterval", "shortest rate window (5m)"),
    ("values", "prod", {"workloads": {"slo": {"availability": 99.99999}}}, "mesh:workloads.slo.availability",
     "99.9999"),
    ("values", "dev", {"istio": {"proxy": {"resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                                                         "limits": {"cpu": "1", "memory": "32Mi"}}}}},
     "mesh:istio.proxy.resources.limits.memory", "Envoy proxy"),
    ("values", "staging", {"ingress": {"hosts": ["*"], "tls": {"certManager": {"issuer": "letsencrypt"}}}},
     "mesh:ingress.hosts", "'*' is no host name"),
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


# ---------------------------------------------------------------------------- input shapes (bounded)
def _refusal(stack="dev", patch=None, **kw):
    """The ConfigError, checked to be bounded and to have registered nothing."""
    result = attempt(stack, patch, **kw)
    assert isinstance(result.error, ConfigError), repr(result.error)[:300]
    assert result.resources == [], "a resource was registered before the config error"
    assert len(str(result.error)) < MAX_MESSAGE, len(str(result.error))
    return result.error


MAX_MESSAGE = 200 + MAX_LINES * (MAX_KEY + MAX_VALUE + MAX_RULE + 80)
"""The longest message the limits allow (each line's key, value and rule are cut, suffixes named)."""


def _nested(depth):
    value = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("extra,rule", [
    ({"mesh:workloads": "[" * 50_000 + "]" * 50_000}, "nested deeper than 12 levels"),  # the JSON decoder's own limit
    ({"mesh:workloads": json.dumps({"services": {"item": {"env": _nested(30)}}})}, "nested deeper than 12 levels"),
    ({"mesh:workloads": json.dumps({"tag": "v" * 1_000_000})}, "longer than 4096 characters"),
    ({"mesh:workloads": json.dumps({"services": {f"s{i}": {} for i in range(100_001)}})}, "more than 100000"),
    ({"mesh:workloads": json.dumps({"services": {"x" * 5000: {}}})}, "longer than 4096 characters"),
])
def test_input_shapes_are_refused_in_a_bounded_message(extra, rule):
    err = _refusal(extra=extra)
    assert any(rule in p.allowed for p in err.problems), str(err)


def test_a_message_lists_a_bounded_number_of_problems():
    services = {f"s{i}": {"replicas": 0} for i in range(300)}
    err = _refusal(patch={"workloads": {"services": services}})
    assert len(err.problems) >= 300 and "... and" in str(err)


@pytest.mark.parametrize("char", ["\x85", "\x9b", "\u2028", "\u2029", "\u202e", "\u2066", "\u200f", "\ufeff"])
def test_c1_controls_separators_and_bidi_overrides_are_refused_and_never_printed(char):
    err = _refusal(patch={"workloads": {"services": {"item": {"env": {"A": f"ok{char}evil"}}}}})
    assert "mesh:workloads.services.item.env.A" in err.keys
    err = _refusal(patch={"observability": {f"kiali{char}": {}}})
    assert all(" " <= c <= "~" or c == "\n" for c in str(err)), repr(str(err))


def test_yaml_alias_expansion_in_a_stack_file_is_refused_in_one_line(tmp_path):
    laughs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    (tmp_path / "stacks").mkdir()
    text = "config:\n  mesh:workloads:\n    x:\n" + "".join(f"      {line}\n" for line in laughs)
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(text)
    with pytest.raises(StackFileError, match="more than") as err:
        stack_config("dev", tmp_path)
    assert "\n" not in str(err.value)


# -------------------------------------------------------------------------- secrets on every path
@pytest.mark.parametrize("extra,secret", [
    # a dotted flat key set without --path, marked secret: the CLI mistake is reported, the value masked
    ({"mesh:observability.kiali.auth.openid.clientSecret": "hunter2-flat"},
     ("observability.kiali.auth.openid.clientSecret",)),
    ({'mesh:observability["kiali"]': '{"x": "hunter2-flat"}'}, ('observability["kiali"]',)),
])
def test_a_secret_flat_key_is_masked(extra, secret):
    result = attempt("dev", extra=extra, secret=secret)
    assert isinstance(result.error, ConfigError) and "hunter2-flat" not in str(result.error), str(result.error)
    assert "[secret]" in str(result.error)


@pytest.mark.parametrize("value", ["s3cr3t-Value", 'pa"ss\\word', "pässwörd-ü", "tab\tbed-secret"])
def test_a_secret_value_is_scrubbed_from_every_line_in_every_escaped_form(value):
    """The secret also appears (as a mistake) in a plain key whose problem echoes the value: no form of it
    survives in the message."""
    patch = {"observability": {"kiali": {"auth": {"openid": {"clientSecret": value}}}}, "ingress": {"hosts": [value]}}
    err = str(attempt("prod", patch, secret=("observability",)).error)
    assert 'mesh:ingress.hosts[0] = "[secret]"' in err, err
    for form in (value, json.dumps(value)[1:-1], repr(value)[1:-1], value.encode("unicode_escape").decode()):
        assert form not in err, (form, err)


@pytest.mark.parametrize("value", ["postgres://app:hunter2@db:5432/shop", "https://hooks.example.com/x?token=abc",
                                   "https://api.example.com/v1?Access_Token=abc", "https://b.example.com/o?sig=abc",
                                   "https://gitlab.example.com/api?private_token=abc"])
def test_a_credential_in_a_plain_env_value_is_refused_with_the_secret_way(value):
    patch = {"workloads": {"services": {"item": {"env": {"DB": value}}}}}
    err = _refusal(patch=patch)
    problem = next(p for p in err.problems if p.key == "mesh:workloads.services.item.env.DB")
    assert "pulumi config set --secret --path" in problem.allowed and "abc" not in str(err) and "hunter2" not in str(err)
    assert attempt("dev", patch, secret=("workloads",)).error is None  # the same value, set as a secret


def test_a_token_in_a_url_key_names_the_keys_own_fix():
    err = _refusal("prod", {"charts": {"mirror": "https://charts.internal/m?access_token=abc"}})
    problem = next(p for p in err.problems if p.key == "mesh:charts.mirror")
    assert "mesh:charts.mirrorPassword" in problem.allowed


def test_the_alertmanager_webhook_reaches_alertmanager_through_a_secret_not_chart_values():
    url = "https://hooks.example.com/services/T0/B0/hunter2"
    ev = evaluate("prod", {"observability": {"prometheus": {"alertmanager": {"webhookUrl": url}}}},
                  secret=("observability",))
    chart = ev.charts()["prometheus"]
    assert url not in json.dumps(chart.inputs)
    am = chart.inputs["values"]["alertmanager"]
    receiver = am["config"]["receivers"][0]["webhook_configs"][0]
    mount = am["extraSecretMounts"][0]
    assert receiver["url_file"].startswith(mount["mountPath"] + "/")
    secret = next(s for s in ev.of_type("kubernetes:core/v1:Secret")
                  if s.inputs["metadata"]["name"] == mount["secretName"])
    assert secret.inputs["stringData"] == {"url": url} and "stringData" in secret.secret_paths


def test_what_dev_allows_is_accepted_there():
    assert attempt("dev", {"observability": {"prometheus": {"scrapeFrom": ["0.0.0.0/0"]}},
                           "istio": {"mtls": "PERMISSIVE"}}).error is None


# ------------------------------------------------------------------------------------ end of life
def _prod_on(version, **istio):
    from components.config.loading import parse_stack_config

    raw = stack_config("prod")
    raw["istio"] = {**raw["istio"], "version": version, **istio}
    return lambda today: parse_stack_config("prod", raw, today=date.fromisoformat(today))


def test_an_end_of_life_istio_minor_is_refused_outside_dev_unless_allowed():
    parse = _prod_on("1.30.8")
    parse("2026-11-29")  # its last day of support (support ends on the date)
    with pytest.raises(ConfigError) as err:
        parse("2026-12-01")
    problem = next(p for p in err.value.problems if p.key == "mesh:istio.version")
    assert "past its end of life (2026-11-30)" in problem.allowed and "allowEndOfLife" in problem.allowed
    _prod_on("1.30.8", allowEndOfLife=True)("2026-12-01")
    assert attempt("dev", {"istio": {"version": "1.30.8"}}).error is None  # dev may run what it likes


def test_an_end_of_life_kubernetes_minor_is_refused_outside_dev_unless_allowed():
    from components.config.loading import parse_stack_config

    raw = {**stack_config("staging"), "kubernetes": {"context": "staging", "version": "1.34"}}
    with pytest.raises(ConfigError, match="Kubernetes 1.34 is past its upstream end of life"):
        parse_stack_config("staging", raw, today=date(2026, 12, 1))
    raw["kubernetes"]["allowEndOfLife"] = True
    parse_stack_config("staging", raw, today=date(2026, 12, 1))
