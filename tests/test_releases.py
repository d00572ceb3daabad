"""Every pin on a supported release: the stacks' Istio and Kubernetes versions, the kind node image, and
the release-table functions they are judged by."""

import re
from datetime import date
from pathlib import Path

import pytest

from components.vocab import istio_releases as istio
from components.vocab import kubernetes_releases as kubernetes
from tools.engine import STACKS, stack_config

ROOT = Path(__file__).resolve().parents[1]

# The day these pins were last reviewed (issue #23). Fixed, not date.today(): the test cannot turn red by
# itself. Move it forward when the pins are reviewed again.
REVIEWED = date(2026, 12, 1)


def _makefile_var(name: str) -> str:
    match = re.search(rf"^{name}\s*\?=\s*(\S+)\s*$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, f"Makefile sets no {name}"
    return match.group(1)


@pytest.mark.parametrize("stack", STACKS)
def test_istio_pin_is_a_known_release_in_support(stack):
    version = stack_config(stack)["istio"]["version"]
    assert istio.known(version), f"{stack}: Istio {version} is not in RELEASES ({istio.known_list()})"
    assert not istio.is_end_of_life(version, REVIEWED), f"{stack}: Istio {version} is end of life"


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_minor_is_supported_by_istio_and_upstream(stack):
    config = stack_config(stack)
    k8s, version = config["kubernetes"]["version"], config["istio"]["version"]
    assert k8s in istio.RELEASES[istio.minor(version)].kubernetes, f"{stack}: Istio {version} does not support {k8s}"
    assert k8s in kubernetes.END_OF_LIFE, f"{stack}: Kubernetes {k8s} has no known end-of-life date"
    assert not kubernetes.is_end_of_life(k8s, REVIEWED), f"{stack}: Kubernetes {k8s} is end of life"


def test_kind_node_image_is_pinned_by_digest_and_matches_dev():
    image = _makefile_var("KIND_NODE")
    match = re.fullmatch(r"kindest/node:v(1\.[0-9]+)\.[0-9]+@sha256:[0-9a-f]{64}", image)
    assert match, f"KIND_NODE {image} is not kindest/node:vX.Y.Z@sha256:<digest>"
    assert match.group(1) == stack_config("dev")["kubernetes"]["version"]
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", _makefile_var("KIND_VERSION"))


def test_istio_end_of_life():
    assert istio.end_of_life("1.30.8") == date(2026, 11, 30)
    assert istio.end_of_life("1.31.4") is None  # not announced
    assert istio.end_of_life("1.32.0") is None  # not in the table
    assert not istio.is_end_of_life("1.30.8", date(2026, 11, 29))
    assert istio.is_end_of_life("1.30.0", date(2026, 11, 30))
    assert not istio.is_end_of_life("1.31.0", date(2030, 1, 1))
    assert istio.is_end_of_life("1.29.9", date(2026, 1, 1))  # older than the table
    assert not istio.is_end_of_life("1.32.0", REVIEWED)  # newer, unknown: no date to judge by


def test_every_istio_minor_supports_only_known_kubernetes_minors():
    for name, release in istio.RELEASES.items():
        assert set(release.kubernetes) <= set(kubernetes.END_OF_LIFE), name
        assert release.end_of_life is None or release.end_of_life.year >= 2026


def test_known_patches():
    assert istio.known("1.30.8") and istio.known("1.31.4")
    assert not istio.known("1.30.9") and not istio.known("1.31.5") and not istio.known("1.32.0")
    assert istio.known_list() == "1.30.0-1.30.8, 1.31.0-1.31.4"


def test_release_and_upgrade_notes_links():
    news = "https://istio.io/latest/news/releases"
    assert istio.upgrade_notes("1.31.4") == f"{news}/1.31.x/announcing-1.31/upgrade-notes/"
    assert istio.upgrade_notes("1.30.0") == f"{news}/1.30.x/announcing-1.30/upgrade-notes/"
    assert istio.release_notes("1.31.4") == f"{news}/1.31.x/announcing-1.31.4/"
    assert istio.release_notes("1.31.0") == f"{news}/1.31.x/announcing-1.31/"


def test_kubernetes_end_of_life():
    assert kubernetes.end_of_life("1.34") == date(2026, 10, 27)
    assert kubernetes.end_of_life("1.36") == date(2027, 6, 28)
    assert kubernetes.end_of_life("1.40") is None
    assert kubernetes.is_end_of_life("1.33", REVIEWED) and kubernetes.is_end_of_life("1.34", REVIEWED)
    assert not kubernetes.is_end_of_life("1.34", date(2026, 10, 26))
    assert not kubernetes.is_end_of_life("1.35", REVIEWED) and not kubernetes.is_end_of_life("1.36", REVIEWED)
    assert kubernetes.is_end_of_life("1.29", date(2020, 1, 1))  # older than the table
    assert not kubernetes.is_end_of_life("1.40", REVIEWED)  # newer, unknown
