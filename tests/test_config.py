"""Bad stack configuration: a clear ConfigError naming the key, and not one resource registered."""

import pulumi
import pytest
from ids import case_id

from components.config.errors import ConfigError
from components.config.loading import parse_stack_config
from tools.engine import attempt, stack_config

_mem = lambda m: {"requests": {"cpu": "100m", "memory": m}, "limits": {"cpu": "1", "memory": "1Gi"}}  # noqa: E731
_svc = lambda name, *calls, port=5000, public=False, protocol="grpc": {  # noqa: E731
    "name": name, "ports": [{"protocol": protocol, "port": port}], "calls": list(calls), "public": public}

# (stack, patch, key path named in the error, a fragment of the rule)
BAD = [
    ("dev", {"istio": {"mtls": "ON"}}, "mesh:istio.mtls", "STRICT"),
    ("dev", {"istio": {"tracing": {"sampling": 150}}}, "mesh:istio.tracing.sampling", "100"),
    ("dev", {"istio": {"tracing": {"sampling": -1}}}, "mesh:istio.tracing.sampling", "0"),
    ("dev", {"istio": {"version": "1.31"}}, "mesh:istio.version", "MAJOR.MINOR.PATCH"),
    ("dev", {"istio": {"version": "v1.31.1"}}, "mesh:istio.version", "semantic version"),
    ("dev", {"istio": {"revision": "Canary_1"}}, "mesh:istio.revision", "DNS-1123"),
    ("dev", {"istio": {"canary": {"version": "1.31.1"}}}, "mesh:istio.canary.revision", "missing"),
    ("dev", {"istio": {"revision": "r1", "canary": {"version": "1.31.1", "revision": "r1"}}},
     "mesh:istio.canary.revision", "differ"),
    ("dev", {"istio": {"pilot": {"replica": 2}}}, "mesh:istio.pilot.replica", "allowed keys here: replicas"),
    ("dev", {"istio": {"pilot": {"replicas": 0}}}, "mesh:istio.pilot.replicas", "greater than or equal to 1"),
    ("dev", {"istio": {"outboundTrafficPolicy": "DENY"}}, "mesh:istio.outboundTrafficPolicy", "REGISTRY_ONLY"),
    ("dev", {"istio": {"accessLog": {"encoding": "XML"}}}, "mesh:istio.accessLog.encoding", "JSON"),
    ("staging", {"istio": {"mtls": "PERMISSIVE"}}, "mesh:istio.mtls", "must be STRICT in staging"),
    ("dev", {"istoi": {}}, "mesh:istoi", "unknown key"),
    ("dev", {"kubernetes": {"version": "1.33.2"}}, "mesh:kubernetes.version", "minor version"),
    ("dev", {"charts": {"mirror": "registry.internal/charts"}}, "mesh:charts.mirror", "scheme"),
    ("dev", {"workloads": {"resources": _mem(250)}}, "mesh:workloads.resources.requests.memory", "unit"),
    ("dev", {"workloads": {"resources": _mem("2Gi")}}, "mesh:workloads.resources.requests.memory",
     "must not exceed limits.memory"),
    ("dev", {"workloads": {"resources": {"requests": {"cpu": "fast", "memory": "1Mi"},
                                         "limits": {"cpu": "1", "memory": "1Gi"}}}},
     "mesh:workloads.resources.requests.cpu", "CPU quantity"),
    ("dev", {"workloads": {"replicas": 0}}, "mesh:workloads.replicas", "greater than or equal to 1"),
    ("dev", {"workloads": {"services": {"gateway": {"replicas": 0}}}}, "mesh:workloads.services.gateway.replicas",
     "greater than or equal to 1"),
    ("dev", {"workloads": {"services": {"payments": {"replicas": 2}}}}, "mesh:workloads.services.payments",
     "not a service"),
    ("dev", {"workloads": {"services": {"db": {"replica": 2}}}}, "mesh:workloads.services.db.replica",
     "unknown key; allowed keys here: image, replicas, resources, env, autoscaling, istioRevision"),
    ("prod", {"workloads": {"tag": "latest"}}, "mesh:workloads.tag", "'latest' is not allowed in prod"),
    ("prod", {"workloads": {"services": {"item": {"image": {"tag": "latest"}}}}},
     "mesh:workloads.services.item.image.tag", "'latest' is not allowed in prod"),
    ("dev", {"workloads": {"services": {"item": {"image": {"tag": "v1", "digest": "sha256:" + "a" * 64}}}}},
     "mesh:workloads.services.item.image.digest", "not both"),
    ("dev", {"workloads": {"services": {"item": {"image": {"digest": "sha256:abc"}}}}},
     "mesh:workloads.services.item.image.digest", "64 lowercase hex"),
    ("dev", {"workloads": {"services": {"item": {"istioRevision": "canary"}}}},
     "mesh:workloads.services.item.istioRevision", "declared revisions"),
    ("dev", {"workloads": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}},
     "mesh:workloads.autoscaling.minReplicas", "maxReplicas"),
    ("dev", {"topology": {"services": [_svc("web", "auth", protocol="http", public=True)]}},
     "mesh:topology.services[0].calls", "not a service"),
    ("dev", {"topology": {"services": [{"name": "web", "public": True, "ports": [
        {"protocol": "http", "port": 8080}, {"protocol": "grpc", "port": 8080}]}]}},
     "mesh:topology.services[0].ports", "port clash"),
    ("dev", {"topology": {"services": [_svc("web", protocol="http", public=True), _svc("web")]}},
     "mesh:topology.services[1].name", "declared twice"),
    ("dev", {"topology": {"services": [_svc("db")]}}, "mesh:ingress.enabled", "no service"),
    ("dev", {"topology": {"services": [_svc("a", protocol="http", public=True), _svc("b", public=True, port=6000)]}},
     "mesh:topology", "at most one public service"),
    ("dev", {"topology": {"services": [_svc("a", public=True)]}}, "mesh:topology", "needs an http port"),
    ("dev", {"ingress": {"serviceType": "LoadBalancer"}}, "mesh:ingress.nodePort", "only valid with serviceType"),
    ("dev", {"ingress": {"nodePort": 80}}, "mesh:ingress.nodePort", "greater than or equal to 30000"),
    ("dev", {"ingress": {"namespace": "gateway"}}, "mesh:ingress.namespace", "its own namespace"),
    ("dev", {"observability": {"prometheus": {"enabled": False}}}, "mesh:observability.kiali.enabled",
     "Kiali needs Prometheus"),
    ("dev", {"observability": {"prometheus": {"retention": "10 days"}}}, "mesh:observability.prometheus.retention",
     "duration"),
    ("dev", {"observability": {"prometheus": {"externalUrl": "http://prom.example:9090"}}},
     "mesh:observability.prometheus.externalUrl", "not both"),
    ("dev", {"observability": {"kiali": {"auth": {"strategy": "ldap"}}}}, "mesh:observability.kiali.auth.strategy",
     "openid"),
    ("prod", {"observability": {"kiali": {"auth": {"strategy": "anonymous", "openid": None}}}},
     "mesh:observability.kiali.auth.strategy", "only in dev"),
    ("staging", {"observability": {"kiali": {"auth": {"strategy": "openid"}}}}, "mesh:observability.kiali.auth.openid",
     "required"),
    ("staging", {"observability": {"grafana": {"anonymousViewer": True}}},
     "mesh:observability.grafana.anonymousViewer", "only in dev"),
    ("dev", {"observability": {"jaeger": {"enabled": False}}}, "mesh:istio.tracing.enabled", "needs a backend"),
    ("dev", {"observability": {"kiali": {"host": "Kiali Dashboard"}}}, "mesh:observability.kiali.host", "host name"),
    ("dev", {"ingress": {"enabled": False}, "observability": {"kiali": {"host": "kiali.example.com"}}},
     "mesh:observability.kiali.host", "needs mesh:ingress.enabled"),
    ("dev", {"observability": {"jaeger": {"storage": {"size": "20"}}}}, "mesh:observability.jaeger.storage.size",
     "unit"),
]


@pytest.mark.parametrize("stack,patch,key,rule", BAD, ids=[case_id(b[2], i) for i, b in enumerate(BAD)])
def test_bad_config_names_the_key_and_registers_nothing(stack, patch, key, rule):
    result = attempt(stack, patch)
    assert isinstance(result.error, ConfigError), result.error
    assert key in result.error.keys, str(result.error)
    problem = next(p for p in result.error.problems if p.key == key)
    assert rule in problem.allowed, problem
    message = str(result.error)
    assert message.startswith(f"stack '{stack}':")
    assert key in message
    assert result.resources == [], "a resource was registered before the config error"


def test_config_error_is_reported_without_traceback():
    # pulumi.RunError is how a Pulumi program ends with a message and no Python traceback.
    assert issubclass(ConfigError, pulumi.RunError)


def test_the_bad_value_is_in_the_message():
    err = attempt("dev", {"workloads": {"resources": _mem(250)}}).error
    assert "mesh:workloads.resources.requests.memory = 250:" in str(err)


def test_unknown_stack_name_needs_an_environment():
    err = attempt("qa", config=stack_config("dev")).error
    assert isinstance(err, ConfigError) and err.keys == ["mesh:environment"]


def test_unknown_stack_with_environment_evaluates():
    assert attempt("qa", {"environment": "dev"}, config=stack_config("dev")).error is None


def test_several_problems_are_reported_together():
    with pytest.raises(ConfigError) as info:
        parse_stack_config("prod", {"istio": {"mtls": "X", "tracing": {"sampling": 101}}, "workloads": {"replicas": 0}})
    assert set(info.value.keys) == {"mesh:istio.mtls", "mesh:istio.tracing.sampling", "mesh:workloads.replicas"}


def test_cross_key_rules_are_reported_together_once_types_are_valid():
    with pytest.raises(ConfigError) as info:
        parse_stack_config("prod", {"kubernetes": {"context": "prod"}, "istio": {"mtls": "PERMISSIVE"},
                                    "workloads": {"tag": "latest"}})
    assert info.value.keys == ["mesh:istio.mtls", "mesh:ingress.tls", "mesh:workloads.tag"]


@pytest.mark.parametrize("value", ["256Mi", "1Gi", "512M", "0.5Gi"])
def test_memory_with_units_is_accepted(value):
    parse_stack_config("dev", {"workloads": {"resources": _mem(value)}})


def test_one_bad_value_gives_one_line_the_most_specific():
    # pydantic reports the bad protocol and, above it, that `ports` and `services` are now too short.
    bad = {"topology": {"services": [{"name": "a", "public": True, "ports": [{"protocol": "tcp", "port": 1}]}]}}
    with pytest.raises(ConfigError) as info:
        parse_stack_config("dev", bad)
    assert info.value.keys == ["mesh:topology.services[0].ports[0].protocol"]


def test_every_resources_setting_is_found_by_walking_the_models():
    from components.config.rules import resource_settings
    from tools.engine import stack_config

    cfg = parse_stack_config("prod", stack_config("prod") | {
        "workloads": {**stack_config("prod")["workloads"], "services": {"item": {"resources": _mem("64Mi")}}}})
    keys = [key for key, _ in resource_settings(cfg)]
    assert keys == ["mesh:istio.pilot.resources", "mesh:istio.proxy.resources",
                    "mesh:observability.prometheus.resources", "mesh:observability.jaeger.resources",
                    "mesh:observability.grafana.resources", "mesh:observability.kiali.resources",
                    "mesh:ingress.resources", "mesh:workloads.resources", "mesh:workloads.services.item.resources"]


@pytest.mark.parametrize("key", ["mesh:istio.pilot.resources", "mesh:observability.kiali.resources",
                                 "mesh:workloads.services.item.resources"])
def test_requests_above_limits_are_refused_in_every_resources_setting(key):
    section, *path = key.removeprefix("mesh:").split(".")
    patch: dict = {}
    node = patch.setdefault(section, {})
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = _mem("2Gi")
    result = attempt("dev", patch)
    assert f"{key}.requests.memory" in result.error.keys and result.resources == []
