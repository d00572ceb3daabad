"""A small client for the local API server (stdlib only): get, list, create, delete, and the
discovery of every listable resource type, which the teardown check walks."""

from __future__ import annotations

import contextlib
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional


class ApiError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status


@dataclass(frozen=True)
class ResourceType:
    group_version: str
    """`v1` or `apps/v1`."""
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: Optional[str] = None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        return f"{base}/namespaces/{namespace}/{self.plural}" if namespace and self.namespaced else \
            f"{base}/{self.plural}"


class Client:
    def __init__(self, server: str, ca: Path, cert: Path, key: Path):
        self.server = server
        self.context = ssl.create_default_context(cafile=str(ca))
        self.context.load_cert_chain(str(cert), str(key))

    @classmethod
    def from_kubeconfig(cls, path: Path) -> Client:
        config = json.loads(path.read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        return cls(cluster["server"], Path(cluster["certificate-authority"]), Path(user["client-certificate"]),
                   Path(user["client-key"]))

    def request(self, method: str, path: str, body: Optional[dict[str, Any]] = None,
                content_type: str = "application/json") -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=30) as resp:
                text = resp.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            with contextlib.suppress(ValueError):
                detail = json.loads(detail).get("message", detail)
            raise ApiError(err.code, detail[:500]) from None
        return json.loads(text) if text else {}

    def get(self, path: str) -> Optional[dict[str, Any]]:
        try:
            return self.request("GET", path)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def items(self, path: str) -> list[dict[str, Any]]:
        return list((self.get(path) or {}).get("items") or [])

    def create(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, obj)

    def ready(self) -> bool:
        try:
            req = urllib.request.Request(self.server + "/readyz")
            with urllib.request.urlopen(req, context=self.context, timeout=5) as resp:
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def resource_types(self) -> list[ResourceType]:
        """Every served resource type that can be listed (each group at its preferred version)."""
        out = []
        versions = ["v1"] + [g["preferredVersion"]["groupVersion"] for g in self.request("GET", "/apis")["groups"]]
        for gv in versions:
            base = "/api/v1" if gv == "v1" else f"/apis/{gv}"
            for r in self.request("GET", base)["resources"]:
                if "/" not in r["name"] and "list" in r.get("verbs", []):
                    out.append(ResourceType(gv, r["kind"], r["name"], r["namespaced"]))
        return out


def wait(what: str, probe: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Poll `probe` until it returns something truthy; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
