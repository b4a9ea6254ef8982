"""report.md from a results folder: numbers equal direct computations, only figures that
exist are embedded, and failed runs are reported."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
from scipy import stats

from analysis.report import build_report
from analysis.summary import main_effects, summarize
from tests.analysis.conftest import FACTORS, make_runs, results_folder


def test_summary_matches_scipy_and_numpy():
    runs = make_runs()
    s = summarize(runs, FACTORS, reference=0)
    row = s[(s["design_point"] == 3) & (s["metric"] == "net_benefit")].iloc[0]
    x = runs.loc[runs["design_point"] == 3, "net_benefit"].to_numpy()
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (row["mean"], row["ci_low"], row["ci_high"]) == pytest.approx((x.mean(), low, high), rel=1e-12)
    # net benefit: more is better, so the loss is its negative; VaR/CVaR in metric units
    var = np.quantile(-x, 0.95, method="inverted_cdf")
    cvar = var + np.maximum(-x - var, 0).sum() / (0.05 * len(x))
    assert (row["var95"], row["cvar95"]) == pytest.approx((-var, -cvar), rel=1e-12)


def test_any_shortage_is_the_share_of_runs_with_unmet_input_with_exact_ci():
    runs = make_runs()
    s = summarize(runs, FACTORS)
    row = s[(s["design_point"] == 0) & (s["metric"] == "any_shortage")].iloc[0]
    hits = runs.loc[runs["design_point"] == 0, "input_unmet_t"].gt(0)
    ci = stats.binomtest(int(hits.sum()), len(hits)).proportion_ci(method="exact")
    assert row["mean"] == hits.mean() and (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high))


def test_main_effect_is_a_paired_difference_over_replications():
    runs = make_runs()
    eff = main_effects(runs, FACTORS, "net_benefit").set_index("factor")
    by_rep = runs.groupby(["replication", "policy.buffer_days"])["net_benefit"].mean().unstack()
    d = (by_rep[4] - by_rep[0]).to_numpy()
    low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    row = eff.loc["policy.buffer_days"]
    assert (row["diff_mean"], row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((d.mean(), low, high))
    assert not row["identical"]


def test_main_effects_flag_a_factor_that_leaves_fill_unchanged():
    eff = main_effects(make_runs(), FACTORS, "secondary_fill_rate").set_index("factor")
    assert eff.at["contracts.*.penalty_per_t_short", "identical"]
    assert not eff.at["policy.buffer_days", "identical"]


def test_report_embeds_only_figures_that_exist(tmp_path):
    root = results_folder(tmp_path, make_runs())
    text = build_report(root).read_text()
    embedded = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(embedded) >= 6
    assert all((root / path).is_file() for path in embedded)
    assert (root / "report.html").is_file() and (root / "experiments.csv").is_file()


def test_report_reads_the_best_point_and_the_money_only_factor(tmp_path):
    runs = make_runs()
    text = build_report(results_folder(tmp_path, runs)).read_text()
    best = runs.groupby("design_point")["net_benefit"].mean().idxmax()
    assert f"Best design point by mean net_benefit: #{best}" in text
    assert "contracts.*.penalty_per_t_short has no effect on fill metrics" in text


def test_report_with_failed_runs_says_so(tmp_path):
    runs = make_runs()
    failed = runs["design_point"].eq(5) | (runs["design_point"].eq(2) & runs["replication"].eq(0))
    runs.loc[failed, "status"] = "failed"
    runs.loc[failed, "error"] = "ValueError: boom"
    runs.loc[failed, ["net_benefit", "fill_rate"]] = np.nan
    root = results_folder(tmp_path, runs)
    text = build_report(root).read_text()
    assert f"**{int(failed.sum())} runs failed** at design points 2, 5" in text
    assert "ValueError: boom" in text
    assert all((root / p).is_file() for p in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text))


def test_report_html_shows_the_text_of_report_md_with_factor_paths_and_errors_intact(tmp_path):
    runs = make_runs()
    failed = runs["design_point"].eq(5)
    runs.loc[failed, "status"] = "failed"
    runs.loc[failed, "error"] = "ValueError: a|b <x> & *y*"
    root = results_folder(tmp_path, runs)
    build_report(root)
    page = (root / "report.html").read_text(encoding="utf-8")
    body = html.unescape(re.sub(r"<[^>]+>", " ", page.split("<body>", 1)[1]))
    # every sentence naming two design points keeps both `contracts.*.` paths (no emphasis)
    assert "<em>" not in page
    assert body.count("contracts.*.penalty_per_t_short") >= 10
    assert "ValueError: a|b <x> & *y*" in body
    assert page.count("<table>") == (root / "report.md").read_text().count("\n|:")
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 6 and all((root / src).is_file() for src in images)
