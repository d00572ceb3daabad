"""`ConfigError`, and how pydantic's validation errors become `mesh:<key> = <value>: <rule>` lines."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import pulumi
from pydantic import BaseModel
from pydantic_core import ErrorDetails

from components.config.models import NAMESPACE, StackConfig


@dataclass(frozen=True)
class Problem:
    """One broken rule: the key path (`mesh:istio.tracing.sampling`), the bad value, what is allowed."""

    key: str
    value: Any
    allowed: str


MAX_LINES = 40
"""Problems listed in one message; the rest are counted."""
MAX_KEY, MAX_VALUE, MAX_RULE = 200, 120, 400
"""Characters of a key path, a value and a rule shown in a message: an error never echoes a megabyte back."""
SECRET = "[secret]"


def ascii_text(text: str) -> str:
    """`text` with every non-ASCII or control character escaped: no bidi override or line separator
    reaches a terminal."""
    return "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode() for c in text)


def cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, naming the full length."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


MIN_SCRUBBED = 4
"""Secret strings this long or longer are removed from messages wherever they appear; a shorter
one would blank out ordinary words and is no credential."""


def scrub(message: str, secrets: Iterable[str]) -> str:
    """`message` with every secret string, raw or in its JSON- or Python-escaped form, replaced by [secret]."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_SCRUBBED}, key=len, reverse=True):
        for form in {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], ascii_text(secret)}:
            message = message.replace(form, SECRET)
    return message


class ConfigError(pulumi.RunError):
    """Bad stack configuration: one line per problem, each naming stack, key, value, rule.

    A `pulumi.RunError`, so Pulumi shows the message and no Python traceback.
    """

    def __init__(self, stack: str, problems: list[Problem], secrets: Iterable[str] = ()):
        self.stack = stack
        self.problems = problems
        secrets = tuple(secrets)

        def part(text: str, limit: int) -> str:  # scrubbed before it is cut: no prefix of a secret survives
            return cut(scrub(ascii_text(text), secrets), limit)

        lines = [f"stack '{ascii_text(stack)}': invalid configuration ({len(problems)} problem(s))"]
        lines += [f"  {part(p.key, MAX_KEY)} = {part(json.dumps(p.value, default=str), MAX_VALUE)}: "
                  f"{part(p.allowed, MAX_RULE)}" for p in problems[:MAX_LINES]]
        if len(problems) > MAX_LINES:
            lines.append(f"  ... and {len(problems) - MAX_LINES} more")
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        """The key paths named, in order."""
        return [p.key for p in self.problems]


def most_specific(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop an error whose location is a prefix of another's: the outer one only repeats that
    something inside it failed, so one bad value gives one line."""
    locs = [e["loc"] for e in errors]
    return [e for e in errors if not any(len(o) > len(e["loc"]) and o[: len(e["loc"])] == e["loc"] for o in locs)]


def key_path(loc: tuple[Any, ...]) -> str:
    """('istio', 'tracing', 'sampling') -> 'mesh:istio.tracing.sampling'; list indexes as [i]."""
    head, *rest = loc or ("(root)",)
    path = f"{NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def problem(error: ErrorDetails) -> Problem:
    """One pydantic error as a Problem; validator wrappers (`function-before[...]`) leave the path."""
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    key = key_path(loc)
    if error["type"] == "extra_forbidden":
        allowed = allowed_keys(StackConfig, loc[:-1])
        return Problem(key, error["input"], f"unknown key; allowed keys here: {', '.join(allowed)}")
    if error["type"] == "missing":
        return Problem(key, None, "required key is missing")
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error":
        msg = "must be one of " + msg.removeprefix("Input should be ")
    return Problem(key, error.get("input"), msg)


def allowed_keys(model: type, loc: tuple[Any, ...]) -> list[str]:
    """Aliases of the model reached by walking loc from the root model."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
            current = field.annotation if field else None
        elif get_origin(current) in (dict, list, tuple):
            # dict[K, V] -> V; list[X] -> X; tuple[X, ...] -> X (the list index or dict key is `part`)
            args = [a for a in get_args(current) if a is not Ellipsis]
            current = args[-1] if args else None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """Optional[X] -> X."""
    if get_origin(annotation) is Union:
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation
