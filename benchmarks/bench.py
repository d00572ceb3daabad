"""Benchmark: evaluation cost, scaling with the number of services, and the blast radius of a change.

    make bench                       # everything: both tables, results.json, results.png
    python benchmarks/bench.py --one program 200   # one measurement (used internally, in a subprocess)

Every measurement runs the real __main__.py under Pulumi's mock engine (tools/engine.py) in a
fresh subprocess, so imports and caches of one run never help another. The floor is a trivial
program that registers the same number of plain resources (ConfigMaps) through the same SDK and
engine. Timings are medians of REPEATS runs. The script exits 1 when a change touches more than
its expected set of resources.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from tools import perf_tables  # noqa: E402
from tools.engine import STACKS  # noqa: E402
from tools.perf_tables import machine  # noqa: E402

SIZES = (6, 50, 200, 500)
REPEATS = 3


# ----------------------------------------------------------------------------------- workloads
def run_program(n: int | None, stack: str) -> int:
    from tools.engine import evaluate
    from tools.synthetic import synthetic_topology

    patch = {"topology": synthetic_topology(n)} if n else {}
    return len(evaluate(stack, patch).resources)


def run_floor(count: int) -> int:
    """Register `count` plain ConfigMaps through the same SDK and mock engine."""
    import contextvars

    import pulumi
    import pulumi_kubernetes as k8s

    from tools.engine import RecordingMocks, RecordingMonitor

    def program() -> int:
        mocks = RecordingMocks()
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project="floor", stack="floor", preview=False, monitor=monitor)

        @pulumi.runtime.test
        def body():
            for i in range(count):
                k8s.core.v1.ConfigMap(f"cm-{i}", metadata={"name": f"cm-{i}", "namespace": "default"},
                                      data={"key": "value"})

        body()
        return len(monitor.records)

    return contextvars.Context().run(program)


def own_share(n: int | None, stack: str) -> float:
    """Share of evaluation time spent in this project's own code (components/, __main__.py), by
    cProfile self-time; the rest is the Pulumi SDK (serialization, asyncio) and the mock engine."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    run_program(n, stack)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(v[2] for v in stats.values())
    own = sum(v[2] for (path, _, _), v in stats.items()
              if path.startswith(str(ROOT / "components")) or path == str(ROOT / "__main__.py"))
    return own / total


def measure_one(kind: str, arg: str, trace: bool) -> dict[str, Any]:
    """One measurement in this process: wall seconds, or (trace) the tracemalloc peak."""
    # Import cost is not evaluation cost: load every module either side uses before the clock starts.
    import importlib

    for module in ("tools.engine", "pulumi_random", "pulumi_kubernetes.core.v1", "pulumi_kubernetes.apps.v1",
                   "pulumi_kubernetes.policy.v1", "pulumi_kubernetes.networking.v1", "pulumi_kubernetes.autoscaling.v2",
                   "pulumi_kubernetes.apiextensions", "pulumi_kubernetes.helm.v4", "components.config.loading",
                   "components.resources.istio", "components.resources.ingress", "components.resources.microservice",
                   "components.resources.observability.stack"):
        importlib.import_module(module)

    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    if kind == "program":
        count = run_program(int(arg), "dev")
    elif kind == "stack":
        count = run_program(None, arg)
    elif kind == "share":
        stack = arg if arg in STACKS else "dev"
        return {"share": own_share(None if arg == stack else int(arg), stack)}
    else:
        count = run_floor(int(arg))
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    return {"seconds": seconds, "peak_mib": peak, "resources": count}


def measure(kind: str, arg: Any, memory: bool = True) -> dict[str, Any]:
    """Median wall time of REPEATS fresh processes (no tracing), plus one traced run for memory."""
    def run(trace: bool) -> dict[str, Any]:
        cmd = [sys.executable, __file__, "--one", kind, str(arg)] + (["--trace"] if trace else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
        return json.loads(out.stdout.strip().splitlines()[-1])

    runs = [run(False) for _ in range(REPEATS)]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mib": run(True)["peak_mib"] if memory else None,
        "resources": runs[0]["resources"],
    }


# ----------------------------------------------------------------------------------- blast radius
def blast_radius() -> list[dict[str, Any]]:
    """Each change in `tools.blast.CHANGES`, evaluated against its stack's baseline."""
    from tools.blast import CHANGES, measure_change

    rows = []
    for name in CHANGES:
        row = measure_change(name)
        rows.append({"change": name, "changed": sorted(row.changed), "rolled": sorted(row.rolled),
                     "expected": sorted(row.expected), "expected_rolls": sorted(row.expected_rolls), "ok": row.ok})
    return rows


# ----------------------------------------------------------------------------------- report
def plot(scaling: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [r["n"] for r in scaling]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(ns, [r["program"]["seconds"] for r in scaling], "o-", label="program")
    ax1.plot(ns, [r["floor"]["seconds"] for r in scaling], "s--", label="floor (same count of ConfigMaps)")
    ax1.set(xlabel="services", ylabel="wall time (s)", title="Evaluation time")
    ax2.plot(ns, [r["program"]["peak_mib"] for r in scaling], "o-", label="program")
    ax2.plot(ns, [r["floor"]["peak_mib"] for r in scaling], "s--", label="floor")
    ax2.set(xlabel="services", ylabel="Python heap peak (MiB, tracemalloc)", title="Peak memory")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(write: bool = False) -> int:
    print(f"machine: {machine()}")
    print(f"method: median of {REPEATS} fresh subprocesses per point; mock engine; tracemalloc peak")
    stacks = {}
    for stack in STACKS:
        prog = measure("stack", stack)
        floor = measure("floor", prog["resources"])
        share = measure_one("share", stack, trace=False)["share"]
        stacks[stack] = {"program": prog, "floor": floor, "own_share": share,
                         "ratio": prog["seconds"] / floor["seconds"]}

    scaling = []
    for n in SIZES:
        prog = measure("program", n)
        floor = measure("floor", prog["resources"])
        share = measure_one("share", str(n), trace=False)["share"]
        scaling.append({"n": n, "program": prog, "floor": floor, "own_share": share,
                        "ratio": prog["seconds"] / floor["seconds"]})

    from tools.engine import evaluate
    from tools.waits import longest_wait_chain

    waits = {stack: longest_wait_chain(evaluate(stack)) for stack in STACKS}
    explain_runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tools.explain", "--base", "HEAD"], cwd=ROOT, check=True,
                       capture_output=True)
        explain_runs.append(time.perf_counter() - start)
    explain_s = statistics.median(explain_runs)
    rows = blast_radius()
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "stacks": stacks, "scaling": scaling,
               "blast_radius": rows, "readiness_waits": waits, "explain_seconds": explain_s}
    for table in (perf_tables.stacks, perf_tables.scaling, perf_tables.waits, perf_tables.blast):
        print("\n" + table(results))
    print(f"\n`make explain` (three stacks): median {explain_s:.1f} s of {REPEATS}")

    out = ROOT / "benchmarks"
    if not write:
        print("\n(results not written: `make bench WRITE=1` updates benchmarks/results.json and results.png)")
        return 0 if all(r["ok"] for r in rows) else 1
    kept = {k: v for k, v in json.loads((out / "results.json").read_text()).items() if k == "e2e_local"}
    (out / "results.json").write_text(json.dumps({**results, **kept}, indent=2) + "\n")
    plot(scaling, out / "results.png")
    print(f"\nwrote {out / 'results.json'} and {out / 'results.png'}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", nargs=2, metavar=("KIND", "ARG"),
                        help="one measurement: program N | stack S | floor COUNT | share N|S")
    parser.add_argument("--trace", action="store_true", help="with --one: measure the tracemalloc peak")
    parser.add_argument("--write", action="store_true", help="update benchmarks/results.json and results.png")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(*args.one, trace=args.trace)))
        sys.exit(0)
    sys.exit(main(write=args.write))
