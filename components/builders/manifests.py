"""Declare a custom resource from a plain manifest dict (the form the pure builders return)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s


def content_hash(material: Any) -> str:
    """16 hex characters of the SHA-256 of `material` as canonical JSON: a pod-template value that
    changes exactly when `material` does, so the pods roll."""
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def typed(manifest: dict[str, Any]) -> Any:
    """A plain manifest fragment where the SDK's typed input is expected.

    The SDK's TypedDicts re-describe the Kubernetes schema; the tests check every object against
    the real schema with kubernetes-validate in strict mode, which is the stronger check.
    """
    return cast(Any, manifest)


def network_policies(name: str, manifests: list[dict[str, Any]], opts: pulumi.ResourceOptions) -> None:
    """Declare NetworkPolicies built by components.builders.network_policies, named `<name>-netpol-<policy>`."""
    for m in manifests:
        k8s.networking.v1.NetworkPolicy(f"{name}-netpol-{m['metadata']['name']}", metadata=m["metadata"],
                                        spec=typed(m["spec"]), opts=opts)


def custom_resource(name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )
