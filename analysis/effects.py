"""Conditional effects: how a treatment's effect changes with the conditions around it.

A qualitative finding often reads "A helps, especially under B". In a study whose design
crosses a treatment (two levels) with conditions, :func:`cell_effects` gives the treatment's
effect in each cell of the conditions as a paired difference over replications (replication
k of every design point shares its random numbers, so high - low is paired), and
:func:`effect_contrasts` the difference between two cells' effects, paired the same way
(a difference of differences per replication: the interaction).

    python -m analysis.effects results/contracts_turbulence \\
        --treatment formation.min_term_days=0,360 \\
        --by "facilities.*.outputs.*.variability.cv" market.shift_interval_days \\
        --metric link_share_in_force exits_per_link_year

prints both tables (markdown) for each metric.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.summary import t_interval


def _per_replication(runs: pd.DataFrame, treatment: str, low: Any, high: Any, by: Sequence[str],
                     metric: str) -> pd.DataFrame:
    """One row per (cell, replication) with the metric at the treatment's two levels."""
    ok = runs[(runs["status"] == "ok") & runs[treatment].isin([low, high])]
    wide = ok.pivot_table(index=[*by, "replication"], columns=treatment, values=metric, aggfunc="first")
    wide = wide.rename(columns={low: "low", high: "high"}).dropna(subset=["low", "high"])
    wide["effect"] = wide["high"] - wide["low"]
    return wide.reset_index()


def cell_effects(runs: pd.DataFrame, treatment: str, low: Any, high: Any, by: Sequence[str],
                 metric: str) -> pd.DataFrame:
    """Per cell of the `by` factors: the metric's mean at the treatment's `low` and `high`
    levels and the paired effect high - low (mean, SE, 95 % t CI) over the replications
    that completed at both."""
    rows = []
    for cell, frame in _per_replication(runs, treatment, low, high, by, metric).groupby(list(by)):
        d = frame["effect"].to_numpy(float)
        ci = t_interval(d)
        rows.append({
            **dict(zip(by, cell if isinstance(cell, tuple) else (cell,), strict=True)),
            "n_pairs": len(d),
            "low_mean": float(frame["low"].mean()),
            "high_mean": float(frame["high"].mean()),
            "effect": float(d.mean()),
            "effect_se": float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan,
            "ci_low": ci[0],
            "ci_high": ci[1],
        })
    return pd.DataFrame(rows)


def effect_contrasts(runs: pd.DataFrame, treatment: str, low: Any, high: Any, by: Sequence[str],
                     metric: str) -> pd.DataFrame:
    """For every pair of cells (a, b): the effect in a minus the effect in b, per replication,
    with its mean, SE and 95 % t CI (and `z` = mean / SE)."""
    per = _per_replication(runs, treatment, low, high, by, metric)
    per["cell"] = [tuple(r) for r in per[list(by)].itertuples(index=False)]
    effects = per.pivot_table(index="replication", columns="cell", values="effect", aggfunc="first")
    rows = []
    for a, b in itertools.combinations(effects.columns, 2):
        d = (effects[a] - effects[b]).dropna().to_numpy(float)
        se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
        ci = t_interval(d)
        rows.append({"cell_a": _cell_text(by, a), "cell_b": _cell_text(by, b), "n_pairs": len(d),
                     "difference": float(d.mean()), "se": se, "ci_low": ci[0], "ci_high": ci[1],
                     "z": float(d.mean()) / se if se and se > 0 else math.nan})
    return pd.DataFrame(rows)


def _cell_text(by: Sequence[str], cell: tuple) -> str:
    return ", ".join(f"{name.rsplit('.', 1)[-1]}={value}" for name, value in zip(by, cell, strict=True))


def _level(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return {"true": True, "false": False}.get(text.lower(), text)
    return int(number) if number.is_integer() and "." not in text else number


def _markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the cell effects and their contrasts for each metric."""
    parser = argparse.ArgumentParser(prog="python -m analysis.effects", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a study's results folder (with runs.parquet)")
    parser.add_argument("--treatment", required=True, help="FACTOR=LOW,HIGH")
    parser.add_argument("--by", nargs="+", required=True, help="the condition factors")
    parser.add_argument("--metric", nargs="+", required=True)
    args = parser.parse_args(argv)
    name, _, levels = args.treatment.partition("=")
    low, high = (_level(v) for v in levels.split(","))
    runs = pd.read_parquet(args.results / "runs.parquet")
    missing = [c for c in [name, *args.by, *args.metric] if c not in runs.columns]
    if missing:
        print(f"{args.results}: no column {', '.join(missing)} in runs.parquet", file=sys.stderr)
        return 2
    for metric in args.metric:
        print(f"\n## {metric}: effect of {name} {low} -> {high}\n")
        print(_markdown(cell_effects(runs, name, low, high, args.by, metric)))
        print("\nDifferences between cells' effects (paired by replication):\n")
        print(_markdown(effect_contrasts(runs, name, low, high, args.by, metric)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

