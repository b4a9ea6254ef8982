"""`input:<facility>.<material>:<column>`: one buyer input's column of the run's inputs table, as
a search metric or a study outcome; and `validate` of a search file."""

from __future__ import annotations

import pytest

import run_experiments
from sim.experiment.outcomes import item_values, outcome_problems
from sim.run import run_once
from sim.scenario import load_scenario

from .conftest import BREWERY


def test_an_input_outcome_is_that_inputs_row_of_the_inputs_table():
    scenario = load_scenario(BREWERY)
    result = run_once(scenario, 3, horizon_days=120)
    row = result.inputs[(result.inputs["facility"] == "farm_south") & (result.inputs["material"] == "feed")]
    got = item_values(result, ["input:farm_south.feed:secondary_short_t", "input:farm_south.feed:planned_t"])
    assert got == {"input:farm_south.feed:secondary_short_t": float(row["secondary_short_t"].iloc[0]),
                   "input:farm_south.feed:planned_t": float(row["planned_t"].iloc[0])}
    # by hand: the plan is in the input's unit (feed replaced): 120 days x 2.7 t feed/day x 40 % from grain
    assert got["input:farm_south.feed:planned_t"] == pytest.approx(120 * 2.7 * 0.4)
    assert outcome_problems("f", ["input:farm_south.feed:secondary_short_t"], scenario) == []
    [line] = outcome_problems("f", ["input:farm_south.grain:planned_t"], scenario)
    assert line.startswith("f: study.outcomes[0]: unknown input 'farm_south.grain'")


def test_validate_checks_a_search_file(capsys):
    path = BREWERY.parent / "searches" / "brewery_south_reliability.toml"
    assert run_experiments.main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{path}: ok (search 'brewery-south-reliability': 40 candidates x 3 uncertainty strata, 12 to 192 "
        "replications each, budget 3000 runs)")
