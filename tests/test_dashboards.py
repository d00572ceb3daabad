"""Dashboards from the call graph: every service and every edge has panels; every query is PromQL."""

import json
import shutil
import subprocess

import pytest
import yaml

from components.builders import dashboards as d
from components.builders import promql
from components.vocab.topology import MERCARI, Topology
from tools.synthetic import synthetic_topology


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: `apt-get install prometheus` (Debian) — make test and .ci/run install it")
    return path


def check_promql(exprs: list[str], tmp_path) -> subprocess.CompletedProcess:
    """promtool parses each expression as a recording rule."""
    rules = {"groups": [{"name": "parse", "rules": [{"record": f"q:{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump(rules))
    return subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=120)


def test_every_dashboard_query_is_valid_promql(tmp_path):
    exprs = [q for board in d.all_dashboards(MERCARI).values() for q in d.queries(board)]
    assert len(exprs) > 80
    result = check_promql(exprs, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_catches_a_typo(tmp_path):
    result = check_promql(["sum(rate(istio_requests_total[5m])"], tmp_path)
    assert result.returncode != 0


def _rows(board):
    return [p["title"] for p in board["panels"] if p["type"] == "row"]


@pytest.mark.parametrize("service", MERCARI.services, ids=lambda s: s.name)
def test_a_row_per_inbound_and_outbound_edge(service):
    board = d.service_dashboard(service, MERCARI)
    callers = MERCARI.callers_of()[service.name]
    assert _rows(board) == [f"{service.name}: all inbound", *[f"inbound from {c}" for c in callers],
                            *[f"outbound to {c}" for c in service.calls], "TCP"]
    assert board["uid"] == f"mesh-service-{service.name}" and board["title"] == f"Service {service.name}"


def test_edges_use_the_right_reporter():
    board = d.service_dashboard(MERCARI.services[2], MERCARI)  # catalog: called by gateway, calls customer and item
    exprs = d.queries(board)
    assert any('reporter="destination",source_workload="gateway"' in e for e in exprs)
    assert any('reporter="source",source_workload="catalog",source_workload_namespace="catalog",'
               'destination_service_name="item"' in e for e in exprs)


def test_errors_count_http_5xx_and_grpc_non_ok():
    expr = promql.error_ratio('reporter="destination"', d.WINDOW)
    assert 'response_code=~"5.."' in expr and 'grpc_response_status!~"0|"' in expr and " or " in expr


def test_every_panel_queries_the_datasource_by_uid():
    for board in d.all_dashboards(MERCARI).values():
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": d.DATASOURCE_UID}
                assert all(t["refId"] for t in panel["targets"])


def test_adding_a_service_adds_its_dashboard_and_nothing_else_changes():
    bigger = Topology.model_validate(synthetic_topology(8))
    boards = d.all_dashboards(bigger)
    assert set(boards) == {"mesh-overview", "mesh-control-plane"} | {f"mesh-service-{s.name}" for s in bigger.services}
    assert json.dumps(d.control_plane()) == json.dumps(boards["mesh-control-plane"])
