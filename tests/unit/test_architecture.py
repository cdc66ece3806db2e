"""The import structure: no module imports itself round a cycle, and no package imports a sibling package that imports
it back (e.g. market data and decision), so every shared helper lives below the actors that use it."""

from __future__ import annotations

import graphlib
from collections import defaultdict

import grimp
import pytest

PACKAGES = ("actors", "messages", "storage")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)  # TYPE_CHECKING imports count: a type is a dependency too


def _first_cycle(edges: dict[str, set[str]]) -> tuple[str, ...]:
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError as cycle:
        return tuple(cycle.args[1])
    return ()


def test_no_module_imports_itself_round_a_cycle(graph):
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert _first_cycle(edges) == (), "import cycle between modules"


def test_no_package_imports_a_sibling_that_imports_it_back(graph):
    siblings: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = importer.split("."), imported.split(".")
            common = 0
            while common < min(len(a), len(b)) and a[common] == b[common]:
                common += 1
            # the two sibling packages (or top-level packages) under their closest common parent
            if common < len(a) - 1 and common < len(b) - 1:
                parent = ".".join(a[:common])
                siblings[parent][a[common]].add(b[common])
    cycles = {parent: cycle for parent, edges in siblings.items() if (cycle := _first_cycle(edges))}
    assert cycles == {}, "packages that import each other"


def test_the_checks_find_a_cycle_when_there_is_one():
    assert _first_cycle({"a": {"b"}, "b": {"a"}, "c": set()}) in (("a", "b", "a"), ("b", "a", "b"))
