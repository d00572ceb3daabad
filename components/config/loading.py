"""Read the `mesh:*` keys Pulumi passes the program and parse them into a `StackConfig`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

from components.config.errors import ConfigError, Problem, most_specific, problem
from components.config.models import ENVIRONMENTS, NAMESPACE, StackConfig
from components.config.rules import check_rules


def parse_stack_config(stack: str, raw: Mapping[str, Any]) -> StackConfig:
    """Raw `mesh:*` config (keys without namespace, values decoded) -> StackConfig, or ConfigError."""
    data = dict(raw)
    if "environment" not in data:
        if stack not in ENVIRONMENTS:
            raise ConfigError(stack, [Problem("mesh:environment", None,
                                              f"required for a stack not named {', '.join(ENVIRONMENTS)}")])
        data["environment"] = stack
    try:
        cfg = StackConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(stack, [problem(e) for e in most_specific(err.errors())]) from None
    problems = check_rules(cfg)
    if problems:
        raise ConfigError(stack, problems)
    return cfg


def read_pulumi_config() -> dict[str, Any]:
    """All `mesh:*` keys the engine passed, namespace stripped, structured values decoded."""
    merged = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    out: dict[str, Any] = {}
    for key, value in merged.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        out[name] = decode(value)
    return out


def decode(value: Any) -> Any:
    """Pulumi passes objects and lists as JSON text; scalars stay the text the user set."""
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, (dict, list)) else value
