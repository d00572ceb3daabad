"""Field types: each rule accepts what Kubernetes, Istio and the addons accept, and nothing else."""

import pytest
from pydantic import TypeAdapter, ValidationError

from components.vocab import fields as f

# (type, accepted values, refused values). Refused includes the ways a regex can be fooled:
# a trailing newline, Unicode digits (Arabic-Indic, fullwidth), surrounding spaces.
CASES = [
    (f.DnsLabel, ["a", "gateway", "a-1", "x" * 63], ["", "A", "-a", "a-", "a_b", "x" * 64, "a\n", "a.b", " a"]),
    (f.OptionalDnsLabel, ["", "canary", "1-31-1"], ["Canary", "a\n", "-"]),
    (f.SemVer, ["1.31.1", "28.0.0"], ["1.31", "v1.31.1", "1.31.1\n", "1.٣1.1", "１.31.1", "1.31.1-rc.0"]),
    (f.K8sMinor, ["1.33", "1.34"], ["1.3", "1.33.2", "1.33\n", "1.٣٣", "2.33"]),
    (f.CpuQuantity, ["250m", "0.5", "2", 2, 0.5], ["fast", "250 m", "250m\n", "٢50m", "1e3", True]),
    (f.MemoryQuantity, ["256Mi", "1Gi", "512M", "0.5Gi"], [250, "250", "256mi", "256Mi\n", "２56Mi", "1Pi"]),
    (f.Duration, ["15d", "30s", "2w", "1y", "500ms", "1h30m"], ["10 days", "15", "15d\n", "30m1h", "0d", "١d"]),
    (f.GoDuration, ["72h", "1h30m", "500ms", "1.5h"], ["7d", "72", "72h\n", "h"]),
    (f.ServiceName, ["db", "a-1"], ["1db", "-a", "Db", "db\n"]),
    (f.EnvVarName, ["LOG_LEVEL", "a.b", "_X", "-x"], ["1BAD", "A B", "A=B", "", "É"]),
    (f.IngressHost, ["*", "*.example.com", "shop.example.com", "localhost"], ["", "https://a.io", "a.*.io", "**", "a.io/x"]),
    (f.RelativePath, ["services/a/Dockerfile", "Dockerfile", "a/..b"], ["/etc/x", "../x", "a/../../x", "a b"]),
    (f.AppPort, [1, 4000, 65535], [0, 65536, 15001, 15090, 15021]),
    (f.Replicas, [1, 2**31 - 1], [0, 2**31]),
    (f.Digest, ["sha256:" + "a" * 64], ["sha256:abc", "sha256:" + "A" * 64, "sha256:" + "a" * 64 + "\n"]),
    (f.ImageTag, ["v1.4.2", "latest", "git-0ec5899ea5df"], [".hidden", "a b", "a" * 129, "v1\n", "v١"]),
    (f.Repository, ["ghcr.io/org/name", "localhost:5000/app", "mercari/x"], ["Ghcr.io/x", "x:1.0", "x@sha256:a", "x\n"]),
    (f.Hostname, ["kiali.example.com", "a.io"], ["Kiali Dashboard", "localhost", "https://a.io", "a.io\n", "a.٣o"]),
    (f.HttpUrl, ["http://a:9090", "https://login.example.com/realms/x"], ["a.io", "ftp://a", "http://a b", "http://a\n"]),
    (f.ChartMirror, ["oci://registry.internal/charts", "https://charts.internal/m"], ["registry.internal/charts", "s3://b"]),
]


def _name(type_) -> str:
    rules = [m for m in getattr(type_, "__metadata__", ()) if isinstance(m, f.Rule)]
    return (rules[0].name if rules else "int").replace(" ", "_").replace("'", "")


@pytest.mark.parametrize("type_,good,bad", CASES, ids=[f"{i}-{_name(c[0])}" for i, c in enumerate(CASES)])
def test_field_accepts_and_refuses(type_, good, bad):
    adapter = TypeAdapter(type_)
    for value in good:
        adapter.validate_python(value)
    for value in bad:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


def test_a_refusal_says_the_rule():
    with pytest.raises(ValidationError, match="a bare number means bytes"):
        TypeAdapter(f.MemoryQuantity).validate_python(250)


def test_mirror_drops_a_trailing_slash():
    assert TypeAdapter(f.ChartMirror).validate_python("https://charts.internal/mirror/") == "https://charts.internal/mirror"


@pytest.mark.parametrize("text,millis", [("250m", 250), ("1", 1000), ("0.5", 500), ("2", 2000)])
def test_cpu_millis(text, millis):
    assert f.cpu_millis(text) == millis


@pytest.mark.parametrize("text,size", [("1Ki", 1024), ("256Mi", 256 * 2**20), ("1G", 10**9), ("0.5Gi", 2**29),
                                       ("3k", 3000), ("2T", 2 * 10**12), ("1Ti", 2**40)])
def test_memory_bytes(text, size):
    assert f.memory_bytes(text) == size
