"""Service level objectives as Prometheus rules, generated from the call graph (pure).

Per service, on its inbound traffic (the server's view), and per call-graph edge, on what the caller
sees: error ratios recorded over the windows of the multi-window, multi-burn-rate method, and
alerts that page on a fast burn and open a ticket on a slow one; a p99 latency alert per service.
"""

from __future__ import annotations

from typing import Any

from components.builders.promql import error_ratio, latency
from components.plan import Objective
from components.vocab import topology as topo
from components.vocab.alert_windows import BURN_RATES, LATENCY_WINDOW, WINDOWS


def recording_rules() -> list[dict[str, Any]]:
    """Error ratios per service (server's view) and per edge (caller's view), for every window."""
    server, caller = 'reporter="destination"', 'reporter="source"'
    by_service, by_edge = "destination_service_name", "source_workload, destination_service_name"
    rules = []
    for w in WINDOWS:
        rules.append({"record": f"mesh:service_error_ratio:rate{w}", "expr": error_ratio(server, w, by_service)})
        rules.append({"record": f"mesh:edge_error_ratio:rate{w}", "expr": error_ratio(caller, w, by_edge)})
    rules.append({"record": "mesh:service_latency_p99:rate5m", "expr": latency(server, 0.99, LATENCY_WINDOW, by_service)})
    return rules


def _burn_alerts(name: str, metric: str, sel: str, objective: Objective, labels: dict[str, str],
                 what: str) -> list[dict[str, Any]]:
    out = []
    for severity, burn, long, short in BURN_RATES:
        threshold = round(burn * objective.error_budget, 10)
        out.append({
            "alert": f"{name}ErrorBudgetBurn",
            "expr": f"{metric}:rate{long}{{{sel}}} > {threshold} and {metric}:rate{short}{{{sel}}} > {threshold}",
            "labels": {**labels, "severity": severity, "long_window": long},
            "annotations": {
                "summary": f"{what} burns its error budget {burn}x ({long} and {short} windows)",
                "description": f"Error ratio above {threshold:.4%} for {objective.availability}% availability "
                               f"({what}). Runbook: check the {labels.get('service')} dashboard in Grafana.",
            },
        })
    return out


def alerting_rules(topology: topo.Topology, objectives: dict[str, Objective]) -> list[dict[str, Any]]:
    """Per service (inbound, server's view) and per edge (caller's view, the callee's objective)."""
    rules: list[dict[str, Any]] = []
    for svc in topology.services:
        obj = objectives[svc.name]
        sel = f'destination_service_name="{svc.name}"'
        rules += _burn_alerts("Service", "mesh:service_error_ratio", sel, obj, {"service": svc.name},
                              f"service {svc.name}")
        rules.append({
            "alert": "ServiceLatencyP99High",
            "expr": f"mesh:service_latency_p99:rate5m{{{sel}}} > {obj.latency_p99_ms}",
            "for": "10m",
            "labels": {"service": svc.name, "severity": "ticket"},
            "annotations": {"summary": f"service {svc.name}: p99 latency above {obj.latency_p99_ms} ms for 10m"},
        })
    for caller, callee in sorted(topology.edges()):
        sel = f'source_workload="{caller}",destination_service_name="{callee}"'
        rules += _burn_alerts("Edge", "mesh:edge_error_ratio", sel, objectives[callee],
                              {"service": callee, "caller": caller}, f"calls from {caller} to {callee}")
    return rules


def rule_files(topology: topo.Topology, objectives: dict[str, Objective]) -> dict[str, dict[str, Any]]:
    """The Prometheus rule files: file name -> content (the chart's serverFiles)."""
    return {
        "recording_rules.yml": {"groups": [{"name": "mesh-slo-recording", "rules": recording_rules()}]},
        "alerting_rules.yml": {"groups": [{"name": "mesh-slo-alerts",
                                           "rules": alerting_rules(topology, objectives)}]},
    }
