"""Read the `mesh:*` keys Pulumi passes the program and parse them into a `StackConfig`."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import ValidationError

from components.config.errors import ConfigError, Problem, key_path, most_specific, problem
from components.config.models import ENVIRONMENTS, NAMESPACE, StackConfig
from components.config.rules import check_rules, render_problem, stack_environment_problem

SECRET = "[secret]"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    except ValueError:
        return value
    return decoded if isinstance(decoded, (dict, list)) else value


def parse_stack_config(stack: str, raw: Mapping[str, Any] | RawConfig) -> StackConfig:
    """Raw config -> StackConfig, or one ConfigError listing every problem (secret values masked)."""
    raw = raw if isinstance(raw, RawConfig) else RawConfig(dict(raw))
    data = dict(raw.values)
    problems = cli_problems(data, raw.foreign) + control_problems(data)
    problems += stack_environment_problem(stack, data.get("environment"))
    kubernetes = data.get("kubernetes")
    problems += render_problem(stack, kubernetes.get("renderYamlTo") if isinstance(kubernetes, dict) else None)
    if "environment" not in data:
        if stack not in ENVIRONMENTS:
            problems.append(Problem("mesh:environment", None,
                                    f"required for a stack not named {', '.join(ENVIRONMENTS)}"))
        data["environment"] = stack
    if problems:
        raise ConfigError(stack, masked(problems, raw.secret))
    try:
        cfg = StackConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(stack, masked([problem(e) for e in most_specific(err.errors())], raw.secret)) from None
    cfg._secret_sections = raw.secret
    problems = check_rules(cfg)
    if problems:
        raise ConfigError(stack, masked(problems, raw.secret))
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


def control_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Control characters (NUL, newline, tab, escape, ...) anywhere, in keys or values."""
    return [Problem(key_path(loc), text, "must not contain control characters (NUL, newline, tab, ...)")
            for loc, text in _strings(data, ()) if _CONTROL.search(text)]


def _strings(value: Any, loc: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield (*loc, k), str(k)
            yield from _strings(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*loc, i))
    elif isinstance(value, str):
        yield loc, value


def masked(problems: list[Problem], secret: frozenset[str]) -> list[Problem]:
    """Problems whose key lies under a secret config key show `[secret]` instead of the value."""
    def section(key: str) -> str:
        return re.split(r"[.\[]", key.removeprefix(f"{NAMESPACE}:"), maxsplit=1)[0]

    return [Problem(p.key, SECRET, p.allowed) if section(p.key) in secret else p for p in problems]
