"""The explicit Kubernetes provider every resource uses, built from `mesh:kubernetes` only."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.config.models import KubernetesConfig


def provider_args(cfg: KubernetesConfig) -> k8s.ProviderArgs:
    """Provider settings for one stack's cluster, from stack config and nothing else.

    The SDK fills every input left unset from the operator's environment (`KUBECONFIG`,
    `PULUMI_K8S_*`), which would make the provider's inputs differ between machines (a diff, or a
    replacement). So every such input is set here. `kubeconfig: ""` means "the default loading
    rules" to the provider (which still honours KUBECONFIG at run time, without storing it).
    """
    # Ref: https://github.com/pulumi/pulumi-kubernetes/blob/v4.34.2/sdk/python/pulumi_kubernetes/provider.py
    # (the get_env defaults) and
    # https://github.com/pulumi/pulumi-kubernetes/blob/v4.32.0/provider/pkg/provider/provider.go#L872
    # (an empty kubeconfig means the default loading rules)
    rendering = cfg.render_yaml_to is not None
    return k8s.ProviderArgs(
        # The provider refuses cluster arguments together with renderYamlToDirectory.
        # Ref: https://github.com/pulumi/pulumi-kubernetes/blob/v4.32.0/provider/pkg/provider/provider.go#L400
        context=None if rendering else cfg.context,
        kubeconfig="" if rendering else cfg.kubeconfig or "",
        namespace=cfg.namespace,
        render_yaml_to_directory=cfg.render_yaml_to,
        # Server-side apply (the default in v4) lets istiod own the fields it patches.
        enable_server_side_apply=True,
        delete_unreachable=False,
        enable_config_map_mutable=False,
        enable_patch_force=False,
        enable_secret_mutable=False,
        skip_update_unreachable=False,
        suppress_deprecation_warnings=False,
        suppress_helm_hook_warnings=False,
        upsert_existing_objects=False,
    )


def kubernetes_provider(name: str, cfg: KubernetesConfig) -> k8s.Provider:
    """One provider per stack, so each stack can only ever touch its own cluster."""
    if cfg.render_yaml_to is not None:
        pulumi.log.warn(f"render mode: manifests are written to {cfg.render_yaml_to}/, Secrets included as "
                        "plaintext files (base64 is not encryption); keep that directory out of git")
    return k8s.Provider(name, args=provider_args(cfg))
