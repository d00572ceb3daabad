"""Every bad-config case of test_config and test_config_hostile, through the parser alone (no engine).

The engine-level tests prove nothing is registered; these prove the rule itself, fast, and are the
tests the mutation run (`make mutate`) uses.
"""

import re

import pytest
from ids import case_id
from test_config import BAD
from test_config_hostile import CASES
from test_images import BAD_BUILDS

from components.config.errors import ConfigError, key_path, most_specific
from components.config.loading import parse_stack_config
from tools.engine import merge, stack_config

MORE = [
    ("dev", {"observability": {"jaeger": {"external": {"collectorHost": "otel.x"}}}},
     "mesh:observability.jaeger.external", "not both"),
    ("dev", {"istio": {"canary": {"version": "1.31.0", "revision": "c", "revison": "x"}}},
     "mesh:istio.canary.revison", "allowed keys here: version, revision"),
    ("dev", {"observability": {"prometheus": {"enabled": False}, "kiali": {"enabled": False}}},
     "mesh:observability.grafana.enabled", "Grafana needs Prometheus"),
    ("staging", {"workloads": {"autoscaling": {"minReplicas": 4, "maxReplicas": 3}, "services": {"db": {}}}},
     "mesh:workloads.services.db.autoscaling.minReplicas", "must not exceed maxReplicas"),
]
MORE += [
    ("prod", {"observability": {"jaeger": {"enabled": False, "external": {
        "collectorHost": "otel.x", "queryUrl": "https://u:p@jaeger.example.com"}}}},
     "mesh:observability.jaeger.external.queryUrl", "user:password@"),
    ("prod", {"observability": {"kiali": {"auth": {"openid": {"issuerUri": "https://u:p@login.example.com"}}}}},
     "mesh:observability.kiali.auth.openid.issuerUri", "user:password@"),
]
MORE += [
    ("dev", {"workloads": {"resources": {"requests": {"cpu": "2", "memory": "64Mi"},
                                         "limits": {"cpu": "1500m", "memory": "1Gi"}}}},
     "mesh:workloads.resources.requests.cpu", "must not exceed limits.cpu (1500m)"),
    ("prod", {"charts": {"mirror": "https://charts.internal", "mirrorUsername": "ci"}},
     "mesh:charts.mirrorUsername", "set both mirrorUsername and mirrorPassword"),
]
TABLE = [(stack, patch, key, rule) for stack, patch, key, rule in BAD] + \
        [(stack, patch, key, rule) for _, stack, patch, key, rule in CASES] + \
        [("dev", {"workloads": {"build": build}}, key, rule) for build, key, rule in BAD_BUILDS] + MORE
MASKED = {"[a URL with credentials]", "[not shown]", "[not read]"}


def _written(patch: dict, key: str):
    """The scalar the patch sets at `key` (mesh:a.b[0].c), or None when it sets none there."""
    node = patch
    for part in re.findall(r"[^.\[\]]+", key.removeprefix("mesh:")):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return None if isinstance(node, (dict, list)) else node


@pytest.mark.parametrize("stack,patch,key,rule", TABLE, ids=[case_id(i, c[2]) for i, c in enumerate(TABLE)])
def test_parser_refuses(stack, patch, key, rule):
    with pytest.raises(ConfigError) as info:
        parse_stack_config(stack, merge(stack_config(stack), patch))
    problem = next((p for p in info.value.problems if p.key == key), None)
    assert problem is not None, str(info.value)
    assert rule in problem.allowed, problem
    assert not problem.allowed.lower().startswith("value error"), problem
    written = _written(patch, key)
    if written is not None and problem.value not in MASKED:
        assert problem.value == written, problem  # the message names the value the user wrote
    assert str(info.value).startswith(f"stack '{stack}': invalid configuration")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_parser_accepts_every_stack(stack):
    cfg = parse_stack_config(stack, stack_config(stack))
    assert cfg.environment == stack


def test_a_namespace_may_move_to_a_declared_canary_revision():
    patch = {"istio": {"canary": {"version": "1.31.0", "revision": "c"}},
             "workloads": {"services": {"db": {"istioRevision": "c"}}}}
    parse_stack_config("dev", merge(stack_config("dev"), patch))


def test_an_at_sign_after_the_host_is_not_a_credential():
    parse_stack_config("prod", merge(stack_config("prod"), {"charts": {"mirror": "https://charts.internal/a@b"}}))


@pytest.mark.parametrize("locs,kept", [
    ([("a", "b", "c"), ("a", "b"), ("a",)], [("a", "b", "c")]),
    ([("a", "b"), ("a", "c")], [("a", "b"), ("a", "c")]),
    ([("a",), ("b", "c")], [("a",), ("b", "c")]),
    ([("a", 0, "x"), ("a", 0)], [("a", 0, "x")]),
])
def test_most_specific_keeps_the_innermost_errors(locs, kept):
    assert [e["loc"] for e in most_specific([{"loc": loc} for loc in locs])] == kept


@pytest.mark.parametrize("loc,path", [
    (("istio", "tracing", "sampling"), "mesh:istio.tracing.sampling"),
    (("topology", "services", 0, "ports"), "mesh:topology.services[0].ports"),
    ((), "mesh:(root)"),
])
def test_key_path(loc, path):
    assert key_path(loc) == path




def test_requests_equal_to_limits_are_fine():
    same = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "1024Mi"}}
    parse_stack_config("dev", merge(stack_config("dev"), {"workloads": {"resources": same}}))


@pytest.mark.parametrize("patch,key,value", [
    ({"observability": {"prometheus": {"enabled": False}}}, "mesh:observability.kiali.enabled", True),
    ({"observability": {"jaeger": {"enabled": False}}}, "mesh:istio.tracing.enabled", True),
    ({"observability": {"jaeger": {"external": {"collectorHost": "otel.x"}}}}, "mesh:observability.jaeger.external",
     {"collectorHost": "otel.x", "collectorPort": 4317, "queryUrl": None}),
])
def test_a_rule_across_keys_names_the_value_that_breaks_it(patch, key, value):
    with pytest.raises(ConfigError) as info:
        parse_stack_config("dev", merge(stack_config("dev"), patch))
    assert next(p for p in info.value.problems if p.key == key).value == value
