"""Conditional effects (analysis/effects.py): per-cell paired effects and their contrasts,
checked against a runs table small enough to work out by hand."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pytest import approx
from scipy import stats

from analysis.effects import cell_effects, effect_contrasts

ROOT = Path(__file__).resolve().parents[2]

# Treatment t (0 or 1) crossed with condition c ("a" or "b"), three replications. The metric:
#   cell a: low 1, 2, 3 and high 2, 4, 6 -> effects 1, 2, 3 (mean 2)
#   cell b: low 0, 0, 0 and high 5, 5, 8 -> effects 5, 5, 8 (mean 6)
# Contrast a - b per replication: -4, -3, -5 (mean -4, sd 1).
VALUES = {("a", 0): [1, 2, 3], ("a", 1): [2, 4, 6], ("b", 0): [0, 0, 0], ("b", 1): [5, 5, 8]}


def runs() -> pd.DataFrame:
    rows = []
    for dp, ((cond, t), values) in enumerate(VALUES.items()):
        for rep, v in enumerate(values):
            rows.append({"design_point": dp, "replication": rep, "status": "ok", "t": t, "c": cond, "m": float(v)})
    rows.append({"design_point": 9, "replication": 0, "status": "failed", "t": 1, "c": "a", "m": 99.0})
    return pd.DataFrame(rows)


def test_cell_effects_are_paired_differences_per_cell() -> None:
    table = cell_effects(runs(), "t", 0, 1, ["c"], "m").set_index("c")
    assert table.loc["a", ["low_mean", "high_mean", "effect", "n_pairs"]].tolist() == approx([2.0, 4.0, 2.0, 3])
    assert table.loc["b", "effect"] == approx(6.0)
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)  # effects 1, 2, 3: sd 1
    assert table.loc["a", "effect_se"] == approx(1 / math.sqrt(3))
    assert (table.loc["a", "ci_low"], table.loc["a", "ci_high"]) == approx((2 - half, 2 + half))


def test_effect_contrasts_are_differences_of_differences_per_replication() -> None:
    row = effect_contrasts(runs(), "t", 0, 1, ["c"], "m").iloc[0]
    assert (row["cell_a"], row["cell_b"]) == ("c=a", "c=b")
    assert row["difference"] == approx(-4.0) and row["se"] == approx(1 / math.sqrt(3))
    assert row["z"] == approx(-4.0 * math.sqrt(3))


def test_the_command_prints_both_tables(tmp_path: Path) -> None:
    runs().to_parquet(tmp_path / "runs.parquet")
    out = subprocess.run([sys.executable, "-m", "analysis.effects", str(tmp_path), "--treatment", "t=0,1",
                          "--by", "c", "--metric", "m"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "| c | n_pairs | low_mean | high_mean | effect |" in out.stdout
    assert "| c=a | c=b | 3 | -4 |" in out.stdout


def test_the_command_names_a_missing_column(tmp_path: Path) -> None:
    runs().to_parquet(tmp_path / "runs.parquet")
    out = subprocess.run([sys.executable, "-m", "analysis.effects", str(tmp_path), "--treatment", "x=0,1",
                          "--by", "c", "--metric", "m"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "no column x" in out.stderr


@pytest.mark.parametrize(("text", "value"), [("360", 360), ("0.5", 0.5), ("true", True), ("gamma", "gamma")])
def test_levels_are_read_as_toml_would(text: str, value: object) -> None:
    from analysis.effects import _level

    assert _level(text) == value and type(_level(text)) is type(value)
