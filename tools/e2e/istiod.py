"""istiod as its pod would run it: kwok runs nothing in the pods it marks Ready, so this module plays
the kubelet for the istiod pod the chart created. It reads the pod (container args, env, mounted
ConfigMaps), writes the mounts under a root directory (istiod reads them at relative paths such as
`./var/lib/istio/inject`), asks the API server for the pod's service-account token, and starts the
real `pilot-discovery` with that identity (so the chart's RBAC is what istiod gets).

A forwarder on port 443 of the Service range (routed to the namespace's loopback, see cluster.py)
hands the API server's webhook calls to istiod's webhook port, as kube-proxy would.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEBHOOK_PORT = 15017
"""istiod's webhook listener (the chart's Service maps 443 to it)."""
# Ref: https://github.com/istio/istio/blob/1.31.0/manifests/charts/istio-control/istio-discovery/templates/deployment.yaml
# (the discovery container's volumes and env, which launch() resolves)
TOKEN_DIR = "var/run/secrets/tokens"


@dataclass(frozen=True)
class Launch:
    """What the kubelet would run for the istiod container."""

    args: list[str]
    env: dict[str, str]
    files: dict[str, str]
    """Relative path under the root -> content (mounted ConfigMap keys)."""
    token_audience: str
    service_account: str
    namespace: str


def _field(pod: dict[str, Any], path: str) -> str:
    node: Any = pod
    for part in path.split("."):
        node = (node or {}).get(part)
    return "" if node is None else str(node)


def launch(pod: dict[str, Any], configmaps: dict[str, dict[str, str]]) -> Launch:
    """The discovery container of `pod`, resolved: env (values and field refs), the ConfigMap volumes
    it mounts (from `configmaps`: name -> data), the projected token's audience."""
    spec = pod["spec"]
    container = next(c for c in spec["containers"] if c["name"] == "discovery")
    env: dict[str, str] = {}
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = str(var["value"])
        elif "fieldRef" in (var.get("valueFrom") or {}):
            env[var["name"]] = _field(pod, var["valueFrom"]["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in (var.get("valueFrom") or {}):
            env[var["name"]] = "2" if "cpu" in var["valueFrom"]["resourceFieldRef"]["resource"] else "1073741824"
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    files: dict[str, str] = {}
    audience = "istio-ca"
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"]) or {}
        if "configMap" in volume:
            data = configmaps.get(volume["configMap"]["name"])
            if data is None:
                if volume["configMap"].get("optional"):
                    continue
                raise LookupError(f"ConfigMap {volume['configMap']['name']} (mounted at {mount['mountPath']}) is missing")
            for key, text in data.items():
                files[f"{mount['mountPath'].strip('/')}/{key}"] = text
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "serviceAccountToken" in source:
                audience = source["serviceAccountToken"].get("audience", audience)
    args = [*(container.get("command") or []), *(container.get("args") or [])]
    return Launch(args=[a for a in args if a != "/usr/local/bin/pilot-discovery"], env=env, files=files,
                  token_audience=audience, service_account=spec.get("serviceAccountName", "default"),
                  namespace=pod["metadata"]["namespace"])


def materialise(root: Path, files: dict[str, str], token: str) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / TOKEN_DIR).mkdir(parents=True, exist_ok=True)
    (root / TOKEN_DIR / "istio-token").write_text(token)
    for empty in ("var/run/secrets/istio-dns", "var/lib/istio/local", "etc/cacerts"):
        (root / empty).mkdir(parents=True, exist_ok=True)


def token_kubeconfig(server: str, ca: Path, token: str, user: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Config", "current-context": user,
            "clusters": [{"name": "e2e-local", "cluster": {"server": server, "certificate-authority": str(ca)}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": "e2e-local", "user": user}}]}


def token_request(audience: str, seconds: int = 7200) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [audience], "expirationSeconds": seconds}}


class Forwarder:
    """TCP 0.0.0.0:`listen` -> 127.0.0.1:`target`, one thread per connection; stops with the process."""

    def __init__(self, listen: int, target: int):
        self.target = target
        self.server = socket.create_server(("0.0.0.0", listen), reuse_port=False)
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._pipe_pair, args=(conn,), daemon=True).start()

    def _pipe_pair(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
        except OSError:
            conn.close()
            return
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.server.close()
