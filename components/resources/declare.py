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


def declare_secret(resource: str, name: str, namespace: str, data: dict[str, pulumi.Input[str]],
                   parent: pulumi.Resource) -> k8s.core.v1.Secret:
    """An Opaque Secret whose every value is a Pulumi secret: the one way a credential reaches a pod
    (never chart values, which charts render into ConfigMaps)."""
    return k8s.core.v1.Secret(
        resource, metadata={"name": name, "namespace": namespace}, type="Opaque",
        string_data={k: pulumi.Output.secret(v) for k, v in data.items()}, opts=pulumi.ResourceOptions(parent=parent))
