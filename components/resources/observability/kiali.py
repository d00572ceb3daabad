"""Kiali (`kiali-server` chart, 2.x) wired to the real Prometheus, tracing and Grafana.

Credentials never pass through chart values: the chart copies its values into ConfigMap `kiali`.
They live in Secrets this component creates; Kiali reads them from the files the chart mounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from components.builders.endpoints import Endpoint
from components.builders.security import RESTRICTED_CONTAINER
from components.config.models import KialiConfig
from components.resources.charts import KIALI_REPO, AddonArgs, ChartSource, generated_secret, install_addon
from components.resources.declare import declare_secret

FULLNAME = "kiali"
PORT = 20001
WEB_ROOT = "/kiali"
SIGNING_KEY_BYTES = 32  # Kiali accepts 16, 24 or 32.
# Ref: https://github.com/kiali/kiali/blob/v2.27.0/config/config.go (SecretFile*, oidcClientSecretFile):
# /kiali-override-secrets/<name>/value.txt replaces the ConfigMap value at load (the chart mounts each
# `secret:<name>:<key>` value there); the OIDC client secret is read from /kiali-secret/oidc-secret
# (the chart mounts deployment.secret_name there).
SIGNING_KEY_SECRET = "kiali-signing-key"
GRAFANA_SECRET = "kiali-grafana-password"
OIDC_SECRET = "kiali-oidc"
FROM_FILE = "secret:{name}:value.txt"
"""What the ConfigMap shows instead of a credential (the file mounted from the Secret replaces it)."""


@dataclass(frozen=True)
class Link:
    """An addon Kiali talks to (`internal`) and links people to (`external`, opened in a browser);
    for Grafana, the titles of the dashboards Kiali links to."""

    internal: pulumi.Input[str]
    external: str
    dashboards: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class KialiArgs(AddonArgs):
    config: KialiConfig
    """`mesh:observability.kiali`."""
    prometheus_url: pulumi.Input[str]
    """Required: Kiali without Prometheus shows no graph."""
    tracing: Optional[Link] = None
    """Jaeger query (gRPC 16685); None = tracing off in Kiali."""
    grafana: Optional[Link] = None
    grafana_password: Optional[pulumi.Input[str]] = None
    """Grafana's admin password, when Grafana is not anonymous: Kiali needs it to list dashboards."""
    client_secret: Optional[pulumi.Input[str]] = None
    """The OpenID client secret (a Pulumi secret), when the client is confidential."""
    wait_for: tuple[pulumi.Resource, ...] = ()
    """Charts Kiali needs up before it starts (tracing: Kiali does not start without its backend)."""


def endpoint(namespace: str) -> Endpoint:
    # Ref: kiali-server templates/service.yaml: name = fullname, port = server.port; web_root /kiali.
    return Endpoint(FULLNAME, namespace, PORT, WEB_ROOT)


def auth_values(cfg: KialiConfig) -> dict[str, Any]:
    auth: dict[str, Any] = {"strategy": cfg.auth.strategy}
    if cfg.auth.openid:
        auth["openid"] = {
            "issuer_uri": cfg.auth.openid.issuer_uri,
            "client_id": cfg.auth.openid.client_id,
            "username_claim": cfg.auth.openid.username_claim,
            # Ref: https://kiali.io/docs/configuration/authentication/openid/ (disable_rbac)
            "disable_rbac": cfg.auth.openid.disable_rbac,
        }
    return auth


def values(cfg: KialiConfig, *, prometheus_url: pulumi.Input[str], tracing: Optional[Link],
           grafana: Optional[Link], grafana_password: bool) -> dict[str, Any]:
    """Chart values. Tracing is enabled only with a real backend: Kiali will not start otherwise."""
    tracing_values: dict[str, Any] = {"enabled": tracing is not None}
    if tracing is not None:
        tracing_values.update({"provider": "jaeger", "internal_url": tracing.internal,
                               "external_url": tracing.external, "use_grpc": True})
    grafana_values: dict[str, Any] = {"enabled": grafana is not None}
    if grafana is not None:
        grafana_values.update({"internal_url": grafana.internal, "external_url": grafana.external})
        if grafana.dashboards:
            # Ref: https://github.com/kiali/kiali/blob/v2.27.0/config/config.go (GrafanaConfig.Dashboards)
            grafana_values["dashboards"] = [{"name": title} for title in grafana.dashboards]
    if grafana is not None and grafana_password:
        grafana_values["auth"] = {"type": "basic", "username": "admin",
                                  "password": FROM_FILE.format(name=GRAFANA_SECRET)}
    return {
        "auth": auth_values(cfg),
        "deployment": {
            # Ref: https://github.com/kiali/helm-charts/blob/v2.27.0/kiali-server/templates/_helpers.tpl
            # (kiali-server.fullname is deployment.instance_name; nameOverride/fullnameOverride are not read)
            "instance_name": FULLNAME,
            "cluster_wide_access": True,
            "view_only_mode": cfg.view_only,
            "resources": cfg.resources.manifest(),
            # No custom_secrets: the chart mounts every `secret:<name>:<key>` value (the signing key,
            # Grafana's password) under /kiali-override-secrets/ itself; mounting them again made two
            # volumeMounts with one mountPath, which the API server refuses (found by make e2e-local).
            # Ref: https://github.com/kiali/helm-charts/blob/v2.27.0/kiali-server/templates/_helpers.tpl
            # (kiali-server.credential-secrets)
            # Ref: kiali-server templates/deployment.yaml: this replaces the chart's container context.
            "security_context": RESTRICTED_CONTAINER,
            "secret_name": OIDC_SECRET,
            # The program declares NetworkPolicy `kiali` itself (ingress only); the chart's own, on by
            # default under the same name, admits 20001 and 9090 from anywhere (and the second create fails).
            # Ref: https://github.com/kiali/helm-charts/blob/v2.27.0/kiali-server/templates/networkpolicy.yaml
            "network_policy": {"enabled": False},
        },
        "external_services": {
            "prometheus": {"url": prometheus_url},
            "tracing": tracing_values,
            "grafana": grafana_values,
        },
        # Non-empty, so the chart does not generate a new random key on every render; the mounted
        # file replaces it when Kiali loads its config.
        # Ref: https://github.com/kiali/helm-charts/blob/v2.27.0/kiali-server/templates/_helpers.tpl
        "login_token": {"signing_key": FROM_FILE.format(name=SIGNING_KEY_SECRET)},
        "server": {"port": PORT, "web_root": WEB_ROOT},
    }


class Kiali(pulumi.ComponentResource):
    """Installs Kiali with a generated, stable signing key kept as a Pulumi secret and a Kubernetes Secret."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: KialiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:observability:Kiali", name, None, opts)
        self.signing_key = generated_secret(f"{name}-signing-key", SIGNING_KEY_BYTES, self)
        secrets = [declare_secret(f"{name}-signing-key-secret", SIGNING_KEY_SECRET, args.namespace,
                           {"value.txt": self.signing_key}, self)]
        if args.grafana is not None and args.grafana_password is not None:
            secrets.append(declare_secret(f"{name}-grafana-secret", GRAFANA_SECRET, args.namespace,
                                   {"value.txt": args.grafana_password}, self))
        if args.client_secret is not None:
            secrets.append(declare_secret(f"{name}-oidc-secret", OIDC_SECRET, args.namespace,
                                   {"oidc-secret": args.client_secret}, self))
        self.endpoint = endpoint(args.namespace)
        self.chart = install_addon(
            self, name, ChartSource("kiali-server", args.config.chart_version, KIALI_REPO), args,
            values=values(args.config, prometheus_url=args.prometheus_url, tracing=args.tracing,
                          grafana=args.grafana, grafana_password=args.grafana_password is not None),
            depends_on=[*secrets, *args.wait_for])
        self.url = pulumi.Output.from_input(self.endpoint.url)
        self.register_outputs({"url": self.url})
