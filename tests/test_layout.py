"""The package's layout holds: the library never imports the application, and no import cycles.

The library (`rnnkeras.layers`, `rnnkeras.callbacks`, `rnnkeras.export` and the small
modules beside them) is what a Keras user imports; the application (`rnnkeras.pipeline`)
runs the pipeline around it and may import anything. Read statically from the source
(`tests/import_graph.py`), so no module is imported and the test takes a second.
"""

import re
from collections import deque

import pytest

from tests import import_graph

GRAPH = import_graph.package_graph()
APPLICATION = "rnnkeras.pipeline"
LIBRARY = sorted(
    name for name in GRAPH if name != APPLICATION and not name.startswith(f"{APPLICATION}.")
)


def is_application(name: str) -> bool:
    return name == APPLICATION or name.startswith(f"{APPLICATION}.")


def shortest_cycle(start: str) -> list[str] | None:
    """The shortest import chain from `start` back to itself, or None."""
    parents, queue = {}, deque([start])
    while queue:
        module = queue.popleft()
        for imported in sorted(GRAPH[module]):
            if imported == start:
                chain = [module]
                while chain[-1] != start:
                    chain.append(parents[chain[-1]])
                return [start, *reversed(chain[:-1]), start]
            if imported not in parents:
                parents[imported] = module
                queue.append(imported)
    return None


def test_the_graph_sees_both_halves():
    assert {"rnnkeras.layers", "rnnkeras.export.tflite", "rnnkeras.callbacks"} <= set(LIBRARY)
    assert "rnnkeras.layers" in import_graph.reachable(GRAPH, "rnnkeras.pipeline.stages.train")


@pytest.mark.parametrize("module", LIBRARY)
def test_the_library_never_imports_the_application(module):
    reached = sorted(name for name in import_graph.reachable(GRAPH, module) if is_application(name))
    assert not reached, f"{module} imports the application: {reached}"


def test_no_import_cycles():
    cycles = {}
    for module in GRAPH:
        cycle = shortest_cycle(module)
        if cycle:
            cycles.setdefault(frozenset(cycle), cycle)
    found = sorted(" -> ".join(cycle) for cycle in cycles.values())
    assert not found, "import cycles (import the defining module instead): " + "; ".join(found)


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    monkeypatch.setitem(GRAPH, "rnnkeras.layers.sublayers", {"rnnkeras.layers"})
    assert shortest_cycle("rnnkeras.layers.sublayers")[-1] == "rnnkeras.layers.sublayers"


@pytest.mark.parametrize(
    "module", sorted(name for name in GRAPH if is_application(name)), ids=lambda name: name
)
def test_each_application_module_has_one_job_in_at_most_400_lines(module):
    lines = len(import_graph.module_file(module).read_text().splitlines())
    assert lines <= 400, f"{module} has {lines} lines; split it by concern"


@pytest.mark.parametrize(
    "module", sorted(name for name in GRAPH if is_application(name)), ids=lambda name: name
)
def test_application_docstrings_use_markdown_backticks(module):
    source = import_graph.module_file(module).read_text()
    assert not re.search(r"(?<!`)``(?!`)|:(func|class|meth|mod):`", source), (
        f"{module}: reST markup; write `name` (Markdown backticks, as Keras does)"
    )
