"""The benchmark's blast-radius table as a test (no timing): each change touches only its expected set."""

import sys

import pytest

from harness import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    return {r["change"]: r for r in bench.blast_radius()}


@pytest.mark.parametrize("change", list(bench.CHANGES))
def test_change_touches_only_its_expected_set(rows, change):
    row = rows[change]
    assert set(row["changed"]) <= set(row["expected"]), row
    assert set(row["rolled"]) <= set(row["expected_rolls"]), row


def test_sampling_changes_one_resource_and_restarts_nothing(rows):
    assert rows["trace sampling 100 -> 50"]["changed"] == ["istio-telemetry"]
    assert rows["trace sampling 100 -> 50"]["rolled"] == []


def test_proxy_change_rolls_every_injected_workload(rows):
    assert set(rows["proxy resources"]["rolled"]) == set(bench.INJECTED)
    assert "ingress-chart" in rows["proxy resources"]["changed"]  # the gateway's pods roll too


def test_synthetic_topology_is_valid_data():
    from components.topology import Topology

    topology = Topology.model_validate(bench.synthetic_topology(50))
    assert topology.problems() == [] and len(topology.services) == 50
