"""Read the `mesh:*` keys Pulumi passes the program and parse them into a `StackConfig`."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pulumi
from pydantic import ValidationError

from components.config.errors import SECRET, ConfigError, Problem, key_path, most_specific, problem
from components.config.models import NAMESPACE, StackConfig
from components.config.rules import (
    carries_credential,
    check_rules,
    no_credentials,
    render_problem,
    stack_environment_problem,
)
from components.vocab.environments import ENVIRONMENTS

# C0 and C1 controls, DEL, line and paragraph separators, bidirectional marks, embeddings, overrides
# and isolates, and the byte-order mark: none belongs in a config value, and each can hide or reorder
# what a reviewer sees in a diff or a terminal.
# Ref: https://www.unicode.org/reports/tr9/#Explicit_Directional_Formatting_Characters
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
MAX_DEPTH = 12
"""Levels of nesting in one `mesh:*` value; the deepest key the program reads is 6 levels down."""
MAX_TEXT = 4096
"""Characters in one string (a key or a value)."""
MAX_ITEMS = 100_000
"""Keys and list items in one `mesh:*` value, counted whole: room for a mesh of thousands of services
(the benchmark's 500 take about 5,000), and a bound on YAML alias expansion."""


@dataclass(frozen=True)
class TooDeep:
    """A value the engine passed as JSON text nested too deep to decode."""

    length: int


@dataclass(frozen=True)
class RawConfig:
    """What the engine passed: `mesh:*` values (namespace stripped, objects decoded), which of those
    keys the CLI marks secret, and every key of another namespace (to catch `mseh:istio`)."""

    values: dict[str, Any]
    secret: frozenset[str] = frozenset()
    foreign: tuple[str, ...] = ()


def read_pulumi_config() -> RawConfig:
    """All config keys the engine passed, split as RawConfig describes."""
    merged = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    values: dict[str, Any] = {}
    secret, foreign = set(), []
    for key, value in merged.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            foreign.append(key)
            continue
        values[name] = decode(value)
        if pulumi.runtime.config.is_config_secret(key):
            secret.add(name)
    return RawConfig(values, frozenset(secret), tuple(foreign))


def decode(value: Any) -> Any:
    """Pulumi passes objects and lists as JSON text; scalars stay the text the user set."""
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except RecursionError:
        return TooDeep(len(value))
    except ValueError:
        return value
    return decoded if isinstance(decoded, (dict, list)) else value


def parse_stack_config(stack: str, raw: Mapping[str, Any] | RawConfig, today: date | None = None) -> StackConfig:
    """Raw config -> StackConfig, or one ConfigError listing every problem (secret values masked).
    `today` (default: the date now) decides which releases are past their end of life."""
    raw = raw if isinstance(raw, RawConfig) else RawConfig(dict(raw))
    data = dict(raw.values)
    problems = shape_problems(data)
    if problems:  # nothing else reads a value of this shape
        raise ConfigError(stack, masked(problems, raw.secret))
    secrets = secret_strings(raw)
    problems = cli_problems(data, raw.foreign) + control_problems(data) + credential_problems(data, raw.secret)
    problems += stack_environment_problem(stack, data.get("environment"))
    kubernetes = data.get("kubernetes")
    problems += render_problem(stack, kubernetes.get("renderYamlTo") if isinstance(kubernetes, dict) else None)
    if "environment" not in data:
        if stack not in ENVIRONMENTS:
            problems.append(Problem("mesh:environment", None,
                                    f"required for a stack not named {', '.join(ENVIRONMENTS)}"))
        data["environment"] = stack
    if problems:
        raise ConfigError(stack, masked(problems, raw.secret), secrets)
    try:
        cfg = StackConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(stack, masked([problem(e) for e in most_specific(err.errors())], raw.secret),
                          secrets) from None
    cfg._secret_sections = raw.secret
    problems = check_rules(cfg, today or date.today())
    if problems:
        raise ConfigError(stack, masked(problems, raw.secret), secrets)
    return cfg


def cli_problems(data: dict[str, Any], foreign: tuple[str, ...]) -> list[Problem]:
    """Mistakes made with the CLI: a namespace typo, a nested key set without --path."""
    out = []
    for key in foreign:
        namespace, _, name = key.partition(":")
        if difflib.get_close_matches(namespace, [NAMESPACE], n=1, cutoff=0.6):
            out.append(Problem(key, "[not read]", f"unknown config namespace '{namespace}': did you mean "
                                                  f"'{NAMESPACE}:{name}'?"))
    for name in [k for k in data if "." in k or "[" in k]:
        value = data.pop(name)
        out.append(Problem(f"{NAMESPACE}:{name}", value, f"set as one flat key named '{name}': set nested keys with "
                                                         f"`pulumi config set --path '{NAMESPACE}:{name}' <value>`"))
    return out


def shape_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Values no stack needs and a parser may choke on: nested too deep, too long, too many items.
    Walked without recursion, one problem per `mesh:*` key at most."""
    out = []
    for name, value in data.items():
        found = _shape_problem(name, value)
        if found:
            out.append(found)
    return out


def _shape_problem(name: str, value: Any) -> Problem | None:
    if isinstance(value, TooDeep):
        return Problem(key_path((name,)), f"[{value.length} characters]", f"nested deeper than {MAX_DEPTH} levels")
    stack: list[tuple[tuple[Any, ...], Any]] = [((name,), value)]
    items = 0
    while stack:
        loc, item = stack.pop()
        if len(loc) > MAX_DEPTH:
            return Problem(key_path(loc[:MAX_DEPTH]), "[not shown]", f"nested deeper than {MAX_DEPTH} levels")
        children = list(item.items()) if isinstance(item, Mapping) else list(enumerate(item)) \
            if isinstance(item, list) else []
        items += len(children)
        if items > MAX_ITEMS:
            return Problem(key_path(loc[:1]), "[not shown]", f"more than {MAX_ITEMS} keys and list items")
        for text in [str(k) for k, _ in children] + ([item] if isinstance(item, str) else []):
            if len(text) > MAX_TEXT:
                return Problem(key_path(loc), f"[{len(text)} characters]", f"longer than {MAX_TEXT} characters")
        stack.extend(((*loc, k), v) for k, v in children)
    return None


def control_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Control characters (NUL, newline, tab, escape, C1, line separators, bidi overrides) anywhere,
    in keys or values."""
    return [Problem(key_path(loc), text, "must not contain control characters (C0 and C1 controls such as NUL, "
                                         "newline or tab, line or paragraph separators, bidirectional marks or "
                                         "overrides)")
            for loc, text in _strings(data, ()) if _CONTROL.search(text)]


def credential_problems(data: Mapping[str, Any], secret: frozenset[str]) -> list[Problem]:
    """A credential anywhere a plain value goes (an env value, a URL) would be stored in plaintext in
    the stack file, the state and the cluster: refused outside the keys set with --secret."""
    return [Problem(key, "[a URL with credentials]",
                    no_credentials(key) or f"carries a credential (user:password@ or a token in the query) in plain "
                                           f"config: set it with `pulumi config set --secret --path '{key}' <value>`")
            for loc, text in _strings(data, ()) if carries_credential(text)
            for key in [key_path(loc)] if not is_secret(key, secret)]


def secret_strings(raw: RawConfig) -> list[str]:
    """Every string value under a key the CLI marks secret, to scrub from messages. Keys are not
    secrets: they are the structure every message names (`mesh:observability.kiali...`)."""
    return [text for name in raw.secret for _, text in _strings(raw.values.get(name), (), keys=False)]


def _strings(value: Any, loc: tuple[Any, ...], keys: bool = True) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(key path, text) of every string value inside `value`, and of every key unless `keys` is False."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            if keys:
                yield (*loc, k), str(k)
            yield from _strings(v, (*loc, k), keys)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*loc, i), keys)
    elif isinstance(value, str):
        yield loc, value


def is_secret(key: str, secret: frozenset[str]) -> bool:
    """Whether the key path lies under a key the CLI marks secret: a whole section (`--secret --path`
    makes the top-level key secret) or a flat key set without --path (`mesh:a.b`, `mesh:a["b"]`)."""
    name = key.removeprefix(f"{NAMESPACE}:")
    return any(name == s or name.startswith((f"{s}.", f"{s}[")) for s in secret)


def masked(problems: list[Problem], secret: frozenset[str]) -> list[Problem]:
    """Problems whose key lies under a secret config key show `[secret]` instead of the value."""
    return [Problem(p.key, SECRET, p.allowed) if is_secret(p.key, secret) else p for p in problems]
