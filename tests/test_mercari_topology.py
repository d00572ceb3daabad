"""The topology is derived from the mercari code: the tool that derives it, on a repository built here."""

import subprocess

import pytest

from components.vocab.topology import MERCARI
from tools import mercari_topology as mt

_MAIN = "package main\nfunc run() {{\n\terrCh <- {proto}.RunServer(ctx, {port}, logger)\n}}\n"
_DIAL = ('package grpc\nfunc f() {{\n'
         '\tconn, err := grpc.DialContext(ctx, "{callee}.{callee}.svc.cluster.local:5000", opts...)\n}}\n')


def _repo(tmp_path, files):
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    git = lambda *a: subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "x")
    return tmp_path


def _mercari_files(gateway_grpc=False):
    files = {"services/gateway/main.go": _MAIN.format(proto="http", port=4000),
             "services/gateway/http/http.go": _DIAL.format(callee="authority") + _DIAL.format(callee="catalog")}
    if gateway_grpc:
        files["services/gateway/grpc.go"] = "x"
        files["services/gateway/main.go"] += _MAIN.format(proto="grpc", port=5000)
    for svc, callees in {"authority": ["customer"], "catalog": ["customer", "item"], "customer": ["db"],
                         "item": ["db"]}.items():
        files[f"services/{svc}/main.go"] = _MAIN.format(proto="grpc", port=5000)
        files[f"services/{svc}/grpc/grpc.go"] = "".join(_DIAL.format(callee=c) for c in callees)
    files["platform/db/main.go"] = _MAIN.format(proto="grpc", port=5000)
    files["services/item/grpc/grpc_test.go"] = _DIAL.format(callee="gateway")  # tests dial anything
    return files


def test_the_topology_matches_code_shaped_like_mercaris_main(tmp_path):
    assert mt.differences(MERCARI, *mt.derive(_repo(tmp_path, _mercari_files()), "HEAD")) == []


def test_a_port_the_code_does_not_serve_is_a_difference(tmp_path):
    found = mt.differences(MERCARI, *mt.derive(_repo(tmp_path, _mercari_files(gateway_grpc=True)), "HEAD"))
    assert found == ["gateway: the code serves [('grpc', 5000), ('http', 4000)], the topology declares [('http', 4000)]"]


def test_the_tool_fails_in_one_line(tmp_path, capsys):
    _repo(tmp_path, _mercari_files())
    assert mt.main([str(tmp_path), "nosuch"]) == 2
    assert capsys.readouterr().out.count("\n") == 1
    assert mt.main([str(tmp_path), "HEAD"]) == 0


@pytest.mark.parametrize("argv", [[], ["one"]])
def test_usage(argv, capsys):
    assert mt.main(argv) == 2 and "usage" in capsys.readouterr().out
