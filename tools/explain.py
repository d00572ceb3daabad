"""`make explain`: a change in mesh terms, from two evaluations of the program (no cluster needed).

    python -m tools.explain [--base REF]    # default: the merge base with main

Evaluates the program at BASE (a git worktree) and in the working tree, per stack, under the mock
engine, and prints Markdown: call-graph edges per layer, mTLS, workloads that roll and why,
exposure, telemetry, charts, CRDs and replacements, policy violations introduced or fixed.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from components.vocab import istio_releases as releases
from tools.engine import ROOT, STACKS
from tools.explain_facts import Facts, facts


def _show(value: Any) -> Any:
    """Numbers as people write them (the wire format carries 100 as 100.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _changes(label: str, before: Any, after: Any) -> list[str]:
    return [] if before == after else [f"{label}: `{_show(before)}` → `{_show(after)}`"]


def _set_lines(what: str, before: set[Any], after: set[Any], fmt: Any = str) -> list[str]:
    out = [f"{what} added: {fmt(x)}" for x in sorted(after - before)]
    return out + [f"{what} removed: {fmt(x)}" for x in sorted(before - after)]


def _edge(e: tuple[str, str, str]) -> str:
    return f"{e[0]} → {e[1]} ({e[2]})" if e[2] else f"{e[0]} → {e[1]}"


def _pairs(edges: set[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """(source, destination) of each edge, ports dropped."""
    return {(s, d) for s, d, _ in edges}


def edges_section(a: Facts, b: Facts) -> list[str]:
    out = []
    for layer, before, after in (("AuthorizationPolicy", a.authz_edges, b.authz_edges),
                                 ("NetworkPolicy", a.netpol_edges, b.netpol_edges)):
        out += [f"{layer}: newly allowed {_edge(e)}" for e in sorted(after - before)]
        out += [f"{layer}: newly denied {_edge(e)}" for e in sorted(before - after)]
    disagree = _pairs(b.authz_edges) ^ _pairs(b.netpol_edges)
    out += [f"layers disagree: {s} → {d} is allowed by "
            f"{'AuthorizationPolicy' if (s, d) in _pairs(b.authz_edges) else 'NetworkPolicy'} only"
            for s, d in sorted(disagree)]
    return out


def mermaid(a: Facts, b: Facts) -> str:
    """The new call graph; added edges thick, removed edges dotted."""
    before, after = _pairs(a.authz_edges), _pairs(b.authz_edges)
    lines = ["flowchart LR"]
    lines += [f"  {s} ==>|added| {d}" if (s, d) not in before else f"  {s} --> {d}" for s, d in sorted(after)]
    lines += [f"  {s} -.->|removed| {d}" for s, d in sorted(before - after)]
    return "\n".join(lines).replace("istio-ingress", "ingress")


def rolls_section(a: Facts, b: Facts) -> list[str]:
    rolled = {n: why for n, why in b.pod_templates.items() if n in a.pod_templates and a.pod_templates[n] != why}
    out = []
    for name in sorted(rolled):
        reasons = [k for k in sorted(set(rolled[name]) | set(a.pod_templates[name]))
                   if rolled[name].get(k) != a.pod_templates[name].get(k)]
        out.append(f"{name} rolls: {', '.join(reasons)} changed")
    return out or ["no workload restarts"]


def istio_notes(before: str | None, after: str | None) -> list[str]:
    """What to read before an Istio version change: the upgrade notes of a new minor, else the release notes."""
    if not after or before == after:
        return []
    if before and releases.minor(before) == releases.minor(after):
        return [f"Istio {before} → {after}: release notes {releases.release_notes(after)}"]
    return [f"Istio {before or 'none'} → {after}: read the upgrade notes first {releases.upgrade_notes(after)}"]


def section(title: str, lines: list[str]) -> list[str]:
    return [f"### {title}", *[f"- {line}" for line in lines], ""] if lines else []


def report_stack(stack: str, base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    if base.get("error") or head.get("error"):
        return [f"## {stack}", f"- base: {base.get('error') or 'ok'}", f"- head: {head.get('error') or 'ok'}", ""]
    a, b = facts(stack, base), facts(stack, head)
    sections = [
        ("Call graph", edges_section(a, b)),
        ("mTLS", [line for key in sorted(set(a.mtls) | set(b.mtls))
                  for line in _changes(f"{key}", a.mtls.get(key, "none"), b.mtls.get(key, "none"))]),
        ("Exposure", _set_lines("public host", a.hosts, b.hosts) + _set_lines("route", a.routes, b.routes)
         + [line for key in sorted(set(a.access) | set(b.access))
            for line in _changes(key, a.access.get(key), b.access.get(key))]),
        ("Telemetry", [line for key in sorted(set(a.telemetry) | set(b.telemetry))
                       for line in _changes(key, a.telemetry.get(key), b.telemetry.get(key))]),
        ("Charts and CRDs", [line for key in sorted(set(a.charts) | set(b.charts))
                             for line in _changes(f"chart {key}", a.charts.get(key, "none"), b.charts.get(key, "none"))]
         + (["CRDs change (the istio-base chart moves)"] if a.charts.get("istio-base") != b.charts.get("istio-base")
            else [])
         + istio_notes(a.charts.get("istiod"), b.charts.get("istiod"))),
        ("Created, deleted, replaced (Kubernetes cannot change some fields in place)",
         [f"{name}: {fld.split('=', 1)[0]} changes, so it is deleted and recreated"
          for name, fld in sorted(b.immutable - a.immutable) if name in {n for n, _ in a.immutable}]
         + [f"{r} is created" for r in sorted(b.resources - a.resources)]
         + [f"{r} is deleted" for r in sorted(a.resources - b.resources)]),
        ("Policy", [f"violation introduced: {v}" for v in sorted(b.violations - a.violations)]
         + [f"violation fixed: {v}" for v in sorted(a.violations - b.violations)]),
    ]
    mesh = [line for title, lines in sections for line in section(title, lines)]
    restarts = rolls_section(a, b)
    if not mesh and restarts == ["no workload restarts"]:
        return [f"## {stack}", "No mesh-level consequence: no edge, mTLS, exposure, telemetry, chart, replacement "
                               "or policy change, and no workload restarts.", ""]
    out = [f"## {stack}", *section("Restarts", restarts), *mesh]
    if a.authz_edges != b.authz_edges:
        out += ["```mermaid", mermaid(a, b), "```", ""]
    return out


def report(base: dict[str, Any], head: dict[str, Any], stacks: Iterable[str] = STACKS) -> str:
    lines = ["<!-- mesh-explain -->", "# What this change does to the mesh", ""]
    for stack in stacks:
        lines += report_stack(stack, base.get(stack, {"error": "stack missing"}),
                              head.get(stack, {"error": "stack missing"}))
    return "\n".join(lines).rstrip() + "\n"


def _snapshot(root: Path) -> dict[str, Any]:
    script = Path(__file__).with_name("snapshot.py")
    out = subprocess.run([sys.executable, str(script), "--root", str(root)], capture_output=True, text=True,
                         check=True, cwd=root)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def merge_base() -> str:
    for ref in ("origin/main", "main"):
        found = subprocess.run(["git", "merge-base", "HEAD", ref], capture_output=True, text=True, cwd=ROOT)
        if found.returncode == 0:
            return found.stdout.strip()
    return "HEAD"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="git ref to compare with (default: the merge base with main)")
    args = parser.parse_args(argv)
    base_ref = args.base or merge_base()
    if not re.fullmatch(r"[\w./~^@{}-]+", base_ref):
        print(f"not a git ref: {base_ref!r}")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "base"
        added = subprocess.run(["git", "worktree", "add", "--detach", str(worktree), base_ref], cwd=ROOT,
                               capture_output=True, text=True)
        if added.returncode != 0:
            print(f"explain: cannot check out {base_ref!r}: {(added.stderr.strip().splitlines() or ['git failed'])[-1]}",
                  file=sys.stderr)
            return 2
        try:
            base = _snapshot(worktree)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, capture_output=True)
    head = _snapshot(ROOT)
    print(report(base, head))
    broken = {stack: s["error"] for stack, s in head.items() if s.get("error")}
    for stack, error in broken.items():
        print(f"explain: stack {stack} does not evaluate: {error.splitlines()[0]}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
