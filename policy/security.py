"""Security rules of the pack: pod security ("restricted" with its AppArmor and SELinux controls, and
per namespace), CNI mode, injection opt-outs, sidecar bypass, bare pods, authorization, open
NetworkPolicies, EnvoyFilters that drop security filters, powerful RBAC bindings, mTLS (STRICT
mesh-wide, no downgrade), anonymous Kiali and Grafana, strict values. Pure functions
(type, props, config) -> messages; what each environment allows comes from `kinds.posture`.

They judge every resource a preview hands the pack, chart children included (Chart v4 registers
each rendered object as its own resource, e.g. `kubernetes:apps/v1:Deployment`).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml  # PyYAML, a dependency of the pulumi SDK the pack already installs

from kinds import (
    CONTROLLERS,
    CRON_JOB,
    EXACT_VERSION,
    NAMESPACE,
    PEER_AUTHENTICATION,
    ROOT_NAMESPACE,
    TELEMETRY,
    Config,
    Props,
    chart_values,
    declared_chart,
    environment,
    mesh_wide_peer_authentication,
    name_of,
    posture,
    privileged_namespaces,
)

POD = "kubernetes:core/v1:Pod"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
TEMPLATED = {*CONTROLLERS, "kubernetes:core/v1:ReplicationController", REPLICA_SET}
AUTHORIZATION = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
DESTINATION_RULE = "kubernetes:networking.istio.io/v1:DestinationRule"
KIALI_CR = "kubernetes:kiali.io/v1alpha1:Kiali"
INJECT = "sidecar.istio.io/inject"
# A source must name who it admits; `not*` fields alone admit everyone else.
# Ref: https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source
IDENTITIES = ("principals", "requestPrincipals", "namespaces", "ipBlocks", "remoteIpBlocks")
# Ref: https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
ALLOWED_CAPABILITIES = {"NET_BIND_SERVICE"}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret", "name"}
# Ref: https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline (safe sysctls)
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
# Baseline controls "restricted" includes: AppArmor may not be disabled or swapped for an arbitrary
# profile, SELinux may pick only a container type, and never a user or role.
# Ref: https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline (AppArmor, SELinux)
APPARMOR_TYPES = {"RuntimeDefault", "Localhost"}
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
SELINUX_TYPES = {"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def pod_spec(type_: str, props: Props) -> Mapping[str, Any] | None:
    """The pod spec of any kind that has one (Pod, templates, CronJob's job template)."""
    spec = props.get("spec") or {}
    if type_ == POD:
        return spec
    if type_ == CRON_JOB:
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif type_ not in TEMPLATED:
        return None
    return (spec.get("template") or {}).get("spec") or {}


def pod_metadata(type_: str, props: Props) -> Mapping[str, Any]:
    if type_ == POD:
        return props.get("metadata") or {}
    spec = props.get("spec") or {}
    if type_ == CRON_JOB:
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("metadata") or {}


def containers(pod: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key) or []


def _confinement(who: str, sc: Mapping[str, Any]) -> list[str]:
    """AppArmor and SELinux settings of one security context (pod or container) below baseline."""
    out = []
    apparmor = (sc.get("appArmorProfile") or {}).get("type")
    if apparmor is not None and apparmor not in APPARMOR_TYPES:
        out.append(f"{who} sets AppArmor profile {apparmor}")
    selinux = sc.get("seLinuxOptions") or {}
    if selinux.get("type") and selinux.get("type") not in SELINUX_TYPES:
        out.append(f"{who} sets SELinux type {selinux.get('type')}")
    out += [f"{who} sets SELinux {key} {selinux.get(key)}" for key in ("user", "role") if selinux.get(key)]
    return out


def pod_security(type_: str, props: Props, config: Config) -> list[str]:
    """The Kubernetes "restricted" pod security standard, for every kind with a pod template, outside the
    namespaces that admit privileged pods (`privilegedNamespaces`; namespace-pod-security keeps those few)."""
    pod = pod_spec(type_, props)
    if pod is None or (props.get("metadata") or {}).get("namespace") in privileged_namespaces(config):
        return []
    where, found = f"{type_.rsplit(':', 1)[-1]} '{name_of(props)}'", []
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(host):
            found.append(f"{host}: true")
    found += [f"volume '{v.get('name')}' of type {sorted(set(v) - RESTRICTED_VOLUMES)}"
              for v in pod.get("volumes") or [] if set(v) - RESTRICTED_VOLUMES]
    pod_sc = pod.get("securityContext") or {}
    found += [f"unsafe sysctl {s.get('name')}" for s in pod_sc.get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS]
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        found.append("a Windows host process")
    found += _confinement("the pod", pod_sc)
    found += [f"annotation {k}: {v}" for k, v in (pod_metadata(type_, props).get("annotations") or {}).items()
              if k.startswith(APPARMOR_ANNOTATION) and v != "runtime/default" and not str(v).startswith("localhost/")]
    for c in containers(pod):
        sc, name = c.get("securityContext") or {}, c.get("name")
        if sc.get("privileged"):
            found.append(f"container {name} is privileged")
        found += _confinement(f"container {name}", sc)
        found += [f"container {name} binds host port {p.get('hostPort')}" for p in c.get("ports") or [] if p.get("hostPort")]
        if sc.get("procMount", "Default") != "Default":
            found.append(f"container {name} sets procMount {sc.get('procMount')}")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            found.append(f"container {name} is a Windows host process")
        added = set((sc.get("capabilities") or {}).get("add") or []) - ALLOWED_CAPABILITIES
        if added:
            found.append(f"container {name} adds capabilities {sorted(added)}")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            found.append(f"container {name} does not drop ALL capabilities")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"container {name} may escalate privileges (allowPrivilegeEscalation is not false)")
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            found.append(f"container {name} may run as root (runAsNonRoot is not true)")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            found.append(f"container {name} runs as UID 0")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"container {name} has no RuntimeDefault seccomp profile")
    return [f"{where} breaks the restricted pod security standard: {f}. A compromised container could reach "
            "the node or other workloads. Fix: set the chart's or workload's securityContext (drop ALL, no "
            "privilege escalation, non-root, seccompProfile RuntimeDefault, the runtime's AppArmor profile and "
            "SELinux type)." for f in found]


def no_bare_pods(type_: str, props: Props, config: Config) -> list[str]:
    """Pods and ReplicaSets only through a controller that restarts and rolls them."""
    if type_ not in (POD, REPLICA_SET):
        return []
    kind = type_.rsplit(":", 1)[-1]
    return [f"{kind} '{name_of(props)}' is declared directly: nothing replaces it when its node goes and nothing "
            "rolls it when it changes. Fix: declare a Deployment (or StatefulSet, Job)."]


def no_injection_opt_out_in_mesh_namespace(type_: str, props: Props, config: Config) -> list[str]:
    """A namespace that claims to be part of the mesh cannot disable injection."""
    if type_ != "kubernetes:core/v1:Namespace":
        return []
    labels = (props.get("metadata") or {}).get("labels") or {}
    if labels.get("app.kubernetes.io/part-of") == "mesh" and labels.get("istio-injection") == "disabled":
        return [f"Namespace '{name_of(props)}' claims to be part of the mesh but disables injection: its pods would "
                "bypass mTLS and authorization. Fix: remove istio-injection=disabled."]
    return []


def injection_opt_outs(resources: list[tuple[str, Props]], config: Config) -> list[str]:
    """Stack rule: no workload in an injected namespace opts out of injection (label or annotation)."""
    injected = set()
    for type_, props in resources:
        meta = props.get("metadata") or {}
        labels = meta.get("labels") or {}
        if type_ == "kubernetes:core/v1:Namespace" and (labels.get("istio-injection") == "enabled"
                                                        or labels.get("istio.io/rev")):
            injected.add(meta.get("name"))
    out = []
    for type_, props in resources:
        if pod_spec(type_, props) is None or (props.get("metadata") or {}).get("namespace") not in injected:
            continue
        meta = pod_metadata(type_, props)
        marks = {**(meta.get("annotations") or {}), **(meta.get("labels") or {})}
        if str(marks.get(INJECT, "")).lower() == "false":
            out.append(f"{type_.rsplit(':', 1)[-1]} '{name_of(props)}' opts out of sidecar injection in an injected "
                       "namespace: it runs without mTLS, outside every AuthorizationPolicy. Fix: remove "
                       f"{INJECT}: \"false\" from its pod template.")
    return out


def every_address(cidrs: Iterable[Any]) -> bool:
    """CIDRs (or bare addresses) that together cover all of IPv4 or all of IPv6: `0.0.0.0/0`, `::/0`, or
    pieces that add up to it (`0.0.0.0/1` and `128.0.0.0/1`). Entries that do not parse admit nothing."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for cidr in cidrs:
        try:
            net = ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError:
            continue
        v4 += [net] if isinstance(net, ipaddress.IPv4Network) else []
        v6 += [net] if isinstance(net, ipaddress.IPv6Network) else []
    return (ipaddress.IPv4Network("0.0.0.0/0") in ipaddress.collapse_addresses(v4)
            or ipaddress.IPv6Network("::/0") in ipaddress.collapse_addresses(v6))


def authorization_not_open(type_: str, props: Props, config: Config) -> list[str]:
    """No ALLOW policy that admits everyone: an empty rule, a rule without `from`, a source naming no
    identity, a wildcard identity, or IP blocks that cover every address."""
    if type_ != AUTHORIZATION:
        return []
    spec = props.get("spec") or {}
    if spec.get("action", "ALLOW") != "ALLOW":
        return []
    why = []
    for rule in spec.get("rules") or []:
        if not rule or not rule.get("from"):
            why.append("a rule without `from` (any source)")
        for source in [f.get("source") or {} for f in rule.get("from") or []]:
            if not any(source.get(k) for k in IDENTITIES):
                why.append("a source that names no identity (only exclusions, or none)")
            for key in ("principals", "namespaces", "requestPrincipals"):
                if any("*" in str(v) for v in source.get(key) or []):
                    why.append(f"a wildcard in {key}")
            why += [f"{key} that cover every address" for key in ("ipBlocks", "remoteIpBlocks")
                    if every_address(source.get(key) or [])]
    return [f"AuthorizationPolicy '{name_of(props)}' allows everyone: {w}. Fix: list the callers' principals "
            "(the program derives them from the call graph)." for w in why]


def _weak(mode: Any) -> bool:
    return str(mode).upper() in ("PERMISSIVE", "DISABLE")


def no_mtls_downgrade(type_: str, props: Props, config: Config) -> list[str]:
    """Outside dev: no PeerAuthentication PERMISSIVE/DISABLE at any scope or port, no DestinationRule
    that turns TLS off."""
    if not posture(config)["strict_mtls"]:
        return []
    spec, name, out = props.get("spec") or {}, name_of(props), []
    if type_ == PEER_AUTHENTICATION:
        if _weak((spec.get("mtls") or {}).get("mode")):
            out.append(f"PeerAuthentication '{name}' sets mode {(spec.get('mtls') or {}).get('mode')}")
        out += [f"PeerAuthentication '{name}' sets port {p} to {m.get('mode')}"
                for p, m in (spec.get("portLevelMtls") or {}).items() if _weak((m or {}).get("mode"))]
    if type_ == DESTINATION_RULE:
        policy = spec.get("trafficPolicy") or {}
        settings = [policy, *(policy.get("portLevelSettings") or [])]
        if any(str((s.get("tls") or {}).get("mode", "")).upper() == "DISABLE" for s in settings):
            out.append(f"DestinationRule '{name}' sets tls.mode DISABLE")
    return [f"{o} in {environment(config)}: traffic can be plaintext and identities spoofed. Fix: keep STRICT mTLS "
            "(mesh:istio.mtls) and remove the override." for o in out]


def one_mesh_wide_peer_authentication(resources: list[tuple[str, Props]], config: Config) -> list[str]:
    """Stack rule: at most one mesh-wide PeerAuthentication (root namespace, no selector)."""
    mesh_wide = [p for t, p in resources if mesh_wide_peer_authentication(t, p)]
    if len(mesh_wide) > 1:
        return [f"{len(mesh_wide)} mesh-wide PeerAuthentications ({', '.join(name_of(p) for p in mesh_wide)}): which "
                "one wins is undefined. Fix: keep one, named `default`, in istio-system."]
    return []


def _chart(props: Props) -> str:
    return str(props.get("chart", "")).rsplit("/", 1)[-1]


def yaml_mapping(text: Any) -> Mapping[str, Any]:
    """A YAML document a program reads (Kiali's config.yaml, Istio's mesh config) as a mapping, else empty."""
    try:
        loaded = yaml.safe_load(str(text)) if text else {}
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, Mapping) else {}


# Grafana reads its ini with go-ini, whose booleans are wider than Go's strconv.ParseBool ("yes", "on"
# and "y" are true too), and a GF_<SECTION>_<KEY> environment variable replaces the ini's value when set.
# Ref: https://github.com/go-ini/ini/blob/main/key.go (parseBool, MustBool)
# Ref: https://github.com/grafana/grafana/blob/main/pkg/setting/setting.go (auth.anonymous enabled, MustBool(false))
# Ref: https://grafana.com/docs/grafana/latest/setup-grafana/configure-grafana/#override-configuration-with-environment-variables
INI_TRUE = {"1", "t", "T", "true", "TRUE", "True", "YES", "yes", "Yes", "y", "ON", "on", "On"}
GRAFANA_ANONYMOUS_ENV = "GF_AUTH_ANONYMOUS_ENABLED"


def go_string(value: Any) -> str:
    """A values entry as a Helm template prints it (Go's fmt): true/false, 1 for 1.0, nothing for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ini_true(value: Any) -> bool:
    """A Grafana setting as go-ini's MustBool reads it: an inline comment cut, surrounding quotes dropped."""
    text = re.split(r"[#;]", go_string(value), maxsplit=1)[0].strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text in INI_TRUE


def _ini(text: Any) -> dict[str, dict[str, str]]:
    """An ini file's sections -> keys -> raw values (what go-ini hands MustBool)."""
    sections: dict[str, dict[str, str]] = {}
    current = sections.setdefault("", {})
    for line in str(text).splitlines():
        line = line.strip()
        if line.startswith("[") and "]" in line:
            current = sections.setdefault(line[1:line.index("]")].strip(), {})
        elif "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def _grafana_values_anonymous(values: Mapping[str, Any]) -> str | None:
    """Where the grafana chart's values enable anonymous users: an env override wins when set."""
    for key in ("env", "envRenderSecret"):  # envRenderSecret: a Secret the chart renders into the pod's env
        source = values.get(key)
        setting = source.get(GRAFANA_ANONYMOUS_ENV) if isinstance(source, Mapping) else None
        if go_string(setting) != "":
            return f"{key}.{GRAFANA_ANONYMOUS_ENV}" if ini_true(setting) else None
    ini = values.get("grafana.ini") if isinstance(values.get("grafana.ini"), Mapping) else {}
    section = (ini or {}).get("auth.anonymous")
    return "grafana.ini auth.anonymous.enabled" if isinstance(section, Mapping) and ini_true(
        section.get("enabled")) else None


def grafana_not_anonymous(type_: str, props: Props, config: Config) -> list[str]:
    """Anonymous Grafana only in dev, read as Grafana reads it, wherever it is set: the grafana chart's
    values (Chart v4 or Release v3, `valueYamlFiles` included), a rendered `grafana.ini` ConfigMap, or a
    GF_AUTH_ANONYMOUS_ENABLED env var on any pod template."""
    if posture(config)["anonymous_grafana"]:
        return []
    found = []
    if declared_chart(type_, props) and _chart(props) == "grafana":
        where = _grafana_values_anonymous(chart_values(props)[0])
        found += [f"chart values {where}"] if where else []
    data = (props.get("data") or {}) if type_ == CONFIG_MAP else {}
    if "grafana.ini" in data and ini_true(_ini(data["grafana.ini"]).get("auth.anonymous", {}).get("enabled")):
        found.append(f"ConfigMap '{name_of(props)}' grafana.ini")
    pod = pod_spec(type_, props)
    found += [f"{type_.rsplit(':', 1)[-1]} '{name_of(props)}' container {c.get('name')} env {GRAFANA_ANONYMOUS_ENV}"
              for c in containers(pod or {}) for e in c.get("env") or []
              if e.get("name") == GRAFANA_ANONYMOUS_ENV and ini_true(e.get("value"))]
    return [f"Grafana allows anonymous users in {environment(config)} ({f}): anyone who reaches it reads every "
            "metric. Fix: mesh:observability.grafana.anonymousViewer: false." for f in found]


def kiali_cr_not_anonymous(type_: str, props: Props, config: Config) -> list[str]:
    """A Kiali custom resource (operator install) is not anonymous outside dev either."""
    if type_ != KIALI_CR or posture(config)["anonymous_kiali"]:
        return []
    strategy = (((props.get("spec") or {}).get("auth") or {}).get("strategy"))
    if str(strategy).lower() == "anonymous":
        return [f"Kiali CR '{name_of(props)}' uses anonymous auth in {environment(config)}. Fix: token or openid."]
    return []


def strict_values(type_: str, props: Props, config: Config) -> list[str]:
    """Chart versions are exact ASCII versions; every values file is readable (else no rule can judge
    it); sampling percentages are numbers within 0-100."""
    out = []
    if declared_chart(type_, props):
        version = props.get("version")
        if not isinstance(version, str) or not EXACT_VERSION.fullmatch(version):
            out.append(f"Chart '{props.get('chart')}' version {version!r} is not an exact MAJOR.MINOR.PATCH. Fix: "
                       "pin the version the program declares.")
        out += [f"Chart '{props.get('chart')}' reads {label}, which the pack cannot read: no rule can judge those "
                "values. Fix: pass them in `values`, or as a file under the program's directory."
                for label in chart_values(props)[1]]
    if type_ == TELEMETRY:
        for tracing in (props.get("spec") or {}).get("tracing") or []:
            pct = tracing.get("randomSamplingPercentage")
            if pct is not None and (isinstance(pct, bool) or not isinstance(pct, (int, float)) or not 0 <= pct <= 100):
                out.append(f"Telemetry '{name_of(props)}' samples {pct!r}: not a number from 0 to 100. "
                           "Fix: mesh:istio.tracing.sampling.")
    return out


PSA = "pod-security.kubernetes.io/"
PSA_LEVELS = ("privileged", "baseline", "restricted")
# Ref: https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces


def _injected(labels: Mapping[str, Any]) -> bool:
    return labels.get("istio-injection") == "enabled" or "istio.io/rev" in labels


def namespace_pod_security(type_: str, props: Props, config: Config) -> list[str]:
    """A namespace without Pod Security Admission labels enforces whatever the cluster defaults to
    (often nothing). Each namespace enforces, audits and warns one level, pinned to a version; a mesh
    namespace enforces restricted; privileged only in `privilegedNamespaces` (default: istio-cni)."""
    if type_ != NAMESPACE:
        return []
    labels = (props.get("metadata") or {}).get("labels") or {}
    name = name_of(props)
    levels = {mode: labels.get(f"{PSA}{mode}") for mode in ("enforce", "audit", "warn")}
    out = []
    if any(v not in PSA_LEVELS for v in levels.values()) or len(set(levels.values())) != 1:
        out.append(f"Namespace '{name}' has Pod Security labels {levels}: enforce, audit and warn must name one "
                   f"level of {', '.join(PSA_LEVELS)}. Fix: label it with {PSA}{{enforce,audit,warn}}.")
    unpinned = [m for m in levels if not str(labels.get(f"{PSA}{m}-version", "")).startswith("v1.")]
    if unpinned:
        out.append(f"Namespace '{name}' does not pin the Pod Security version for {', '.join(unpinned)}: the standard "
                   "changes with the cluster. Fix: set pod-security.kubernetes.io/<mode>-version: v1.<minor>.")
    enforced = levels["enforce"]
    if _injected(labels) and enforced != "restricted":
        out.append(f"Mesh namespace '{name}' enforces '{enforced}', not restricted: with istio-cni nothing in an "
                   "injected pod needs more. Fix: pod-security.kubernetes.io/enforce: restricted.")
    if enforced == "privileged" and name not in privileged_namespaces(config):
        out.append(f"Namespace '{name}' admits privileged pods; only the CNI node agent needs that. Fix: baseline or "
                   "restricted, or list the namespace in privilegedNamespaces with the reason.")
    return out


def helm_truthy(value: Any) -> bool:
    """A value as a Helm template's `if` reads it (Go's text/template: false, 0, nil and empty are false;
    any other string, "false" included, is true)."""
    # Ref: https://pkg.go.dev/text/template#hdr-Actions (the empty values)
    return value not in (None, False, 0, "") and value != {} and value != []


INJECTOR_CONFIG = "istio-sidecar-injector"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"


def injector_values(type_: str, props: Props) -> Mapping[str, Any] | None:
    """The values istiod's injector reads (its ConfigMap `istio-sidecar-injector[-<rev>]`, as the
    istiod chart renders it), or None for any other resource."""
    if type_ != CONFIG_MAP or not name_of(props).startswith(INJECTOR_CONFIG):
        return None
    try:
        values = json.loads(((props.get("data") or {}).get("values")) or "{}")
    except (TypeError, ValueError):
        return {}
    return values if isinstance(values, Mapping) else {}


def _cni_enabled(values: Mapping[str, Any]) -> bool:
    pilot = values.get("pilot") if isinstance(values.get("pilot"), Mapping) else {}
    cni = (pilot or {}).get("cni")
    return isinstance(cni, Mapping) and helm_truthy(cni.get("enabled"))


def injector_cni_mode(type_: str, props: Props, config: Config) -> list[str]:
    """The injector istiod runs injects in CNI mode (judged on the rendered ConfigMap, what istiod reads)."""
    values = injector_values(type_, props)
    if values is None or _cni_enabled(values):
        return []
    return [f"Injector config '{name_of(props)}' has no CNI mode (pilot.cni.enabled): every injected pod gets "
            "istio-init with NET_ADMIN and NET_RAW as root. Fix: install istio-cni and enable CNI mode."]


def mesh_cni_mode(resources: list[tuple[str, Props]], config: Config) -> list[str]:
    """Without CNI mode every injected pod gets `istio-init` with NET_ADMIN and NET_RAW as root, below
    even the baseline standard: each istiod injects in CNI mode, and the CNI agent is installed. Judged
    on declared chart inputs where the engine passes them, and on the rendered objects (the injector
    ConfigMap, the agent's DaemonSet) where it does not."""
    charts = [(_chart(p), chart_values(p)[0], str(p.get("name") or name_of(p))) for t, p in resources
              if declared_chart(t, p)]
    istiods = [(values, name) for chart, values, name in charts if chart == "istiod"]
    out = [f"istiod release '{name}' injects without CNI (pilot.cni.enabled is not true): every pod gets "
           "istio-init with NET_ADMIN and NET_RAW as root. Fix: install istio-cni and enable CNI mode."
           for values, name in istiods if not _cni_enabled(values)]
    injectors = [t for t, p in resources if injector_values(t, p) is not None]
    agent = any(chart == "cni" for chart, _, _ in charts) or any(
        t == DAEMON_SET and name_of(p) == "istio-cni-node" for t, p in resources)
    if (istiods or injectors) and not agent:
        out.append("istiod is installed but no istio-cni agent: pods in CNI mode would start without traffic "
                   "redirection. Fix: install the cni chart at the same Istio version.")
    return out


KIALI_CHARTS = ("kiali-server", "kiali-operator")
# The Kiali server reads auth.strategy from its config.yaml only (override files cover credentials, not
# the strategy; no environment variable does), compared exactly with "anonymous".
# Ref: https://github.com/kiali/kiali/blob/master/config/config.go (AuthStrategyAnonymous, LoadFromFile, Unmarshal)


def _kiali_anonymous(settings: Any) -> bool:
    """Kiali's auth.strategy (the server's default is token), compared without case: stricter than Kiali."""
    auth = settings.get("auth") if isinstance(settings, Mapping) else None
    strategy = auth.get("strategy") if isinstance(auth, Mapping) else None
    return str(strategy or "token").lower() == "anonymous"


def kiali_not_anonymous(type_: str, props: Props, config: Config) -> list[str]:
    """Kiali requires login outside dev, wherever its auth strategy is set: the server chart's values
    (`valueYamlFiles` included), the operator chart's `cr.spec`, or the rendered ConfigMap the server reads."""
    env = environment(config)
    if posture(config)["anonymous_kiali"]:
        return []
    found = []
    if declared_chart(type_, props) and _chart(props) in KIALI_CHARTS:
        values = chart_values(props)[0]
        if _chart(props) == "kiali-operator":  # the operator chart can create the Kiali CR from `cr.spec`
            values = ((values.get("cr") or {}).get("spec")) or {}
        found += [f"chart {_chart(props)} values"] if _kiali_anonymous(values) else []
    data = (props.get("data") or {}) if type_ == CONFIG_MAP else {}
    labels = (props.get("metadata") or {}).get("labels") or {}
    if "config.yaml" in data and (labels.get("app.kubernetes.io/name") == "kiali" or name_of(props).startswith("kiali")) \
            and _kiali_anonymous(yaml_mapping(data["config.yaml"])):
        found.append(f"ConfigMap '{name_of(props)}' config.yaml")
    return [f"Kiali uses anonymous auth in {env} ({f}): anyone who reaches it can read (and, unless view-only, "
            "change) the mesh. Fix: set mesh:observability.kiali.auth.strategy to token or openid." for f in found]


def strict_mtls(resources: list[tuple[str, Props]], config: Config) -> list[str]:
    """Where the environment requires it (staging, prod), a mesh-wide STRICT PeerAuthentication."""
    env = environment(config)
    if not posture(config)["strict_mtls"]:
        return []
    for type_, props in resources:
        if mesh_wide_peer_authentication(type_, props) and ((props.get("spec") or {}).get("mtls") or {}).get(
                "mode") == "STRICT":
            return []
    return [f"No mesh-wide STRICT PeerAuthentication in {env}: services accept plaintext, so identities (and "
            "every AuthorizationPolicy built on them) can be bypassed. Fix: mesh:istio.mtls: STRICT."]


# ------------------------------------------------------------------ who may reach whom, around what
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
OPEN_INGRESS = [
    {"namespace": ROOT_NAMESPACE, "ports": [15017],
     "reason": "the API server calls istiod's webhooks from an address that differs per platform (a node's on "
               "kubeadm and kind, the managed control plane's range on GKE, EKS, AKS); they serve only TLS"},
    {"namespace": "istio-ingress", "ports": [80, 443, 15021],
     "reason": "the public ingress gateway (mesh:ingress.namespace): the world and the load balancer's health checks"},
]
"""Ports a NetworkPolicy may open to any source, each with its reason (the pack's own list, not read from
the program, so the program cannot widen it). Rules take `openIngress` to change it."""


def _empty_selector(selector: Any) -> bool:
    return isinstance(selector, Mapping) and not (selector.get("matchLabels") or selector.get("matchExpressions"))


def _open_peer(peer: Mapping[str, Any]) -> str | None:
    """Why a NetworkPolicy peer admits any source, or None."""
    # Ref: https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors
    if not peer:
        return "every source (an empty peer `{}`)"
    pods = peer.get("podSelector")
    if _empty_selector(peer.get("namespaceSelector")) and (pods is None or _empty_selector(pods)):
        return "every pod of every namespace (`namespaceSelector: {}`)"
    if every_address([(peer.get("ipBlock") or {}).get("cidr")] if peer.get("ipBlock") else []):
        return f"every address (ipBlock {(peer.get('ipBlock') or {}).get('cidr')})"
    return None


# The proxies' merged metrics (15020, 15090) and istiod's (15014): the ports `scrapeFrom` opens.
# Ref: https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
METRICS_PORTS = {15014, 15020, 15090}


def network_policy_not_open(type_: str, props: Props, config: Config) -> list[str]:
    """No NetworkPolicy ingress rule admits any source (no `from`, `{}`, `namespaceSelector: {}` alone,
    ipBlock 0.0.0.0/0 or ::/0) to ports outside `openIngress`: every namespace the program creates is
    default-deny, and one open rule undoes that for the pods it selects."""
    if type_ != NETWORK_POLICY:
        return []
    namespace = (props.get("metadata") or {}).get("namespace")
    exempt = {p for entry in config.get("openIngress", OPEN_INGRESS) if entry.get("namespace") == namespace
              for p in entry.get("ports") or []}
    out = []
    for rule in (props.get("spec") or {}).get("ingress") or []:
        peers = rule.get("from") or []
        why = ["every source, in or outside the cluster (no `from`)"] if not peers else []
        why += [w for w in (_open_peer(p or {}) for p in peers) if w]
        ports = [p.get("port") for p in rule.get("ports") or []]
        ranges = any(p.get("endPort") for p in rule.get("ports") or [])
        if not why or (ports and not ranges and set(ports) <= exempt):
            continue
        if posture(config)["scrape_from_anywhere"] and ports and not ranges and set(ports) <= METRICS_PORTS:
            continue  # the environment lets any address scrape metrics (dev)
        out += [f"NetworkPolicy '{name_of(props)}' in {namespace} admits {w} to ports {ports or 'all'}: anything "
                "that can reach the pods bypasses the namespace's default deny. Fix: name the callers "
                "(namespaceSelector with matchLabels, podSelector), or list the ports in openIngress with the "
                "reason." for w in why]
    return out


ENVOY_FILTER = "kubernetes:networking.istio.io/v1:EnvoyFilter"
# The filters that enforce mTLS, AuthorizationPolicy, RequestAuthentication and external authorization
# in an Istio proxy (and the legacy names Envoy still accepts).
# Ref: https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/config (extension names: filters, transport sockets)
# Ref: https://istio.io/latest/docs/reference/config/networking/envoy-filter/#EnvoyFilter-Patch-Operation
SECURITY_FILTERS = {"envoy.filters.http.rbac", "envoy.filters.network.rbac", "envoy.filters.http.jwt_authn",
                    "istio_authn", "istio.authn", "envoy.filters.http.ext_authz", "envoy.filters.network.ext_authz",
                    "envoy.ext_authz", "envoy.transport_sockets.tls", "tls"}
REWRITES = {"REMOVE", "REPLACE", "MERGE"}


def _names_in(value: Any, key: str) -> Iterable[Any]:
    """Every value of `key` anywhere in a nested patch value."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            if k == key:
                yield v
            yield from _names_in(v, key)
    elif isinstance(value, list):
        for v in value:
            yield from _names_in(v, key)


def envoy_filter_keeps_security(type_: str, props: Props, config: Config) -> list[str]:
    """No EnvoyFilter removes, replaces or merges into a security filter (RBAC, JWT, Istio authn,
    ext_authz), touches a TLS transport socket, or removes anything at all: proxies exist only in the
    mesh, so every EnvoyFilter patches mesh traffic, and a REMOVE is how a security filter disappears
    without being named."""
    if type_ != ENVOY_FILTER:
        return []
    out = []
    for patch in (props.get("spec") or {}).get("configPatches") or []:
        operation = str((patch.get("patch") or {}).get("operation", "")).upper()
        match = patch.get("match") or {}
        chain = ((match.get("listener") or {}).get("filterChain") or {})
        targets = {chain.get("name"), (chain.get("filter") or {}).get("name"),
                   ((chain.get("filter") or {}).get("subFilter") or {}).get("name")} & SECURITY_FILTERS
        value = (patch.get("patch") or {}).get("value")
        sockets = [*_names_in(value, "transport_socket"), *_names_in(value, "transportSocket")]
        what = patch.get("applyTo", "?")
        if operation in REWRITES and targets:
            out.append(f"{operation} on {', '.join(sorted(map(str, targets)))}")
        elif sockets:
            out.append(f"{operation or 'a patch'} of {what} that sets a transport_socket")
        elif operation == "REMOVE":
            out.append(f"REMOVE of a {what}")
    return [f"EnvoyFilter '{name_of(props)}' does {o}: it can switch off mTLS, AuthorizationPolicy or "
            "authentication for the proxies it selects without any policy saying so. Fix: express the change "
            "with Istio's APIs (PeerAuthentication, AuthorizationPolicy, RequestAuthentication), or drop the "
            "patch." for o in out]


# Ref: https://istio.io/latest/docs/reference/config/annotations/ (traffic.sidecar.istio.io/*)
# Ref: https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
PROXY_OWN_PORTS = {15020, 15021, 15090}
"""The proxy's own inbound ports (merged metrics, health, Envoy stats): Istio itself leaves them out of
redirection (the injector adds 15020 to excludeInboundPorts), so excluding them routes nothing around it."""
TRAFFIC = "traffic.sidecar.istio.io/"
INTERCEPTION = "sidecar.istio.io/interceptionMode"
PROXY_CONFIG = "proxy.istio.io/config"
PROXY_VALUES = {"includeInboundPorts": f"{TRAFFIC}includeInboundPorts", "excludeInboundPorts":
                f"{TRAFFIC}excludeInboundPorts", "excludeOutboundPorts": f"{TRAFFIC}excludeOutboundPorts",
                "includeIPRanges": f"{TRAFFIC}includeOutboundIPRanges",
                "excludeIPRanges": f"{TRAFFIC}excludeOutboundIPRanges"}
"""istiod's `global.proxy.*` values: the mesh-wide defaults of the annotations the injector writes."""


def _items(value: Any) -> list[str]:
    return [v.strip() for v in str(value).split(",") if v.strip()]


def redirection_gaps(settings: Mapping[str, Any], ports: set[int]) -> list[str]:
    """What the redirection settings (annotation -> value, as the injector reads them) leave around the
    sidecar for a pod declaring `ports`."""
    out = []
    if str(settings.get(INTERCEPTION, "")).upper() == "NONE":
        out.append(f"{INTERCEPTION}: NONE (no traffic goes through the proxy)")
    include = settings.get(f"{TRAFFIC}includeInboundPorts")
    if include is not None and "*" not in _items(include):
        missed = sorted(p for p in ports if str(p) not in _items(include))
        if not _items(include) or missed:
            out.append(f"{TRAFFIC}includeInboundPorts: {include!r} (inbound ports {missed or 'all'} skip the proxy)")
    excluded = [p for p in _items(settings.get(f"{TRAFFIC}excludeInboundPorts", "")) if p not in map(str, PROXY_OWN_PORTS)]
    if excluded:
        out.append(f"{TRAFFIC}excludeInboundPorts: {', '.join(excluded)}")
    for key in ("excludeOutboundPorts", "excludeOutboundIPRanges", "excludeInterfaces"):
        if _items(settings.get(f"{TRAFFIC}{key}", "")):
            out.append(f"{TRAFFIC}{key}: {settings.get(f'{TRAFFIC}{key}')}")
    ranges = _items(settings.get(f"{TRAFFIC}includeOutboundIPRanges", ""))
    if ranges and "*" not in ranges and not every_address(ranges):  # empty: the injector omits it, so all ranges
        out.append(f"{TRAFFIC}includeOutboundIPRanges: {', '.join(ranges)} (other destinations skip the proxy)")
    return out


def no_sidecar_bypass(type_: str, props: Props, config: Config) -> list[str]:
    """No pod template routes traffic around its sidecar (interception NONE, ports or ranges excluded
    from redirection beyond the proxy's own ports), and no mesh-wide default does (istiod's values, the
    injector's ConfigMap, meshConfig's defaultConfig.interceptionMode)."""
    where, settings, ports = f"{type_.rsplit(':', 1)[-1]} '{name_of(props)}'", {}, set()
    pod = pod_spec(type_, props)
    if pod is not None:
        settings = dict(pod_metadata(type_, props).get("annotations") or {})
        proxy = yaml_mapping(settings.get(PROXY_CONFIG))
        if proxy.get("interceptionMode") and INTERCEPTION not in settings:
            settings[INTERCEPTION] = proxy.get("interceptionMode")
        ports = {p.get("containerPort") for c in pod.get("containers") or [] for p in c.get("ports") or []}
    values = injector_values(type_, props)
    if values is None and declared_chart(type_, props) and _chart(props) == "istiod":
        values = chart_values(props)[0]
    if values is not None:
        proxy_values = ((values.get("global") or {}).get("proxy") or {})
        settings = {annotation: proxy_values[key] for key, annotation in PROXY_VALUES.items() if key in proxy_values}
        mode = (((values.get("meshConfig") or {}).get("defaultConfig") or {}).get("interceptionMode"))
        settings |= {INTERCEPTION: mode} if mode else {}
        where = f"istiod's injector defaults in '{name_of(props) if type_ == CONFIG_MAP else props.get('name')}'"
    if type_ == CONFIG_MAP and (name_of(props) == "istio" or name_of(props).startswith("istio-")) and \
            "mesh" in (props.get("data") or {}):
        mode = (yaml_mapping((props.get("data") or {}).get("mesh")).get("defaultConfig") or {}).get("interceptionMode")
        settings, where = ({INTERCEPTION: mode} if mode else {}), f"mesh config '{name_of(props)}'"
    return [f"{where} routes traffic around the sidecar: {gap}. That traffic has no mTLS and no "
            "AuthorizationPolicy. Fix: remove the setting (Istio already leaves the proxy's own ports alone)."
            for gap in redirection_gaps(settings, {p for p in ports if isinstance(p, int)})]


# ------------------------------------------------------------------ who may do what (RBAC)
RBAC = "kubernetes:rbac.authorization.k8s.io/v1:"
ROLE, CLUSTER_ROLE = f"{RBAC}Role", f"{RBAC}ClusterRole"
BINDINGS = {f"{RBAC}RoleBinding", f"{RBAC}ClusterRoleBinding"}
# Ref: https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles
BUILT_IN_ROLES = {"cluster-admin": "every permission", "admin": "reads secrets and grants roles in a namespace",
                  "edit": "reads secrets and runs pods as any service account of a namespace"}
# Ref: https://kubernetes.io/docs/concepts/security/rbac-good-practices/#privilege-escalation-risks
WILDCARD_GROUPS = {"", "*", "rbac.authorization.k8s.io"}
"""API groups where a `*` verb or resource reaches secrets or RBAC itself (a wildcard over Istio's own
groups, as istiod and Kiali read them, reaches neither)."""
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
ALLOWED_GRANTS = [
    {"subject": f"ServiceAccount {ROOT_NAMESPACE}/istiod*", "grants": ["secrets"],
     "reason": "istiod (any revision) serves each gateway's TLS credential (credentialName) over SDS, from the "
               "gateway's namespace, and reads remote-cluster secrets: the istiod chart always grants it"},
    {"subject": f"ServiceAccount {ROOT_NAMESPACE}/istio-reader-service-account", "grants": ["secrets"],
     "reason": "the istiod chart's multicluster reader (global.enableReaderRBAC); no pod of this cluster runs "
               "as it, and a remote istiod only gets its token through istioctl create-remote-secret"},
]
"""Powerful grants the pack accepts, by subject (a glob over `<Kind> <namespace>/<name>`) and power, each
with its reason. Rules take `allowedGrants` to change it."""


def _covers(rule: Mapping[str, Any], group: str, resource: str, verb: str) -> bool:
    def has(key: str, want: str) -> bool:
        values = rule.get(key) or []
        return want in values or "*" in values

    return has("apiGroups", group) and has("resources", resource) and has("verbs", verb)


def powers(rules: Iterable[Mapping[str, Any]], cluster_wide: bool) -> dict[str, str]:
    """power -> what it allows, for the RBAC rules of a role bound cluster-wide or in one namespace."""
    out = {}
    for rule in rules:
        verbs, resources = rule.get("verbs") or [], rule.get("resources") or []
        if ("*" in verbs or "*" in resources) and set(rule.get("apiGroups") or []) & WILDCARD_GROUPS:
            out["wildcard"] = f"grants {verbs} on {resources} in API groups {rule.get('apiGroups')}"
        for verb in ("escalate", "bind"):
            if any(_covers(rule, "rbac.authorization.k8s.io", r, verb) for r in ("roles", "clusterroles")):
                out[verb] = f"may {verb} roles (grant itself any permission)"
        if any(_covers(rule, g, r, "impersonate") for g, r in (("", "users"), ("", "groups"), ("", "serviceaccounts"),
                                                               ("authentication.k8s.io", "uids"))):
            out["impersonate"] = "may impersonate users, groups or service accounts"
        if cluster_wide and any(_covers(rule, "", "secrets", v) for v in ("get", "list", "watch")):
            out["secrets"] = "reads every secret in the cluster"
    return out


def _subject(subject: Mapping[str, Any], namespace: Any) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f"ServiceAccount {subject.get('namespace') or namespace}/{subject.get('name')}"
    return f"{subject.get('kind')} {subject.get('name')}"


def powerful_role_bindings(resources: list[tuple[str, Props]], config: Config) -> list[str]:
    """Stack rule: no RoleBinding or ClusterRoleBinding gives a subject a powerful role (cluster-admin,
    admin, edit, or a Role/ClusterRole of the stack with wildcards over core or RBAC, escalate, bind,
    impersonate, or secrets read cluster-wide), and no powerful ClusterRole aggregates into the built-in
    roles, unless `allowedGrants` names the subject and the power with a reason."""
    roles: dict[tuple[str, Any, str], Props] = {}
    for type_, props in resources:
        meta = props.get("metadata") or {}
        if type_ == ROLE:
            roles[("Role", meta.get("namespace"), name_of(props))] = props
        elif type_ == CLUSTER_ROLE:
            roles[("ClusterRole", None, name_of(props))] = props
    allowed = config.get("allowedGrants", ALLOWED_GRANTS)
    out = []
    for type_, props in resources:
        if type_ not in BINDINGS:
            continue
        namespace, ref = (props.get("metadata") or {}).get("namespace"), props.get("roleRef") or {}
        kind, role_name = str(ref.get("kind", "")), str(ref.get("name", ""))
        role = roles.get((kind, namespace if kind == "Role" else None, role_name))
        found = powers(role.get("rules") or [], type_.endswith("ClusterRoleBinding")) if role else {}
        if kind == "ClusterRole" and role_name in BUILT_IN_ROLES:
            found[role_name] = BUILT_IN_ROLES[role_name]
        for subject in [_subject(s, namespace) for s in props.get("subjects") or []]:
            grants = {g for entry in allowed if fnmatch.fnmatchcase(subject, str(entry.get("subject", "")))
                      for g in entry.get("grants") or []}
            out += [f"{type_.rsplit(':', 1)[-1]} '{name_of(props)}' gives {subject} {kind} '{role_name}', which "
                    f"{what}. Fix: bind a role with only the verbs and resources it needs, or list the subject "
                    "and power in allowedGrants with the reason." for power, what in found.items() if power not in grants]
    for key, props in roles.items():
        targets = [k[len(AGGREGATE):] for k, v in ((props.get("metadata") or {}).get("labels") or {}).items()
                   if k.startswith(AGGREGATE) and str(v) == "true"]
        found = powers(props.get("rules") or [], True)
        out += [f"ClusterRole '{key[2]}' aggregates into the built-in '{t}' role, so everyone who holds '{t}' gets "
                f"it, and it {what}. Fix: drop the {AGGREGATE}{t} label or the rule." for t in targets
                for what in found.values()]
    return out
