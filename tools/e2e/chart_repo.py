"""A local Helm chart repository for end-to-end runs: package a CHARTS_DIR (`<chart>-<version>/`
folders, the layout `make chart-check CHARTS_DIR=...` reads) into `<chart>-<version>.tgz` archives
with an `index.yaml`, byte for byte the same on every run, and serve them on loopback.

    python -m tools.e2e.chart_repo CHARTS_DIR OUTDIR [--serve]

Point `mesh:charts.mirror` (or `helm pull --repo`) at the printed URL.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import re
import sys
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any, Optional

import yaml

EPOCH = 946684800
"""2000-01-01T00:00:00Z: every archive member's mtime and every index timestamp (deterministic output)."""
INDEX = "index.yaml"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


class ChartDirError(ValueError):
    """A chart folder that cannot be packaged as it is named (one line, naming the folder)."""


@dataclass(frozen=True)
class Packaged:
    """One chart archive: Chart.yaml metadata, its file name in the repository, and its sha256."""

    meta: dict[str, Any]
    filename: str
    digest: str

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def version(self) -> str:
        return str(self.meta["version"])


def archive_name(name: str, version: str) -> str:
    """`<name>-<version>.tgz`, as `helm package` names it."""
    return f"{name}-{version}.tgz"


def timestamp(epoch: int = EPOCH) -> str:
    """RFC 3339 UTC time, as Helm writes `created` and `generated`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def chart_meta(chart_dir: Path) -> dict[str, Any]:
    """Chart.yaml of `chart_dir`, checked against the folder's name: `<name>-<version>` or `<name>`."""
    try:
        meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ChartDirError(f"{chart_dir.name}: unreadable Chart.yaml ({str(err).splitlines()[0]})") from None
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise ChartDirError(f"{chart_dir.name}: Chart.yaml has no name or version")
    name, version = str(meta["name"]), str(meta["version"])
    if not _NAME.match(name) or not _SEMVER.match(version):
        raise ChartDirError(f"{chart_dir.name}: Chart.yaml name {name!r} or version {version!r} is not valid for Helm")
    if chart_dir.name not in (f"{name}-{version}", name):
        raise ChartDirError(f"{chart_dir.name}: Chart.yaml says {name} {version}, so the folder must be "
                            f"{name}-{version} (or {name}); refusing to publish it under another version")
    return {**meta, "name": name, "version": version}


def chart_dirs(charts_dir: Path) -> list[Path]:
    """The chart folders directly in `charts_dir` (those with a Chart.yaml), sorted by name."""
    return sorted((p for p in charts_dir.iterdir() if (p / "Chart.yaml").is_file()), key=lambda p: p.name)


def _glob(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match as a regex: `*` and `?` stop at `/`."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        end = pattern.find("]", i + 1) if c == "[" else -1
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif end > 0:
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body[:1] in ("!", "^") else body) + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def ignore_rules(text: str) -> list[tuple[bool, bool, bool, re.Pattern[str]]]:
    """.helmignore lines as (negated, directories only, whole path, pattern), plus Helm's default
    rule `templates/.?*`."""
    rules = []
    for raw in [*text.splitlines(), "templates/.?*"]:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        dir_only = line.endswith("/")
        line = line.strip("/")
        if line:
            rules.append((negate, dir_only, "/" in line or raw.strip().lstrip("!").startswith("/"), _glob(line)))
    return rules


def ignored(rel: PurePosixPath, is_dir: bool, rules: Iterable[tuple[bool, bool, bool, re.Pattern[str]]]) -> bool:
    """Whether a path (relative to the chart) is left out; the last matching rule decides."""
    out = False
    for negate, dir_only, whole, pattern in rules:
        if (dir_only and not is_dir) or not pattern.match(str(rel) if whole else rel.name):
            continue
        out = not negate
    return out


def chart_files(chart_dir: Path) -> Iterator[tuple[PurePosixPath, Path]]:
    """(path in the chart, file on disk) of every file `helm package` keeps, sorted, symlinks
    followed; subcharts under charts/ come along, filtered by the top chart's .helmignore as Helm does."""
    helmignore = chart_dir / ".helmignore"
    rules = ignore_rules(helmignore.read_text() if helmignore.is_file() else "")
    found: list[tuple[PurePosixPath, Path]] = []
    for root, dirs, files in os.walk(chart_dir, followlinks=True):
        base = PurePosixPath(Path(root).relative_to(chart_dir).as_posix())
        dirs[:] = sorted(d for d in dirs if not ignored(base / d, True, rules))
        found += [(base / f, Path(root) / f) for f in files if not ignored(base / f, False, rules)]
    yield from sorted(found, key=lambda item: (item[0] != PurePosixPath("Chart.yaml"), str(item[0])))


def archive_bytes(name: str, files: Iterable[tuple[PurePosixPath, bytes]], mtime: int = EPOCH) -> bytes:
    """A gzipped tar of `files` under the top-level folder `name` (Helm's package layout), with
    fixed mtimes, owners and modes so equal inputs give equal bytes."""
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, data in files:
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def package(chart_dir: Path, out_dir: Path, mtime: int = EPOCH) -> Packaged:
    """Write `<name>-<version>.tgz` of `chart_dir` into `out_dir`."""
    meta = chart_meta(chart_dir)
    data = archive_bytes(meta["name"], ((rel, path.read_bytes()) for rel, path in chart_files(chart_dir)), mtime)
    filename = archive_name(meta["name"], meta["version"])
    (out_dir / filename).write_bytes(data)
    return Packaged(meta, filename, hashlib.sha256(data).hexdigest())


def _version_key(version: str) -> tuple[Any, ...]:
    """Semver precedence, for newest-first ordering (a release sorts after its pre-releases)."""
    m = _SEMVER.match(version)
    if m is None:
        return (0, 0, 0, 0, version)
    pre = m.group(4)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), pre is None, pre or "")


def index_entry(meta: dict[str, Any], filename: str, digest: str, created: str) -> dict[str, Any]:
    """One `entries[name]` item of a Helm repository index."""
    entry = {key: str(meta[key]) for key in ("name", "version", "appVersion", "apiVersion", "description")
             if meta.get(key) not in (None, "")}
    return {**entry, "urls": [filename], "digest": digest, "created": created}


def build_index(packages: Iterable[Packaged], epoch: int = EPOCH) -> dict[str, Any]:
    """The `index.yaml` document: charts by name, each chart's versions newest first."""
    entries: dict[str, list[dict[str, Any]]] = {}
    for p in packages:
        if any(e["version"] == p.version for e in entries.get(p.name, [])):
            raise ChartDirError(f"{p.filename}: {p.name} {p.version} appears twice")
        entries.setdefault(p.name, []).append(index_entry(p.meta, p.filename, p.digest, timestamp(epoch)))
    ordered = {name: sorted(entries[name], key=lambda e: _version_key(e["version"]), reverse=True)
               for name in sorted(entries)}
    return {"apiVersion": "v1", "entries": ordered, "generated": timestamp(epoch)}


def package_all(charts_dir: Path, out_dir: Path, epoch: int = EPOCH) -> list[Packaged]:
    """Package every chart folder of `charts_dir` into `out_dir` and write its index.yaml. Every
    folder is checked before anything is written."""
    dirs = chart_dirs(charts_dir)
    if not dirs:
        raise ChartDirError(f"{charts_dir}: no <chart>-<version>/Chart.yaml in it")
    for d in dirs:
        chart_meta(d)
    out_dir.mkdir(parents=True, exist_ok=True)
    packages = [package(d, out_dir, epoch) for d in dirs]
    index = build_index(packages, epoch)
    (out_dir / INDEX).write_text(yaml.safe_dump(index, sort_keys=False, default_flow_style=False))
    return packages


def build(charts_dir: Path, out_dir: Path, epoch: int = EPOCH) -> Path:
    """`package_all`, returning the repository directory (what `serve` takes)."""
    package_all(charts_dir, out_dir, epoch)
    return out_dir


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".tgz": "application/gzip",
                      ".yaml": "application/x-yaml"}

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test or a deploy prints what matters."""


def serve(directory: Path, port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve `directory` on 127.0.0.1 (a free port unless `port`) from a daemon thread; returns
    (base URL without a trailing slash, stop)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(_Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, name="chart-repo", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return f"http://127.0.0.1:{server.server_address[1]}", stop


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("charts_dir", type=Path, help="folders <chart>-<version>/ (or <chart>/) with a Chart.yaml")
    parser.add_argument("out_dir", type=Path, help="where the .tgz archives and index.yaml go")
    parser.add_argument("--serve", action="store_true", help="then serve OUTDIR on 127.0.0.1 until interrupted")
    parser.add_argument("--port", type=int, default=0, help="with --serve: this port instead of a free one")
    args = parser.parse_args(argv)
    try:
        packages = package_all(args.charts_dir, args.out_dir)
    except (ChartDirError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for p in packages:
        print(f"{p.filename} sha256:{p.digest}", file=sys.stderr)
    if not args.serve:
        print((args.out_dir / INDEX).resolve().as_uri())
        return 0
    url, stop = serve(args.out_dir, args.port)
    print(url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
