"""The survival figure's estimator by hand: Kaplan-Meier with censoring, and the rate of
episodes longer than t per input-year over every run, runs without a disruption included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.durations import episode_rates, kaplan_meier
from analysis.report import build_report
from tests.analysis.conftest import FACTORS, make_runs, results_folder


def _runs() -> pd.DataFrame:
    # design point 0 (buffer 0): replications 0, 1, 2; design point 1 (buffer 2): 0, 1; one failed run
    rows = [(0, r, 0, "ok") for r in range(3)] + [(1, r, 2, "ok") for r in range(2)] + [(1, 2, 2, "failed")]
    return pd.DataFrame(rows, columns=["design_point", "replication", "buffer", "status"])


def _inputs(runs: pd.DataFrame) -> pd.DataFrame:
    # two planned inputs a run, a year each, and one unplanned input that adds no input-years
    rows = [(dp, r, b, f"in{k}", k < 2, 365) for dp, r, b, _ in runs.itertuples(index=False) for k in range(3)]
    return pd.DataFrame(rows, columns=["design_point", "replication", "buffer", "material", "planned", "window_days"])


def _episodes() -> pd.DataFrame:
    rows = [(0, 0, 2.0, False), (0, 0, 5.0, True), (0, 1, 2.0, False), (0, 1, 3.0, False),  # dp 0, rep 2: none
            (1, 0, 1.0, False),  # dp 1, rep 1: none
            (1, 2, 9.0, False)]  # the failed run's: left out
    return pd.DataFrame(rows, columns=["design_point", "replication", "length_days", "censored"])


def test_kaplan_meier_by_hand_with_a_censored_episode():
    # lengths 2, 5 (censored), 2, 3. At t = 2: 4 at risk, 2 end: S = 1/2. At t = 3: 2 at risk
    # (3 and the censored 5), 1 ends: S = 1/2 x 1/2 = 1/4. The censored 5 adds no step.
    t, s = kaplan_meier(np.array([2.0, 5.0, 2.0, 3.0]), np.array([False, True, False, False]))
    assert t.tolist() == [0.0, 2.0, 3.0] and s.tolist() == [1.0, 0.5, 0.25]


def test_without_censoring_kaplan_meier_is_the_share_longer_than_t():
    d = np.array([1.0, 2.0, 2.0, 5.0])
    t, s = kaplan_meier(d, np.zeros(4, bool))
    assert s.tolist() == pytest.approx([float((d > x).mean()) for x in t])


def test_rate_per_input_year_counts_every_run_and_input_by_hand():
    runs = _runs()
    curves = {c["level"]: c for c in episode_rates(_episodes(), _inputs(runs), runs, "buffer")}
    zero, two = curves[0], curves[2]
    # buffer 0: 4 episodes over 3 runs x 2 planned inputs x 1 year = 6 input-years (rep 2 has none)
    assert (zero["episodes"], zero["runs"], zero["runs_without"], zero["input_years"], zero["censored"]) == (
        4, 3, 1, 6.0, 1)
    assert zero["t"].tolist() == [0.0, 2.0, 3.0]
    assert zero["rate"] == pytest.approx([4 / 6, 4 / 6 * 0.5, 4 / 6 * 0.25])
    # buffer 2: the failed run is left out: 1 episode over 2 runs x 2 inputs = 4 input-years
    assert (two["episodes"], two["runs"], two["runs_without"], two["input_years"]) == (1, 2, 1, 4.0)
    assert two["rate"] == pytest.approx([0.25, 0.0])
    # pooled: 5 episodes over 10 input-years
    (pooled,) = episode_rates(_episodes(), _inputs(runs), runs, None)
    assert pooled["episodes"] == 5 and pooled["input_years"] == 10.0 and pooled["rate"][0] == 0.5


def test_report_draws_the_rate_from_stored_episodes_and_says_which_estimator(tmp_path):
    runs = make_runs()
    root = results_folder(tmp_path, runs)
    keys = runs[["design_point", "replication", *FACTORS]]
    inputs = keys.assign(material="grain", planned=True, window_days=365)
    episodes = keys[keys["replication"] < 3].assign(material="grain", start_day=10, length_days=4.0,
                                                    censored=keys["replication"] == 0)
    inputs.to_parquet(root / "inputs.parquet", index=False)
    episodes.to_parquet(root / "episodes.parquet", index=False)
    text = build_report(root).read_text(encoding="utf-8")
    assert (root / "figures" / "survival.png").exists()
    assert "Kaplan-Meier, censored at the horizon" in text
    assert f"{len(episodes)} episodes of every input in {len(runs)} runs, {len(runs) // 2} runs without" in text


def test_report_of_a_store_without_episodes_falls_back_with_a_caveat(tmp_path):
    text = build_report(results_folder(tmp_path, make_runs())).read_text(encoding="utf-8")
    assert "stored no episodes table" in text and "Kaplan-Meier" not in text
