"""Per-input disruptions (sim/disruptions.py, issue 20): the old network count kept under its
new name, the per-input table and episodes read back from the flows, both engines equal, and a
bad threshold refused. Hand counts are in tests/test_metrics_by_hand.py."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_direct_scenario
from test_arrayday import _pair
from tiny_net import build, run

from sim.disruptions import find_episodes, runs_of_true
from sim.metrics import runs_of_true as runs_of_true_from_metrics
from sim.model import SymbiosisModel
from sim.scenario import ScenarioError


def old_disruption_days(m: SymbiosisModel) -> float:
    """`disruption_days` as sim/metrics.py computed it before issue 20: window days on which
    some input's secondary use fell short of its full-supply use by more than 1e-9 x max(1, full)."""
    f = m.inputs_flow
    gap = f["secondary_full_t"] - f["from_secondary_t"]
    short = (gap > 1e-9 * np.maximum(1.0, f["secondary_full_t"])).any(axis=1)
    return float(short[m.warmup :].sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_old_count_under_its_new_name_is_the_old_definition(seed: int) -> None:
    sc = random_direct_scenario(seed, 200)
    m = SymbiosisModel(sc, rng=seed, collect_series=False)
    m.run()
    metrics = m.result().metrics
    assert metrics["any_input_short_days"] == old_disruption_days(m)
    # many inputs: the old any-input count is above the per-input mean
    assert metrics["any_input_short_days"] > metrics["disruption_days"] > 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_tables_read_back_from_the_flows(seed: int) -> None:
    """Each input's row and episodes agree with its own flows, day by day, at the scenario's
    threshold; the metrics are the means and maxima of the table."""
    sc = random_direct_scenario(seed, 200)
    m = SymbiosisModel(sc, rng=seed, collect_series=False)
    m.run()
    r = m.result()
    assert r.inputs is not None and r.episodes is not None
    w, f, threshold = m.warmup, m.inputs_flow, sc.policy.disruption_threshold
    rows = r.inputs.to_dict("records")
    for k, row in enumerate(rows):
        planned, short = f["planned_t"][w:, k], f["secondary_short_t"][w:, k]
        days = [bool(p > 0 and s > max(threshold * p, 1e-9 * max(1.0, p))) for p, s in zip(planned, short, strict=True)]
        mine = r.episodes[(r.episodes["facility"] == row["facility"]) & (r.episodes["material"] == row["material"])]
        assert row["disruption_days"] == sum(days) == mine["length_days"].sum()
        assert row["disruption_events"] == len(mine) == len(runs_of_true(np.array(days)))
        assert row["planned"] == bool((planned > 0).any())
        assert row["window_days"] == m.horizon - w
        assert row["planned_t"] == pytest.approx(planned.sum())
        assert mine["censored"].tolist() == [bool(s + n == m.horizon) for s, n in zip(mine["start_day"],
                                                                                      mine["length_days"], strict=True)]
    planned_rows = r.inputs[r.inputs["planned"]]
    assert r.metrics["disruption_days"] == pytest.approx(planned_rows["disruption_days"].mean())
    assert r.metrics["disruption_events"] == pytest.approx(planned_rows["disruption_events"].mean())
    assert r.metrics["max_disruption_days"] == r.inputs["max_disruption_days"].max()
    assert r.metrics["production_disruption_days"] == pytest.approx(r.inputs["production_disruption_days"].mean())
    assert r.metrics["disruption_days_per_input_year"] == pytest.approx(
        365.0 * planned_rows["disruption_days"].sum() / planned_rows["window_days"].sum())
    assert r.episodes["censored"].any() and (~r.episodes["censored"]).any()


@pytest.mark.parametrize("threshold", [0.0, 0.1, 0.5])
def test_disruptions_are_the_same_on_both_engines(threshold: float) -> None:
    sc = random_direct_scenario(4, 200)
    sc = sc.model_copy(update={"policy": sc.policy.model_copy(update={"disruption_threshold": threshold})})
    a, b = _pair(sc, seed=4)
    ra, rb = a.result(), b.result()
    assert ra.inputs is not None and ra.episodes is not None and len(ra.episodes) > 0
    assert ra.inputs.equals(rb.inputs)
    assert ra.episodes.equals(rb.episodes)
    names = [n for n in ra.metrics if "disruption" in n or n == "any_input_short_days"]
    assert [ra.metrics[n] for n in names] == [rb.metrics[n] for n in names]


def test_a_higher_threshold_never_counts_more_days() -> None:
    sc = random_direct_scenario(5, 200)
    days = []
    for threshold in (0.0, 0.1, 0.5, 0.9):
        at = sc.model_copy(update={"policy": sc.policy.model_copy(update={"disruption_threshold": threshold})})
        m = SymbiosisModel(at, rng=5, collect_series=False)
        m.run()
        days.append(m.result().metrics["disruption_days"])
    assert days == sorted(days, reverse=True) and days[0] > days[-1]


def test_episodes_by_hand_on_a_small_table() -> None:
    flags = np.array([[1, 0], [1, 0], [0, 1], [1, 1]], dtype=bool)  # days 10-13, two items
    assert find_episodes(flags, 10).tolist() == [[0, 10, 2, 0], [0, 13, 1, 1], [1, 12, 2, 1]]
    assert find_episodes(np.zeros((3, 2), dtype=bool), 0).shape == (0, 4)
    assert find_episodes(np.zeros((0, 2), dtype=bool), 0).shape == (0, 4)
    assert runs_of_true_from_metrics is runs_of_true  # still importable from sim.metrics


def test_an_input_without_a_plan_is_never_disrupted() -> None:
    r = run(build(contracts=[])).result()
    assert r.metrics["disruption_days"] == r.metrics["disruption_events"] == 0.0  # no plan without a contract
    assert r.metrics["disruption_days_per_input_year"] == 0.0
    assert r.inputs is not None and r.inputs["planned"].tolist() == [False]


@pytest.mark.parametrize(("value", "message"), [
    (1.0, "Input should be less than 1 (given 1.0)"),
    (-0.1, "Input should be greater than or equal to 0 (given -0.1)"),
])  # fmt: skip
def test_a_threshold_outside_0_to_1_is_refused(value: float, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        build({"policy.disruption_threshold": value})
    assert info.value.problems == [f"tiny: policy.disruption_threshold: {message}"]
