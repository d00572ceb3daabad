"""`make e2e-local CHARTS_DIR=<dir>`: `pulumi up` of the program with the real Pulumi CLI and
providers against a real local control plane and a real istiod, then the checks a platform engineer
would make. One line per check, then `e2e: N checks, M failed`; exit 0 only if all hold.

    python -m tools.e2e.run --charts-dir DIR [--cache DIR] [--keep] [--write]

The outer process (root: it creates a network namespace) builds what is missing, makes the
namespace and runs itself inside it (`--inside`); everything listens on that namespace's loopback.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from components.config.models import OBSERVABILITY_NAMESPACE
from components.resources.observability.prometheus import WEBHOOK_SECRET
from tools import perf_tables
from tools.e2e import chart_repo, checks, cluster, istiod, kube, stack

REPO = Path(__file__).resolve().parents[2]
STACK = "e2e"
PROD_STACK = "e2e-prod"
RENDER_STACK = "e2e-render"
RENDER_OTHERS = {"e2e-render-dev": "dev", "e2e-render-prod": "prod"}
"""Render mode for the other two stacks' configs too (no cluster: nothing is applied)."""
BASE_STACK = "staging"
PASSPHRASE = "e2e-local-only"
REFUSES_INVALID = "istiod's validating webhook refuses an invalid resource"
WEBHOOK_URL = "https://hooks.example.com/services/T0E2E/B0E2E/e2e-webhook-credential"
"""The Alertmanager webhook the e2e sets as a secret: it must reach a Secret and nowhere else."""
WEBHOOK_CHECK = "the Alertmanager webhook (a secret) reaches a Secret only"


def fail(message: str) -> int:
    print(f"e2e-local: {message}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------------------------------ outer
def outer(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        return fail("needs root (it creates a network namespace with `ip netns`); run it as root")
    if shutil.which("ip") is None:
        return fail("needs `ip` (iproute2): apt-get install iproute2")
    if args.charts_dir is None or not Path(args.charts_dir).is_dir():
        return fail("set CHARTS_DIR to a directory of <chart>-<version>/ chart sources (see README, e2e)")
    build = [sys.executable, "-m", "tools.e2e.build"] + (["--cache", str(args.cache)] if args.cache else [])
    if not args.no_build and subprocess.call(build, cwd=REPO) != 0:
        return fail("a component did not build (above); nothing was started")
    ns = f"mesh-e2e-{os.getpid()}"
    for cmd in cluster.namespace_setup(ns):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            return fail(f"{' '.join(cmd)}: {done.stderr.strip()}")
    inner = [sys.executable, "-m", "tools.e2e.run", "--inside", "--charts-dir", str(args.charts_dir),
             "--cache", str(cache_dir(args))] + (["--keep"] if args.keep else []) + (["--write"] if args.write else [])
    try:
        return subprocess.call(["ip", "netns", "exec", ns, *inner], cwd=REPO)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def cache_dir(args: argparse.Namespace) -> Path:
    return Path(args.cache or os.environ.get("E2E_CACHE") or REPO / ".cache" / "e2e").resolve()


# ------------------------------------------------------------------------------------------ inner
@dataclass
class Run:
    layout: cluster.Layout
    results: checks.Results = field(default_factory=checks.Results)
    timings: dict[str, float] = field(default_factory=dict)
    plane: Optional[cluster.ControlPlane] = None
    api: Optional[kube.Client] = None
    mirror: str = ""

    @property
    def client(self) -> kube.Client:
        assert self.api is not None
        return self.api

    def env(self) -> dict[str, str]:
        home = self.layout.run / "pulumi-home"
        return {
            "PATH": f"{self.layout.bin}:{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(home), "PULUMI_BACKEND_URL": f"file://{self.layout.run / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true", "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "KUBECONFIG": str(self.layout.kubeconfig("admin")),
        }

    def pulumi_output(self, name: str, *argv: str) -> str:
        """A CLI call whose standard output is the result (e.g. `stack export`)."""
        done = subprocess.run([str(self.layout.bin / "pulumi"), "--non-interactive", *argv], cwd=REPO,
                              env={**os.environ, **self.env()}, capture_output=True, text=True, timeout=300)
        self.layout.log(name).write_text(done.stderr)
        return done.stdout if done.returncode == 0 else ""

    def pulumi(self, name: str, *argv: str, timeout: float = 1800, cwd: Path = REPO) -> tuple[bool, str]:
        """One CLI call; its output goes to logs/<name>.log; (succeeded, last lines)."""
        log = self.layout.log(name)
        start = time.monotonic()
        with log.open("w") as out:
            try:
                rc = subprocess.call([str(self.layout.bin / "pulumi"), "--non-interactive", "--color", "never",
                                      *argv], cwd=cwd, env={**os.environ, **self.env()}, stdout=out,
                                     stderr=subprocess.STDOUT, timeout=timeout)
            except subprocess.TimeoutExpired:
                rc = -1
        self.timings[name] = round(time.monotonic() - start, 1)
        tail = " | ".join(line.strip() for line in log.read_text().splitlines()[-6:] if line.strip())
        return rc == 0, tail


def start_control_plane(run: Run) -> None:
    plane = run.plane = cluster.ControlPlane(run.layout)
    plane.write_credentials()
    start = time.monotonic()
    plane.start("etcd", cluster.etcd_args(run.layout))
    plane.start("kube-apiserver", cluster.apiserver_args(run.layout))
    run.api = kube.Client.from_kubeconfig(run.layout.kubeconfig("admin"))
    kube.wait("the API server's /readyz", run.client.ready, 120)
    plane.start("kube-controller-manager", cluster.controller_manager_args(run.layout))
    plane.start("kube-scheduler", cluster.scheduler_args(run.layout))
    plane.start("kwok", cluster.kwok_args(run.layout))
    for name in cluster.NODES:
        run.client.create("/api/v1/nodes", cluster.node(name))
    for i in range(3):  # volumes for the stack's PersistentVolumeClaims (no provisioner here)
        run.client.create("/api/v1/persistentvolumes", {
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"e2e-volume-{i}"},
            "spec": {"capacity": {"storage": "500Gi"}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Delete", "hostPath": {"path": f"/tmp/e2e-volume-{i}"}}})

    def nodes_ready() -> bool:
        nodes = run.client.items("/api/v1/nodes")
        return len(nodes) == len(cluster.NODES) and all(
            any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
            for n in nodes)
    kube.wait("kwok to mark the nodes Ready", nodes_ready, 120)
    kube.wait("the default ServiceAccount", lambda: run.client.get("/api/v1/namespaces/default/serviceaccounts/default"),
              60)
    run.timings["control-plane"] = round(time.monotonic() - start, 1)


class IstiodKubelet:
    """Runs the real pilot-discovery for the first Running istiod pod of the chart; keeps the mounted
    ConfigMaps in sync (istiod watches those files) and restarts it if its pod is replaced."""

    def __init__(self, run: Run):
        self.run = run
        self.pod_uid = ""
        self.proc: Optional[cluster.Proc] = None
        self.versions: dict[str, str] = {}
        self.stopped = threading.Event()
        self.forwarder = istiod.Forwarder(443, istiod.WEBHOOK_PORT)
        self.error = ""
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while not self.stopped.wait(1.0):
            try:
                self._sync()
            except Exception as err:  # noqa: BLE001 - recorded, retried: the API may be mid-change
                self.error = f"{type(err).__name__}: {err}"[:300]

    def _configmaps(self) -> dict[str, dict[str, str]]:
        items = self.run.client.items("/api/v1/namespaces/istio-system/configmaps")
        self.versions = {c["metadata"]["name"]: c["metadata"]["resourceVersion"] for c in items}
        return {c["metadata"]["name"]: c.get("data") or {} for c in items}

    def _sync(self) -> None:
        pods = [p for p in self.run.client.items("/api/v1/namespaces/istio-system/pods?labelSelector=app%3Distiod")
                if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        if not pods:
            return
        pods.sort(key=lambda p: p["metadata"]["creationTimestamp"])
        pod = pods[0]
        root = self.run.layout.run / "istiod-root"
        before = dict(self.versions)
        launch = istiod.launch(pod, self._configmaps())
        if pod["metadata"]["uid"] == self.pod_uid and self.proc and self.proc.popen.poll() is None:
            if before != self.versions:
                istiod.materialise(root, launch.files, (root / istiod.TOKEN_DIR / "istio-token").read_text())
            return
        if self.proc and self.proc.popen.poll() is None:
            self.proc.popen.terminate()
            self.proc.popen.wait(20)
        sa = f"/api/v1/namespaces/{launch.namespace}/serviceaccounts/{launch.service_account}/token"
        token = self.run.client.create(sa, istiod.token_request(launch.token_audience))["status"]["token"]
        api_token = self.run.client.create(sa, istiod.token_request("https://kubernetes.default.svc.cluster.local"))
        shutil.rmtree(root, ignore_errors=True)
        istiod.materialise(root, launch.files, token)
        config = root / "kubeconfig"
        config.write_text(json.dumps(istiod.token_kubeconfig(
            f"https://127.0.0.1:{cluster.API_PORT}", self.run.layout.pki / "ca.crt", api_token["status"]["token"],
            launch.service_account)))
        env = {**launch.env, "KUBECONFIG": str(config), "POD_NAME": pod["metadata"]["name"]}
        assert self.run.plane is not None
        self.proc = self.run.plane.start("istiod", [str(self.run.layout.bin / "pilot-discovery"), *launch.args],
                                         env=env, cwd=root)
        self.pod_uid = pod["metadata"]["uid"]

    def stop(self) -> None:
        self.stopped.set()
        self.forwarder.close()


def snapshot(run: Run) -> list[dict[str, Any]]:
    """Every object of every listable type, across namespaces."""
    out: list[dict[str, Any]] = []
    for rt in run.client.resource_types():
        if rt.kind in checks.EPHEMERAL:
            continue
        try:
            for item in run.client.items(rt.path()):
                item.setdefault("apiVersion", rt.group_version)
                item.setdefault("kind", rt.kind)
                out.append(item)
        except kube.ApiError:
            continue
    return out


def workloads(run: Run) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    c = run.client
    return (c.items("/apis/apps/v1/deployments"), c.items("/apis/apps/v1/replicasets"), c.items("/api/v1/pods"))


def settle(run: Run, seconds: float = 90) -> None:
    """Wait until no Deployment is short of ready replicas (or `seconds` pass)."""
    with contextlib.suppress(TimeoutError):
        kube.wait("Deployments to settle", lambda: not checks.not_ready(workloads(run)[0]), seconds, 2)


def check_after_up(run: Run) -> None:
    r, c = run.results, run.client
    deployments, replicasets, pods = workloads(run)
    mesh = checks.mesh_namespaces(c.items("/api/v1/namespaces"))
    r.add("deployments ready", not checks.not_ready(deployments), ", ".join(checks.not_ready(deployments)[:6]))
    r.add("pod admission", not checks.failed_creates(replicasets), "; ".join(checks.failed_creates(replicasets)[:3]))
    mesh_pods = [p for p in pods if p["metadata"]["namespace"] in mesh]
    bare = [f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in mesh_pods if not checks.injected(p)]
    r.add("sidecars injected by istiod", bool(mesh_pods) and not bare,
          f"{len(mesh_pods) - len(bare)}/{len(mesh_pods)} pods in {len(mesh)} mesh namespaces"
          + (f"; without: {', '.join(bare[:5])}" if bare else ""))
    init = sorted({c["name"] for p in mesh_pods for c in p["spec"].get("initContainers") or []})
    r.add("injected pods carry no istio-init (CNI mode)", bool(mesh_pods) and "istio-init" not in init,
          f"init containers: {', '.join(init) or 'none'}")
    if mesh_pods:
        (run.layout.run / "injected-pod.json").write_text(json.dumps(mesh_pods[0], indent=1))
    privileged = sorted({f"{p['metadata']['namespace']}/{(p['metadata'].get('ownerReferences') or [{}])[0].get('name')}"
                         for p in pods if checks.privileged(p)})
    r.add("the CNI agent is the only privileged workload", all(w.startswith("istio-cni/") for w in privileged),
          ", ".join(privileged) or "none")
    refused = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "e2e-privileged", "namespace": namespace_of(mesh)},
               "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": True}}]}}
    try:
        c.create(f"/api/v1/namespaces/{namespace_of(mesh)}/pods", refused)
        r.add("Pod Security Admission refuses a privileged pod in a mesh namespace", False, "it was admitted")
    except kube.ApiError as err:
        r.add("Pod Security Admission refuses a privileged pod in a mesh namespace", "PodSecurity" in str(err),
              str(err)[:160])
    hooks = [*c.items("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"),
             *c.items("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations")]
    istio_hooks = [h for h in hooks if "istio" in h["metadata"]["name"]]
    unpatched = [h["metadata"]["name"] for h in istio_hooks
                 if any(not (w.get("clientConfig") or {}).get("caBundle") for w in h.get("webhooks") or [])]
    r.add("istiod patched its webhooks' CA bundle", bool(istio_hooks) and not unpatched,
          f"{len(istio_hooks)} configurations" + (f"; unpatched: {', '.join(unpatched)}" if unpatched else ""))
    namespace = namespace_of(mesh)
    bad = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
           "metadata": {"name": "e2e-invalid", "namespace": namespace},
           "spec": {"action": "ALLOW", "rules": [{"to": [{"operation": {"methods": [""]}}]}]}}
    try:
        c.create(f"/apis/security.istio.io/v1/namespaces/{namespace}/authorizationpolicies", bad)
        r.add(REFUSES_INVALID, False, "an invalid AuthorizationPolicy was admitted")
    except kube.ApiError as err:
        r.add(REFUSES_INVALID, "denied" in str(err), str(err)[:200])


def check_webhook_secret(run: Run) -> None:
    """The webhook URL set with --secret: in the Secret Alertmanager mounts, in no ConfigMap, not in
    plaintext in the state, and the rendered Alertmanager config reads it from the file."""
    c, ns = run.client, OBSERVABILITY_NAMESPACE
    secret = c.get(f"/api/v1/namespaces/{ns}/secrets/{WEBHOOK_SECRET}") or {}
    stored = base64.b64decode((secret.get("data") or {}).get("url", "")).decode()
    leaks = [f"ConfigMap {m['metadata']['namespace']}/{m['metadata']['name']}" for m in c.items("/api/v1/configmaps")
             if WEBHOOK_URL in json.dumps(m.get("data") or {})]
    leaks += [f"state file {f.name}" for f in (run.layout.run / "state").rglob("*.json") if WEBHOOK_URL in f.read_text()]
    config = "".join(json.dumps(m.get("data") or {}) for m in c.items(f"/api/v1/namespaces/{ns}/configmaps")
                     if "alertmanager" in m["metadata"]["name"])
    mounted = any(v.get("secret", {}).get("secretName") == WEBHOOK_SECRET
                  for s in c.items(f"/apis/apps/v1/namespaces/{ns}/statefulsets")
                  for v in s["spec"]["template"]["spec"].get("volumes") or [])
    ok = stored == WEBHOOK_URL and not leaks and "url_file" in config and mounted
    run.results.add(WEBHOOK_CHECK, ok, f"Secret {ns}/{WEBHOOK_SECRET}: {'holds it' if stored == WEBHOOK_URL else 'wrong'}"
                    f"; mounted by Alertmanager: {mounted}; url_file in its config: {'url_file' in config}"
                    + (f"; also in: {', '.join(leaks)}" if leaks else "; in no ConfigMap or state file"))


def namespace_of(mesh: list[str]) -> str:
    """An application namespace to probe admission in (not the ingress gateway's)."""
    apps = [n for n in mesh if n != "istio-ingress"]
    return apps[0] if apps else "default"


def blast(run: Run, name: str, config: list[str], expect: str) -> None:
    """`pulumi config set` then `up`; which Deployments rolled and which pods were replaced."""
    settle(run)
    deployments, replicasets, pods = workloads(run)
    state, uids = checks.rollout_state(deployments, replicasets), checks.pod_uids(pods)
    for item in config:
        path, _, value = item.partition("=")
        run.pulumi(f"config-{name}", "config", "set", "--stack", STACK, "--path", path, value)
    ok, tail = run.pulumi(f"up-{name}", "up", "--stack", STACK, "--yes", "--skip-preview", *policy_args(run))
    if not ok:
        run.results.add(f"blast radius: {name}", False, f"up failed: {tail}")
        return
    settle(run)
    deployments, replicasets, pods = workloads(run)
    moved = checks.rolled(state, checks.rollout_state(deployments, replicasets))
    replaced = len(uids - checks.pod_uids(pods))
    mesh = checks.mesh_namespaces(run.client.items("/api/v1/namespaces"))  # once, not per Deployment
    injected = sorted(f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in deployments
                      if d["metadata"]["namespace"] in mesh)
    want = {"none": [], "injected": injected}.get(expect, [expect])
    run.results.add(f"blast radius: {name}", moved == want,
                    f"rolled {moved or 'nothing'}, {replaced} pods replaced; expected {want or 'nothing'}")


def outcome(run: Run, name: str, ok: bool, tail: str) -> str:
    """'12.3 s', or with the CLI's last lines when it failed."""
    return f"{run.timings[name]} s" + ("" if ok else f"; {tail}")


def policy_args(run: Run) -> list[str]:
    return ["--policy-pack", str(REPO / "policy"), "--policy-pack-config", str(run.layout.run / "policy.staging.json")]


def inside(args: argparse.Namespace) -> int:
    cache = cache_dir(args)
    layout = cluster.Layout(run=cache / "runs" / time.strftime("%Y%m%d-%H%M%S"), bin=cache / "bin")
    layout.run.mkdir(parents=True)
    run = Run(layout)
    repo_dir = layout.run / "charts"
    url, stop_repo = chart_repo.serve(chart_repo.build(Path(args.charts_dir), repo_dir))
    run.mirror = url
    kubelet: Optional[IstiodKubelet] = None
    try:
        start_control_plane(run)
        run.results.add("control plane up", True, f"{run.timings['control-plane']} s ({layout.run})")
        version = run.client.request("GET", "/version")
        minor = f"{version['major']}.{version['minor'].rstrip('+')}"
        istio_version = subprocess.run([str(layout.bin / "pilot-discovery"), "version", "-s"], capture_output=True,
                                       text=True).stdout.split()[-1]  # "client version: 1.31.0"
        have = stack.available(Path(args.charts_dir))
        for name, base in ((STACK, BASE_STACK), (PROD_STACK, "prod"), (RENDER_STACK, BASE_STACK),
                           *RENDER_OTHERS.items()):
            subs = stack.substitutions(pinned_charts(base), have)
            if name in (STACK, PROD_STACK):
                for chart, (pin, used) in subs.items():
                    print(f"adapted {name}: {chart} {pin} is not in CHARTS_DIR; using {used}")
            stack.write_stack(REPO, name, base, mirror=url, context="admin", kubernetes_version=minor,
                              environment=base, istio_version=istio_version,
                              charts={chart: used for chart, (_, used) in subs.items()})
        stack.write_policy(REPO, layout.run, BASE_STACK, url)
        stack.write_policy(REPO, layout.run, "prod", url)
        run.pulumi("login", "login", f"file://{layout.run / 'state'}")
        (layout.run / "state").mkdir(exist_ok=True)
        for name in (STACK, PROD_STACK, RENDER_STACK, *RENDER_OTHERS):
            run.pulumi(f"init-{name}", "stack", "init", name)
        run.pulumi("config-webhook", "config", "set", "--stack", STACK, "--secret", "--path",
                   "mesh:observability.prometheus.alertmanager.webhookUrl", WEBHOOK_URL)
        kubelet = IstiodKubelet(run)
        before = snapshot(run)
        ok, tail = run.pulumi("up", "up", "--stack", STACK, "--yes", "--skip-preview", *policy_args(run))
        if not run.results.add("pulumi up (with the policy pack)", ok, outcome(run, "up", ok, tail)):
            print(f"istiod: {kubelet.error or 'no error recorded'}; logs in {layout.run / 'logs'}")
            return finish(run, args)
        settle(run)
        check_after_up(run)
        check_webhook_secret(run)
        applied = checks.created(before, snapshot(run))
        ok, tail = run.pulumi("preview-no-op", "preview", "--stack", STACK, "--expect-no-changes", *policy_args(run))
        run.pulumi("up-again", "up", "--stack", STACK, "--yes", "--skip-preview", *policy_args(run))
        run.results.add("pulumi preview --expect-no-changes", ok, outcome(run, "preview-no-op", ok, tail))
        blast(run, "tracing sampling", ["mesh:istio.tracing.sampling=20"], "none")
        blast(run, "proxy resources", ["mesh:istio.proxy.resources.requests.cpu=70m",
                                       "mesh:istio.proxy.resources.requests.memory=128Mi",
                                       "mesh:istio.proxy.resources.limits.cpu=1",
                                       "mesh:istio.proxy.resources.limits.memory=512Mi"], "injected")
        blast(run, "one image tag", ["mesh:workloads.services.catalog.image.tag=v1.4.3"], "catalog/catalog")
        ok, tail = run.pulumi("preview-prod", "preview", "--stack", PROD_STACK, "--policy-pack", str(REPO / "policy"),
                              "--policy-pack-config", str(layout.run / "policy.prod.json"))
        run.results.add("pulumi preview of prod's config", ok, outcome(run, "preview-prod", ok, tail))
        check_render(run, applied)
        exported = json.loads(run.pulumi_output("export", "stack", "export", "--stack", STACK) or "{}")
        count = len((exported.get("deployment") or {}).get("resources") or [])
        ok, tail = run.pulumi("destroy", "destroy", "--stack", STACK, "--yes")
        run.results.add("pulumi destroy", ok, outcome(run, "destroy", ok, tail))
        time.sleep(5)
        left = checks.leftovers(before, snapshot(run))
        (layout.run / "leftovers.json").write_text(json.dumps(left, indent=1))
        owned = {k[3] for k in applied if k[1] == "Namespace"}
        ours, istiods = checks.runtime_writes(left, owned)
        run.results.add("nothing the program or its charts created is left after destroy", not ours,
                        checks.describe(ours) or f"{len(applied)} objects gone")
        if istiods:
            print(f"note: istiod wrote {checks.describe(istiods)} at run time into namespaces the stack does not own "
                  "(README: Run it for real)")
        floor(run, count)
    except Exception as err:  # noqa: BLE001 - reported as a failed check, then everything stops
        run.results.add("harness", False, f"{type(err).__name__}: {err}")
    finally:
        if kubelet:
            kubelet.stop()
        if not args.keep and run.plane:
            run.plane.stop()
        stop_repo()
        for name in (STACK, PROD_STACK, RENDER_STACK, *RENDER_OTHERS):
            (REPO / "stacks" / f"Pulumi.{name}.yaml").unlink(missing_ok=True)
    return finish(run, args)


FLOOR = Path(__file__).with_name("floor")


def floor(run: Run, count: int) -> None:
    """The same four operations on `count` trivial ConfigMaps: what the CLI and provider cost alone."""
    steps = [("init", ["stack", "init", "floor"]), ("config", ["config", "set", "--stack", "floor", "count", str(count)]),
             ("up", ["up", "--stack", "floor", "--yes", "--skip-preview"]),
             ("preview", ["preview", "--stack", "floor", "--expect-no-changes"]),
             ("up-again", ["up", "--stack", "floor", "--yes", "--skip-preview"]),
             ("destroy", ["destroy", "--stack", "floor", "--yes"])]
    for step, argv in steps:
        ok, tail = run.pulumi(f"floor-{step}", *argv, cwd=FLOOR)
        if not ok:
            run.results.add(f"floor program ({count} ConfigMaps)", False, f"{step} failed: {tail}")
            return
    run.timings["floor-resources"] = count
    run.results.add(f"floor program ({count} ConfigMaps)", True,
                    ", ".join(f"{s} {run.timings['floor-' + s]} s" for s in ("up", "preview", "up-again", "destroy")))


def pinned_charts(base_stack: str) -> dict[str, str]:
    """The addon chart versions a stack pins (its config over the defaults)."""
    import yaml

    from components.config.loading import parse_stack_config

    raw = yaml.safe_load((REPO / "stacks" / f"Pulumi.{base_stack}.yaml").read_text())["config"]
    cfg = parse_stack_config(base_stack, {k.removeprefix("mesh:"): v for k, v in raw.items()})
    o = cfg.observability
    return {"prometheus": o.prometheus.chart_version, "jaeger": o.jaeger.chart_version,
            "grafana": o.grafana.chart_version, "kiali-server": o.kiali.chart_version}


def check_render(run: Run, applied: list[checks.Key]) -> None:
    """Render mode with the real engine (no cluster) for every stack's config; the e2e config's
    manifests are the objects `up` made."""
    import yaml

    outs = {}
    for name, base in ((RENDER_STACK, BASE_STACK), *RENDER_OTHERS.items()):
        out = outs[base] = run.layout.run / "rendered" / base
        run.pulumi(f"render-config-{base}", "config", "set", "--stack", name, "--path",
                   "mesh:kubernetes.renderYamlTo", str(out))
        ok, tail = run.pulumi(f"render-{base}", "up", "--stack", name, "--yes", "--skip-preview")
        if not run.results.add(f"render mode with the real engine ({base}'s config)", ok,
                               outcome(run, f"render-{base}", ok, tail)):
            return
    rendered = [doc for f in sorted(outs[BASE_STACK].rglob("*.yaml")) for doc in yaml.safe_load_all(f.read_text())
                if doc]
    names = {(k[1], k[2], k[3]) for k in map(checks.key, rendered)}
    made = {(k[1], k[2], k[3]) for k in applied}
    missing = sorted(names - made)
    run.results.add("rendered manifests match what up applied", not missing,
                    f"{len(names)} rendered" + (f"; not applied: {missing[:5]}" if missing else ""))


def finish(run: Run, args: argparse.Namespace) -> int:
    print(run.results.summary())
    (run.layout.run / "timings.json").write_text(json.dumps(run.timings, indent=1))
    if args.write:
        results = REPO / "benchmarks" / "results.json"
        data = json.loads(results.read_text())
        data["e2e_local"] = {"timings_s": run.timings, "checks": len(run.results.lines), "failed": run.results.failed,
                             "date": time.strftime("%Y-%m-%d"), "machine": perf_tables.machine()}
        results.write_text(json.dumps(data, indent=1) + "\n")
    return 0 if run.results.failed == 0 else 1


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--charts-dir", help="chart sources: <chart>-<version>/ directories")
    parser.add_argument("--cache", help="build cache and run directories (default .cache/e2e or $E2E_CACHE)")
    parser.add_argument("--keep", action="store_true", help="leave the control plane running (debugging)")
    parser.add_argument("--write", action="store_true", help="write the timings to benchmarks/results.json")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already in the cache")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return inside(args) if args.inside else outer(args)


if __name__ == "__main__":
    sys.exit(main())
