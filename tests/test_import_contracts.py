"""The direction of imports (DESIGN.md section 2), checked on the real import graph.

grimp (import-linter's engine) reads every import statement of every module, including those
inside functions and under ``TYPE_CHECKING``, so a lazy import does not hide a dependency.

- ``sim`` never imports ``analysis``: the model and the study runner know nothing of reports.
- ``sim.scenario`` imports nothing else from ``sim``: the schema is the bottom layer.
- the step modules (``sim.day``) never import ``sim.model``: the model wires the steps.
- ``sim`` has no import cycle: every module can be read, and tested, after what it imports.

Each rule is a function of the graph; the ``*_fails_on_a_violation`` tests add one forbidden
import to a copy of the real graph and show that the rule then reports it.
"""

from __future__ import annotations

import copy
from functools import cache

import grimp
import pytest


@cache
def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("sim", "analysis", cache_dir=None)


def _sim_modules(graph: grimp.ImportGraph) -> list[str]:
    return sorted(m for m in graph.modules if m == "sim" or m.startswith("sim."))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def imports_of_analysis(graph: grimp.ImportGraph) -> list[str]:
    """Imports from sim into analysis, as 'importer -> imported'."""
    return [
        f"{m} -> {t}"
        for m in _sim_modules(graph)
        for t in sorted(graph.find_modules_directly_imported_by(m))
        if _within(t, "analysis")
    ]


def scenario_imports_of_sim(graph: grimp.ImportGraph) -> list[str]:
    """Imports from sim.scenario into the rest of sim."""
    return [
        f"{m} -> {t}"
        for m in _sim_modules(graph)
        if _within(m, "sim.scenario")
        for t in sorted(graph.find_modules_directly_imported_by(m))
        if _within(t, "sim") and not _within(t, "sim.scenario") and t != "sim"
    ]


def step_imports_of_model(graph: grimp.ImportGraph) -> list[str]:
    """Step modules that import sim.model, directly or through other modules."""
    steps = [m for m in _sim_modules(graph) if _within(m, "sim.day")]
    return [m for m in steps if "sim.model" in graph.modules and graph.chain_exists(m, "sim.model")]


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module of sim's import graph (Tarjan)."""
    nodes = _sim_modules(graph)
    edges = {m: sorted(t for t in graph.find_modules_directly_imported_by(m) if _within(t, "sim")) for m in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in nodes:  # iterative, so a deep graph cannot exhaust the recursion limit
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, []))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _with_import(importer: str, imported: str) -> grimp.ImportGraph:
    graph = copy.deepcopy(_graph())
    graph.add_import(importer=importer, imported=imported)
    return graph


def test_sim_never_imports_analysis():
    assert imports_of_analysis(_graph()) == []


def test_scenario_imports_nothing_else_from_sim():
    assert scenario_imports_of_sim(_graph()) == []


def test_step_modules_never_import_the_model():
    assert any(_within(m, "sim.day") for m in _graph().modules), "sim.day holds the step modules"
    assert step_imports_of_model(_graph()) == []


def test_sim_has_no_import_cycle():
    assert import_cycles(_graph()) == []


@pytest.mark.parametrize(
    ("rule", "importer", "imported"),
    [
        (imports_of_analysis, "sim.experiment.runner", "analysis.report"),
        (scenario_imports_of_sim, "sim.scenario", "sim.model"),
        (step_imports_of_model, "sim.day", "sim.model"),
        (import_cycles, "sim.rng", "sim.model"),
    ],
)
def test_each_rule_fails_on_a_violation(rule, importer, imported):
    assert rule(_graph()) == []
    assert rule(_with_import(importer, imported)) != []
