"""Helpers for the manifests the pure builders return: the one content hash that rolls pods, and the
cast that hands a plain manifest fragment to the SDK's typed inputs."""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast


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
