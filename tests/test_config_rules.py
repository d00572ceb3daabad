"""The config case tables without the engine: parse_stack_config on the same inputs the engine would
pass (fast enough for `make mutate` to judge the rules by them; test_config_hostile runs them through
the whole program)."""

import json
from datetime import date

import pytest
from ids import case_id
from test_config_hostile import CASES, _nested

from components.config.errors import ConfigError, ascii_text, cut, scrub
from components.config.loading import RawConfig, decode, is_secret, parse_stack_config
from tools.engine import engine_config, merge, stack_config

TODAY = date(2026, 12, 1)


def _raw(stack, patch=None, secret=(), extra=None):
    """What the engine hands the program: every mesh:* value as the CLI passes it, decoded."""
    passed = {**engine_config(merge(stack_config(stack), patch or {})), **(extra or {})}
    return RawConfig({k.partition(":")[2]: decode(v) for k, v in passed.items()}, frozenset(secret))


def _error(stack, patch=None, **kw):
    with pytest.raises(ConfigError) as err:
        parse_stack_config(stack, _raw(stack, patch, **kw), today=TODAY)
    return err.value


@pytest.mark.parametrize("category,stack,patch,key,rule", CASES, ids=[case_id(c[0], c[3]) for c in CASES])
def test_case_table(category, stack, patch, key, rule):
    err = _error(stack, patch)
    problem = next((p for p in err.problems if p.key == key), None)
    assert problem is not None and rule in problem.allowed, str(err)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_stacks_parse(stack):
    parse_stack_config(stack, _raw(stack), today=TODAY)


_DEEP = "mesh:workloads.services.item.env" + ".a" * 8  # cut at 12 levels


@pytest.mark.parametrize("value,key,rule", [
    (json.dumps({"services": {"item": {"env": _nested(30)}}}), _DEEP, "nested deeper than 12 levels"),
    ("[" * 50_000 + "]" * 50_000, "mesh:workloads", "nested deeper than 12 levels"),
    (json.dumps({"tag": "v" * 4097}), "mesh:workloads.tag", "longer than 4096 characters"),
    (json.dumps({"tag": "v" * 4096}), None, None),
    (json.dumps({"services": {"x" * 4097: {}}}), "mesh:workloads.services", "longer than 4096 characters"),
    (json.dumps({"services": {f"s{i}": {} for i in range(100_001)}}), "mesh:workloads",
     "more than 100000 keys and list items"),
], ids=["nested", "json-too-deep", "long-value", "long-value-in-bounds", "long-key", "many-items"])
def test_shapes(value, key, rule):
    if key is None:  # within the bounds: other rules judge it (a 4096-character tag is no image tag)
        assert all("characters" not in p.allowed or "4096" not in p.allowed
                   for p in _error("dev", extra={"mesh:workloads": value}).problems)
        return
    err = _error("dev", extra={"mesh:workloads": value})
    assert [(p.key, p.allowed) for p in err.problems] == [(key, rule)]


def test_a_mesh_of_500_services_is_no_shape_problem():
    services = [{"name": f"s{i}", "ports": [{"protocol": "grpc", "port": 5000}], "calls": [f"s{i + 1}"] if i < 499
                 else []} for i in range(500)]
    services[0] |= {"public": True, "ports": [{"protocol": "http", "port": 8080}]}
    parse_stack_config("dev", _raw("dev", {"topology": {"services": services}}), today=TODAY)


@pytest.mark.parametrize("char", ["\x00", "\n", "\x7f", "\x85", "\x9f", "\u061c", "\u200e", "\u2028", "\u202a",
                                  "\u202e", "\u2066", "\u2069", "\ufeff"], ids=lambda c: f"U+{ord(c):04X}")
def test_controls(char):
    err = _error("dev", {"workloads": {"services": {"item": {"env": {"A": f"a{char}b"}}}}})
    assert "mesh:workloads.services.item.env.A" in err.keys and all(" " <= c <= "~" or c == "\n" for c in str(err))


@pytest.mark.parametrize("key,secret,expected", [
    ("mesh:observability.kiali", ("observability",), True),
    ("mesh:observability[0]", ("observability",), True),
    ("mesh:observability", ("observability",), True),
    ("mesh:observabilityx", ("observability",), False),
    ("mesh:workloads.tag", ("observability",), False),
    ("mesh:a.b.c", ("a.b",), True),
    ('mesh:a["b"]', ('a["b"]',), True),
], ids=["section", "index", "whole", "prefix-only", "other", "flat-dotted", "flat-bracketed"])
def test_is_secret(key, secret, expected):
    assert is_secret(key, frozenset(secret)) is expected


def test_secrets_are_masked_and_scrubbed():
    # The secret also lands (by mistake) in a plain key whose problem echoes its value.
    patch = {"observability": {"kiali": {"auth": {"openid": {"clientSecret": 'pa"ss\\wörd'}}}},
             "ingress": {"hosts": ['pa"ss\\wörd']}}
    text = str(_error("prod", patch, secret=("observability",)))
    assert "mesh:ingress.hosts[0] = \"[secret]\"" in text, text
    assert "ss\\" not in text and "w\\u00f6rd" not in text and "wörd" not in text
    flat = _error("dev", extra={"mesh:observability.kiali.x": "hunter2-flat"},
                  secret=("observability.kiali.x",))
    assert "hunter2-flat" not in str(flat) and "[secret]" in str(flat)


@pytest.mark.parametrize("value,flagged", [
    ("postgres://app:hunter2@db:5432/shop", True), ("https://x.example.com/h?token=a", True),
    ("https://x.example.com/h?a=1&ACCESS_TOKEN=a", True), ("https://x.example.com/h;sig=a", True),
    ("https://x.example.com/h?x-amz-signature=a", True), ("https://x.example.com/path@v1", False),
    ("token=abc", False), ("https://x.example.com/h?tokens=a", False), ("mailto:a@b.c", False),
], ids=["userinfo", "token", "access-token-case", "sig", "amz", "at-in-path", "no-url", "tokens", "mailto"])
def test_credentials_in_plain_values(value, flagged):
    patch = {"workloads": {"services": {"item": {"env": {"DB": value}}}}}
    if flagged:
        err = _error("dev", patch)
        problem = next(p for p in err.problems if p.key == "mesh:workloads.services.item.env.DB")
        assert "--secret --path 'mesh:workloads.services.item.env.DB'" in problem.allowed
        assert problem.value == "[a URL with credentials]"
        parse_stack_config("dev", _raw("dev", patch, secret=("workloads",)), today=TODAY)
    else:
        parse_stack_config("dev", _raw("dev", patch), today=TODAY)


def test_scrub_cut_ascii():
    assert scrub("key hunter2 and 'hunter2'", ["hunter2"]) == "key [secret] and '[secret]'"
    assert scrub('say "pa\\"ss"', ['pa"ss']) == 'say "[secret]"'
    assert scrub("abc abcd", ["abc"]) == "abc abcd"  # shorter than MIN_SCRUBBED: left alone
    assert scrub("xx abcd yy", ["abcd", "abcd yy"]) == "xx [secret]"  # the longest first
    assert cut("abcdef", 6) == "abcdef" and cut("abcdefg", 6) == "abcdef... (7 characters)"
    assert ascii_text("a\u202eb\n~") == "a\\u202eb\\n~" and ascii_text(" ~") == " ~"


def test_end_of_life():
    raw = stack_config("prod")
    raw["istio"] = {**raw["istio"], "version": "1.30.8"}
    with pytest.raises(ConfigError, match=r"Istio 1.30 is past its end of life \(2026-11-30\) in prod"):
        parse_stack_config("prod", RawConfig(raw), today=TODAY)
    parse_stack_config("prod", RawConfig(raw), today=date(2026, 11, 29))
    raw["istio"]["allowEndOfLife"] = True
    parse_stack_config("prod", RawConfig(raw), today=TODAY)
    parse_stack_config("dev", RawConfig({**stack_config("dev"), "istio": {"version": "1.30.8"}}), today=TODAY)


_WEB = {"ports": [{"protocol": "http", "port": 8080}], "public": True, "calls": []}
_RES = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "1", "memory": "64Mi"}}


@pytest.mark.parametrize("stack,patch", [
    ("dev", {"istio": {"revision": "r" * 46}}),  # istiod-<46> is 53, Helm's limit
    ("dev", {"topology": {"services": [{"name": "w" * 27, **_WEB}]}}),  # mesh-service-<27> is 40, Grafana's
    ("prod", {"observability": {"prometheus": {"scrapeInterval": "1m15s"}}}),  # 75 s: four scrapes in 5m
    ("prod", {"workloads": {"slo": {"availability": 99.9999}}}),
    ("dev", {"istio": {"proxy": {"resources": _RES}}, "ingress": {"resources": _RES}}),  # the 64Mi floor itself
    ("staging", {"ingress": {"hosts": [".".join(["a" * 63] * 3) + "." + "b" * 61]}}),  # 253 characters
], ids=["revision-46", "service-27", "scrape-75s", "availability-99.9999", "proxy-64Mi", "host-253"])
def test_each_bound_itself_is_accepted(stack, patch):
    parse_stack_config(stack, _raw(stack, patch), today=TODAY)


@pytest.mark.parametrize("stack,patch,key", [
    ("dev", {"istio": {"revision": "r" * 47}}, "mesh:istio.revision"),
    ("dev", {"topology": {"services": [{"name": "w" * 28, **_WEB}]}}, "mesh:topology.services[0].name"),
    ("prod", {"observability": {"prometheus": {"scrapeInterval": "1m16s"}}},
     "mesh:observability.prometheus.scrapeInterval"),
    ("prod", {"workloads": {"slo": {"availability": 99.99991}}}, "mesh:workloads.slo.availability"),
    ("dev", {"istio": {"proxy": {"resources": {**_RES, "limits": {"cpu": "1", "memory": "63Mi"}}}}},
     "mesh:istio.proxy.resources.limits.memory"),
    ("staging", {"ingress": {"hosts": [".".join(["a" * 63] * 3) + "." + "b" * 62]}}, "mesh:ingress.hosts[0]"),
], ids=["revision-47", "service-28", "scrape-76s", "availability-over", "proxy-63Mi", "host-254"])
def test_one_past_each_bound_is_refused(stack, patch, key):
    err = _error(stack, patch)
    assert key in err.keys, str(err)


def test_messages_name_the_exact_rule():
    err = _error("dev", {"istio": {"revision": "r" * 47}})
    assert err.problems[0].allowed == ("too long: istiod's Helm release name 'istiod-" + "r" * 47 + "' would be 54 "
                                       "characters; at most 53")
    err = _error("prod", {"observability": {"prometheus": {"scrapeInterval": "2m"}}})
    assert err.problems[0].allowed == ("too long for the alerts' shortest rate window (5m): at most 75s, so the "
                                       "window spans 4 scrapes")


def test_a_secret_sections_keys_stay_readable_in_messages():
    """Only values are secrets: the key paths of a secret section are what the message must name."""
    raw = stack_config("prod")
    raw["observability"]["kiali"]["auth"]["openid"]["clientSecret"] = "s3cr3t-Value"
    raw["observability"]["grafana"] = {"anonymousViewer": True}
    with pytest.raises(ConfigError) as err:
        parse_stack_config("prod", RawConfig(raw, frozenset({"observability"})), today=TODAY)
    assert 'mesh:observability.grafana.anonymousViewer = "[secret]"' in str(err.value)
