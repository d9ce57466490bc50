"""The house keeps its shape: data flows corpus → index → search → reform_search (CLI, web app) → ui.py,
no module imports from a layer above its own, and no modules import each other in a circle.

Imports are read from the source (every `import` and `from … import`, also inside functions), so a
lazy import counts as much as one at the top of a file.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"corpus": 1, "index": 2, "search": 3, "reform_search": 4, "ui": 5, "bench": 6}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [
        ROOT / "ui.py",
        *(p for top in LAYERS if (ROOT / top).is_dir() for p in (ROOT / top).rglob("*.py")),
    ]
    return {_module(p): p for p in files}


def _imports(path: Path, known: set[str], bench: bool) -> set[str]:
    """Project modules that `path` imports (the longest known name of each import)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            if bench and name.split(".")[0] in {
                _module(p).split(".")[-1] for p in (ROOT / "bench").glob("*.py")
            }:
                name = f"bench.{name}"  # bench scripts import each other by bare name
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    return {m: _imports(p, known, m.startswith("bench")) - {m} for m, p in sources.items()}


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{m} -> {d}" for m, deps in sorted(_graph().items()) for d in sorted(deps) if _layer(d) > _layer(m)
    ]
    assert upward == []


def test_no_import_circles():
    graph = _graph()
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert circles == []


def test_the_check_sees_imports_inside_functions():
    graph = _graph()
    assert "reform_search.web.server" in graph["reform_search.cli_corpus"]  # `serve` imports it when it runs
    assert "index.embed_e5" in graph["index.embed"]
    assert all(d.split(".")[0] in LAYERS for deps in graph.values() for d in deps)


def test_a_module_over_300_lines_says_why_in_its_opening_comment():
    unexplained = []
    for module, path in sorted(_sources().items()):
        lines = path.read_text(encoding="utf-8").count("\n")
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if lines > 300 and "lines" not in doc:
            unexplained.append(f"{module} ({lines} lines)")
    assert unexplained == []
