"""The house rules of docs/architecture.md that import-linter does not state as contracts: no import cycle
anywhere in the project's packages, counting the imports made inside functions (that is how cycles hid)."""

from __future__ import annotations

import sys

import grimp
import pytest

from tests.conftest import ROOT

PACKAGES = ("distsync_core", "infra", "distsync")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan; a few hundred modules, so recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = stack[stack.index(module):]
            del stack[stack.index(module):]
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    for path in (ROOT, ROOT / "layers" / "shared" / "python"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_no_import_cycles(graph):
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(graph):
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.d", imported="a.b")
    assert import_cycles(graph) == [["a.b", "a.c"]]
