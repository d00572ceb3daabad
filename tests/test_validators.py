"""The validators themselves reject what they must, so a green run means something."""

import pytest
from validators import validate_istio, validate_kubernetes


def test_kubernetes_validate_rejects_an_unknown_container_field():
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "x", "image": "x:1", "resource": {}}]}}},
    }
    with pytest.raises(Exception, match="resource"):
        validate_kubernetes(deployment, "1.33")


def test_istio_validation_rejects_a_misspelt_field():
    telemetry = {"apiVersion": "telemetry.istio.io/v1", "kind": "Telemetry", "metadata": {"name": "t"},
                 "spec": {"tracing": [{"providers": [{"name": "p"}], "randomSamplingPercentag": 10}]}}
    with pytest.raises(ValueError, match="randomSamplingPercentag"):
        validate_istio(telemetry)


def test_istio_validation_rejects_a_bad_value():
    telemetry = {"apiVersion": "telemetry.istio.io/v1", "kind": "Telemetry", "metadata": {"name": "t"},
                 "spec": {"tracing": [{"randomSamplingPercentage": 150}]}}
    with pytest.raises(Exception, match="100"):
        validate_istio(telemetry)
