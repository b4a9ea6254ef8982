"""Every metric has a direction; VaR/CVaR take the bad tail from it; ratios are pooled by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.directions import COLUMN_DIRECTIONS, DIRECTIONS, RATIOS, direction, terms
from analysis.summary import pooled_ratio, summarize
from sim import run as sim_run
from sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("scenario", ["tests/data/tiny.toml", "scenarios/brewery_farms.toml",
                                      "scenarios/kalundborg.toml"])
def test_every_metric_and_table_column_the_sim_emits_has_a_direction(scenario):
    result = sim_run.run_once(load_scenario(REPO / scenario), 7, horizon_days=60)
    missing = [m for m in result.metrics if direction(m) is None]
    tables = {"facility": result.facilities, "contract": result.contracts, "material": result.materials,
              "input": getattr(result, "inputs", None)}
    for name, table in tables.items():
        if table is None:
            continue
        key = {"facility", "contract", "material", "supplier", "buyer", "role", "mode", "unit", "status",
               "end_reason", "via_intermediary", "formed_in_run", "ended_day", "critical", "planned"}
        for column in table.columns:
            if column not in key and direction(f"{name}:x:{column}") is None:
                missing.append(f"{name}:x:{column}")
    assert missing == []


def test_the_table_holds_one_of_three_directions_and_every_ratio_has_a_direction():
    assert set(DIRECTIONS.values()) | set(COLUMN_DIRECTIONS.values()) == {"higher", "lower", "neither"}
    assert set(RATIOS) <= set(DIRECTIONS)
    assert direction("input_unmet_mwh") == "lower" and direction("waste_exchanged_m3") == "higher"
    assert direction("facility:kiln:cost_virgin") == "lower" and direction("material:steam:exchanged") == "higher"
    assert terms("input_required_t - input_unmet_t") == [(1.0, "input_required_t"), (-1.0, "input_unmet_t")]
    assert terms("365 * link_exits") == [(365.0, "link_exits")]


def _runs(values: dict[str, list[float]]) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    return pd.DataFrame({"design_point": 0, "replication": range(n), "seed": "s", "f": 1, **values,
                         "status": "ok", "error": "", "wall_s": 0.0})


@pytest.mark.parametrize("metric", ["mean_availability", "co2e_avoided_t", "mean_trust", "link_share_in_force"])
def test_var_of_a_higher_is_better_metric_is_its_low_tail(metric):
    # 0..19; loss = -value. VaR = inverted-cdf 95 % quantile of the 20 losses = the 19th
    # smallest, -1, i.e. a value of 1; CVaR = -1 + (0 - (-1)) / (0.05 x 20) = 0, the value 0.
    # The high tail (the old behaviour for these metrics) would give 18 and 19.
    row = summarize(_runs({metric: [float(v) for v in range(20)]}), ["f"]).set_index("metric").loc[metric]
    assert row["direction"] == "higher" and row["var95"] == 1.0 and row["cvar95"] == pytest.approx(0.0, abs=1e-12)


def test_var_of_a_metric_with_no_good_side_is_not_reported():
    row = summarize(_runs({"contracts_formed": [1.0, 2.0, 3.0]}), ["f"]).set_index("metric").loc["contracts_formed"]
    assert row["direction"] == "neither" and math.isnan(row["var95"]) and math.isnan(row["cvar95"])
    assert row["mean"] == 2.0


def test_pooled_ratio_and_its_delta_ci_by_hand():
    # 3 runs: required 100, 200, 400 t, unmet 10, 40, 30 t, so met 90, 160, 370 t.
    # Mean of per-run ratios (0.9 + 0.8 + 0.925) / 3 = 0.875; pooled 620 / 700 = 0.885714.
    required, unmet = [100.0, 200.0, 400.0], [10.0, 40.0, 30.0]
    runs = _runs({"fill_rate": [0.9, 0.8, 370 / 400], "input_required_t": required, "input_unmet_t": unmet})
    row = summarize(runs, ["f"]).set_index("metric").loc["fill_rate"]
    r = 620 / 700
    # residuals Y - R X: 90 - 100 r, 160 - 200 r, 370 - 400 r
    resid = [90 - 100 * r, 160 - 200 * r, 370 - 400 * r]
    se = math.sqrt(sum(e * e for e in resid) / 2 / 3) / (700 / 3)
    half = stats.t.ppf(0.975, 2) * se
    assert row["mean"] == pytest.approx((0.9 + 0.8 + 370 / 400) / 3)
    assert row["pooled"] == pytest.approx(r)
    assert row["pooled_se"] == pytest.approx(se)
    assert (row["pooled_ci_low"], row["pooled_ci_high"]) == (pytest.approx(r - half), pytest.approx(r + half))
    # by hand, in numbers: r = 0.885714, residuals 1.428571, -17.142857, 15.714286
    assert resid == pytest.approx([1.428571, -17.142857, 15.714286], abs=1e-6)
    assert se == pytest.approx(math.sqrt((1.428571**2 + 17.142857**2 + 15.714286**2) / 6) / 233.333333, rel=1e-6)


def test_pooled_is_nan_when_the_store_has_no_parts():
    row = summarize(_runs({"secondary_fill_rate": [0.5, 0.6]}), ["f"]).set_index("metric").loc["secondary_fill_rate"]
    assert math.isnan(row["pooled"]) and math.isnan(row["pooled_ci_low"])
    assert row["mean"] == pytest.approx(0.55)


def test_pooled_ratio_edge_cases():
    assert math.isnan(pooled_ratio(np.array([]), np.array([]))["pooled"])
    assert math.isnan(pooled_ratio(np.array([1.0]), np.array([0.0]))["pooled"])
    one = pooled_ratio(np.array([1.0]), np.array([2.0]))
    assert one["pooled"] == 0.5 and math.isnan(one["pooled_se"])


def test_the_report_shows_a_ratio_both_ways_when_its_parts_are_stored(tmp_path):
    import json

    from analysis.report import build_report
    from tests.analysis.conftest import FACTORS, make_runs

    runs = make_runs().assign(input_required_t=1000.0)
    root = tmp_path / "results"
    root.mkdir()
    runs.to_parquet(root / "runs.parquet", index=False)
    (root / "manifest.json").write_text(json.dumps({"design": {"kind": "grid", "factors": FACTORS,
                                                               "reference_point": 0, "replications": 6}}))
    text = build_report(root).read_text(encoding="utf-8")
    assert "fill_rate pooled" in text and "secondary_fill_rate pooled" not in text
    summary = pd.read_csv(root / "summary.csv")
    row = summary[(summary["design_point"] == 0) & (summary["metric"] == "fill_rate")].iloc[0]
    mine = runs[runs["design_point"] == 0]
    assert row["pooled"] == pytest.approx(1 - mine["input_unmet_t"].sum() / 6000)
