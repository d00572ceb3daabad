"""The explicit Kubernetes provider every resource uses, built from `mesh:kubernetes`."""

from __future__ import annotations

import pulumi_kubernetes as k8s

from components.config.models import KubernetesConfig


def provider_args(cfg: KubernetesConfig) -> k8s.ProviderArgs:
    """Provider settings for one stack's cluster (or its render directory)."""
    return k8s.ProviderArgs(
        context=cfg.context,
        kubeconfig=cfg.kubeconfig,
        namespace=cfg.namespace,
        render_yaml_to_directory=cfg.render_yaml_to,
        # Server-side apply (the default in v4) lets istiod own the fields it patches.
        enable_server_side_apply=True,
    )


def kubernetes_provider(name: str, cfg: KubernetesConfig) -> k8s.Provider:
    """One provider per stack, so each stack can only ever touch its own cluster."""
    return k8s.Provider(name, args=provider_args(cfg))
