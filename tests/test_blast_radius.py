"""The blast radius of typical changes (no timing): each touches only its expected set."""

import pytest

from components.vocab.topology import Topology
from tools import blast
from tools.synthetic import synthetic_topology


@pytest.mark.parametrize("change", list(blast.CHANGES))
def test_change_touches_only_its_expected_set(change):
    row = blast.measure_change(change)
    assert row.changed <= row.expected, row
    assert row.rolled <= row.expected_rolls, row


def test_sampling_changes_one_resource_and_restarts_nothing():
    row = blast.measure_change("trace sampling 100 -> 50")
    assert row.changed == {"istio-telemetry"} and row.rolled == set()


def test_proxy_change_rolls_every_injected_workload():
    row = blast.measure_change("proxy resources")
    assert row.rolled == blast.INJECTED
    assert "ingress-chart" in row.changed  # the gateway's pods roll too


def test_image_tag_change_rolls_exactly_one_deployment():
    row = blast.measure_change("one image tag (item, staging)")
    assert row.changed == row.rolled == {"item-deployment"}


def test_synthetic_topology_is_valid_data():
    topology = Topology.model_validate(synthetic_topology(50))
    assert topology.problems() == [] and len(topology.services) == 50


def test_the_longest_readiness_chain_is_three_waits_and_istio_never_waits_for_jaeger():
    from tools.engine import evaluate
    from tools.waits import longest_wait_chain

    for stack in ("dev", "prod"):
        chain = longest_wait_chain(evaluate(stack))
        # Before the chart-fidelity fixes prod had four: Jaeger's volume, Jaeger, istiod, a Deployment.
        assert len(chain) == 3, chain
        assert not ("observability-jaeger-chart" in chain and "istio-istiod" in chain), chain
