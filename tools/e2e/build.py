#!/usr/bin/env python3
"""Build the upstream Go programs that the local end-to-end harness runs.

Every directory tools/e2e/modules/<name>/ holding a ``build.json`` is a small
wrapper Go module whose go.mod pins one upstream release. Its spec is::

    {"binaries": {"<output-name>": "<go package import path>", ...},
     "ldflags": "<string, may be empty>",
     "env": {"OPTIONAL": "extra env"},
     "prepare": [{"cmd": ["..."], "cwd": "...", "env": {}}],   # optional
     "overlay": {"<file the build reads>": "<file to use instead>"}}  # optional

Strings in "prepare" and "overlay" may use the placeholders {gen} (this
module's scratch dir <cache>/gen/<module>), {cache}, {bin}, {module} (the
wrapper dir) and {mod:<module path>} (that dependency's read-only directory
in the Go module cache). "prepare" runs before the first binary of a module
that needs building; "overlay" is passed to ``go build -overlay`` so that
generated files can stand in for files the module zip lacks, without
touching the module cache. A GOFLAGS entry in "env" is appended to the
inherited GOFLAGS instead of replacing it.

Binaries go to <cache>/bin, where <cache> is --cache, $E2E_CACHE or <repo>/.cache/e2e.
A binary is reused while it exists and <cache>/stamps/<module>.sha256 matches
the hash of the module's go.mod, go.sum, build.json and .go files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES_DIR = HERE / "modules"
REPO = HERE.parent.parent
# Modules named here build first, in this order; the rest follow by name.
ORDER = ["pulumi", "etcd", "kube", "kwok", "pulumi-resource-kubernetes", "istiod"]
ERROR_TAIL = 15


@dataclass
class Module:
    """One wrapper module and its parsed build.json."""

    name: str
    path: Path
    binaries: dict[str, str]
    ldflags: str = ""
    env: dict[str, str] = field(default_factory=dict)
    prepare: list[dict[str, object]] = field(default_factory=list)
    overlay: dict[str, str] = field(default_factory=dict)


def cache_dir() -> Path:
    """Return the cache root: $E2E_CACHE or <repo>/.cache/e2e."""
    env = os.environ.get("E2E_CACHE")
    return Path(env).resolve() if env else REPO / ".cache" / "e2e"


def load_modules() -> list[Module]:
    """Read every modules/*/build.json, in build order."""
    found: list[Module] = []
    for spec_file in sorted(MODULES_DIR.glob("*/build.json")):
        spec = json.loads(spec_file.read_text())
        found.append(
            Module(
                name=spec_file.parent.name,
                path=spec_file.parent,
                binaries=dict(spec["binaries"]),
                ldflags=str(spec.get("ldflags", "")),
                env={k: str(v) for k, v in spec.get("env", {}).items()},
                prepare=list(spec.get("prepare", [])),
                overlay=dict(spec.get("overlay", {})),
            )
        )
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda m: (rank.get(m.name, len(ORDER)), m.name))


def module_hash(mod: Module) -> str:
    """Hash go.mod, go.sum, build.json and every .go file of a module."""
    digest = hashlib.sha256()
    names = ["go.mod", "go.sum", "build.json"]
    files = [mod.path / n for n in names if (mod.path / n).is_file()]
    files += sorted(p for p in mod.path.rglob("*.go") if p.is_file())
    for f in files:
        digest.update(str(f.relative_to(mod.path)).encode() + b"\0")
        digest.update(f.read_bytes() + b"\0")
    return digest.hexdigest()


def build_env(mod: Module) -> dict[str, str]:
    """Return the process env for a module's go commands."""
    env = dict(os.environ)
    for key, value in mod.env.items():
        if key == "GOFLAGS" and env.get("GOFLAGS"):
            env[key] = f"{env['GOFLAGS']} {value}"
        else:
            env[key] = value
    return env


class Expander:
    """Expand {gen}, {cache}, {bin}, {module} and {mod:PATH} placeholders."""

    def __init__(self, mod: Module, cache: Path) -> None:
        self.mod = mod
        self.values = {
            "gen": str(cache / "gen" / mod.name),
            "cache": str(cache),
            "bin": str(cache / "bin"),
            "module": str(mod.path),
        }
        self.dirs: dict[str, str] = {}

    def module_dir(self, path: str) -> str:
        """Return a dependency's directory in the module cache (downloading it)."""
        if path not in self.dirs:
            out = subprocess.run(
                ["go", "mod", "download", "-json", path],
                cwd=self.mod.path, env=build_env(self.mod),
                capture_output=True, text=True, check=False,
            )
            info = json.loads(out.stdout or "{}")
            if out.returncode != 0 or "Dir" not in info:
                raise RuntimeError(f"cannot locate {path}: {info.get('Error', out.stderr.strip())}")
            self.dirs[path] = str(info["Dir"])
        return self.dirs[path]

    def __call__(self, text: str) -> str:
        def sub(match: re.Match[str]) -> str:
            key = match.group(1)
            if key.startswith("mod:"):
                return self.module_dir(key[4:])
            return self.values[key]

        return re.sub(r"\{([a-z]+(?::[^{}]+)?)\}", sub, text)


def run_logged(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> int:
    """Run a command at low priority, output into log; return its exit code."""
    if shutil.which("nice"):
        cmd = ["nice", "-n", "10", *cmd]
    with log.open("a") as out:
        out.write(f"$ {shlex.join(cmd)}\n")
        out.flush()
        return subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False).returncode


def tail(log: Path, lines: int = ERROR_TAIL) -> str:
    """Return the last lines of a log file."""
    text = log.read_text(errors="replace").rstrip().splitlines()
    return "\n".join("    " + line for line in text[-lines:])


def last_line(log: Path) -> str:
    """Return the last non-empty line of a log file."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


def prepare(mod: Module, cache: Path, expand: Expander, log: Path) -> list[str]:
    """Run a module's prepare steps; return extra go build flags (-overlay)."""
    gen = Path(expand("{gen}"))
    gen.mkdir(parents=True, exist_ok=True)
    for step in mod.prepare:
        cmd = [expand(str(a)) for a in step["cmd"]]  # type: ignore[attr-defined]
        cwd = Path(expand(str(step.get("cwd", "{module}"))))
        env = build_env(mod)
        env.update({k: expand(str(v)) for k, v in dict(step.get("env", {})).items()})  # type: ignore[call-overload]
        if run_logged(cmd, cwd, env, log) != 0:
            raise RuntimeError(f"prepare step failed: {shlex.join(cmd)}")
    if not mod.overlay:
        return []
    replace = {expand(k): expand(v) for k, v in mod.overlay.items()}
    overlay = gen / "overlay.json"
    overlay.write_text(json.dumps({"Replace": replace}, indent=2) + "\n")
    return [f"-overlay={overlay}"]


def build_module(mod: Module, cache: Path, times: dict[str, float]) -> list[str]:
    """Build the stale binaries of one module; return failure lines."""
    bin_dir, stamps, logs = cache / "bin", cache / "stamps", cache / "logs"
    for d in (bin_dir, stamps, logs):
        d.mkdir(parents=True, exist_ok=True)
    stamp = stamps / f"{mod.name}.sha256"
    digest = module_hash(mod)
    fresh = stamp.is_file() and stamp.read_text().strip() == digest
    log = logs / f"{mod.name}.log"
    log.write_text("")
    extra: list[str] | None = None
    failures: list[str] = []
    for name, pkg in mod.binaries.items():
        out = bin_dir / name
        if fresh and out.is_file():
            print(f"build: {name} ... cached", flush=True)
            continue
        print(f"build: {name} ...", end=" ", flush=True)
        start = time.monotonic()
        try:
            if extra is None:
                extra = prepare(mod, cache, Expander(mod, cache), log)
            cmd = ["go", "build", "-trimpath", *extra, "-ldflags", mod.ldflags, "-o", str(out), pkg]
            code = run_logged(cmd, mod.path, build_env(mod), log)
            error = f"go build exited {code}: {last_line(log)}" if code else ""
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            error = str(exc)
        secs = time.monotonic() - start
        if error:
            print(f"FAILED after {secs:.0f} s", flush=True)
            line = f"error: module {mod.name}: {name} ({pkg}): {error}; log {log}"
            print(line + "\n" + tail(log), file=sys.stderr, flush=True)
            failures.append(line)
            continue
        times[name] = round(secs, 1)
        print(f"done in {secs:.0f} s", flush=True)
    if not failures:
        stamp.write_text(digest + "\n")
    elif stamp.is_file():
        stamp.unlink()
    return failures


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the selected modules, report the outcome."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="cache root (default $E2E_CACHE or <repo>/.cache/e2e)")
    parser.add_argument("--only", help="comma-separated module names to build")
    parser.add_argument("--list", action="store_true", help="list modules, binaries and cache state")
    parser.add_argument("--keep-going", action=argparse.BooleanOptionalAction, default=True,
                        help="continue with the next module after a failure (default: on)")
    args = parser.parse_args(argv)

    cache = Path(args.cache).resolve() if args.cache else cache_dir()
    modules = load_modules()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - {m.name for m in modules})
        if unknown:
            print(f"error: unknown module(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        modules = [m for m in modules if m.name in wanted]

    if args.list:
        for mod in modules:
            stamp = cache / "stamps" / f"{mod.name}.sha256"
            fresh = stamp.is_file() and stamp.read_text().strip() == module_hash(mod)
            for name, pkg in mod.binaries.items():
                state = "cached" if fresh and (cache / "bin" / name).is_file() else "stale"
                print(f"{mod.name:28} {name:28} {state:7} {pkg}")
        return 0

    times_file = cache / "build-times.json"
    times: dict[str, float] = {}
    if times_file.is_file():
        times = dict(json.loads(times_file.read_text()))
    failures: list[str] = []
    start = time.monotonic()
    for mod in modules:
        failures += build_module(mod, cache, times)
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache, delete=False) as tmp:
            json.dump(times, tmp, indent=2, sort_keys=True)
        os.replace(tmp.name, times_file)
        if failures and not args.keep_going:
            break
    print(f"build: total {time.monotonic() - start:.0f} s, binaries in {cache / 'bin'}")
    if failures:
        print(f"build: {len(failures)} failure(s):", file=sys.stderr)
        for line in failures:
            print("  " + line, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
