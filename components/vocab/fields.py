"""Typed config fields: `Annotated` string types whose validator carries the rule.

Each pattern matches the whole value and ASCII only (`re.fullmatch`, `[0-9]` rather than `\\d`),
so a trailing newline or a Unicode digit never passes. The rule text is what a user reads in a
`ConfigError`, so it says what is allowed. No Pulumi here: pure values, tested directly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from components.vocab.names import DNS_NAME_MAX


class Strict(BaseModel):
    """Frozen model with camelCase keys that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


def pattern_check(regex: str, rule: str, *, numbers: bool = False, max_length: int | None = None
                  ) -> Callable[[Any], str]:
    """A validator: the value must be a string matching `regex` whole; else ValueError(rule).

    `numbers`: accept an int or float too (YAML reads `250` as a number) and check its text, so
    the error names the number the user wrote rather than a type error. Without it a number is
    refused with a hint to quote it (YAML reads `1.30` as the number 1.3).
    """
    compiled = re.compile(regex, re.ASCII)

    def check(value: Any) -> str:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if numbers and is_number:
            value = str(value)
        elif is_number:
            raise ValueError(f"{rule}; YAML read this as the number {value}: quote it in the stack file "
                             "(e.g. \"1.30\", which unquoted becomes 1.3)")
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise ValueError(rule)
        if max_length is not None and len(value) > max_length:
            raise ValueError(f"{rule}; at most {max_length} characters, this is {len(value)}")
        return value

    return check


@dataclass(frozen=True)
class Rule:
    """Metadata on a field type: its short name and rule, for the README's config reference."""

    name: str
    text: str


def _field(name: str, regex: str, rule: str, *, numbers: bool = False, max_length: int | None = None) -> Any:
    return Annotated[str, BeforeValidator(pattern_check(regex, rule, numbers=numbers, max_length=max_length)),
                     Rule(name, rule)]


DNS_LABEL_RULE = "must be a DNS-1123 label: lowercase letters, digits and '-', 1-63 characters"
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_URL = r"https?://[!-.0-~]+(/[!-~]*)?"  # printable ASCII, no spaces
_POSITIVE = r"(?=[0-9.]*[1-9])"  # at least one non-zero digit: a quantity above 0
_CPU = rf"{_POSITIVE}([0-9]+m|[0-9]+(\.[0-9]+)?)"
_MEMORY = rf"{_POSITIVE}[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)"
def _not_bool(value: Any) -> Any:
    """YAML reads `yes`/`true` as a boolean, which Python would take as 1: refuse it for numbers."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean (YAML reads yes/no/true/false as booleans)")
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
"""An integer; a boolean is refused rather than read as 0 or 1."""
Number = Annotated[float, BeforeValidator(_not_bool)]
"""A number; a boolean is refused rather than read as 0 or 1."""
MAX_INT32 = 2**31 - 1
"""Kubernetes stores replicas, HPA bounds and ports as int32."""
Replicas = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=MAX_INT32)]
# Ref: https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
ISTIO_RESERVED_PORTS = (15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090)


def _app_port(value: int) -> int:
    if value in ISTIO_RESERVED_PORTS:
        raise ValueError(f"port {value} is used by the Istio sidecar; reserved: "
                         f"{', '.join(map(str, ISTIO_RESERVED_PORTS))}")
    return value


AppPort = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=65535), AfterValidator(_app_port)]
"""An application container port: 1-65535 and none the sidecar uses."""
_MEMORY_FACTORS = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}

DnsLabel = _field("DNS label", _DNS_LABEL, DNS_LABEL_RULE)
ServiceName = _field("DNS-1035 label", r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?",
                     "must be a DNS-1035 label (a Kubernetes Service name): a lowercase letter first, then lowercase "
                     "letters, digits and '-', 1-63 characters")
# Ref: https://github.com/kubernetes/kubernetes/blob/v1.34.0/staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go
# (IsEnvVarName: envVarNameFmt)
EnvVarName = _field("env var name", r"[-._a-zA-Z][-._a-zA-Z0-9]*",
                    "must be an environment variable name: letters, digits, '_', '-', '.', not starting with a digit")
OptionalDnsLabel = _field("DNS label or ''", f"({_DNS_LABEL})?", DNS_LABEL_RULE)
"""A DNS label or '' (e.g. the default istiod revision)."""
SemVer = _field("version", r"[0-9]+\.[0-9]+\.[0-9]+", "must be a semantic version MAJOR.MINOR.PATCH, e.g. 1.31.4")
K8sMinor = _field("Kubernetes minor", r"1\.[0-9]{2}", "must be a Kubernetes minor version like '1.36'")
CpuQuantity = _field("CPU quantity", _CPU,
                     "must be a CPU quantity above 0: millicores like '250m' or cores like '0.5' or '2'", numbers=True)
MemoryQuantity = _field(
    "memory quantity",
    _MEMORY,
    "must be a memory quantity above 0 with a unit (Ki, Mi, Gi, Ti, k, M, G, T), e.g. '256Mi'; "
    "a bare number means bytes and is almost surely a mistake",
    numbers=True,
)
# Ref: https://github.com/prometheus/common/blob/v0.66.1/model/time.go (ParseDuration: units in this order)
Duration = _field("Prometheus duration",
                  r"(?=.*[1-9])([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?(?<=[a-z])",
                  "must be a Prometheus duration above 0: whole numbers with units y, w, d, h, m, s, ms in that "
                  "order, e.g. '15d' or '1h30m'", numbers=True)
# Ref: https://pkg.go.dev/time#ParseDuration (units ns, us, ms, s, m, h; no days)
GoDuration = _field("Go duration", rf"{_POSITIVE}([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+",
                    "must be a Go duration above 0: numbers with units ns, us, ms, s, m, h, e.g. '72h' or '1h30m' "
                    "(Go has no 'd': 7 days is '168h')", numbers=True)
Digest = _field("digest", r"sha256:[0-9a-f]{64}", "must be 'sha256:' followed by 64 lowercase hex characters")
ImageTag = _field("image tag", r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
                  "must be an image tag: letters, digits, '_', '.', '-', up to 128 characters")
Repository = _field("image repository", r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*",
                    "must be an image repository like 'ghcr.io/org/name' (no tag or digest)")
Hostname = _field("host name", rf"({_DNS_LABEL}\.)+[a-z]{{2,63}}",
                  "must be a fully qualified host name like 'kiali.example.com'", max_length=DNS_NAME_MAX)
HttpUrl = _field("URL", _URL, "must be an http:// or https:// URL")
HttpsUrl = _field("https URL", r"https://[!-.0-~]+(/[!-~]*)?", "must be an https:// URL")
IngressHost = _field("ingress host", rf"\*|(\*\.)?({_DNS_LABEL}\.)*{_DNS_LABEL}",
                     "must be a DNS name the gateway serves, not a URL: 'shop.example.com', a leading '*.' wildcard "
                     "('*.example.com') or '*' for every host", max_length=DNS_NAME_MAX)
DnsName = _field("DNS name", rf"({_DNS_LABEL}\.)*{_DNS_LABEL}",
                 "must be a DNS name like 'otel-collector.monitoring.svc.cluster.local' (not a URL)",
                 max_length=DNS_NAME_MAX)
# Ref: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-subdomain-names
ObjectName = _field("object name", rf"({_DNS_LABEL}\.)*{_DNS_LABEL}",
                    "must be a Kubernetes object name (DNS-1123 subdomain): lowercase letters, digits, '-' and '.'",
                    max_length=DNS_NAME_MAX)
_SCRAPE_RULE = "must be a namespace name or an IPv4 CIDR like '10.0.0.0/8' (octets 0-255, prefix 0-32, no host bits)"


def _scrape_source(value: Any) -> str:
    text = pattern_check(rf"{_DNS_LABEL}|[0-9.]+/[0-9]+", _SCRAPE_RULE)(value)
    if "/" in text:
        try:
            ipaddress.IPv4Network(text, strict=True)
        except ValueError as err:
            raise ValueError(f"{_SCRAPE_RULE}: {err}") from None
    return text


ScrapeSource = Annotated[str, BeforeValidator(_scrape_source), Rule("namespace or CIDR", _SCRAPE_RULE)]
# Printable ASCII without spaces: no control characters, nothing a shell or YAML would mangle.
Text = _field("text", r"[!-~]+", "must be non-empty printable ASCII without spaces")
RelativePath = _field("relative path", r"(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]+",
                      "must be a relative path inside the build context: no leading '/', no '..'")


def _mirror(value: Any) -> str:
    rule = "must be a URL with a scheme: oci://<registry>/<path> or https://<host>/<path>"
    return pattern_check(r"(oci|https?)://[!-.0-~]+(/[!-~]*)?", rule)(value).rstrip("/")


ChartMirror = Annotated[
    str, BeforeValidator(_mirror), Rule("chart mirror URL", "oci://<registry>/<path> or https://<host>/<path>")
]


def cpu_millis(value: str) -> float:
    """'250m' -> 250.0, '1.5' -> 1500.0."""
    return float(value[:-1]) if value.endswith("m") else float(value) * 1000


def memory_bytes(value: str) -> float:
    """'256Mi' -> 268435456.0."""
    unit = value.lstrip("0123456789.")
    return float(value[: -len(unit)]) * _MEMORY_FACTORS[unit]


_DURATION_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def duration_seconds(value: str) -> float:
    """A Prometheus duration in seconds: '1h30m' -> 5400.0."""
    return sum(int(n) * _DURATION_UNITS[u] for n, u in re.findall(r"([0-9]+)(ms|[ywdhms])", value))
