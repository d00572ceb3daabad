"""Security rules of the pack: pod security ("restricted", and per namespace), CNI mode, injection
opt-outs, bare pods, authorization, mTLS (STRICT mesh-wide, no downgrade), anonymous Kiali and
Grafana, strict values. Pure functions (type, props, config) -> messages.

They judge every resource a preview hands the pack, chart children included (Chart v4 registers
each rendered object as its own resource, e.g. `kubernetes:apps/v1:Deployment`).
"""

from __future__ import annotations

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
    TELEMETRY,
    Config,
    Props,
    chart_values,
    declared_chart,
    environment,
    mesh_wide_peer_authentication,
    name_of,
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
    if environment(config) == "dev":
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
    if environment(config) == "dev":
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
    if type_ != KIALI_CR or environment(config) == "dev":
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


def _kiali_anonymous(settings: Any) -> bool:
    """Kiali's auth.strategy (the server's default is token), compared without case: stricter than Kiali."""
    auth = settings.get("auth") if isinstance(settings, Mapping) else None
    strategy = auth.get("strategy") if isinstance(auth, Mapping) else None
    return str(strategy or "token").lower() == "anonymous"


def kiali_not_anonymous(type_: str, props: Props, config: Config) -> list[str]:
    """Kiali requires login outside dev, wherever its auth strategy is set: the server chart's values
    (`valueYamlFiles` included), the operator chart's `cr.spec`, or the rendered ConfigMap the server reads."""
    env = environment(config)
    if env == "dev":
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
    """Staging and prod have a mesh-wide STRICT PeerAuthentication."""
    env = environment(config)
    if env == "dev":
        return []
    for type_, props in resources:
        if mesh_wide_peer_authentication(type_, props) and ((props.get("spec") or {}).get("mtls") or {}).get(
                "mode") == "STRICT":
            return []
    return [f"No mesh-wide STRICT PeerAuthentication in {env}: services accept plaintext, so identities (and "
            "every AuthorizationPolicy built on them) can be bypassed. Fix: mesh:istio.mtls: STRICT."]

