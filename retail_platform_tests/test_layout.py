"""The package's layout shows its architecture: no import cycle between its modules,
``lib/`` never imports ``defs/``, and private Dagster API only in ``patches/``."""

from __future__ import annotations

import ast
from pathlib import Path

from retail_platform.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "retail_platform"
PATCHES = PACKAGE / "patches"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth (a function's import is still a dependency),
    except those under ``if TYPE_CHECKING:``, which never run."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in imports_of(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                # `from package import module` imports the module; otherwise the name is
                # an attribute of ``base``.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base
                    for alias in node.names
                ]
            imported |= {t for t in targets if t in paths and t != name}
        graph[name] = imported
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycle_between_modules():
    graph = import_graph()
    assert "retail_platform.settings" in graph and len(graph) > 50
    assert cycles(graph) == []
    # The scan finds a cycle when there is one.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_lib_never_imports_defs_and_settings_imports_nothing_of_the_package():
    graph = import_graph()
    lib_to_defs = {
        (module, imported)
        for module, imports in graph.items()
        if module.startswith("retail_platform.lib.")
        for imported in imports
        if imported.startswith("retail_platform.defs")
    }
    assert lib_to_defs == set()
    assert graph["retail_platform.settings"] == set()


def private_dagster_imports(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
            if node.module == "dagster":
                names += [f"dagster.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name.startswith("dagster._") for name in names):
            lines.append(node.lineno)
    return lines


def test_private_dagster_api_is_imported_only_in_patches():
    found = {
        str(path.relative_to(PROJECT_ROOT)): lines
        for path in PACKAGE.rglob("*.py")
        if PATCHES not in path.parents
        and (lines := private_dagster_imports(ast.parse(path.read_text(), str(path))))
    }
    assert found == {}, "import it from retail_platform/patches/dagster_private.py, with a note"
    sample = "import dagster._core\nfrom dagster._time import x\nfrom dagster import _core\n"
    assert private_dagster_imports(ast.parse(sample + "from dagster import asset\n")) == [1, 2, 3]
