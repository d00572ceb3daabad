"""SLO rules from the call graph: promtool checks every rule file and unit-tests every alert
(synthetic series make each fire; a healthy series keeps them silent)."""

import subprocess

import pytest
import yaml
from test_dashboards import promtool

from components.builders import slo
from components.config.loading import parse_stack_config
from components.plan import Objective, objective
from tools.engine import evaluate, merge, stack_config

DB_5XX = 'istio_requests_total{reporter="destination",destination_service_name="db",response_code="%s"}'
DB_GRPC = ('istio_requests_total{reporter="destination",destination_service_name="db",response_code="200",'
           'grpc_response_status="%s"}')
EDGE = ('istio_requests_total{reporter="source",source_workload="customer",destination_service_name="db",'
        'response_code="%s"}')
BUCKET = 'istio_request_duration_milliseconds_bucket{reporter="destination",destination_service_name="db",le="%s"}'


@pytest.fixture(scope="module")
def rule_dir(tmp_path_factory, prod):
    """The rule files exactly as the prod stack hands them to the Prometheus chart."""
    files = prod.charts()["prometheus"].inputs["values"]["serverFiles"]
    path = tmp_path_factory.mktemp("rules")
    for name, content in files.items():
        (path / name).write_text(yaml.safe_dump(content))
    return path


def _burn_alerts(prod_rules, name, match, series_labels):
    """Expected alerts: the rules named `name` whose labels include `match`, with the series' labels."""
    return [{"exp_labels": rule["labels"] | series_labels, "exp_annotations": rule["annotations"]}
            for rule in prod_rules
            if rule.get("alert") == name and all(rule["labels"].get(k) == v for k, v in match.items())]


def _promtool_test(rule_dir, tests):
    doc = {"rule_files": ["recording_rules.yml", "alerting_rules.yml"], "evaluation_interval": "1m", "tests": tests}
    (rule_dir / "tests.yml").write_text(yaml.safe_dump(doc))
    return subprocess.run([promtool(), "test", "rules", str(rule_dir / "tests.yml")],
                          capture_output=True, text=True, timeout=300)


def test_promtool_checks_every_rule_file(rule_dir):
    for name in ("recording_rules.yml", "alerting_rules.yml"):
        result = subprocess.run([promtool(), "check", "rules", str(rule_dir / name)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_and_edge_has_its_alerts(prod):
    groups = prod.charts()["prometheus"].inputs["values"]["serverFiles"]["alerting_rules.yml"]["groups"]
    rules = groups[0]["rules"]
    services = {r["labels"]["service"] for r in rules if r["alert"] == "ServiceErrorBudgetBurn"}
    edges = {(r["labels"]["caller"], r["labels"]["service"]) for r in rules if r["alert"] == "EdgeErrorBudgetBurn"}
    assert services == {"gateway", "authority", "catalog", "customer", "item", "db"}
    assert edges == {("gateway", "authority"), ("gateway", "catalog"), ("authority", "customer"),
                     ("catalog", "customer"), ("catalog", "item"), ("customer", "db"), ("item", "db")}
    assert {r["alert"] for r in rules} == {"ServiceErrorBudgetBurn", "ServiceLatencyP99High", "EdgeErrorBudgetBurn"}


def _alerting_rules(rule_dir):
    return yaml.safe_load((rule_dir / "alerting_rules.yml").read_text())["groups"][0]["rules"]


@pytest.mark.parametrize("failing", [DB_5XX % "503", DB_GRPC % "14"], ids=["http-5xx", "grpc-unavailable"])
def test_a_failing_service_fires_every_burn_window_and_a_healthy_one_stays_silent(rule_dir, failing):
    rules = _alerting_rules(rule_dir)
    expected = _burn_alerts(rules, "ServiceErrorBudgetBurn", {"service": "db"}, {"destination_service_name": "db"})
    assert len(expected) == 4  # two page windows, two ticket windows
    tests = [
        {"interval": "1m", "input_series": [{"series": DB_5XX % "200", "values": "0+100x120"},
                                            {"series": failing, "values": "0+50x120"}],
         "alert_rule_test": [{"eval_time": "70m", "alertname": "ServiceErrorBudgetBurn", "exp_alerts": expected}]},
        {"interval": "1m", "input_series": [{"series": DB_5XX % "200", "values": "0+100x120"},
                                            {"series": DB_GRPC % "0", "values": "0+100x120"}],
         "alert_rule_test": [{"eval_time": "70m", "alertname": a, "exp_alerts": []}
                             for a in ("ServiceErrorBudgetBurn", "EdgeErrorBudgetBurn", "ServiceLatencyP99High")]},
    ]
    result = _promtool_test(rule_dir, tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_caller_seeing_errors_fires_the_edge_alert(rule_dir):
    rules = _alerting_rules(rule_dir)
    expected = _burn_alerts(rules, "EdgeErrorBudgetBurn", {"service": "db", "caller": "customer"},
                            {"source_workload": "customer", "destination_service_name": "db"})
    assert len(expected) == 4
    tests = [{"interval": "1m", "input_series": [{"series": EDGE % "200", "values": "0+100x120"},
                                                 {"series": EDGE % "500", "values": "0+10x120"}],
              "alert_rule_test": [{"eval_time": "70m", "alertname": "EdgeErrorBudgetBurn", "exp_alerts": expected}]}]
    result = _promtool_test(rule_dir, tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_slow_responses_fire_the_latency_alert_after_ten_minutes(rule_dir):
    rules = _alerting_rules(rule_dir)
    (rule,) = [r for r in rules if r["alert"] == "ServiceLatencyP99High" and r["labels"]["service"] == "db"]
    series = [{"series": BUCKET % le, "values": v} for le, v in
              (("100", "0+0x60"), ("500", "0+0x60"), ("1000", "0+100x60"), ("+Inf", "0+100x60"))]
    expected = [{"exp_labels": rule["labels"] | {"destination_service_name": "db"},
                 "exp_annotations": rule["annotations"]}]
    tests = [{"interval": "1m", "input_series": series,
              "alert_rule_test": [{"eval_time": "8m", "alertname": "ServiceLatencyP99High", "exp_alerts": []},
                                  {"eval_time": "20m", "alertname": "ServiceLatencyP99High", "exp_alerts": expected}]}]
    result = _promtool_test(rule_dir, tests)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("patch,service,expected", [
    ({}, "db", Objective(99.9, 300)),
    ({"workloads": {"slo": {"availability": 99.5}}}, "db", Objective(99.5, 300)),
    ({"workloads": {"slo": {"availability": 99.5}, "services": {"db": {"slo": {"latencyP99Ms": 50}}}}}, "db",
     Objective(99.5, 50)),
    ({"workloads": {"services": {"db": {"slo": {"availability": 99.99}}}}}, "item", Objective(99.9, 300)),
])
def test_objectives_layer_service_over_stack_over_environment(patch, service, expected):
    cfg = parse_stack_config("prod", merge(stack_config("prod"), patch))
    assert objective(cfg, service) == expected


def test_environment_defaults():
    assert objective(parse_stack_config("dev", stack_config("dev")), "db") == Objective(99.0, 1000)
    assert objective(parse_stack_config("staging", stack_config("staging")), "db") == Objective(99.5, 500)


def test_burn_thresholds_follow_the_workbook():
    rules = slo.alerting_rules(evaluate_topology(), {s: Objective(99.9, 300) for s in
                                                     ("gateway", "authority", "catalog", "customer", "item", "db")})
    page = next(r for r in rules if r["alert"] == "ServiceErrorBudgetBurn" and r["labels"]["long_window"] == "1h")
    assert "> 0.0144 and" in page["expr"] and page["expr"].endswith("> 0.0144")


def evaluate_topology():
    from components.vocab.topology import MERCARI

    return MERCARI


def test_alertmanager_is_off_in_dev_and_routes_to_a_secret_webhook_elsewhere():
    assert evaluate("dev").charts()["prometheus"].inputs["values"]["alertmanager"] == {"enabled": False}
    patch = {"observability": {"prometheus": {"alertmanager": {"webhookUrl": "https://hooks.example.com/T0/B0/x"}}}}
    ev = evaluate("prod", patch, secret=("observability",))
    chart = ev.charts()["prometheus"]
    am = chart.inputs["values"]["alertmanager"]
    assert am["enabled"] is True and am["config"]["route"]["receiver"] == "mesh"
    # The URL reaches Alertmanager as a file from a Secret (test_config_hostile checks that Secret).
    assert am["config"]["receivers"][0]["webhook_configs"][0]["url_file"] == "/etc/alertmanager/webhook/url"
    # Restricted pod security like every other pod (the pack refuses the subchart's defaults).
    assert am["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert am["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_service_of_every_stack_has_its_dashboard_and_alerts(stack):
    ev = evaluate(stack)
    services = {"gateway", "authority", "catalog", "customer", "item", "db"}
    maps = {m.inputs["metadata"]["name"] for m in ev.of_type("kubernetes:core/v1:ConfigMap")}
    assert {f"grafana-dashboard-mesh-service-{s}" for s in services} <= maps
    files = ev.charts()["prometheus"].inputs["values"]["serverFiles"]
    alerts = files["alerting_rules.yml"]["groups"][0]["rules"]
    assert {r["labels"]["service"] for r in alerts if r["alert"] == "ServiceErrorBudgetBurn"} == services
    assert {r["labels"]["service"] for r in alerts if r["alert"] == "ServiceLatencyP99High"} == services
