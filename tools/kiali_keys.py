"""Every configuration key the Kiali server reads, derived from its Go config structs (their `yaml`
tags), as the tree `make chart-check` compares the chart values against: a key the program passes
that the server does not read reaches Kiali's ConfigMap and is silently ignored.

    python -m tools.kiali_keys KIALI_SOURCE_DIR VERSION > tools/facts/kiali-<version>-config-keys.json

KIALI_SOURCE_DIR is a checkout of github.com/kiali/kiali at the tag; only `config/` is read. In the
tree, `{}` is a leaf (lists included: chart values carry a list whole) and `"*"` a map of any keys.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Optional

PACKAGES = ("config", "config/security", "config/dashboards")
_STRUCT = re.compile(r"^type\s+(\w+)\s+struct\s*\{(.*?)^\}", re.M | re.S)
_FIELD = re.compile(r"^\s*(?:(\w+)\s+)?([\w.*\[\]]+(?:\[[\w.*]+\][\w.*]+)?)\s+`([^`]*)`", re.M)
_YAML = re.compile(r'yaml:"([^"]*)"')

Tree = dict[str, Any]


def structs(source: Path) -> dict[str, list[tuple[str, str]]]:
    """Struct name -> [(yaml key or '' for inline, Go type)], from the config packages' non-test files."""
    out: dict[str, list[tuple[str, str]]] = {}
    for package in PACKAGES:
        for path in sorted((source / package).glob("*.go")):
            if path.name.endswith("_test.go"):
                continue
            for name, body in _STRUCT.findall(path.read_text()):
                fields = []
                for field, type_, tags in _FIELD.findall(body):
                    tag = _YAML.search(tags)
                    if tag is None:
                        continue
                    key, _, options = tag.group(1).partition(",")
                    if key == "-":
                        continue
                    # yaml.v2/v3: no name in the tag means the field's name lowercased, unless inline.
                    fields.append(("" if "inline" in options else key or (field or type_.rsplit(".", 1)[-1]).lower(),
                                   type_))
                out[name] = fields
    return out


def tree(types: dict[str, list[tuple[str, str]]], root: str = "Config") -> Tree:
    """The key tree of struct `root`."""
    def of(type_: str, seen: frozenset[str]) -> Any:
        type_ = type_.lstrip("*")
        if type_.startswith("map["):
            return "*"
        if type_.startswith("[]"):
            return {}  # a list is a leaf: chart values carry it whole
        name = type_.rsplit(".", 1)[-1]
        if name in types and name not in seen:
            return walk(name, seen | {name})
        return {}

    def walk(name: str, seen: frozenset[str]) -> Tree:
        node: Tree = {}
        for key, type_ in types[name]:
            sub = of(type_, seen)
            if key:
                node[key] = sub
            elif isinstance(sub, dict):
                node.update(sub)  # an inline (embedded) struct's keys are the parent's
        return dict(sorted(node.items()))

    return walk(root, frozenset({root}))


def document(source: Path, version: str) -> dict[str, Any]:
    files = ", ".join(f"{p}/*.go" for p in PACKAGES)
    return {"kiali": version, "source": f"github:kiali/kiali {files} at {version}", "tree": tree(structs(source))}


def main(argv: Optional[list[str]] = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2 or not (Path(args[0]) / "config").is_dir():
        print("usage: python -m tools.kiali_keys KIALI_SOURCE_DIR VERSION (a kiali/kiali checkout at that tag)")
        return 2
    print(json.dumps(document(Path(args[0]), args[1]), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
