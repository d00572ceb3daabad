"""The Makefile as a newcomer meets it: `make up` names every missing tool at once, `make help` lists
every target and variable, and nothing make creates is left for git to see."""

import os
import re
import shutil
import subprocess

from tools.engine import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()


def _bare_path(tmp_path, *tools):
    """A PATH holding only `tools` (and the shell make needs), so every other tool is 'missing'."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "sh", "make", *tools):
        os.symlink(shutil.which(tool), bindir / tool)
    return str(bindir)


def test_make_up_names_every_missing_tool_before_doing_anything(tmp_path):
    env = {"PATH": _bare_path(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(["make", "-C", str(ROOT), "up", "PYTHON=python3"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    for tool in ("Pulumi CLI", "kubectl", "Docker", "kind (or curl to fetch it)", "python3"):
        assert f"missing: {tool}" in out, out
    assert "curl -fsSL" not in out.split("missing: Pulumi CLI")[0]  # nothing ran before the check


def test_a_running_docker_is_checked_not_just_its_client(tmp_path):
    bindir = _bare_path(tmp_path)
    fake = tmp_path / "bin" / "docker"
    fake.write_text("#!/bin/sh\nexit 1\n")  # a client without a daemon: `docker info` fails
    fake.chmod(0o755)
    result = subprocess.run(["make", "-C", str(ROOT), "prereqs"], capture_output=True, text=True,
                            env={"PATH": bindir, "HOME": str(tmp_path)}, timeout=60)
    assert "missing: a running Docker daemon" in result.stdout


def test_help_lists_every_target_and_variable():
    help_text = subprocess.run(["make", "-s", "-C", str(ROOT), "help"], capture_output=True, text=True).stdout
    phony = re.search(r"^\.PHONY:(.*?)(?<!\\)$", MAKEFILE, re.M | re.S).group(1).replace("\\", " ").split()
    internal = {"help", "prereqs", "cluster-if-missing", "cluster-delete", "stack-select", "promtool", "venv"}
    for target in set(phony) - internal:
        assert f"make {target}" in help_text, target
    for variable in ("STACK=", "YES=1", "CHARTS_DIR", "BASE", "WRITE=1"):
        assert variable in help_text


def test_gitignore_covers_what_make_creates():
    ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index", ".venv-test/x", ".venv-scan/x",
                              ".npm-tools/x", "policy/venv/x", "bin/kind", ".kind.yaml", "rendered/dev/x.yaml",
                              "mutants/x", "stacks/Pulumi.prod-render.yaml", ".pulumi-state/x", ".cache/e2e/bin/etcd",
                              "stacks/Pulumi.e2e.yaml", "stacks/Pulumi.e2e-prod.yaml"],
                             capture_output=True, text=True)
    assert len(ignored.stdout.split()) == 13, ignored.stdout


def test_the_tools_package_describes_every_module():
    import tools

    modules = sorted(p.stem for p in (ROOT / "tools").glob("*.py") if p.stem != "__init__")
    assert [m for m in modules if f"`{m}`" not in (tools.__doc__ or "")] == []
    assert not (ROOT / "components" / "offline").exists()  # the program's package holds only what `up` runs
