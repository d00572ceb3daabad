"""Grafana dashboards built from the call graph with grafana-foundation-sdk (pure: topology -> JSON).

A mesh overview (rate, errors, latency per service), one dashboard per service with a row per
inbound and outbound call-graph edge, and a control-plane dashboard. Adding a service to the
topology adds its dashboard and its rows elsewhere, with no other change. Queries use Istio's
standard metrics (components.builders.promql).
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import dashboard, prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from components.builders.promql import error_ratio, latency, rate, selector
from components.vocab import topology as topo
from components.vocab.names import service_dashboard_uid

DATASOURCE_UID = "prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
WINDOW = "5m"


def _panel(title: str, unit: str, *queries: tuple[str, str]) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).height(8).span(8)
    for ref, (expr, legend) in zip("ABCDEFGH", queries, strict=False):
        panel = panel.with_target(prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)
                                  .datasource(DATASOURCE))
    return panel


def _build(board: dashboard.Dashboard) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return result


def mesh_overview(topology: topo.Topology) -> dict[str, Any]:
    """Request rate, error ratio and p50/p90/p99 latency for every service, as its servers see it."""
    sel = selector(reporter="destination")
    by = "destination_service_name"
    legend = "{{" + by + "}}"
    board = (dashboard.Dashboard("Mesh overview").uid("mesh-overview").tags(["mesh", "istio"]).refresh("30s")
             .time("now-1h", "now")
             .with_panel(_panel("Requests per second", "reqps", (f"sum by ({by}) ({rate(sel, WINDOW)})", legend)))
             .with_panel(_panel("Error ratio (5xx, gRPC non-OK)", "percentunit",
                                (error_ratio(sel, WINDOW, by), legend)))
             .with_panel(_panel("Latency p50 / p90 / p99", "ms", *[
                 (latency(sel, q, WINDOW, by), f"p{int(q * 100)} {legend}") for q in (0.5, 0.9, 0.99)])))
    return _build(board)


def _edge_row(board: dashboard.Dashboard, title: str, sel: str) -> dashboard.Dashboard:
    return (board.with_row(dashboard.Row(title))
            .with_panel(_panel("Requests per second", "reqps", (f"sum ({rate(sel, WINDOW)})", "rps")))
            .with_panel(_panel("Error ratio", "percentunit", (error_ratio(sel, WINDOW), "errors")))
            .with_panel(_panel("Latency p50 / p99", "ms", (latency(sel, 0.5, WINDOW), "p50"),
                               (latency(sel, 0.99, WINDOW), "p99"))))


def service_dashboard(service: topo.Service, topology: topo.Topology) -> dict[str, Any]:
    """All inbound traffic, then a row per inbound edge (server's view) and per outbound edge
    (the caller's view, which sees the failures the server never logs)."""
    name = service.name
    inbound = selector(reporter="destination", destination_service_name=name)
    board = (dashboard.Dashboard(f"Service {name}").uid(service_dashboard_uid(name)).tags(["mesh", "service"])
             .refresh("30s").time("now-1h", "now"))
    board = _edge_row(board, f"{name}: all inbound", inbound)
    for caller in topology.callers_of()[name]:
        board = _edge_row(board, f"inbound from {caller}", selector(
            reporter="destination", source_workload=caller, source_workload_namespace=caller,
            destination_service_name=name))
    for callee in service.calls:
        board = _edge_row(board, f"outbound to {callee}", selector(
            reporter="source", source_workload=name, source_workload_namespace=name, destination_service_name=callee))
    tcp = selector(reporter="destination", destination_service_name=name)
    board = (board.with_row(dashboard.Row("TCP"))
             .with_panel(_panel("Bytes received / sent", "Bps",
                                (f"sum (rate(istio_tcp_received_bytes_total{{{tcp}}}[{WINDOW}]))", "received"),
                                (f"sum (rate(istio_tcp_sent_bytes_total{{{tcp}}}[{WINDOW}]))", "sent"))))
    return _build(board)


def control_plane() -> dict[str, Any]:
    """istiod: config pushes, connected proxies, rejected config, sidecar injection."""
    # Ref: https://istio.io/latest/docs/reference/commands/pilot-discovery/#metrics
    board = (dashboard.Dashboard("Istio control plane").uid("mesh-control-plane").tags(["mesh", "istio"])
             .refresh("30s").time("now-1h", "now")
             .with_panel(_panel("xDS pushes per second", "ops", (f"sum by (type) (rate(pilot_xds_pushes[{WINDOW}]))",
                                                                 "{{type}}")))
             .with_panel(_panel("Connected proxies", "short", ("sum by (version) (pilot_xds)", "{{version}}")))
             .with_panel(_panel("Rejected config", "short", ("sum by (type) (pilot_total_xds_rejects)", "{{type}}")))
             .with_panel(_panel("Sidecar injections per second", "ops",
                                (f"sum (rate(sidecar_injection_success_total[{WINDOW}]))", "success"),
                                (f"sum (rate(sidecar_injection_failure_total[{WINDOW}]))", "failure"))))
    return _build(board)


def all_dashboards(topology: topo.Topology) -> dict[str, dict[str, Any]]:
    """File name (without .json) -> dashboard JSON, for every dashboard the program ships."""
    boards = {"mesh-overview": mesh_overview(topology), "mesh-control-plane": control_plane()}
    boards |= {service_dashboard_uid(s.name): service_dashboard(s, topology) for s in topology.services}
    return boards


def queries(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard (the tests parse each with promtool)."""
    return [t["expr"] for p in board.get("panels", []) for t in p.get("targets", []) if "expr" in t]
