"""What the image pipeline (images.yml) builds, read from the program, not restated: the source repository
and commit of the dev stack's `mesh:workloads.build` (the commit dev's e2e builds and tests), each
service of its topology with its Dockerfile, and the tag the program itself gives a build of that
commit (`content_tag`: `git-<commit[:12]>`). Pushed to `<registry>/<service>`, the reference staging
and prod pull when their `mesh:workloads.registry` names the same registry.

    .venv/bin/python .github/scripts/image_matrix.py REGISTRY [STACK]   # writes key=value lines (GITHUB_OUTPUT)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def plan(cfg: Any, registry: str) -> dict[str, Any]:
    """The build plan of a parsed StackConfig whose `workloads.build` pins a GitHub repository and commit."""
    from components.resources.image_build import content_tag

    build = cfg.workloads.build
    if build is None or not (build.github_repo and build.commit):
        raise ValueError(f"stack {cfg.environment}: mesh:workloads.build must name a GitHub git URL and a commit")
    registry = registry.strip().rstrip("/").lower()  # registries refuse upper case; GitHub owners may have it
    if not registry or "://" in registry:
        raise ValueError(f"registry {registry!r}: a registry and path like ghcr.io/<owner>/mercari, no scheme")
    return {
        "source": build.github_repo,
        "commit": build.commit,
        "tag": content_tag(build),
        "registry": registry,
        "matrix": {"include": [{"service": s.name, "dockerfile": s.dockerfile_path, "image": f"{registry}/{s.name}"}
                               for s in cfg.topology.services]},
    }


def main(argv: list[str]) -> int:
    from components.config.loading import parse_stack_config
    from tools.engine import stack_config

    registry, stack = argv[0], (argv[1] if len(argv) > 1 else "dev")
    try:
        out = plan(parse_stack_config(stack, stack_config(stack, ROOT)), registry)
    except ValueError as err:
        print(f"::error::{err}", file=sys.stderr)
        return 1
    for key, value in out.items():
        print(f"{key}={json.dumps(value, separators=(',', ':')) if isinstance(value, dict) else value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
