"""The README's performance tables, made from `benchmarks/results.json` (pure): `make bench` prints
them as it measures, `make docs` writes them into the README, so no figure is typed by hand."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any

Results = dict[str, Any]


def machine() -> str:
    """What a measurement ran on: CPU model, cores, memory, Python, OS."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def stacks(results: Results) -> str:
    rows = ["| stack | resources | program s | floor s | program/floor | own code share | program peak MiB | "
            "floor peak MiB |", "|---|---|---|---|---|---|---|---|"]
    for name, r in results["stacks"].items():
        rows.append(f"| {name} | {r['program']['resources']} | {r['program']['seconds']:.3f} | "
                    f"{r['floor']['seconds']:.3f} | {r['ratio']:.2f} | {100 * r['own_share']:.1f}% | "
                    f"{r['program']['peak_mib']:.1f} | {r['floor']['peak_mib']:.1f} |")
    return "\n".join(rows)


def scaling(results: Results) -> str:
    rows = ["| services | resources | program s | floor s | program/floor | own code share | ms per added service | "
            "floor ms per added resource | peak MiB |", "|---|---|---|---|---|---|---|---|---|"]
    points = results["scaling"]
    for prev, r in zip([None, *points], points, strict=False):  # pairs of (previous, current)
        per = floor_per = ""
        if prev is not None:
            per = f"{1000 * (r['program']['seconds'] - prev['program']['seconds']) / (r['n'] - prev['n']):.1f}"
            added = r["floor"]["resources"] - prev["floor"]["resources"]
            floor_per = f"{1000 * (r['floor']['seconds'] - prev['floor']['seconds']) / added:.2f}"
        rows.append(f"| {r['n']} | {r['program']['resources']} | {r['program']['seconds']:.2f} | "
                    f"{r['floor']['seconds']:.2f} | {r['ratio']:.2f} | {100 * r['own_share']:.1f}% | {per} | "
                    f"{floor_per} | {r['program']['peak_mib']:.1f} |")
    return "\n".join(rows)


def waits(results: Results) -> str:
    rows = ["| stack | serial readiness waits on the longest path of `pulumi up` |", "|---|---|"]
    rows += [f"| {stack} | {len(chain)}: {' → '.join(chain)} |" for stack, chain in results["readiness_waits"].items()]
    return "\n".join(rows)


def blast(results: Results) -> str:
    rows = ["| change | resources changed | Deployments rolled | within expected set |", "|---|---|---|---|"]
    rows += [f"| {r['change']} | {len(r['changed'])}: {', '.join(r['changed'])} | {len(r['rolled'])} | "
             f"{'yes' if r['ok'] else 'NO (expected ' + ', '.join(r['expected']) + ')'} |"
             for r in results["blast_radius"]]
    return "\n".join(rows)


E2E_STEPS = (("up", "first `pulumi up`, empty cluster"), ("preview-no-op", "no-op `pulumi preview`"),
             ("up-again", "second `pulumi up`, nothing changed"), ("destroy", "`pulumi destroy`"))


def e2e(results: Results) -> str:
    """The real engine's timings beside the floor measured in the same run (`make e2e-local WRITE=1`)."""
    run = results.get("e2e_local")
    if not run:
        return "(no recorded run: `make e2e-local CHARTS_DIR=... WRITE=1` records one)"
    t = run["timings_s"]
    floor = {"up": "floor-up", "preview-no-op": "floor-preview", "up-again": "floor-up-again",
             "destroy": "floor-destroy"}
    rows = [f"Measured {run.get('date', '?')} on {run.get('machine', '?')}: {run['checks']} checks, "
            f"{run['failed']} failed. The floor registers {t.get('floor-resources', '?')} ConfigMaps (as many "
            "resources as the stack) through the same CLI, language host and provider.", "",
            "| operation | mesh stack s | floor s | stack/floor |", "|---|---|---|---|"]
    for key, label in E2E_STEPS:
        if key in t and floor[key] in t:
            rows.append(f"| {label} | {t[key]:.1f} | {t[floor[key]]:.1f} | {t[key] / t[floor[key]]:.1f} |")
    rows.append(f"| control plane start (etcd, API server, controllers, kwok) | {t.get('control-plane', 0):.1f} | | |")
    return "\n".join(rows)


def header(results: Results) -> str:
    return f"Measured {results['date']} on {results['machine']}."
