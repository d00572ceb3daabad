"""`pulumi.com/waitFor: jsonpath=...` evaluated the way the Kubernetes provider evaluates it, so a
wait the program writes can be checked against the object a chart renders (must not be ready yet)
and the object after the controller's patch (must be ready).

Ref: https://github.com/pulumi/pulumi-kubernetes/blob/v4.32.0/provider/pkg/jsonpath/jsonpath.go
(Parse: a `jsonpath=` prefix, `{path}` or `{path}=value`, the value split on `=` with `==` kept;
Matches: the first selected node; a list or map matches any path without a value; otherwise
fmt.Sprint of the node equals the value). The provider selects with github.com/theory/jsonpath,
an RFC 9535 implementation: so does this module (jsonpath-rfc9535).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

import jsonpath_rfc9535

ANNOTATION = "pulumi.com/waitFor"
_PLACEHOLDER = "\ufffd"
_BRACKETS = re.compile(r"\{\s*(.*?)\s*\}")


class WaitForError(ValueError):
    """An expression the provider refuses (the resource fails instead of waiting)."""


@dataclass(frozen=True)
class WaitFor:
    path: str
    """RFC 9535 query, `$`-rooted."""
    value: Optional[str]
    """The value the first selected node must print as, or None: any node will do."""


def parse(raw: str) -> WaitFor:
    """A `jsonpath=` expression as the provider parses it, or WaitForError with the provider's reason."""
    if not raw.startswith("jsonpath="):
        raise WaitForError("JSONPath expression must begin with a 'jsonpath=' prefix")
    parts = raw.removeprefix("jsonpath=").replace("==", _PLACEHOLDER).split("=")
    if len(parts) > 2:
        raise WaitForError(f"format should be {{.path}}=value or {{.path}}, got {raw!r}")
    path = parts[0].replace(_PLACEHOLDER, "==")
    value = parts[1].replace(_PLACEHOLDER, "==") if len(parts) == 2 else None
    if value == "":
        raise WaitForError(f"{path}= requires a value")
    match = _BRACKETS.search(path)
    if match is None:
        raise WaitForError(f"{path} should be wrapped in brackets {{ ... }}")
    query = match.group(1) if match.group(1).startswith("$") else "$" + match.group(1)
    try:
        jsonpath_rfc9535.compile(query)
    except Exception as err:  # noqa: BLE001 - any parse error is the provider's refusal
        raise WaitForError(f"parsing {path!r}: {err}") from err
    return WaitFor(query, value)


def _go_print(value: Any) -> str:
    """fmt.Sprint of a JSON scalar as Go decodes it (numbers are float64)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def matches(raw: str, obj: dict[str, Any]) -> bool:
    """Whether the provider would consider `obj` ready under the waitFor expression `raw`."""
    wait = parse(raw)
    nodes = jsonpath_rfc9535.find(wait.path, obj)
    if not nodes:
        return False
    first = nodes[0].value
    if isinstance(first, (list, dict)):
        if wait.value is None:
            return True
        raise WaitForError(f"{wait.path!r} has a non-primitive value ({first})")
    return wait.value is None or _go_print(first) == wait.value


def expressions(obj: dict[str, Any]) -> list[str]:
    """The waitFor expressions on an object: one string, or a JSON list of strings."""
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
    if raw is None:
        return []
    if raw.lstrip().startswith("["):
        return [str(e) for e in json.loads(raw)]
    return [raw]
