"""tools.e2e.chart_repo: naming, folder checks, .helmignore, deterministic archives and index, and a
repository served on loopback that Helm itself can pull from."""

from __future__ import annotations

import io
import tarfile
import urllib.request
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tools.e2e import chart_repo as cr


def make_chart(root: Path, folder: str, name: str, version: str, **extra: str) -> Path:
    """A tiny valid chart: one ConfigMap template."""
    d = root / folder
    (d / "templates").mkdir(parents=True)
    meta = {"apiVersion": "v2", "name": name, "version": version, "description": f"{name} test chart", **extra}
    (d / "Chart.yaml").write_text(yaml.safe_dump(meta))
    (d / "values.yaml").write_text("greeting: hello\n")
    (d / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n"
        "  greeting: {{ .Values.greeting | quote }}\n")
    return d


def members(tgz: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(tgz) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_archive_name() -> None:
    assert cr.archive_name("kiali-server", "2.20.0") == "kiali-server-2.20.0.tgz"


@pytest.mark.parametrize("folder", ["demo-1.2.3", "demo"])
def test_folder_named_after_the_chart_is_accepted(tmp_path: Path, folder: str) -> None:
    meta = cr.chart_meta(make_chart(tmp_path, folder, "demo", "1.2.3"))
    assert (meta["name"], meta["version"]) == ("demo", "1.2.3")


@pytest.mark.parametrize(("folder", "name", "version"), [
    ("demo-1.2.4", "demo", "1.2.3"),   # a stand-in published under the pinned version
    ("other-1.2.3", "demo", "1.2.3"),
    ("demo-1.2", "demo", "1.2"),       # not semver
])
def test_folder_that_disagrees_with_chart_yaml_is_refused(tmp_path: Path, folder: str, name: str,
                                                          version: str) -> None:
    with pytest.raises(cr.ChartDirError) as err:
        cr.chart_meta(make_chart(tmp_path, folder, name, version))
    message = str(err.value)
    assert message.startswith(f"{folder}: ") and "\n" not in message


def test_build_refuses_before_writing_anything(tmp_path: Path) -> None:
    make_chart(tmp_path / "charts", "good-1.0.0", "good", "1.0.0")
    make_chart(tmp_path / "charts", "bad-2.0.0", "bad", "1.0.0")
    with pytest.raises(cr.ChartDirError, match="^bad-2.0.0: Chart.yaml says bad 1.0.0"):
        cr.build(tmp_path / "charts", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_prints_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_chart(tmp_path / "charts", "bad-2.0.0", "bad", "1.0.0")
    assert cr.main([str(tmp_path / "charts"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: bad-2.0.0: ")


def test_package_layout_helmignore_and_subcharts(tmp_path: Path) -> None:
    d = make_chart(tmp_path, "app-0.1.0", "app", "0.1.0")
    make_chart(d / "charts", "dep", "dep", "3.0.0")
    (d / ".helmignore").write_text("# comment\nci/\n*.bak\n")
    (d / "ci").mkdir()
    (d / "ci" / "values.yaml").write_text("x: 1\n")
    (d / "notes.bak").write_text("old")
    (d / "templates" / ".hidden").write_text("editor swap")
    out = tmp_path / "out"
    out.mkdir()
    p = cr.package(d, out)
    found = members(out / p.filename)
    assert p.filename == "app-0.1.0.tgz"
    assert sorted(found) == ["app/.helmignore", "app/Chart.yaml", "app/charts/dep/Chart.yaml",
                             "app/charts/dep/templates/cm.yaml", "app/charts/dep/values.yaml",
                             "app/templates/cm.yaml", "app/values.yaml"]
    assert next(iter(found)) == "app/Chart.yaml"
    assert {(m.mtime, m.mode, m.uid, m.gid) for m in found.values()} == {(cr.EPOCH, 0o644, 0, 0)}


def test_ignore_rules_follow_helm() -> None:
    rules = cr.ignore_rules("*.tmp\n/top.txt\ndocs/*.md\n!keep.tmp\n")
    assert cr.ignored(PurePosixPath("a/b/x.tmp"), False, rules)        # no slash: the base name
    assert not cr.ignored(PurePosixPath("a/keep.tmp"), False, rules)   # negated by a later rule
    assert cr.ignored(PurePosixPath("top.txt"), False, rules)
    assert cr.ignored(PurePosixPath("docs/a.md"), False, rules)
    assert not cr.ignored(PurePosixPath("docs/sub/a.md"), False, rules)  # `*` stops at `/`
    assert cr.ignored(PurePosixPath("templates/.swp"), False, rules)   # Helm's default rule


def test_archives_and_index_are_deterministic(tmp_path: Path) -> None:
    make_chart(tmp_path / "charts", "demo-1.0.0", "demo", "1.0.0", appVersion="v9")
    first, second = tmp_path / "a", tmp_path / "b"
    cr.build(tmp_path / "charts", first)
    (tmp_path / "charts" / "demo-1.0.0" / "values.yaml").touch()  # a new mtime changes nothing
    cr.build(tmp_path / "charts", second)
    for f in ("demo-1.0.0.tgz", "index.yaml"):
        assert (first / f).read_bytes() == (second / f).read_bytes()
    assert cr.build(tmp_path / "charts", first) == first  # the directory `serve` takes


def test_index(tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    for version in ("1.30.3", "1.31.0", "1.31.0-rc.0"):
        make_chart(charts, f"istiod-{version}", "istiod", version, appVersion=version)
    make_chart(charts, "base-1.31.0", "base", "1.31.0")
    packages = cr.package_all(charts, tmp_path / "out")
    index = yaml.safe_load((tmp_path / "out" / "index.yaml").read_text())
    assert index["apiVersion"] == "v1" and list(index["entries"]) == ["base", "istiod"]
    assert [e["version"] for e in index["entries"]["istiod"]] == ["1.31.0", "1.31.0-rc.0", "1.30.3"]
    entry = index["entries"]["istiod"][0]
    digest = next(p.digest for p in packages if p.filename == "istiod-1.31.0.tgz")
    assert entry == {"name": "istiod", "version": "1.31.0", "appVersion": "1.31.0", "apiVersion": "v2",
                     "description": "istiod test chart", "urls": ["istiod-1.31.0.tgz"], "digest": digest,
                     "created": "2000-01-01T00:00:00Z"}
    assert "appVersion" not in index["entries"]["base"][0]  # absent from Chart.yaml: left out, as Helm does


def test_index_refuses_a_version_twice() -> None:
    p = cr.Packaged({"name": "x", "version": "1.0.0"}, "x-1.0.0.tgz", "0" * 64)
    with pytest.raises(cr.ChartDirError, match="appears twice"):
        cr.build_index([p, p])


@pytest.fixture
def served(tmp_path: Path):
    make_chart(tmp_path / "charts", "demo-1.0.0", "demo", "1.0.0")
    make_chart(tmp_path / "charts", "demo-1.1.0", "demo", "1.1.0")
    packages = cr.package_all(tmp_path / "charts", tmp_path / "repo")
    url, stop = cr.serve(tmp_path / "repo")
    yield url, packages
    stop()


def test_serve_over_loopback(served: tuple[str, list[cr.Packaged]]) -> None:
    import hashlib

    url, packages = served
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{url}/index.yaml", timeout=10) as resp:
        index = yaml.safe_load(resp.read())
    entry = index["entries"]["demo"][0]
    with urllib.request.urlopen(f"{url}/{entry['urls'][0]}", timeout=10) as resp:
        assert resp.headers["Content-Type"] == "application/gzip"
        data = resp.read()
    assert hashlib.sha256(data).hexdigest() == entry["digest"] == packages[-1].digest
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert yaml.safe_load(tar.extractfile("demo/Chart.yaml").read())["version"] == "1.1.0"  # type: ignore[union-attr]


def test_helm_pulls_and_renders_from_the_served_repo(served: tuple[str, list[cr.Packaged]], tmp_path: Path) -> None:
    helm = pytest.importorskip("helm_python")
    url, _ = served
    assert [v["version"] for v in helm.repo_index(url)["entries"]["demo"]] == ["1.1.0", "1.0.0"]
    dest = tmp_path / "pulled"
    dest.mkdir()
    helm.pull("demo", repo_url=url, version="1.0.0", destination=dest, untar=True, untar_dir=dest)
    with helm.Chart.load(str(dest / "demo")) as chart:
        out = chart.render({"greeting": "hi"}, name="rel", namespace="ns", is_install=True)
    assert 'greeting: "hi"' in out["demo/templates/cm.yaml"]
