"""Derive the mercari services' ports, protocols and calls from their code at a commit, and compare
them with `components.vocab.topology.MERCARI` (run it when the pinned commit moves).

Reads a git checkout (or bare mirror) with `git grep` at the commit: a service serves what its
`main.go` passes to `http.RunServer(ctx, N)` / `grpc.RunServer(ctx, N, ...)`, and calls each
`<name>.<name>.svc.cluster.local:<port>` its code dials. Exit 0 when the topology matches, 1 with one
line per difference, 2 on a bad checkout or commit.

    python -m tools.mercari_topology <checkout> <commit>
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from components.vocab.topology import MERCARI, Topology

_SERVE = re.compile(r"^(?P<file>(?:services|platform)/(?P<svc>[a-z0-9-]+)/main\.go):\d+:.*\b(?P<proto>http|grpc)"
                    r"\.RunServer\(ctx, (?P<port>\d+)")
_DIAL = re.compile(r"^(?:services|platform)/(?P<svc>[a-z0-9-]+)/.*\.go:\d+:.*\"(?P<callee>[a-z0-9-]+)\.[a-z0-9-]+"
                   r"\.svc\.cluster\.local:(?P<port>\d+)\"")


def _grep(checkout: Path, commit: str, pattern: str) -> list[str]:
    done = subprocess.run(["git", "-C", str(checkout), "grep", "-n", "-E", pattern, commit, "--", "*.go"],
                          capture_output=True, text=True, check=False)
    if done.returncode > 1:  # 1: no match
        raise ValueError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "git grep failed")
    return [line.split(":", 1)[1] for line in done.stdout.splitlines() if "_test.go:" not in line]


def derive(checkout: Path, commit: str) -> tuple[dict[str, set[tuple[str, int]]], dict[str, set[str]]]:
    """(service -> {(protocol, port)}, service -> {callee}) as the code at `commit` has them."""
    ports: dict[str, set[tuple[str, int]]] = {}
    calls: dict[str, set[str]] = {}
    for line in _grep(checkout, commit, r"(http|grpc)\.RunServer\(ctx, [0-9]+"):
        m = _SERVE.match(line)
        if m:
            ports.setdefault(m["svc"], set()).add((m["proto"], int(m["port"])))
    for line in _grep(checkout, commit, r"svc\.cluster\.local:[0-9]+"):
        m = _DIAL.match(line)
        if m and m["callee"] != m["svc"]:
            calls.setdefault(m["svc"], set()).add(m["callee"])
    return ports, calls


def differences(topology: Topology, ports: dict[str, set[tuple[str, int]]],
                calls: dict[str, set[str]]) -> list[str]:
    """One line per way `topology` differs from the derived ports and calls."""
    out = []
    declared = {s.name: s for s in topology.services}
    for name in sorted(set(declared) | set(ports)):
        have = {(p.protocol, p.port) for p in declared[name].ports} if name in declared else set()
        if have != ports.get(name, set()):
            out.append(f"{name}: the code serves {sorted(ports.get(name, set()))}, the topology declares {sorted(have)}")
        called = set(declared[name].calls) if name in declared else set()
        if called != calls.get(name, set()):
            out.append(f"{name}: the code calls {sorted(calls.get(name, set()))}, the topology declares {sorted(called)}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m tools.mercari_topology <checkout> <commit>")
        return 2
    try:
        found = differences(MERCARI, *derive(Path(args[0]), args[1]))
    except (ValueError, OSError) as err:
        print(f"mercari-topology: {err}")
        return 2
    for line in found:
        print(f"mercari-topology: {line}")
    print("mercari-topology: " + ("the topology matches the code" if not found else f"{len(found)} difference(s)"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
