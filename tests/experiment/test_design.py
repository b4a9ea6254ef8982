"""Design points: grid order, rows, LHS, and SALib's Sobol/Morris rows kept in order end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.sample import morris as salib_morris
from SALib.sample import sobol as salib_sobol

from sim.experiment.design import build_design
from sim.experiment.runner import run_study
from sim.experiment.study import Design, StudyError, load_study


def test_grid_varies_the_last_factor_fastest():
    design = Design(kind="grid", factors={"a": [1, 2], "b": ["x", "y", "z"]})
    points = build_design(design, seed=1).points
    assert points == [{"a": a, "b": b} for a in (1, 2) for b in ("x", "y", "z")]


def test_rows_keep_their_order_and_find_the_reference():
    rows = [{"a": 3}, {"a": 1}, {"a": 2}]
    table = build_design(Design(kind="rows", rows=rows, reference={"a": 1}), seed=1)
    assert table.points == rows and table.reference == 1


def test_reference_outside_a_grid_is_an_error():
    design = Design(kind="grid", factors={"a": [1, 2]}, reference={"a": 5})
    with pytest.raises(StudyError, match=r"design\.reference: not one of the design points"):
        build_design(design, seed=1)


def test_lhs_puts_one_point_in_each_stratum_and_repeats_with_the_seed():
    design = Design(kind="lhs", factors={"x": {"low": 10.0, "high": 20.0}}, samples=8)
    xs = [p["x"] for p in build_design(design, seed=7).points]
    assert sorted(int((x - 10.0) / 10.0 * 8) for x in xs) == list(range(8))
    assert xs == [p["x"] for p in build_design(design, seed=7).points]
    assert xs != [p["x"] for p in build_design(design, seed=8).points]


def test_integer_ranges_and_levels_map_onto_their_values():
    design = Design(kind="lhs", samples=40,
                    factors={"n": {"low": 1, "high": 3}, "on": [False, True]})
    points = build_design(design, seed=3).points
    assert {p["n"] for p in points} == {1, 2, 3}
    assert all(isinstance(p["n"], int) for p in points)
    assert {p["on"] for p in points} == {False, True}


def test_reference_of_a_sampled_design_is_appended_last():
    design = Design(kind="lhs", factors={"x": {"low": 0.0, "high": 1.0}}, samples=4,
                    reference={"x": 0.0})
    table = build_design(design, seed=1)
    assert table.sampled == 4 and table.reference == 4 and table.points[4] == {"x": 0.0}


def test_morris_rows_are_salib_rows_in_order():
    design = Design(kind="morris", factors={"a": {"low": 0.0, "high": 2.0}, "b": {"low": 5.0, "high": 6.0}},
                    samples=3)
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 2.0], [5.0, 6.0]]}
    expected = salib_morris.sample(problem, 3, num_levels=4, seed=11)
    got = np.array([[p["a"], p["b"]] for p in build_design(design, seed=11).points])
    np.testing.assert_allclose(got, expected)


def test_sobol_row_order_is_preserved_end_to_end(write_study, tmp_path):
    design = """kind = "sobol"
samples = 2
[design.factors]
"policy.buffer_days" = { low = 0.0, high = 5.0 }
"contracts.*.penalty_per_t_short" = { low = 0.0, high = 100.0 }
"""
    study = load_study(write_study(design, replications=1, horizon_days=10, seed=5))
    problem = {"num_vars": 2, "names": ["b", "p"], "bounds": [[0.0, 5.0], [0.0, 100.0]]}
    expected = salib_sobol.sample(problem, 2, calc_second_order=False, seed=5)
    result = run_study(study, tmp_path / "out", workers=2, flush_every=1, quiet=True)
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert list(runs["design_point"]) == list(range(len(expected)))
    got = runs[["policy.buffer_days", "contracts.*.penalty_per_t_short"]].to_numpy()
    np.testing.assert_allclose(got, expected)
    assert result.runs["status"].eq("ok").all()
