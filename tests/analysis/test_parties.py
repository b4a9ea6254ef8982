"""Who gains and who pays, against a hand computation on a tiny table."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest
from scipy import stats

from analysis.parties import contract_table, party_table
from analysis.report import build_report
from tests.analysis.conftest import FACTORS, make_runs


def _runs() -> pd.DataFrame:
    rows = [(dp, r, float(dp), "ok") for dp in (0, 1) for r in range(3)] + [(1, 3, 1.0, "failed")]
    return pd.DataFrame(rows, columns=["design_point", "replication", "buffer", "status"]).assign(
        intermediary_profit=0.0)


def _facilities() -> pd.DataFrame:
    # net benefit of the kiln: point 0: 10, 20, 30; point 1: 14, 21, 35 (differences 4, 1, 5)
    # the farm: point 0: -1, -2, -3; point 1: -1, -2, -3 (no change). The failed run's row is left out.
    kiln = [(0, 0, 10.0), (0, 1, 20.0), (0, 2, 30.0), (1, 0, 14.0), (1, 1, 21.0), (1, 2, 35.0), (1, 3, 999.0)]
    farm = [(dp, r, -1.0 - r) for dp in (0, 1) for r in range(3)]
    rows = [(dp, r, "kiln", v) for dp, r, v in kiln] + [(dp, r, "farm", v) for dp, r, v in farm]
    return pd.DataFrame(rows, columns=["design_point", "replication", "facility", "net_benefit"])


def _t(values: list[float]) -> tuple[float, float, float]:
    x = pd.Series(values)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return x.mean(), x.mean() - half, x.mean() + half


def test_party_means_cis_and_paired_differences_by_hand():
    table = party_table(_facilities(), _runs(), ["buffer"], reference=0).set_index(["design_point", "item"])
    kiln1 = table.loc[(1, "kiln")]
    assert (kiln1["n"], kiln1["mean"]) == (3, pytest.approx(70 / 3))  # 14 + 21 + 35, the failed run left out
    assert (kiln1["ci_low"], kiln1["ci_high"]) == pytest.approx(_t([14, 21, 35])[1:])
    # paired: differences 4, 1, 5: mean 10/3, sd sqrt(((2/3)^2 + (7/3)^2 + (5/3)^2) / 2) = sqrt(13/3)
    assert kiln1["diff_mean"] == pytest.approx(10 / 3) and kiln1["ref_mean"] == pytest.approx(20.0)
    half = stats.t.ppf(0.975, 2) * math.sqrt(13 / 3) / math.sqrt(3)
    assert (kiln1["diff_ci_low"], kiln1["diff_ci_high"]) == pytest.approx((10 / 3 - half, 10 / 3 + half))
    farm1 = table.loc[(1, "farm")]
    assert farm1["diff_mean"] == 0.0 and farm1["diff_ci_low"] == 0.0 and farm1["diff_ci_high"] == 0.0
    assert "intermediary" not in table.index.get_level_values("item")  # zero in every run


def test_a_contract_missing_from_a_run_counts_zero_there():
    rows = [(0, r, "c1", 100.0, 5.0) for r in range(3)] + [(1, 0, "c1", 90.0, 15.0), (1, 2, "c1", 60.0, 40.0)]
    contracts = pd.DataFrame(rows, columns=["design_point", "replication", "contract", "accepted_t", "short_t"])
    table = contract_table(contracts, _runs(), ["buffer"], reference=0).set_index(["design_point", "item", "column"])
    delivered = table.loc[(1, "c1", "accepted_t")]
    assert delivered["n"] == 3 and delivered["mean"] == pytest.approx(50.0)  # (90 + 0 + 60) / 3
    assert delivered["diff_mean"] == pytest.approx(-50.0)  # (-10 - 100 - 40) / 3


def test_the_report_shows_who_gains_and_who_pays(tmp_path):
    runs = make_runs()
    root = tmp_path / "results"
    root.mkdir()
    runs.to_parquet(root / "runs.parquet", index=False)
    (root / "manifest.json").write_text(json.dumps({"study": {"name": "s"}, "design": {
        "kind": "grid", "factors": FACTORS, "reference_point": 0, "replications": 6}}))
    keys = runs[["design_point", "replication", *FACTORS]]
    facilities = pd.concat([keys.assign(facility="brewery", net_benefit=runs["supplier_benefit"]),
                            keys.assign(facility="farm", net_benefit=runs["buyer_benefit"])], ignore_index=True)
    facilities.to_parquet(root / "facilities.parquet", index=False)
    text = build_report(root).read_text(encoding="utf-8")
    assert "## Who gains and who pays" in text and (root / "figures" / "parties_vs_reference.png").exists()
    parties = pd.read_csv(root / "parties.csv")
    d = (runs.loc[runs["design_point"] == 5, "buyer_benefit"].to_numpy()
         - runs.loc[runs["design_point"] == 0, "buyer_benefit"].to_numpy())
    row = parties[(parties["design_point"] == 5) & (parties["item"] == "farm")].iloc[0]
    assert row["diff_mean"] == pytest.approx(d.mean())
    assert re.search(r"^\| #5 +\| buffer days = 2", text, re.MULTILINE)
    assert "farm gains most at #2" in text and "and never loses (least #1: 20 [20, 20])" in text


def test_a_report_without_facility_tables_says_so(tmp_path):
    runs = make_runs()
    root = tmp_path / "results"
    root.mkdir()
    runs.to_parquet(root / "runs.parquet", index=False)
    assert "stored no per-facility tables" in build_report(root).read_text(encoding="utf-8")
