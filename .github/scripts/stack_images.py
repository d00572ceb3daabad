"""Where the image pipeline (images.yml) pushes, and whether the stacks pull what it builds, read from the
stack files the user edits, not from a workflow variable: the registry is staging's
`mesh:workloads.registry` (prod must name the same one: one push serves both), and the tag the pipeline
gives the images (the program's content tag, `git-<commit[:12]>` of the dev stack's build) must be each
shipped stack's `mesh:workloads.tag`, so a commit bump without a tag bump fails here, not at a pull.
Each failure is one line naming the values and the fix. PyYAML only (the project's venv has it); the stack
files are read from the working directory (the project root in the workflow).

    python .github/scripts/stack_images.py registry OWNER   # prints the registry; OWNER: github.repository_owner
    python .github/scripts/stack_images.py tag TAG          # checks staging's and prod's mesh:workloads.tag
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

SHIPPED = ("staging", "prod")
"""The stacks that pull the pipeline's images; staging is the one e2e tests before it."""


class Mismatch(ValueError):
    """The stacks and the pipeline disagree; the message is the one line to print."""


def workloads(stack: str, root: Path) -> dict[str, Any]:
    """`mesh:workloads` of stacks/Pulumi.<stack>.yaml (empty when unset)."""
    doc = yaml.safe_load((root / "stacks" / f"Pulumi.{stack}.yaml").read_text()) or {}
    value = (doc.get("config") or {}).get("mesh:workloads") or {}
    return value if isinstance(value, dict) else {}


def registry(owner: str, root: Path) -> str:
    """Staging's registry, when prod names the same one and this repository's GITHUB_TOKEN can push to it."""
    found = {stack: workloads(stack, root).get("registry") for stack in SHIPPED}
    if not found["staging"]:
        raise Mismatch("stacks/Pulumi.staging.yaml sets no mesh:workloads.registry: set it to the registry the "
                       f"images go to, e.g. ghcr.io/{owner.lower()}/mercari (and the same in stacks/Pulumi.prod.yaml)")
    if found["prod"] != found["staging"]:
        raise Mismatch(f"mesh:workloads.registry is {found['staging']} in stacks/Pulumi.staging.yaml but "
                       f"{found['prod'] or 'unset'} in stacks/Pulumi.prod.yaml: prod runs the images staging "
                       "tested, so both name the one registry they are pushed to")
    name = str(found["staging"]).rstrip("/")
    host, _, path = name.partition("/")
    # GITHUB_TOKEN (packages: write) pushes to ghcr.io under the repository's owner only.
    if host != "ghcr.io" or path.split("/")[0].lower() != owner.lower():
        raise Mismatch(f"the stacks name the registry {name}, but this repository's GITHUB_TOKEN can push only to "
                       f"ghcr.io/{owner.lower()}/...: set mesh:workloads.registry to ghcr.io/{owner.lower()}/mercari in "
                       "stacks/Pulumi.staging.yaml and stacks/Pulumi.prod.yaml (README, Set up delivery)")
    if name != name.lower():
        raise Mismatch(f"mesh:workloads.registry {name}: registries refuse upper case; set {name.lower()} in "
                       "stacks/Pulumi.staging.yaml and stacks/Pulumi.prod.yaml")
    return name


def check_tag(tag: str, root: Path) -> None:
    """Every shipped stack's `mesh:workloads.tag` is the tag the pipeline builds."""
    found = {stack: workloads(stack, root).get("tag") for stack in SHIPPED}
    wrong = {stack: value for stack, value in found.items() if value != tag}
    if wrong:
        said = ", ".join(f"{value or 'unset'} in stacks/Pulumi.{stack}.yaml" for stack, value in wrong.items())
        raise Mismatch(f"mesh:workloads.tag is {said}, but the images are built and pushed as {tag} (the dev "
                       f"stack's mesh:workloads.build.commit): set mesh:workloads.tag to {tag} in "
                       f"{' and '.join(f'stacks/Pulumi.{s}.yaml' for s in wrong)}")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("registry", "tag"):
        print("usage: stack_images.py registry OWNER | tag TAG", file=sys.stderr)
        return 2
    try:
        if argv[0] == "registry":
            print(registry(argv[1], Path.cwd()))
        else:
            check_tag(argv[1], Path.cwd())
    except (Mismatch, OSError, yaml.YAMLError) as err:
        print(f"::error::{' '.join(str(err).split())}", file=sys.stderr)  # one line; stdout is the answer
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
