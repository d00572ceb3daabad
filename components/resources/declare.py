"""Declare the plain manifests the pure builders return as Kubernetes resources."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.builders.manifests import typed


def declare_network_policies(name: str, manifests: list[dict[str, Any]], opts: pulumi.ResourceOptions) -> None:
    """NetworkPolicies built by components.builders.network_policies, named `<name>-netpol-<policy>`."""
    for m in manifests:
        k8s.networking.v1.NetworkPolicy(f"{name}-netpol-{m['metadata']['name']}", metadata=m["metadata"],
                                        spec=typed(m["spec"]), opts=opts)


def declare_custom_resource(name: str, manifest: dict[str, Any],
                            opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """A custom resource (an Istio or cert-manager object) from its manifest."""
    return k8s.apiextensions.CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )
