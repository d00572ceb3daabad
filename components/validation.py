"""Value rules shared by the config and topology models: pure functions, no Pulumi."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_K8S_MINOR = re.compile(r"^1\.\d{2}$")
_CPU = re.compile(r"^(\d+m|\d+(\.\d+)?)$")
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)$")
_DURATION = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REPOSITORY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_HOSTNAME = re.compile(r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HTTP_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_MIRROR_URL = re.compile(r"^(oci|https?)://[^\s/]+(/\S*)?$")
_MEMORY_FACTORS = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


class Strict(BaseModel):
    """Frozen model with camelCase keys that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


def _require(pattern: re.Pattern, value: object, rule: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(rule)
    return value


def check_dns_label(value: str) -> str:
    return _require(_DNS_LABEL, value, "must be a DNS-1123 label: lowercase letters, digits and '-', 1-63 characters")


def check_semver(value: str) -> str:
    return _require(_SEMVER, value, "must be a semantic version MAJOR.MINOR.PATCH, e.g. 1.31.1")


def check_k8s_minor(value: str) -> str:
    return _require(_K8S_MINOR, value, "must be a Kubernetes minor version like '1.33'")


def check_cpu(value: object) -> str:
    return _require(_CPU, str(value), "must be a CPU quantity: millicores like '250m' or cores like '0.5' or '2'")


def check_memory(value: object) -> str:
    return _require(
        _MEMORY,
        str(value),
        "must be a memory quantity with a unit (Ki, Mi, Gi, Ti, k, M, G, T), e.g. '256Mi'; "
        "a bare number means bytes and is almost surely a mistake",
    )


def check_duration(value: object) -> str:
    return _require(
        _DURATION, str(value), "must be a duration: a whole number and one unit of ms, s, m, h, d, w, y, e.g. '15d'"
    )


def check_digest(value: str) -> str:
    return _require(_DIGEST, value, "must be 'sha256:' followed by 64 lowercase hex characters")


def check_tag(value: str) -> str:
    return _require(_TAG, value, "must be an image tag: letters, digits, '_', '.', '-', up to 128 characters")


def check_repository(value: str) -> str:
    return _require(_REPOSITORY, value, "must be an image repository like 'ghcr.io/org/name' (no tag or digest)")


def check_hostname(value: str) -> str:
    return _require(_HOSTNAME, value, "must be a fully qualified host name like 'kiali.example.com'")


def check_http_url(value: str) -> str:
    return _require(_HTTP_URL, value, "must be an http:// or https:// URL")


def check_chart_mirror(value: str) -> str:
    _require(_MIRROR_URL, value, "must be a URL with a scheme: oci://<registry>/<path> or https://<host>/<path>")
    return value.rstrip("/")


def cpu_millis(value: str) -> float:
    """'250m' -> 250.0, '1.5' -> 1500.0."""
    return float(value[:-1]) if value.endswith("m") else float(value) * 1000


def memory_bytes(value: str) -> float:
    """'256Mi' -> 268435456.0."""
    unit = re.sub(r"^[\d.]+", "", value)
    return float(value[: -len(unit)]) * _MEMORY_FACTORS[unit]
