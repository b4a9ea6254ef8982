"""sim.scenario as a package of one concern per module (issue 18 item 3), and validation in
linear time (issue 26 item 1).

The sizes are checked on the source: no module of sim (the scenario package, the step
modules, the model, the study runner...) over 500 lines, no function over 80 (issue 18's
targets). Validation time itself is measured by
benchmarks/bench_validate.py; here the duplicate-id check is shown to compare each id a
bounded number of times, where ``ids.count`` compared every id with every other.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest

import sim.scenario
from sim.scenario import Scenario, ScenarioError, parse_scenario, read_toml

REPO = Path(__file__).resolve().parents[1]
MINIMAL = REPO / "tests" / "data" / "minimal.toml"

# Every top-level name of the single module sim/scenario.py, as other modules and tests import them.
NAMES = """BIG NonNeg Pos Km Share Ident LifeLaw Frozen ScenarioMeta Distance Transport Material Location
Maintenance Outages Variability Pattern QualityDraw Limit Preprocessing OutputStream Substitute Stockpile
Emergency InputSpec Facility Contract Policy IntermediarySpec Behaviour Formation Market Event Scenario
ScenarioError _NAMED_BY_MATERIAL _item_name _path_of _is_union_tag _SCALAR_TAGS _SHAPE_ERRORS _printable
_escaped _short _message format_validation_error DefinedIds cross_reference_problems
partial_reference_problems parse_value apply_override _LIST_FIELDS _match_items parse_scenario read_toml
load_scenario secondary_need_t_per_day apply_policy contract_input _RunView _RUN_VIEWS _READ_DAILY run_view
_view_slots replaced""".split()

CONCERNS = ("schema", "sections", "errors", "references", "overrides", "limits", "load")


def _sources() -> list[Path]:
    return sorted((REPO / "sim").rglob("*.py"))


def test_scenario_is_a_package_of_one_concern_per_module_that_keeps_every_name() -> None:
    assert hasattr(sim.scenario, "__path__"), "sim.scenario is still one module"
    for concern in CONCERNS:
        importlib.import_module(f"sim.scenario.{concern}")
    assert [name for name in NAMES if not hasattr(sim.scenario, name)] == []


def test_no_module_over_500_lines_and_no_function_over_80() -> None:
    long_modules, long_functions = [], []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 500:
            long_modules.append(path.name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    long_functions.append(f"{path.name}:{node.name} ({length} lines)")
    assert long_modules == [] and long_functions == []


class CountedId(str):
    """An id that counts how often it is compared for equality."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountedId.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_the_duplicate_id_check_compares_each_id_a_bounded_number_of_times() -> None:
    n = 400
    items = [SimpleNamespace(id=CountedId(f"plant-{k}")) for k in range(n)]
    CountedId.comparisons = 0
    assert Scenario._unique_ids(items) is items
    assert CountedId.comparisons <= 4 * n  # ids.count compared each of the n ids with all n: n * n


def test_repeated_ids_are_still_named_once_each_in_order() -> None:
    raw = read_toml(MINIMAL)
    raw["facilities"] = raw["facilities"] * 3
    raw["materials"] = raw["materials"] + raw["materials"][:1]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw, "<dups>")
    assert "<dups>: materials: ids must be unique (repeated: grain); give each item its own id" in err.value.problems
    assert ("<dups>: facilities: ids must be unique (repeated: brewery, farm); give each item its own id"
            in err.value.problems)
