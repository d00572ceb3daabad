"""The README's generated sections, so they cannot drift (`make docs`): the configuration
reference (from the models) and the code map (from each module's docstring).

Run: `python -m tools.reference` prints them; `--write` updates README.md; a test keeps it in sync.
"""

from __future__ import annotations

import ast
import json
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel

from components.config.models import NAMESPACE, StackConfig
from components.vocab.environments import ENVIRONMENTS, POSTURES, as_json, rule_texts
from components.vocab.fields import Rule
from tools import perf_tables

STACKS = ENVIRONMENTS
_ROOT = Path(__file__).resolve().parents[1]
_SKIP = {"topology"}  # a structured list; documented in its own README section


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is Union:
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None


def _type_name(annotation: Any) -> str:
    """A reader's name for a field type: 'memory quantity', 'optional DNS label', 'list of host name'."""
    rules = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, Rule)]
    if rules:
        return rules[0].name
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Union:
        rest = [a for a in args if a is not type(None)]
        return "optional " + _type_name(rest[0]) if len(rest) == 1 else " or ".join(map(_type_name, rest))
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is typing.Annotated:
        return _type_name(args[0])
    return getattr(annotation, "__name__", str(annotation))


def rules_table() -> str:
    """Every field type and its rule (README: what each type accepts)."""
    from components.vocab import fields

    found = {m.name: m.text for value in vars(fields).values()
             for m in getattr(value, "__metadata__", ()) if isinstance(m, Rule)}
    rows = ["| type | rule |", "|---|---|"]
    rows += [f"| {name} | {text} |" for name, text in sorted(found.items())]
    return "\n".join(rows)


_WHOLE = ("Resources", "OpenIdConfig", "ImageConfig", "AutoscalingConfig", "SloConfig", "CertManagerConfig")
"""Blocks shown as one key (their value is one object), not key by key."""


def _optional(annotation: Any) -> bool:
    return typing.get_origin(annotation) is Union and type(None) in typing.get_args(annotation)


def _leaves(model: type[BaseModel], prefix: str, block: str = "") -> Iterator[tuple[str, Any, Any, str]]:
    """(key path, type name, default, description) for every leaf key. `block`: the optional block the
    keys sit in (its keys are required only when the block is set)."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        if prefix == f"{NAMESPACE}:" and (field.alias or name) in _SKIP:
            continue
        sub = _model_of(field.annotation)
        if sub is not None and sub.__name__ not in _WHOLE:
            yield from _leaves(sub, f"{key}.", f"`{key}`" if _optional(field.annotation) else block)
            continue
        values = typing.get_args(field.annotation)
        if typing.get_origin(field.annotation) is dict and _model_of(values[-1]) is not None:
            inner = _model_of(values[-1])
            assert inner is not None
            yield from _leaves(inner, f"{key}.<name>.", f"`{key}.<name>`")
            continue
        if field.is_required():
            default = f"required in {block}" if block else "required"
        else:
            default = field.get_default(call_default_factory=True)
        rules = [m for m in field.metadata if isinstance(m, Rule)]
        yield key, rules[0].name if rules else _type_name(field.annotation), default, field.description or ""


def _show(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, mode="json", exclude_none=True)
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return f"`{text}`" if text else '`""`'


def _stack_value(doc: dict[str, Any], key: str) -> str:
    section, _, rest = key.partition(":")[2].partition(".")
    value: Any = doc.get(f"{NAMESPACE}:{section}")
    for part in rest.split(".") if rest else []:
        value = value.get(part) if isinstance(value, dict) else None
    return _show(value) if value is not None else "·"


def table() -> str:
    """The keys table, then the field types' rules."""
    return f"{keys_table()}\n\nWhat each field type accepts:\n\n{rules_table()}"


def keys_table() -> str:
    docs = {s: yaml.safe_load((_ROOT / "stacks" / f"Pulumi.{s}.yaml").read_text())["config"] for s in STACKS}
    rows = ["| key | type | default | dev | staging | prod | meaning |", "|---|---|---|---|---|---|---|"]
    for key, annotation, default, description in _leaves(StackConfig, f"{NAMESPACE}:"):
        values = " | ".join(_stack_value(docs[s], key) for s in STACKS)
        shown = default if isinstance(default, str) and default.startswith("required") else _show(default)
        rows.append(f"| `{key}` | {annotation} | {shown} | {values} | {description} |")
    return "\n".join(rows)


CODE_MAP_DIRS = ("components", "tools", "policy", "benchmarks")


def code_map(root: Path = _ROOT) -> str:
    """One row per module of the program, the tools, the policy pack and the benchmark: its path and
    the first line of its docstring."""
    described = {"components/builders", "components/resources", "components/vocab", "components/config"}

    def listed(path: Path) -> bool:
        parts = path.relative_to(root).parts
        if any("venv" in part for part in parts) or "modules" in parts or "__pycache__" in parts:
            return False  # installed packages, the e2e's Go wrappers
        return path.name != "__init__.py" or path.parent.relative_to(root).as_posix() in described

    files = [root / "__main__.py"] + sorted(p for d in CODE_MAP_DIRS for p in (root / d).rglob("*.py") if listed(p))
    rows = ["| module | what it holds |", "|---|---|"]
    for path in files:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        first = " ".join(doc.split("\n\n")[0].split()).replace("|", "\\|")
        rows.append(f"| `{path.relative_to(root)}` | {first} |")
    return "\n".join(rows)


def environments_table() -> str:
    """The environments' rules (components.vocab.environments.POSTURES) as a Markdown table."""
    envs = list(POSTURES)
    rows = ["| rule | " + " | ".join(envs) + " |", "|---|" + "---|" * len(envs)]
    for name, rule in rule_texts().items():
        cells = [getattr(POSTURES[e], name) for e in envs]
        shown = [("yes" if c else "no") if isinstance(c, bool) else f"{c:g}" for c in cells]
        rows.append(f"| {rule} | " + " | ".join(shown) + " |")
    return "\n".join(rows)


EXPLAIN_EXAMPLE = ("staging", "a call from gateway to db added to the topology")


def explain_example() -> str:
    """`make explain`'s report for one real change (EXPLAIN_EXAMPLE), as the README shows it."""
    from components.vocab.topology import MERCARI
    from tools import explain
    from tools.engine import evaluate
    from tools.snapshot import snapshot

    stack, _ = EXPLAIN_EXAMPLE
    services = [s.model_dump(mode="json", exclude_none=True) for s in MERCARI.services]
    services[0]["calls"] = [*services[0]["calls"], "db"]
    before = snapshot(evaluate(stack))
    after = snapshot(evaluate(stack, {"topology": {"services": services}}))
    return "````markdown\n" + "\n".join(explain.report_stack(stack, before, after)).rstrip() + "\n````"


ENVIRONMENTS_JSON = _ROOT / "policy" / "environments.json"
"""The policy pack's copy of the table (the pack is published on its own, so it reads no program code)."""


def environments_json() -> str:
    return json.dumps(as_json(), indent=2) + "\n"


def _results() -> dict[str, Any]:
    return json.loads((_ROOT / "benchmarks" / "results.json").read_text())


def _perf(table: Any) -> Any:
    return lambda: table(_results())


SECTIONS = {"config-reference": table, "environment-rules": environments_table, "code-map": code_map,
            "explain-example": explain_example,
            "perf-header": _perf(perf_tables.header),
            "perf-stacks": _perf(perf_tables.stacks), "perf-scaling": _perf(perf_tables.scaling),
            "perf-waits": _perf(perf_tables.waits), "perf-blast": _perf(perf_tables.blast),
            "e2e-timings": _perf(perf_tables.e2e)}


def sync_readme(readme: Path = _ROOT / "README.md") -> None:
    """Replace each generated section between its README markers."""
    text = readme.read_text()
    for name, generate in SECTIONS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = f"{head}{start}\n{generate()}\n{end}{tail}"
    readme.write_text(text)
    ENVIRONMENTS_JSON.write_text(environments_json())


if __name__ == "__main__":
    import sys

    sync_readme() if "--write" in sys.argv else print("\n\n".join(g() for g in SECTIONS.values()))
