"""The package layout is the architecture (issue 17): qml_core's subpackages form layers, each
importing only what its docstring's "Imports from:" line allows, with no import circles between
modules, and the layout table of docs/architecture.md names paths that exist."""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qml_core"
FACADE = {"__init__", "__main__"}  # the package's own entry points, above every layer


def unit_of(path: pathlib.Path) -> str:
    """The layer unit a source file belongs to: its subpackage, or a top-level module's name."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    path = ROOT / dotted.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every qml_core module a file imports, at module level or inside a function
    (``from qml_core.store import cache`` imports qml_core.store.cache)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path.relative_to(ROOT)}: relative import; qml_core imports absolutely")
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "qml_core":
            found.update(f"{node.module}.{a.name}" if is_module(f"{node.module}.{a.name}") else node.module
                         for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "qml_core")
    return found


def sources() -> list[pathlib.Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def declared_imports() -> dict[str, set[str]]:
    """unit -> the units its docstring allows it to import ("Imports from: a, b." or "nothing")."""
    allowed = {}
    for path in [*PACKAGE.glob("*/__init__.py"), *(p for p in PACKAGE.glob("*.py") if p.stem not in FACADE)]:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        line = re.search(r"Imports from: ([^\n]+?)\.?$", doc, flags=re.M)
        assert line, f"{path.relative_to(ROOT)}: its docstring must say which layers it imports from"
        names = line.group(1)
        allowed[unit_of(path)] = set() if names.startswith("nothing") else {n.strip() for n in names.split(",")}
    return allowed


def test_every_import_goes_to_an_allowed_layer():
    allowed = declared_imports()
    assert set(allowed) == {unit_of(p) for p in sources() if p.stem not in FACADE or len(p.relative_to(PACKAGE).parts) > 1}
    wrong = []
    for path in sources():
        unit = unit_of(path)
        if unit in FACADE:
            continue
        for module in imported_modules(path):
            target = module.split(".")[1]
            if target != unit and target not in allowed[unit]:
                wrong.append(f"{path.relative_to(ROOT)} imports {module} ({unit} may import {sorted(allowed[unit])})")
    assert not wrong, "\n".join(wrong)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a path that ends where it starts, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_declared_layers_have_an_order():
    assert find_cycle(declared_imports()) is None


def test_no_import_circles_between_modules():
    graph = {module_name(p): {m for m in imported_modules(p) if m != module_name(p)} for p in sources()}
    graph.pop("qml_core", None)  # the lazy façade (importlib by name) imports nothing itself
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize("graph, cycle", [({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
                                          ({"a": {"b"}, "b": set()}, None)])
def test_the_cycle_finder_finds_cycles(graph, cycle):
    assert find_cycle(graph) == cycle


def test_no_layer_that_computes_imports_a_presentation_layer():
    """The code version leaves the presentation subpackages out of results' keys (store/cache.py):
    sound only while nothing that computes a result can import them."""
    from qml_core.store.cache import PRESENTATION

    leaks = {unit: allowed & set(PRESENTATION) for unit, allowed in declared_imports().items()
             if unit not in PRESENTATION and allowed & set(PRESENTATION)}
    assert not leaks, leaks


def test_the_library_never_imports_the_ui():
    ui = [f"{p.relative_to(ROOT)}: {name}" for p in sources() for node in ast.walk(ast.parse(p.read_text()))
          for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else
                       [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
          if name.split(".")[0] in ("streamlit", "lab_ui", "pages")]
    assert not ui, ui


def layout_rows() -> dict[str, str]:
    """The layout table of docs/architecture.md: first cell (paths) -> second cell (what they hold)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text[text.index("## Layout\n"):]
    section = section[:section.index("\n## ", 1)]
    rows = [line.split(" | ", 1) for line in section.splitlines() if line.startswith("| `")]
    return {first.strip("| "): second.strip("| ") for first, second in rows}


def test_the_layout_table_matches_the_tree():
    rows = layout_rows()
    named = [p for first in rows for p in re.findall(r"`([^`]+)`", first)]
    assert len(named) >= 15, named
    assert not [p for p in named if not (ROOT / p).exists()], "named in the table but missing"
    packages = {f"qml_core/{p.parent.name}/" for p in PACKAGE.glob("*/__init__.py")}
    assert packages <= set(named), packages - set(named)
    for package in packages:  # each subpackage's row names each of its modules, and only those
        described = set(re.findall(r"`(\w+\.py)`", rows[f"`{package}`"]))
        modules = {p.name for p in (ROOT / package).glob("*.py") if p.stem != "__init__"}
        assert described == modules, (package, described ^ modules)
