"""The kind node image by digest, for the e2e workflow: the Makefile's KIND_NODE as it is when it already
names a digest; else, when its tag is the default node image of the Makefile's KIND_VERSION, that
release's own pinned reference (`const Image` in kind's pkg/apis/config/defaults/image.go at the
release tag, which carries the digest kind's release notes publish). Anything else is refused, naming
the fix: a tag alone can be moved to other bytes. Standard library only.

    python3 .github/scripts/kind_node.py KIND_NODE IMAGE_GO_FILE    # prints the pinned reference
"""

from __future__ import annotations

import re
import sys

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
DEFAULT = re.compile(r'const\s+Image\s*=\s*"([^"]+)"')


class Unpinned(ValueError):
    """KIND_NODE names no digest and kind's release does not pin that tag."""


def default_image(image_go: str) -> str:
    """kind's default node image (with digest) from the text of defaults/image.go."""
    found = DEFAULT.search(image_go)
    if not found or not DIGEST.search(found.group(1)):
        raise Unpinned("kind's defaults/image.go names no node image with a digest")
    return found.group(1)


def pinned_node(kind_node: str, image_go: str) -> str:
    """KIND_NODE with its digest (see the module docstring)."""
    if DIGEST.search(kind_node):
        return kind_node
    default = default_image(image_go)
    if default.split("@", 1)[0] == kind_node:
        return default
    raise Unpinned(f"KIND_NODE={kind_node} has no digest and is not this kind release's default node image "
                   f"({default.split('@', 1)[0]}): set KIND_NODE=<image>@sha256:<digest> from kind's release notes")


def main(argv: list[str]) -> int:
    kind_node, image_go_path = argv
    with open(image_go_path) as f:
        image_go = f.read()
    try:
        print(pinned_node(kind_node, image_go))
    except Unpinned as err:
        print(f"::error::{err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
