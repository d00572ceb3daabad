"""The pack's shared vocabulary: the Pulumi type tokens its rules judge, the shapes of props and
config, and the readers every rule uses (rules.py and security.py import these)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Config = Mapping[str, Any]
Props = Mapping[str, Any]

CHARTS = {"kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release"}
PEER_AUTHENTICATION = "kubernetes:security.istio.io/v1:PeerAuthentication"
TELEMETRY = "kubernetes:telemetry.istio.io/v1:Telemetry"
ROOT_NAMESPACE = "istio-system"
CONTROLLERS = {"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
               "kubernetes:batch/v1:Job"}
"""Controllers whose `spec.template` is a pod template."""
CRON_JOB = "kubernetes:batch/v1:CronJob"
EXACT_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)
"""MAJOR.MINOR.PATCH in ASCII digits; use with fullmatch (the whole value)."""


def name_of(props: Props) -> str:
    return str((props.get("metadata") or {}).get("name", "?"))


def environment(config: Config) -> str:
    """The stack's environment from the rule's config; unset means the strictest, prod."""
    return str(config.get("environment", "prod"))


def mesh_wide_peer_authentication(type_: str, props: Props) -> bool:
    """A PeerAuthentication in the root namespace without a selector: it sets mTLS for the whole mesh."""
    # Ref: https://istio.io/latest/docs/reference/config/security/peer_authentication/
    return (type_ == PEER_AUTHENTICATION and (props.get("metadata") or {}).get("namespace") == ROOT_NAMESPACE
            and not (props.get("spec") or {}).get("selector"))
