"""The program's layers, read from the imports: each layer imports only the ones below it, and the
module graph has no cycle. config and vocabulary -> plan -> pure builders -> components -> __main__."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("components.vocab", "components.config", "components.plan", "components.builders",
          "components.resources", "__main__")


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _layer(module: str) -> int:
    return next(i for i, prefix in enumerate(LAYERS) if module == prefix or module.startswith(prefix + "."))


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m in MODULES}


FILES = [*sorted((ROOT / "components").rglob("*.py")), ROOT / "__main__.py"]
MODULES = {_module(p) for p in FILES}
GRAPH = {_module(p): _imports(p) for p in FILES}


def test_every_module_is_in_a_layer():
    assert [m for m in MODULES if m != "components" and not any(
        m == p or m.startswith(p + ".") for p in LAYERS)] == []


def test_no_layer_imports_one_above_it():
    upward = [f"{m} -> {d}" for m, deps in GRAPH.items() if m != "components" for d in deps
              if d != "components" and _layer(d) > _layer(m)]
    assert upward == []


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}

    def visit(m: str, path: tuple[str, ...]) -> list[str]:
        if state.get(m) == 1:
            return [" -> ".join((*path, m))]
        if state.get(m) == 2:
            return []
        state[m] = 1
        found = [c for d in sorted(GRAPH.get(m, ())) for c in visit(d, (*path, m))]
        state[m] = 2
        return found

    assert [c for m in sorted(GRAPH) for c in visit(m, ())] == []


def test_the_program_never_imports_the_tools():
    assert [f"{m} -> {d}" for m, deps in GRAPH.items() for d in deps if d.startswith("tools")] == []
    assert not any("tools" in line for p in FILES for line in p.read_text().splitlines()
                   if line.strip().startswith(("import tools", "from tools")))


def test_the_tools_stacks_are_the_programs_environments():
    from components.vocab.environments import ENVIRONMENTS
    from tools.engine import STACKS

    assert STACKS == ENVIRONMENTS


def test_builders_register_no_resources():
    # Pure builders return values and manifests; only components/resources/ declares resources.
    builders = [p for p in FILES if "builders" in p.parts]
    assert builders and [p.name for p in builders if "pulumi_kubernetes" in p.read_text()] == []
