"""The stack config that makes a stack run the images images.yml pushed, by digest: what deploy.yml's e2e
tests (the dev stack, with these overrides instead of its build from source) is then exactly what staging
and prod run. Input: images.yml's `digests` output (JSON, {"<service>": {"image": "<registry>/<service>",
"tag": "git-…", "digest": "sha256:…"}}) in the environment variable DIGESTS.

For every service of the stack's topology: `mesh:workloads.services.<service>.image.digest`, which the
program turns into `<registry>/<service>@<digest>` (components/config/images.py; a per-service `image.tag`
is removed, as the config rules refuse a tag beside a digest). With --instead-of-build (the e2e's dev
stack) also `mesh:workloads.registry` set to the one the images were pushed to and `mesh:workloads.build`
removed; without it the stack must already name that registry. The result is parsed by the program's
config rules and each service's image checked to be `<image>@<digest>` before anything is set.

    .venv/bin/python .github/scripts/image_overrides.py STACK [--instead-of-build]           # prints the commands
    .venv/bin/python .github/scripts/image_overrides.py STACK [--instead-of-build] --apply   # runs them (pulumi config)
    .venv/bin/python .github/scripts/image_overrides.py STACK [--instead-of-build] --refs    # <image>@<digest>, one a line

Stack files are read from the working directory (where `pulumi config` writes them): the project root.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVICE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
REPOSITORY = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+")

Op = tuple[str, str, Optional[str]]
"""("set", key, value) or ("rm", key, None); keys are `pulumi config --path` keys."""


class Refused(ValueError):
    """The digests cannot be applied to this stack; the message is the one line to print."""


def pushed(digests: Any) -> tuple[str, dict[str, dict[str, str]]]:
    """The registry the images were pushed to and the checked entries, or Refused."""
    if not isinstance(digests, dict) or not digests:
        raise Refused("DIGESTS names no image: expected images.yml's `digests` output, "
                      '{"<service>": {"image": "<registry>/<service>", "digest": "sha256:…"}}')
    registries = set()
    for service, entry in digests.items():
        if not SERVICE.fullmatch(str(service)):
            raise Refused(f"DIGESTS: {service!r} is not a service name")
        image = entry.get("image") if isinstance(entry, dict) else None
        digest = entry.get("digest") if isinstance(entry, dict) else None
        if not isinstance(image, str) or not REPOSITORY.fullmatch(image) or not image.endswith(f"/{service}"):
            raise Refused(f"DIGESTS: {service}: image {image!r} is not <registry>/{service}")
        if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
            raise Refused(f"DIGESTS: {service}: digest {digest!r} is not sha256:<64 hex>")
        registries.add(image.removesuffix(f"/{service}"))
    if len(registries) != 1:
        raise Refused(f"DIGESTS: images in more than one registry ({', '.join(sorted(registries))})")
    return registries.pop(), digests


def _apply(raw: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
    """`ops` applied to a stack's config (namespace stripped), as `pulumi config set/rm --path` would."""
    out = copy.deepcopy(raw)
    for op, key, value in ops:
        top, *path = key.removeprefix("mesh:").split(".")
        node = out.setdefault(top, {})
        for part in path[:-1]:
            node = node.setdefault(part, {})
        if op == "set":
            node[path[-1]] = value
        else:
            node.pop(path[-1], None)
    return out


def overrides(stack: str, digests: Any, raw: dict[str, Any], instead_of_build: bool = False) -> list[Op]:
    """The config commands that make `stack` (its config `raw`, namespace stripped) run the pushed images."""
    from components.config.images import image_of, is_built
    from components.config.loading import parse_stack_config

    registry, entries = pushed(digests)
    cfg = parse_stack_config(stack, raw)
    services = [s.name for s in cfg.topology.services]
    missing = [s for s in services if s not in entries]
    if missing:
        raise Refused(f"DIGESTS has no image of {', '.join(missing)} (stack {stack}'s topology): images.yml builds "
                      "the dev stack's topology; the stacks must name the same services")
    workloads = raw.get("workloads") or {}
    ops: list[Op] = []
    if instead_of_build:
        if workloads.get("build") is not None:
            ops.append(("rm", "mesh:workloads.build", None))
        if workloads.get("registry") != registry:
            ops.append(("set", "mesh:workloads.registry", registry))
    elif cfg.workloads.build is not None:
        raise Refused(f"stack {stack} builds its images from source (mesh:workloads.build): pass --instead-of-build")
    elif cfg.workloads.registry != registry:
        raise Refused(f"stack {stack} pulls from {cfg.workloads.registry} (mesh:workloads.registry) but the images "
                      f"were pushed to {registry}")
    for service in services:
        image = ((workloads.get("services") or {}).get(service) or {}).get("image") or {}
        base = f"mesh:workloads.services.{service}.image"
        if image.get("repository") not in (None, entries[service]["image"]):
            raise Refused(f"stack {stack}: {base}.repository is {image['repository']}, not the pushed "
                          f"{entries[service]['image']}: remove it")
        if image.get("tag") is not None:
            ops.append(("rm", f"{base}.tag", None))
        ops.append(("set", f"{base}.digest", entries[service]["digest"]))
    patched = parse_stack_config(stack, _apply(raw, ops))  # the program's rules accept the result
    for service in services:
        want = f"{entries[service]['image']}@{entries[service]['digest']}"
        got = image_of(patched, service).reference
        if is_built(patched, service) or got != want:
            raise Refused(f"stack {stack}: service {service} would run {got}, not {want}")
    return ops


def refs(stack: str, digests: Any, raw: dict[str, Any]) -> list[str]:
    """`<image>@<digest>` of every service of the stack's topology, as its pods will name them."""
    from components.config.loading import parse_stack_config

    _, entries = pushed(digests)
    return [f"{entries[s.name]['image']}@{entries[s.name]['digest']}"
            for s in parse_stack_config(stack, raw).topology.services if s.name in entries]


def command(stack: str, op: Op) -> list[str]:
    verb, key, value = op
    if verb == "set":
        return ["pulumi", "config", "set", "--stack", stack, "--path", "--type", "string", key, "--", str(value)]
    return ["pulumi", "config", "rm", "--stack", stack, "--path", key]


def main(argv: list[str]) -> int:
    from components.config.errors import ConfigError
    from tools.engine import StackFileError, stack_config

    flags = {a for a in argv if a.startswith("--")}
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1 or flags - {"--instead-of-build", "--apply", "--refs"} or {"--apply", "--refs"} <= flags:
        print("usage: image_overrides.py STACK [--instead-of-build] [--apply | --refs]", file=sys.stderr)
        return 2
    stack = args[0]
    try:
        digests = json.loads(os.environ.get("DIGESTS") or "null")
        raw = stack_config(stack, Path.cwd())
        if "--refs" in flags:
            print("\n".join(refs(stack, digests, raw)))
            return 0
        ops = overrides(stack, digests, raw, "--instead-of-build" in flags)
    except (Refused, ConfigError, StackFileError, json.JSONDecodeError) as err:
        print(f"::error::{' '.join(str(err).split())}", file=sys.stderr)
        return 1
    for op in ops:
        cmd = command(stack, op)
        print(shlex.join(cmd), flush=True)
        if "--apply" in flags and subprocess.run(cmd).returncode != 0:
            print(f"::error::{shlex.join(cmd)} failed", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
