"""The local control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
(fake nodes whose pods report Ready), each a real upstream binary, all inside one network namespace
this run creates. Flags are pure functions of a `Layout`, so they are unit-tested; `ControlPlane`
starts and stops the processes (by PID, only its own).

Network: everything listens on the namespace's loopback. The API server dials a webhook Service at
its ClusterIP (no aggregator routing), so the whole Service range is routed to the namespace's own
loopback (`ip route add local`): a forwarder there hands port 443 to istiod's webhook port.
Nothing leaves the namespace: it has no link to any other.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Optional

from tools.e2e import pki

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
NODE_IP = "10.250.0.2"
ADVERTISE_IP = "10.250.0.1"
"""The API server's advertised address (it refuses 127.0.0.0/8), held by the namespace's loopback."""
API_PORT = 6443
ETCD_PORT = 2379
NODES = ("kwok-node-0", "kwok-node-1", "kwok-node-2")
"""Three fake nodes: enough for the spread constraints and PodDisruptionBudgets the stacks declare."""


@dataclass(frozen=True)
class Layout:
    """Where a run keeps its files and finds its binaries."""

    run: Path
    bin: Path

    @property
    def pki(self) -> Path:
        return self.run / "pki"

    def kubeconfig(self, user: str) -> Path:
        return self.run / f"{user}.kubeconfig"

    def log(self, name: str) -> Path:
        return self.run / "logs" / f"{name}.log"


def kubeconfig(server: str, ca: Path, cert: Path, key: Path, context: str) -> dict[str, object]:
    """A self-contained kubeconfig (paths, not inline data) for one client certificate."""
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "e2e-local", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": context, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": context, "context": {"cluster": "e2e-local", "user": context}}],
    }


def etcd_args(layout: Layout) -> list[str]:
    url = f"http://127.0.0.1:{ETCD_PORT}"
    return [str(layout.bin / "etcd"), "--name=e2e", f"--data-dir={layout.run / 'etcd'}",
            f"--listen-client-urls={url}", f"--advertise-client-urls={url}",
            "--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
            "--initial-cluster=e2e=http://127.0.0.1:2380", "--listen-metrics-urls=http://127.0.0.1:2381",
            "--quota-backend-bytes=2147483648", "--unsafe-no-fsync=true", "--log-level=warn"]


def apiserver_args(layout: Layout) -> list[str]:
    p = layout.pki
    return [
        str(layout.bin / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{ETCD_PORT}",
        "--bind-address=127.0.0.1", f"--secure-port={API_PORT}", f"--advertise-address={ADVERTISE_IP}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--client-ca-file={p / 'ca.crt'}",
        f"--tls-cert-file={p / 'apiserver.crt'}", f"--tls-private-key-file={p / 'apiserver.key'}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={p / 'sa.pub'}", f"--service-account-signing-key-file={p / 'sa.key'}",
        "--authorization-mode=Node,RBAC",
        # Pod Security Admission is on by default; privileged pods only where a namespace allows them.
        "--allow-privileged=true",
        # No Endpoints for the `kubernetes` Service: nothing in the namespace dials it.
        "--endpoint-reconciler-type=none",
        # Webhooks are dialled at the Service's ClusterIP:port (routed to the namespace's loopback).
        "--enable-aggregator-routing=false",
        "--profiling=false", "--v=1",
    ]


def controller_manager_args(layout: Layout) -> list[str]:
    p, kc = layout.pki, layout.kubeconfig("controller-manager")
    return [
        str(layout.bin / "kube-controller-manager"), f"--kubeconfig={kc}",
        f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
        "--bind-address=127.0.0.1", "--secure-port=10257", "--leader-elect=false",
        f"--service-account-private-key-file={p / 'sa.key'}", f"--root-ca-file={p / 'ca.crt'}",
        f"--cluster-signing-cert-file={p / 'ca.crt'}", f"--cluster-signing-key-file={p / 'ca.key'}",
        "--use-service-account-credentials=true", f"--cluster-cidr={POD_CIDR}",
        f"--service-cluster-ip-range={SERVICE_CIDR}", "--v=1",
    ]


def scheduler_args(layout: Layout) -> list[str]:
    kc = layout.kubeconfig("scheduler")
    return [str(layout.bin / "kube-scheduler"), f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}", "--bind-address=127.0.0.1", "--secure-port=10259",
            "--leader-elect=false", "--v=1"]


def kwok_args(layout: Layout) -> list[str]:
    """kwok with its own default stages (written by `kwok-stages`, see tools/e2e/modules/kwok)."""
    return [str(layout.bin / "kwok"), f"--kubeconfig={layout.kubeconfig('kwok')}", "--manage-all-nodes=true",
            f"--config={layout.run / 'kwok-stages.yaml'}",
            f"--cidr={POD_CIDR}", f"--node-ip={NODE_IP}", "--server-address=127.0.0.1:10247"]


def node(name: str) -> dict[str, object]:
    """A fake node kwok keeps Ready: large enough for every stack's requests."""
    capacity = {"cpu": "32", "memory": "128Gi", "pods": "250", "ephemeral-storage": "500Gi"}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                     "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                "kubernetes.io/arch": "amd64", "type": "kwok",
                                "topology.kubernetes.io/zone": f"zone-{name[-1]}"}},
        "spec": {},
        "status": {"capacity": capacity, "allocatable": capacity, "nodeInfo": {"kubeletVersion": "fake"}},
    }


def namespace_setup(ns: str) -> list[list[str]]:
    """`ip` commands that make the network namespace: loopback up and holding the advertised and node
    addresses (it is the namespace's only link: nothing can leave it), the Service range local."""
    run = ["ip", "netns", "exec", ns]
    return [
        ["ip", "netns", "add", ns],
        [*run, "ip", "link", "set", "lo", "up"],
        [*run, "ip", "addr", "add", f"{ADVERTISE_IP}/32", "dev", "lo"],
        [*run, "ip", "addr", "add", f"{NODE_IP}/32", "dev", "lo"],
        [*run, "ip", "route", "add", "local", SERVICE_CIDR, "dev", "lo"],
    ]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: IO[bytes]


@dataclass
class ControlPlane:
    """Starts the components in order and stops exactly the processes it started."""

    layout: Layout
    procs: list[Proc] = field(default_factory=list)

    def write_credentials(self) -> None:
        ca = pki.Authority(self.layout.pki)
        ca.issue("apiserver", "kube-apiserver", server=True,
                 hosts=("127.0.0.1", "localhost", ADVERTISE_IP, "10.96.0.1", "kubernetes", "kubernetes.default",
                        "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"))
        pki.service_account_keys(self.layout.pki)
        users = {"admin": ("e2e-admin", "system:masters"),
                 "controller-manager": ("system:kube-controller-manager", None),
                 "scheduler": ("system:kube-scheduler", None),
                 "kwok": ("e2e-kwok", "system:masters")}
        for user, (cn, org) in users.items():
            pair = ca.issue(user, cn, org=org)
            config = kubeconfig(f"https://127.0.0.1:{API_PORT}", ca.ca.cert, pair.cert, pair.key, user)
            self.layout.kubeconfig(user).write_text(json.dumps(config, indent=1))
        stages = subprocess.run([str(self.layout.bin / "kwok-stages")], capture_output=True, text=True, check=True)
        (self.layout.run / "kwok-stages.yaml").write_text(stages.stdout)

    def start(self, name: str, args: list[str], env: Optional[dict[str, str]] = None,
              cwd: Optional[Path] = None) -> Proc:
        path = self.layout.log(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        log = path.open("ab")
        popen = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def alive(self) -> list[str]:
        """Names of started processes that have exited (should be none)."""
        return [p.name for p in self.procs if p.popen.poll() is not None]

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM each started process (newest first), SIGKILL what is still there after `timeout`."""
        for proc in reversed(self.procs):
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in reversed(self.procs):
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
            proc.log.close()
        self.procs.clear()
