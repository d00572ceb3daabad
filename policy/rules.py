"""The pack's hygiene rules (injection on, resources set, images and charts pinned, sampling bounded)
and its wiring: every rule, with its name, description and config schema. The security rules (who
may run what, who may reach whom, who must sign in) live in security.py. Each rule is a pure
function over (resource type, inputs, policy config) -> violations.

`__main__.py` wraps them into a CrossGuard PolicyPack; the tests call them directly on every
resource each stack declares, and on one passing and one failing example per rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

import security as sec  # policy/security.py (the pack runs with policy/ on its path)
from kinds import (
    CONTROLLERS,
    CRON_JOB,
    EXACT_VERSION,
    TELEMETRY,
    Config,
    Props,
    canonical,
    declared_chart,
    environment,
    name_of,
    posture,
)

Rule = Callable[[str, Props, Config], list[str]]

WORKLOADS = {*CONTROLLERS, CRON_JOB}
"""Kinds whose containers the resource and image rules judge (no-bare-pods refuses Pods and ReplicaSets)."""
_ENV = {"environment": {"type": "string", "enum": ["dev", "staging", "prod"]}}


def _exemptions(**fields: dict) -> dict:
    """An array of exemptions, each with its fields and the reason it is granted."""
    return {"type": "array", "items": {"type": "object", "required": [*fields, "reason"],
                                       "properties": {**fields, "reason": {"type": "string", "minLength": 1}}}}


_STRINGS = {"type": "array", "items": {"type": "string"}}


def _pod_spec(type_: str, props: Props) -> Mapping[str, Any] | None:
    return sec.pod_spec(type_, props) if type_ in WORKLOADS else None


def _containers(type_: str, props: Props) -> Iterable[Mapping[str, Any]]:
    pod = _pod_spec(type_, props)
    if pod is None:
        return []
    return [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]


# --------------------------------------------------------------------------------------- rules
def namespace_injection(type_: str, props: Props, config: Config) -> list[str]:
    """Every application namespace (label app.kubernetes.io/part-of=mesh) has sidecar injection."""
    if type_ != "kubernetes:core/v1:Namespace":
        return []
    labels = (props.get("metadata") or {}).get("labels") or {}
    if labels.get("app.kubernetes.io/part-of") != "mesh":
        return []
    if labels.get("istio-injection") == "enabled" or labels.get("istio.io/rev"):
        return []
    return [f"Namespace '{name_of(props)}' holds mesh workloads but has no sidecar injection, so its pods would "
            "run outside the mesh (no mTLS, no authorization). Fix: label it istio-injection=enabled, or "
            "istio.io/rev=<revision> for a canary control plane."]


def container_resources(type_: str, props: Props, config: Config) -> list[str]:
    """Every container and init container sets requests and limits for cpu and memory."""
    out = []
    for c in _containers(type_, props):
        res = c.get("resources") or {}
        missing = [f"{kind}.{r}" for kind in ("requests", "limits") for r in ("cpu", "memory")
                   if not (res.get(kind) or {}).get(r)]
        if missing:
            out.append(f"Container '{c.get('name')}' in {name_of(props)} has no {', '.join(missing)}: an unbounded "
                       "container can starve its neighbours and the scheduler cannot place it well. Fix: set "
                       "resources.requests and resources.limits (cpu and memory) in the stack config.")
    return out


def image_pinned(type_: str, props: Props, config: Config) -> list[str]:
    """Images carry a tag or digest; never `latest` outside dev."""
    env = environment(config)
    out = []
    for c in _containers(type_, props):
        image = c.get("image") or ""
        if image == "auto" or "@sha256:" in image:
            continue  # `auto`: Istio's injector fills in the pinned proxy image (gateway chart)
        last = image.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        if not tag:
            out.append(f"Image '{image}' of {name_of(props)} has no tag or digest, so it means `latest` and can change "
                       "under you. Fix: pin a version tag or a sha256 digest (mesh:workloads.tag or .image).")
        elif tag.lower() == "latest" and not posture(config)["mutable_tags"]:  # registries are case-sensitive; people aren't
            out.append(f"Image '{image}' of {name_of(props)} uses `latest` in {env}: rollouts are not reproducible. "
                       "Fix: pin a version tag or a sha256 digest.")
    return out


def trace_sampling_ceiling(type_: str, props: Props, config: Config) -> list[str]:
    """Trace sampling stays under the environment's ceiling (cost and collector load)."""
    if type_ != TELEMETRY:
        return []
    ceiling = float(posture(config)["max_sampling_percent"])
    out = []
    for tracing in (props.get("spec") or {}).get("tracing") or []:
        pct = tracing.get("randomSamplingPercentage")
        if pct is not None and float(pct) > ceiling:
            out.append(f"Telemetry '{name_of(props)}' samples {pct}% of requests, above this environment's ceiling of "
                       f"{ceiling}%. Fix: lower mesh:istio.tracing.sampling (the ceilings: "
                       "components/vocab/environments.py).")
    return out


def helm_chart_pinned(type_: str, props: Props, config: Config) -> list[str]:
    """Every Helm chart has an exact version and comes from an allowed repository."""
    if not declared_chart(type_, props):
        return []
    allowed = [a.rstrip("/") for a in config.get("allowedRepositories", [])]
    chart, version = str(props.get("chart", "")), str(props.get("version", ""))
    repo = ((props.get("repositoryOpts") or {}).get("repo") or "").rstrip("/")
    out = []
    if not EXACT_VERSION.fullmatch(version):
        out.append(f"Chart '{chart}' has version '{version}': without an exact version every run may install "
                   "something new. Fix: pin MAJOR.MINOR.PATCH.")
    source = repo or chart.rsplit("/", 1)[0]
    if source not in allowed:
        out.append(f"Chart '{chart}' comes from '{source or '(none)'}', which is not an allowed repository "
                   f"({', '.join(allowed)}). Fix: use the upstream repository or mesh:charts.mirror, and list "
                   "the mirror in allowedRepositories.")
    return out


# --------------------------------------------------------------------------------------- pack
RESOURCE_RULES: dict[str, tuple[Rule, str, dict]] = {
    "namespace-injection": (namespace_injection, "Application namespaces have Istio sidecar injection.", {}),
    "container-resources": (container_resources, "Every container sets cpu and memory requests and limits.", {}),
    "image-pinned": (image_pinned, "Images are pinned by tag or digest; never `latest` outside dev.", _ENV),
    "kiali-not-anonymous": (sec.kiali_not_anonymous, "Kiali is not anonymous outside dev.", _ENV),
    "trace-sampling-ceiling": (trace_sampling_ceiling, "Trace sampling stays under a per-environment ceiling.", _ENV),
    "helm-chart-pinned": (helm_chart_pinned, "Helm charts have exact versions from allowed repositories.",
                          {"allowedRepositories": _STRINGS}),
    "pod-security-restricted": (sec.pod_security, "Every pod template meets the restricted pod security standard.",
                                {"privilegedNamespaces": _STRINGS}),
    "no-bare-pods": (sec.no_bare_pods, "No bare Pods or ReplicaSets.", {}),
    "mesh-namespace-injection-on": (sec.no_injection_opt_out_in_mesh_namespace,
                                    "A mesh namespace does not disable injection.", {}),
    "authorization-not-open": (sec.authorization_not_open, "No AuthorizationPolicy allows everyone.", {}),
    "no-mtls-downgrade": (sec.no_mtls_downgrade, "Outside dev, no mTLS downgrade at any scope.", _ENV),
    "grafana-not-anonymous": (sec.grafana_not_anonymous, "Grafana is not anonymous outside dev.", _ENV),
    "kiali-cr-not-anonymous": (sec.kiali_cr_not_anonymous, "A Kiali CR is not anonymous outside dev.", _ENV),
    "strict-values": (sec.strict_values, "Exact chart versions; sampling is a number from 0 to 100.", {}),
    "injector-cni-mode": (sec.injector_cni_mode, "istiod's injector config injects in CNI mode (no istio-init).", {}),
    "namespace-pod-security": (sec.namespace_pod_security,
                               "Every namespace enforces, audits and warns a pinned Pod Security level; mesh "
                               "namespaces enforce restricted; privileged only where the config allows it.",
                               {"privilegedNamespaces": _STRINGS}),
    "network-policy-not-open": (sec.network_policy_not_open,
                                "No NetworkPolicy ingress rule admits any source, outside the ports openIngress "
                                "lists with a reason.",
                                {"openIngress": _exemptions(namespace={"type": "string"},
                                                            ports={"type": "array", "items": {"type": "integer"}})}),
    "envoy-filter-keeps-security-filters": (sec.envoy_filter_keeps_security,
                                            "No EnvoyFilter removes, replaces or merges into a security filter, "
                                            "touches a TLS transport socket, or removes anything.", {}),
    "no-sidecar-bypass": (sec.no_sidecar_bypass,
                          "No pod template or mesh-wide default routes traffic around the sidecar.", {}),
}
StackRule = Callable[[list[tuple[str, Props]], Config], list[str]]
STACK_RULES: dict[str, tuple[StackRule, str, dict]] = {
    "strict-mtls": (sec.strict_mtls, "Staging and prod have mesh-wide STRICT mTLS.", _ENV),
    "no-injection-opt-out": (sec.injection_opt_outs, "No workload opts out of injection in an injected namespace.",
                             {}),
    "one-mesh-wide-peer-authentication": (sec.one_mesh_wide_peer_authentication,
                                          "At most one mesh-wide PeerAuthentication.", {}),
    "mesh-cni-mode": (sec.mesh_cni_mode, "istiod injects in CNI mode, and the stack installs the CNI agent.", {}),
    "no-powerful-role-bindings": (sec.powerful_role_bindings,
                                  "No binding to cluster-admin, admin, edit or a role with wildcards, escalate, "
                                  "bind, impersonate or cluster-wide secrets, outside allowedGrants.",
                                  {"allowedGrants": _exemptions(subject={"type": "string"}, grants=_STRINGS)}),
}


def _resource_policy(name: str, rule: Rule, description: str, schema: dict) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule(canonical(args.resource_type), args.props, args.get_config()):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties=schema) if schema else None,
    )


def _stack_policy(name: str, rule: StackRule, description: str, schema: dict) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        declared = [(canonical(r.resource_type), r.props) for r in args.resources]
        for message in rule(declared, args.get_config()):
            report_violation(message, None)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties=schema) if schema else None,
    )


def policies() -> list:
    return [*(_resource_policy(n, *spec) for n, spec in RESOURCE_RULES.items()),
            *(_stack_policy(n, *spec) for n, spec in STACK_RULES.items())]


def violations(resources: list[tuple[str, Props]], config: Mapping[str, Config],
               stack_rules: bool = True) -> list[tuple[str, str]]:
    """(rule name, message) for what the pack reports on `resources` (type, props), each rule with its
    own config; the pure core of `policies()`, for tools that judge resources outside a preview."""
    resources = [(canonical(t), p) for t, p in resources]
    found = [(name, m) for name, (rule, _, _) in RESOURCE_RULES.items() for type_, props in resources
             for m in rule(type_, props, config.get(name, {}))]
    if stack_rules:
        found += [(name, m) for name, (rule, _, _) in STACK_RULES.items() for m in rule(resources, config.get(name, {}))]
    return found
