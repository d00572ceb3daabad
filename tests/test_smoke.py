"""The smoke test's requests, parsing and failure messages, against small fake servers on loopback."""

import json
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import smoke


class Fake:
    """An HTTP server on 127.0.0.1 answering canned JSON per (method, path) and recording requests."""

    def __init__(self, routes):
        self.routes, self.seen = routes, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.seen.append((self.command, self.path, body, self.headers.get("authorization")))
                path = self.path.split("?", 1)[0]
                status, payload = fake.routes.get((self.command, path), (404, {"error": "no route"}))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    servers = []

    def start(routes):
        servers.append(Fake(routes))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


SHOP = {
    ("POST", "/auth/signup"): (200, {"customer": {"id": "c1", "name": "smoke"}}),
    ("POST", "/auth/signin"): (200, {"access_token": "tok"}),
    ("POST", "/catalog/items"): (200, {"item": {"id": "i1", "title": "Keyboard", "price": 30000}}),
    ("GET", "/catalog/items"): (200, {"items": [{"id": "i1", "title": "Keyboard", "price": 30000}]}),
}


def _node(i, name):
    return {"data": {"id": i, "workload": name}}


GRAPH = {"elements": {"nodes": [_node(f"n{i}", s) for i, s in enumerate(smoke.SERVICES)] + [_node("x", None)],
                      "edges": [{"data": {"source": f"n{smoke.SERVICES.index(a)}", "target": f"n{smoke.SERVICES.index(b)}"}}
                                for a, b in sorted(smoke.EDGES)]}}


def _pods(ready=2, containers=("app", "istio-proxy")):
    return {"items": [{"metadata": {"namespace": s, "name": f"{s}-1"}, "status": {"containerStatuses": [
        {"name": c, "ready": i < ready} for i, c in enumerate(containers)]}} for s in smoke.SERVICES]}


def test_shop_signs_up_signs_in_and_uses_the_token(fake):
    app = fake(SHOP)
    items = smoke.shop(app.url)
    assert items[0]["title"] == "Keyboard"
    assert [(m, p) for m, p, _, _ in app.seen] == [("POST", "/auth/signup"), ("POST", "/auth/signin"),
                                                  ("POST", "/catalog/items"), ("GET", "/catalog/items")]
    assert app.seen[0][2] == {"name": "smoke"}
    assert [a for *_, a in app.seen[2:]] == ["bearer tok", "bearer tok"]


def test_shop_reports_a_missing_token_and_http_errors(fake):
    app = fake({**SHOP, ("POST", "/auth/signin"): (200, {})})
    with pytest.raises(smoke.SmokeFailure, match="no access_token"):
        smoke.shop(app.url)
    broken = fake({**SHOP, ("POST", "/catalog/items"): (503, {"message": "upstream connect error"})})
    with pytest.raises(smoke.SmokeFailure, match=r"POST .*/catalog/items: HTTP 503: .*upstream connect error"):
        smoke.shop(broken.url)


def test_shop_notices_the_item_missing_from_the_listing(fake):
    app = fake({**SHOP, ("GET", "/catalog/items"): (200, {"items": []})})
    with pytest.raises(smoke.SmokeFailure, match="not in the listing"):
        smoke.shop(app.url)


def test_kiali_graph_edges_are_read_by_workload(fake):
    kiali = fake({("GET", "/kiali/api/namespaces/graph"): (200, GRAPH)})
    smoke.check_graph(kiali.url + "/kiali")
    assert "graphType=workload" in kiali.seen[0][1] and "namespaces=gateway,authority" in kiali.seen[0][1]
    partial = {"elements": {"nodes": GRAPH["elements"]["nodes"], "edges": GRAPH["elements"]["edges"][:-1]}}
    kiali.routes[("GET", "/kiali/api/namespaces/graph")] = (200, partial)
    with pytest.raises(smoke.SmokeFailure, match=r"lacks the call-graph edges \[\('item', 'db'\)\]"):
        smoke.check_graph(kiali.url + "/kiali")


def test_jaeger_needs_gateway_traces(fake):
    jaeger = fake({("GET", "/api/traces"): (200, {"data": [{"traceID": "abc"}]})})
    smoke.check_traces(jaeger.url)
    assert "service=gateway.gateway" in jaeger.seen[0][1]
    jaeger.routes[("GET", "/api/traces")] = (200, {"data": []})
    with pytest.raises(smoke.SmokeFailure, match="no trace of gateway.gateway"):
        smoke.check_traces(jaeger.url)


@pytest.mark.parametrize("pods,message", [
    (_pods(ready=1), "1/2 ready"),
    (_pods(containers=("app",), ready=1), "1/1 ready"),
    ({"items": []}, "no pods for"),
])
def test_every_pod_runs_its_sidecar(pods, message):
    with pytest.raises(smoke.SmokeFailure, match=message):
        smoke.check_pods(pods)
    smoke.check_pods(_pods())


def test_retry_passes_once_the_check_does():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise smoke.SmokeFailure("not yet")
        return "done"

    assert smoke.retry(flaky, attempts=5, pause=0) == "done" and len(calls) == 3
    with pytest.raises(smoke.SmokeFailure, match="not yet"):
        smoke.retry(lambda: (_ for _ in ()).throw(smoke.SmokeFailure("not yet")), attempts=2, pause=0)


def test_the_whole_smoke_run_against_fakes(fake, tmp_path, capsys):
    app, kiali = fake(SHOP), fake({("GET", "/kiali/api/namespaces/graph"): (200, GRAPH)})
    jaeger = fake({("GET", "/api/traces"): (200, {"data": [{"traceID": "abc"}]})})
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!/bin/sh\necho '{json.dumps(_pods())}'\n")
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
    args = ["--app", app.url, "--kiali", kiali.url + "/kiali", "--jaeger", jaeger.url, "--kubectl", str(kubectl),
            "--attempts", "1", "--pause", "0"]
    assert smoke.main(args) == 0
    assert capsys.readouterr().out.count("ok   ") == 4
    kiali.routes.clear()
    assert smoke.main(args) == 1
    assert "FAIL Kiali shows the call graph" in capsys.readouterr().out
