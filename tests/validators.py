"""Real validators for what the program declares: Kubernetes schemas (strict) and Istio CRD models."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
from cloudcoil.models.istio.networking import v1 as networking
from cloudcoil.models.istio.security import v1 as security
from cloudcoil.models.istio.telemetry import v1 as telemetry

ISTIO_MODELS = {
    ("security.istio.io/v1", "PeerAuthentication"): security.PeerAuthentication,
    ("security.istio.io/v1", "AuthorizationPolicy"): security.AuthorizationPolicy,
    ("telemetry.istio.io/v1", "Telemetry"): telemetry.Telemetry,
    ("networking.istio.io/v1", "Gateway"): networking.Gateway,
    ("networking.istio.io/v1", "VirtualService"): networking.VirtualService,
}


def validate_kubernetes(manifest: dict[str, Any], version: str) -> None:
    """kubernetes-validate in strict mode: unknown fields fail, as `kubectl --validate=strict` would."""
    kubernetes_validate.validate(manifest, version, strict=True)


def validate_istio(manifest: dict[str, Any]) -> None:
    """Validate against Istio's CRD model; the models ignore unknown keys, so check those too."""
    model = ISTIO_MODELS[(manifest["apiVersion"], manifest["kind"])]
    parsed = model.model_validate(manifest)
    known = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    unknown = unknown_keys(manifest, known)
    if unknown:
        raise ValueError(f"{manifest['kind']} {manifest['metadata'].get('name')}: unknown fields {unknown}")


def unknown_keys(given: Any, known: Any, path: str = "") -> list[str]:
    """Paths present in `given` that the model did not keep (a misspelt field)."""
    if isinstance(given, dict):
        if not isinstance(known, dict):
            return [path or "."]
        out = []
        for key, value in given.items():
            if key not in known:
                out.append(f"{path}.{key}")
            else:
                out += unknown_keys(value, known[key], f"{path}.{key}")
        return out
    if isinstance(given, list) and isinstance(known, list):
        return [p for i, (g, k) in enumerate(zip(given, known, strict=False)) for p in unknown_keys(g, k, f"{path}[{i}]")]
    return []
