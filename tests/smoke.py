"""Smoke test of a deployed dev stack (the end-to-end workflow runs it after `make up`).

    python tests/smoke.py [--app http://localhost:30000] [--kiali http://localhost:20001/kiali]
                          [--jaeger http://localhost:16686] [--kubectl kubectl]

1. through the ingress: sign up, sign in, create an item, list the items;
2. every application pod runs 2 of 2 containers (the app and its sidecar);
3. Kiali's graph API shows the call-graph edges;
4. Jaeger's API returns traces of the gateway.
Each check retries for a while (telemetry arrives late), then fails with what it saw. Standard library
only, so it runs before any venv exists.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any, Optional

EDGES = {("gateway", "authority"), ("gateway", "catalog"), ("authority", "customer"), ("catalog", "customer"),
         ("catalog", "item"), ("customer", "db"), ("item", "db")}
SERVICES = ("gateway", "authority", "catalog", "customer", "item", "db")


class SmokeFailure(Exception):
    """A check failed: the message says what was expected and what was seen."""


def request(method: str, url: str, body: Optional[dict[str, Any]] = None, token: Optional[str] = None,
            timeout: float = 10) -> Any:
    """JSON over HTTP; an HTTP error becomes a SmokeFailure naming the URL, status and body."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    if token:
        req.add_header("authorization", f"bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode()
    except urllib.error.HTTPError as err:
        raise SmokeFailure(f"{method} {url}: HTTP {err.code}: {err.read().decode()[:300]}") from None
    except (urllib.error.URLError, OSError) as err:
        raise SmokeFailure(f"{method} {url}: {err}") from None
    try:
        return json.loads(text) if text else None
    except ValueError:
        raise SmokeFailure(f"{method} {url}: not JSON: {text[:200]}") from None


def retry(check: Callable[[], Any], attempts: int, pause: float) -> Any:
    """Run `check` until it passes; the last failure is the one reported."""
    for attempt in range(attempts):
        try:
            return check()
        except SmokeFailure:
            if attempt == attempts - 1:
                raise
            time.sleep(pause)
    return None


def shop(app: str, name: str = "smoke") -> list[dict[str, Any]]:
    """Sign up, sign in, create an item and list the items (the mercari example's HTTP API)."""
    request("POST", f"{app}/auth/signup", {"name": name})
    signin = request("POST", f"{app}/auth/signin", {"name": name})
    token = (signin or {}).get("access_token")
    if not token:
        raise SmokeFailure(f"sign in returned no access_token: {signin}")
    created = request("POST", f"{app}/catalog/items", {"title": "Keyboard", "price": 30000}, token)
    listed = request("GET", f"{app}/catalog/items", token=token)
    items = (listed or {}).get("items") or []
    if not any(i.get("title") == "Keyboard" for i in items):
        raise SmokeFailure(f"the item created ({created}) is not in the listing: {listed}")
    return items


def sidecars(pods: dict[str, Any]) -> list[str]:
    """Pods of the application whose containers are not exactly 2 ready (the app and istio-proxy)."""
    bad = []
    for pod in pods.get("items", []):
        name = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        ready = sum(1 for s in statuses if s.get("ready"))
        names = {s.get("name") for s in statuses}
        if ready != 2 or len(statuses) != 2 or "istio-proxy" not in names:
            bad.append(f"{name}: {ready}/{len(statuses)} ready, containers {sorted(names)}")
    return bad


def kubectl_pods(kubectl: str) -> dict[str, Any]:
    out = subprocess.run([kubectl, "get", "pods", "-A", "-l", "app.kubernetes.io/part-of=mesh", "-o", "json"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SmokeFailure(f"kubectl get pods failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def check_pods(pods: dict[str, Any]) -> None:
    apps = {p["metadata"]["namespace"] for p in pods.get("items", [])}
    missing = sorted(set(SERVICES) - apps)
    if missing:
        raise SmokeFailure(f"no pods for {missing}")
    bad = sidecars(pods)
    if bad:
        raise SmokeFailure("pods without their sidecar: " + "; ".join(bad))


def graph_edges(graph: dict[str, Any]) -> set[tuple[str, str]]:
    """(source, target) workload names from a Kiali workload graph."""
    names = {n["data"]["id"]: n["data"].get("workload") or n["data"].get("app")
             for n in (graph.get("elements") or {}).get("nodes") or []}
    return {(names.get(e["data"]["source"]), names.get(e["data"]["target"]))
            for e in (graph.get("elements") or {}).get("edges") or []}


def check_graph(kiali: str, edges: Iterable[tuple[str, str]] = EDGES) -> None:
    query = f"namespaces={','.join(SERVICES)}&graphType=workload&duration=600s"
    graph = request("GET", f"{kiali}/api/namespaces/graph?{query}")
    missing = sorted(set(edges) - graph_edges(graph or {}))
    if missing:
        raise SmokeFailure(f"Kiali's graph lacks the call-graph edges {missing}")


def check_traces(jaeger: str, service: str = "gateway.gateway") -> None:
    traces = request("GET", f"{jaeger}/api/traces?service={service}&limit=20&lookback=1h")
    if not (traces or {}).get("data"):
        raise SmokeFailure(f"Jaeger has no trace of {service}: {str(traces)[:200]}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", default="http://localhost:30000")
    parser.add_argument("--kiali", default="http://localhost:20001/kiali")
    parser.add_argument("--jaeger", default="http://localhost:16686")
    parser.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--attempts", type=int, default=30)
    parser.add_argument("--pause", type=float, default=10.0)
    args = parser.parse_args(argv)
    checks: list[tuple[str, Callable[[], Any]]] = [
        ("pods run 2/2", lambda: check_pods(kubectl_pods(args.kubectl))),
        ("sign up, sign in, create and list an item", lambda: shop(args.app)),
        ("Kiali shows the call graph", lambda: check_graph(args.kiali)),
        ("Jaeger has gateway traces", lambda: check_traces(args.jaeger)),
    ]
    for name, check in checks:
        try:
            retry(check, args.attempts, args.pause)
        except SmokeFailure as err:
            print(f"FAIL {name}: {err}")
            return 1
        print(f"ok   {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
