"""summary.csv: its numbers equal direct pandas/scipy computations on runs.parquet, and common
random numbers make paired differences tighter than unpaired ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.report import build_report
from analysis.summary import var_cvar
from sim.experiment.runner import run_study
from sim.experiment.study import load_study

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.toml"
STUDY = f"""[study]
name = "summary-check"
scenario = "{TINY}"
replications = 8
seed = 424242
horizon_days = 40

[design]
kind = "grid"
[design.factors]
"policy.buffer_days" = [0, 3]
[design.reference]
"policy.buffer_days" = 0
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("summary")
    (root / "study.toml").write_text(STUDY)
    out = root / "out"
    run_study(load_study(root / "study.toml"), out, workers=1, quiet=True)
    build_report(out)
    return out


@pytest.fixture(scope="module")
def runs(results) -> pd.DataFrame:
    return pd.read_parquet(results / "runs.parquet")


@pytest.fixture(scope="module")
def summary(results) -> pd.DataFrame:
    return pd.read_csv(results / "summary.csv")


def _row(summary, dp, metric):
    return summary[(summary["design_point"] == dp) & (summary["metric"] == metric)].iloc[0]


def test_mean_sd_and_t_interval_match_scipy(runs, summary):
    x = runs.loc[runs["design_point"] == 1, "net_benefit"].to_numpy()
    row = _row(summary, 1, "net_benefit")
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert row["n"] == len(x) == 8
    assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert row["sd"] == pytest.approx(x.std(ddof=1), rel=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-12)


def test_quantiles_match_numpy(runs, summary):
    x = runs.loc[runs["design_point"] == 0, "transport_cost"].to_numpy()
    row = _row(summary, 0, "transport_cost")
    expected = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    got = row[["q05", "q25", "median", "q75", "q95"]].to_numpy(float)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_paired_difference_matches_a_paired_t_interval(runs, summary):
    wide = runs.pivot(index="replication", columns="design_point", values="net_benefit")
    d = (wide[1] - wide[0]).to_numpy()
    low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    row = _row(summary, 1, "net_benefit")
    assert row["diff_mean"] == pytest.approx(d.mean(), rel=1e-12)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((low, high), rel=1e-9)


def test_unpaired_interval_is_welch(runs, summary):
    a = runs.loc[runs["design_point"] == 1, "net_benefit"]
    b = runs.loc[runs["design_point"] == 0, "net_benefit"]
    res = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    row = _row(summary, 1, "net_benefit")
    assert (row["diff_ci_low_unpaired"], row["diff_ci_high_unpaired"]) == pytest.approx(
        (res.low, res.high), rel=1e-9)


def test_common_random_numbers_make_the_paired_interval_narrower(summary):
    row = _row(summary, 1, "net_benefit")
    paired = row["diff_ci_high"] - row["diff_ci_low"]
    unpaired = row["diff_ci_high_unpaired"] - row["diff_ci_low_unpaired"]
    assert paired < unpaired


def test_shortage_probability_has_an_exact_binomial_interval(runs, summary):
    unmet = runs.loc[runs["design_point"] == 0, "input_unmet_t"]
    k, n = int((unmet > 0).sum()), len(unmet)
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    row = _row(summary, 0, "any_shortage")
    assert row["mean"] == pytest.approx(k / n)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high))


def test_var_and_cvar_follow_the_reference_definition():
    losses = np.arange(1.0, 101.0)  # 1..100
    var, cvar = var_cvar(losses, higher_is_better=False)
    assert var == 95.0
    assert cvar == pytest.approx(95.0 + sum(range(1, 6)) / (0.05 * 100))
    worst, worst_mean = var_cvar(losses, higher_is_better=True)
    assert worst == 6.0 and worst_mean == pytest.approx(6.0 - sum(range(1, 6)) / 5)


def test_report_is_rebuilt_from_stored_runs(results):
    (results / "summary.csv").unlink()
    build_report(results)
    text = (results / "report.md").read_text()
    assert (results / "summary.csv").exists()
    assert "Differences against the reference (design point 0)" in text
