"""The Istio releases this program knows, the Kubernetes minors each supports and its end of life (data,
with sources), and links to their release and upgrade notes.

Update this table when a new Istio release is adopted; until then `mesh:istio.allowUnknownVersion`
accepts a newer release explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class IstioMinor:
    latest_patch: int
    """Newest patch release known here (1.31.0 .. 1.31.<latest_patch>)."""
    kubernetes: tuple[str, ...]
    """Kubernetes minors Istio supports for this release."""
    end_of_life: date | None
    """The day support ends (from then on the minor is end of life); None while none is announced."""


# Kubernetes minors and end of life:
# Ref: https://github.com/istio/istio.io/blob/master/data/compatibility/supportStatus.yml (k8sVersions, eolDate)
# Ref: https://istio.io/latest/docs/releases/supported-releases/#support-policy (a minor is supported until
#      six weeks after the N+2 minor's .0 release)
# Newest patches: the istio.io/api tags v1.30.8 and v1.31.4 (Go module proxy, tagged 2026-10-21), announced at
# Ref: https://istio.io/latest/news/releases/1.30.x/announcing-1.30.8/
# Ref: https://istio.io/latest/news/releases/1.31.x/announcing-1.31.4/
# 1.29 and older are end of life (1.29 on 2026-10-12: https://github.com/istio/istio.io/pull/17599).
# 1.32 is not listed: no supportStatus.yml entry (Kubernetes minors, end of life) could be read for it yet.
RELEASES: dict[str, IstioMinor] = {
    # supportStatus.yml (read 2026-12-01): k8sVersions 1.32-1.36, eolDate "~Nov 2026 (Expected)". No exact date
    # was published in the copies read; the month's last day is taken (by the policy it is six weeks after
    # 1.32.0, whose istio.io/api tag is dated 2026-10-21, i.e. about 2026-12-02).
    "1.30": IstioMinor(latest_patch=8, kubernetes=("1.32", "1.33", "1.34", "1.35", "1.36"),
                       end_of_life=date(2026, 11, 30)),
    # Ref: https://github.com/istio/istio.io/blob/b65812cb3cc7969b7b84be381d8b109b8aff544f/content/en/news/releases/1.31.x/announcing-1.31/_index.md
    # ("officially supported on Kubernetes versions 1.32 to 1.36"). End of life: six weeks after 1.33.0, not
    # yet released.
    "1.31": IstioMinor(latest_patch=4, kubernetes=("1.32", "1.33", "1.34", "1.35", "1.36"), end_of_life=None),
}

# Ref: https://istio.io/latest/docs/releases/supported-releases/#control-planedata-plane-skew
MAX_CANARY_SKEW = 2
"""Two control planes (and their proxies) may be at most two minors apart: 1.N and 1.N+2."""

# Ref: https://github.com/istio/istio.io/tree/master/content/en/news/releases (<minor>.x/announcing-<version>/)
_NEWS = "https://istio.io/latest/news/releases"


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
    """'1.30.0-1.30.8, 1.31.0-1.31.4' for messages."""
    return ", ".join(f"{m}.0-{m}.{r.latest_patch}" for m, r in RELEASES.items())


def supports(version: str, kubernetes: str) -> bool:
    """Whether Istio `version` supports Kubernetes minor `kubernetes` (unknown minors: not checked)."""
    release = RELEASES.get(minor(version))
    return release is None or kubernetes in release.kubernetes


def end_of_life(version: str) -> date | None:
    """The end-of-life date of `version`'s minor; None if not announced or the minor is not in RELEASES."""
    release = RELEASES.get(minor(version))
    return release.end_of_life if release else None


def is_end_of_life(version: str, today: date) -> bool:
    """Whether `version`'s minor is out of support on `today`; minors older than RELEASES' oldest always are."""
    if minor_number(version) < min(minor_number(m) for m in RELEASES):
        return True
    eol = end_of_life(version)
    return eol is not None and today >= eol


def release_notes(version: str) -> str:
    """'1.31.4' -> its announcement page ('1.31.0' -> the minor's, announcing-1.31)."""
    m = minor(version)
    name = m if version.split(".")[2] == "0" else version
    return f"{_NEWS}/{m}.x/announcing-{name}/"


def upgrade_notes(version: str) -> str:
    """'1.31.4' -> the 1.31 upgrade notes: what 1.31 breaks for a 1.30 user."""
    m = minor(version)
    return f"{_NEWS}/{m}.x/announcing-{m}/upgrade-notes/"
