"""`make validate`: every stack file checked without Pulumi or a cluster, the thing to run before
pushing. Each stack gets one line (`ok` or its problems, each naming the key, the value or `[secret]`,
and the rule); exit 1 when any stack is wrong.

    python -m tools.validate [STACK ...]
"""

from __future__ import annotations

import sys
from typing import Optional

from components.config.errors import ConfigError
from components.config.loading import parse_stack_config
from tools.engine import ROOT, StackFileError, stack_config


def stacks() -> list[str]:
    """Every stack with a file in stacks/ (render copies and the e2e's generated files aside)."""
    names = [p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))]
    return [n for n in names if not n.endswith("-render") and not n.startswith("e2e")]


def check(stack: str) -> list[str]:
    """The problems of one stack file: its YAML as the CLI reads it, then the program's config rules."""
    try:
        raw = stack_config(stack, ROOT)
    except StackFileError as err:
        return [str(err)]
    try:
        parse_stack_config(stack, raw)
    except ConfigError as err:
        return str(err).splitlines()
    return []


def main(argv: Optional[list[str]] = None) -> int:
    failed = 0
    for stack in (argv if argv else stacks()):
        problems = check(stack)
        failed += bool(problems)
        print(f"{stack}: ok" if not problems else "\n".join(problems))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
