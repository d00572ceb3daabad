"""The Istio releases this program knows, and the Kubernetes minors each supports (data, with sources).

Update this table when a new Istio release is adopted; until then `mesh:istio.allowUnknownVersion`
accepts a newer release explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IstioMinor:
    latest_patch: int
    """Newest patch release known here (1.31.0 .. 1.31.<latest_patch>)."""
    kubernetes: tuple[str, ...]
    """Kubernetes minors Istio supports for this release."""


# Ref: https://github.com/istio/istio.io/blob/master/data/compatibility/supportStatus.yml (k8sVersions)
# Ref: https://istio.io/latest/news/releases/1.31.x/ and https://istio.io/latest/news/releases/1.30.x/
# 1.29 and older are end of life (https://istio.io/latest/docs/releases/supported-releases/).
RELEASES: dict[str, IstioMinor] = {
    "1.30": IstioMinor(latest_patch=5, kubernetes=("1.32", "1.33", "1.34", "1.35", "1.36")),
    "1.31": IstioMinor(latest_patch=1, kubernetes=("1.32", "1.33", "1.34", "1.35", "1.36")),
}

# Ref: https://istio.io/latest/docs/releases/supported-releases/#control-planedata-plane-skew
MAX_CANARY_SKEW = 2
"""Two control planes (and their proxies) may be at most two minors apart: 1.N and 1.N+2."""


def minor(version: str) -> str:
    """'1.31.1' -> '1.31'."""
    return ".".join(version.split(".")[:2])


def minor_number(version: str) -> int:
    """'1.31.1' -> 31."""
    return int(version.split(".")[1])


def known(version: str) -> bool:
    """Whether `version` is a release listed in RELEASES."""
    release = RELEASES.get(minor(version))
    return release is not None and int(version.split(".")[2]) <= release.latest_patch


def known_list() -> str:
    """'1.30.0-1.30.5, 1.31.0-1.31.1' for messages."""
    return ", ".join(f"{m}.0-{m}.{r.latest_patch}" for m, r in RELEASES.items())


def supports(version: str, kubernetes: str) -> bool:
    """Whether Istio `version` supports Kubernetes minor `kubernetes` (unknown minors: not checked)."""
    release = RELEASES.get(minor(version))
    return release is None or kubernetes in release.kubernetes
