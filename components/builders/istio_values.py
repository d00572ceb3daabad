"""Pure functions for the Istio control plane: chart values, labels, restart hash, transforms.

No resources are created here, so every function is tested without mocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from components.builders.manifests import content_hash
from components.builders.security import SECCOMP
from components.config.models import IstioConfig, ProxyConfig
from components.vocab.istio import ROOT_NAMESPACE

TRACING_PROVIDER = "otel-tracing"
"""Name of the mesh's OpenTelemetry extension provider, referenced by the Telemetry resource."""
ACCESS_LOG_PROVIDER = "envoy"
"""Istio's built-in access log provider (writes to the proxy's stdout)."""
RESTART_HASH_ANNOTATION = "mesh/proxy-config-hash"

_WEBHOOK_TYPES = (
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration",
    "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration",
)


@dataclass(frozen=True)
class TracingTarget:
    """The OTLP gRPC collector the mesh sends spans to: outputs of the tracing backend."""

    host: pulumi.Input[str]
    port: pulumi.Input[int]


def injection_labels(revision: str) -> dict[str, str]:
    """Namespace labels that make istiod's webhook inject sidecars.

    The default revision uses `istio-injection=enabled`; a named revision needs
    `istio.io/rev` and, per Istio, `istio-injection` absent (it would win).
    """
    # Ref: https://istio.io/latest/docs/setup/upgrade/canary/#data-plane
    return {"istio-injection": "enabled"} if revision == "" else {"istio.io/rev": revision}


def proxy_default_config(proxy: ProxyConfig) -> dict[str, Any]:
    """meshConfig.defaultConfig: read by each sidecar at injection/start, so changes need a restart."""
    return {
        "holdApplicationUntilProxyStarts": proxy.hold_application_until_proxy_starts,
        # Ref: https://istio.io/latest/docs/tasks/observability/distributed-tracing/opentelemetry/
        # Empty disables the legacy (pre-Telemetry API) tracing settings.
        "tracing": {},
    }


def mesh_config(istio: IstioConfig, tracing: Optional[TracingTarget]) -> dict[str, Any]:
    """meshConfig for istiod. Tracing provider only when a backend exists: no dangling address."""
    config: dict[str, Any] = {
        "accessLogEncoding": istio.access_log.encoding,
        "outboundTrafficPolicy": {"mode": istio.outbound_traffic_policy},
        "enablePrometheusMerge": True,
        "enableTracing": tracing is not None,
        "defaultConfig": proxy_default_config(istio.proxy),
    }
    if tracing is not None:
        config["extensionProviders"] = [
            {"name": TRACING_PROVIDER, "opentelemetry": {"service": tracing.host, "port": tracing.port}}
        ]
    return config


def crd_version(istio: IstioConfig) -> str:
    """The `base` chart (the CRDs) at the newer of the main and canary versions: a newer istiod
    needs its CRD fields, and CRDs stay backward compatible."""
    # Ref: https://istio.io/latest/docs/setup/upgrade/helm/#canary-upgrade-recommended (upgrade base first)
    versions = [istio.version] + ([istio.canary.version] if istio.canary else [])
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def base_values(default_revision: str) -> dict[str, Any]:
    """Values of the `base` chart (CRDs and the default validating webhook)."""
    return {
        "defaultRevision": default_revision or "default",
        # istiod flips the validator's failurePolicy to Fail at runtime; declaring Fail up front keeps
        # `pulumi up` from reverting it on every run.
        # Ref: https://github.com/istio/istio/blob/1.31.1/manifests/charts/base/values.yaml (base.validationFailurePolicy)
        "base": {"validationFailurePolicy": "Fail"},
    }


# What injection adds to every pod, beyond the proxy's resources and config. With istio-cni the node
# agent sets up traffic redirection, so no `istio-init` (NET_ADMIN, NET_RAW, root) is injected; only
# an unprivileged `istio-validation` init container. The proxies get RuntimeDefault seccomp.
# Ref: https://github.com/istio/istio/blob/1.31.0/manifests/charts/istio-control/istio-discovery/files/injection-template.yaml
# (pilot.cni.enabled, global.proxy.seccompProfile)
INJECTION: dict[str, Any] = {"pilot": {"cni": {"enabled": True}}, "proxy": {"seccompProfile": SECCOMP}}


def cni_values() -> dict[str, Any]:
    """Values of the `cni` chart (the node agent, a DaemonSet in its own privileged namespace).
    A pod that started before the agent was ready is repaired in place (`repair.repairPods`, the
    chart's default, pinned here); the program also makes every injected workload wait for the agent."""
    # Ref: https://github.com/istio/istio/blob/1.31.0/manifests/charts/istio-cni/values.yaml (repair, resources:
    # the chart requests 100m/100Mi and sets no limits)
    return {"repair": {"enabled": True, "repairPods": True, "deletePods": False, "labelPods": False},
            "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}}


def revisioned(name: str, revision: str) -> str:
    """A ConfigMap of the istiod chart: 'istio-sidecar-injector', or 'istio-sidecar-injector-<revision>'."""
    return f"{name}-{revision}" if revision else name


def depends_on_configmaps(revision: str) -> str:
    """istiod's Deployment waits for the chart's ConfigMaps. istiod reads the injector ConfigMap once at
    start and, if it is not there, never injects nor patches its webhook (the up then waits forever for
    the CA bundle). Helm creates ConfigMaps before Deployments; Chart v4 creates a chart's objects in
    parallel unless this annotation orders them (found by make e2e-local under load)."""
    # Ref: https://github.com/istio/istio/blob/1.31.0/pilot/pkg/bootstrap/sidecarinjector.go (initSidecarInjector:
    # "Skipping sidecar injector, template not found")
    # Ref: https://github.com/pulumi/pulumi-kubernetes/blob/v4.25.0/provider/pkg/provider/yaml/v2/yaml.go (Register:
    # the dependency graph honours config.kubernetes.io/depends-on within the chart)
    return ",".join(f"/namespaces/{ROOT_NAMESPACE}/ConfigMap/{revisioned(n, revision)}"
                    for n in ("istio", "istio-sidecar-injector"))


DEPENDS_ON = "config.kubernetes.io/depends-on"


def istiod_values(istio: IstioConfig, revision: str, tracing: Optional[TracingTarget]) -> dict[str, Any]:
    """Values of one `istiod` chart release (main or canary)."""
    return {
        "revision": revision,
        "deploymentAnnotations": {DEPENDS_ON: depends_on_configmaps(revision)},
        "autoscaleEnabled": False,
        "replicaCount": istio.pilot.replicas,
        "resources": istio.pilot.resources.manifest(),
        "global": {
            "istioNamespace": ROOT_NAMESPACE,
            "proxy": {"resources": istio.proxy.resources.manifest(), **INJECTION["proxy"]},
        },
        **{k: v for k, v in INJECTION.items() if k != "proxy"},
        "meshConfig": mesh_config(istio, tracing),
        "base": {"validationFailurePolicy": "Fail"},
        # Ref: https://github.com/istio/istio/blob/1.30.3/manifests/charts/istio-control/istio-discovery/templates/deployment.yaml
        "seccompProfile": SECCOMP,
    }


def restart_hash(version: str, revision: str, proxy: ProxyConfig) -> str:
    """Hash of everything a running sidecar bakes in at injection: change it, restart the pod.

    In: Istio version (proxy image), revision (which istiod injects), proxy resources,
    meshConfig.defaultConfig and what injection adds (CNI mode, seccomp). Out on purpose: Telemetry sampling, access logging,
    PeerAuthentication, extension providers and addon settings, which istiod pushes live.
    """
    material = {
        "version": version,
        "revision": revision,
        "proxyResources": proxy.resources.manifest(),
        "defaultConfig": proxy_default_config(proxy),
        "injection": INJECTION,
    }
    return content_hash(material)


def webhook_ignore_paths(props: Mapping[str, Any]) -> list[str]:
    """caBundle paths istiod patches at runtime, one per declared webhook."""
    return [f"webhooks[{i}].clientConfig.caBundle" for i, _ in enumerate(props.get("webhooks") or [])]


# Ready once istiod has patched a CA bundle into its webhooks: until then an Istio custom resource
# (validating webhook, failurePolicy Fail) or an injected pod would be refused. The charts render the
# webhooks with no `caBundle` key, so this path selects nothing until the patch. (A filter such as
# `[?(@.clientConfig.caBundle!="")]` is true for a missing key under RFC 9535: it would not wait at all.)
# Ref: https://github.com/pulumi/pulumi-kubernetes/blob/v4.32.0/provider/pkg/jsonpath/jsonpath.go (Parse, Matches)
# Ref: https://www.rfc-editor.org/rfc/rfc9535#section-2.3.5.2.2 (comparisons with an absent value)
WAIT_FOR_CA_BUNDLE = "jsonpath={.webhooks[*].clientConfig.caBundle}"


def with_wait_for_ca_bundle(props: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook configuration with Pulumi's waitFor annotation (props are not mutated)."""
    metadata = dict(props.get("metadata") or {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), "pulumi.com/waitFor": WAIT_FOR_CA_BUNDLE}
    return {**props, "metadata": metadata}


def ignore_webhook_drift(args: pulumi.ResourceTransformArgs) -> Optional[pulumi.ResourceTransformResult]:
    """Transform for the Istio charts' webhook configurations: ignore the `caBundle` istiod injects
    (else every `pulumi up` would reset it and istiod patch it back: a permanent diff and a window
    where validation and injection fail)."""
    if args.type_ not in _WEBHOOK_TYPES:
        return None
    paths = webhook_ignore_paths(args.props)
    if not paths:
        return None
    opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(ignore_changes=paths))
    return pulumi.ResourceTransformResult(props=args.props, opts=opts)


def await_webhook_ca(args: pulumi.ResourceTransformArgs) -> Optional[pulumi.ResourceTransformResult]:
    """istiod's webhook configurations: ignore the `caBundle` drift and wait until istiod has patched
    it, so whatever depends on istiod (custom resources, injected namespaces) never races the webhook
    on the first `pulumi up`."""
    result = ignore_webhook_drift(args)
    if result is None:
        return None
    return pulumi.ResourceTransformResult(props=with_wait_for_ca_bundle(args.props), opts=result.opts)


CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def delete_crds_with_the_stack(args: pulumi.ResourceTransformArgs) -> Optional[pulumi.ResourceTransformResult]:
    """The base chart marks its CRDs `helm.sh/resource-policy: keep`, which Chart v4 turns into
    retainOnDelete: `pulumi destroy` would leave every Istio CRD behind, and the next `pulumi up` of the
    stack would fail to create them (AlreadyExists: creates are client-side since provider 4.29). The
    stack owns its mesh, so its CRDs go with it (found by make e2e-local)."""
    # Ref: https://github.com/pulumi/pulumi-kubernetes/blob/v4.25.0/provider/pkg/provider/helm/v4/chart.go (preregister)
    if args.type_ != CRD:
        return None
    opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=False))
    return pulumi.ResourceTransformResult(props=args.props, opts=opts)


def chart_transforms(chart: str) -> list[Any]:
    """istiod waits until it has patched its webhooks' CA bundle. The `base` chart only ignores that
    drift (istiod is installed after base and waits for it, so base waiting for the bundle would
    deadlock the first `pulumi up`), and its CRDs are deleted with the stack."""
    return [await_webhook_ca] if chart == "istiod" else [ignore_webhook_drift, delete_crds_with_the_stack]


def peer_authentication(mode: str) -> dict[str, Any]:
    """Mesh-wide mTLS: a PeerAuthentication named `default` in the root namespace."""
    # Ref: https://istio.io/latest/docs/reference/config/security/peer_authentication/
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": ROOT_NAMESPACE},
        "spec": {"mtls": {"mode": mode}},
    }


def mesh_telemetry(istio: IstioConfig, tracing_enabled: bool) -> dict[str, Any]:
    """Mesh-wide Telemetry: sampling and access logs change live, with no pod restart."""
    # Ref: https://istio.io/latest/docs/reference/config/telemetry/
    spec: dict[str, Any] = {
        "accessLogging": [{"providers": [{"name": ACCESS_LOG_PROVIDER}], "disabled": not istio.access_log.enabled}]
    }
    if tracing_enabled:
        spec["tracing"] = [
            {"providers": [{"name": TRACING_PROVIDER}], "randomSamplingPercentage": istio.tracing.sampling}
        ]
    return {
        "apiVersion": "telemetry.istio.io/v1",
        "kind": "Telemetry",
        "metadata": {"name": "mesh-default", "namespace": ROOT_NAMESPACE},
        "spec": spec,
    }
