"""The report's opening paragraph: the answer to the study's `[question]`.

For each option, the paired difference against the baseline of each of the question's metrics
(option minus baseline, replication by replication: common random numbers), and with two or
more options the first two head to head (first minus second); each a mean with its 95 % t
interval (:func:`analysis.summary.paired_difference`). With two metrics, each option's second-metric
change per unit of its first-metric change (the ratio of the two mean differences, a point
estimate) says what a unit of the first costs. A study without a question gets no paragraph.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

import numpy as np
import pandas as pd

from analysis.directions import HIGHER, LOWER, direction
from analysis.summary import paired_difference as summary_paired_difference
from sim.experiment.question import same


def question_of(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The `[question]` table of the study file the manifest stores (None without one)."""
    text = manifest.get("study", {}).get("text")
    if not isinstance(text, str):
        return None
    try:
        question = tomllib.loads(text).get("question")
    except tomllib.TOMLDecodeError:
        return None
    return question if isinstance(question, dict) else None


def design_point_of(runs: pd.DataFrame, factors: list[str], point: dict[str, Any]) -> int | None:
    """The design point whose factor values are `point`'s (None when no stored run has them)."""
    firsts = runs.drop_duplicates("design_point")
    for _, row in firsts.iterrows():
        values = {f: row[f].item() if hasattr(row[f], "item") else row[f] for f in factors}
        if all(f in point and same(values[f], point[f]) for f in factors):
            return int(row["design_point"])
    return None


def paired_difference(runs: pd.DataFrame, a: int, b: int, metric: str) -> tuple[float, float, float, int] | None:
    """Mean of metric(a) - metric(b) over the replications both completed, its 95 % t interval
    and the number of pairs (None with fewer than 2 pairs)."""
    ok = runs[(runs["status"] == "ok") & runs["design_point"].isin([a, b])]
    wide = ok.pivot(index="replication", columns="design_point", values=metric)
    if a not in wide or b not in wide:
        return None
    d = summary_paired_difference(wide[a], wide[b])
    if d["n_pairs"] < 2:
        return None
    return d["diff_mean"], d["diff_ci_low"], d["diff_ci_high"], int(d["n_pairs"])


def answer_paragraph(runs: pd.DataFrame, factors: list[str], manifest: dict[str, Any], currency: str) -> str:
    """The answer to the study's question, as Markdown ("" when the study asks none): the verdict
    and each option's cost per unit first, then one line per paired difference."""
    q = question_of(manifest)
    if q is None:
        return ""
    metrics = [m for m in q.get("metrics", []) if m in runs.columns]
    base = design_point_of(runs, factors, q.get("baseline", {}))
    options = {name: design_point_of(runs, factors, p) for name, p in q.get("options", {}).items()}
    lines = [f"**Question.** {q.get('text', '')}", ""]
    if base is None or not metrics or any(dp is None for dp in options.values()):
        return "\n".join([*lines, "**Answer.** Not available: the runs of the question's points are not stored.", ""])
    against = {name: [paired_difference(runs, dp, base, m) for m in metrics] for name, dp in options.items()}
    rows = [f"- *{name}* minus the baseline (design points {dp} - {base}): "
            f"{_diffs_text(metrics, against[name], currency)}" for name, dp in options.items()]
    names = list(options)
    summary = [_per_unit(name, metrics, against[name], currency) for name in names]
    if len(names) >= 2:
        a, b = options[names[0]], options[names[1]]
        head = [paired_difference(runs, a, b, m) for m in metrics]
        rows.append(f"- *{names[0]}* minus *{names[1]}* (design points {a} - {b}): "
                    f"{_diffs_text(metrics, head, currency)}")
        summary.insert(0, _verdict(names, metrics[0], head[0]))
    rows += _control_lines(runs, factors, q, base, metrics, currency)
    n = min((d[3] for diffs in against.values() for d in diffs if d), default=0)
    opening = " ".join(part for part in summary if part)
    return "\n".join([*lines, f"**Answer.** {opening} Paired differences over {n} replications (common random "
                       "numbers), means with 95 % t intervals in brackets:", "", *rows, ""])


def _diffs_text(metrics: list[str], diffs: list, currency: str) -> str:
    return "; ".join(_diff_text(m, d, currency) for m, d in zip(metrics, diffs, strict=True))


def _control_lines(runs: pd.DataFrame, factors: list[str], q: dict[str, Any], base: int, metrics: list[str],
                   currency: str) -> list[str]:
    """Each labelled control's effect at the baseline: the baseline with only that factor at each
    of its other stored levels, minus the baseline."""
    out = []
    for name in [c for c in q.get("controls", []) if c in factors]:
        baseline = q["baseline"]
        for level in runs[name].drop_duplicates().tolist():
            level = level.item() if hasattr(level, "item") else level
            if same(level, baseline.get(name)):
                continue
            dp = design_point_of(runs, factors, {**baseline, name: level})
            if dp is None:
                continue
            diffs = [paired_difference(runs, dp, base, m) for m in metrics]
            out.append(f"- Control `{name}` = {level!r} instead of {baseline.get(name)!r} (a labelled control, not "
                       f"an answer; design points {dp} - {base}): {_diffs_text(metrics, diffs, currency)}")
    return out


def _diff_text(metric: str, d: tuple[float, float, float, int] | None, currency: str) -> str:
    if d is None:
        return f"`{metric}`: too few paired runs"
    unit = unit_of(metric, currency)
    return f"`{metric}` {_signed(d[0])}{' ' + unit if unit else ''} [{_signed(d[1])}, {_signed(d[2])}]"


def _per_unit(name: str, metrics: list[str], diffs: list, currency: str) -> str:
    """What the option does to the first metric and, with two metrics, the second metric's change
    per unit the first improves (a ratio of mean differences)."""
    d = diffs[0]
    good = direction(metrics[0])
    if d is None or good not in (HIGHER, LOWER):
        return ""
    mean, low, high, _ = d
    if low <= 0.0 <= high or math.isnan(low):
        return f"*{name}* does not move `{metrics[0]}` beyond its interval [{_signed(low)}, {_signed(high)}]."
    gain = mean if good == HIGHER else -mean
    word = "improves" if gain > 0 else "worsens"
    first = unit_of(metrics[0], currency)
    text = f"*{name}* {word} `{metrics[0]}` by {_num(abs(gain))}{' ' + first if first else ''}"
    if len(metrics) < 2 or diffs[1] is None:
        return text + "."
    unit = unit_of(metrics[1], currency)
    return text + (f", and `{metrics[1]}` changes by {_signed(diffs[1][0] / abs(gain))}{' ' + unit if unit else ''} "
                   f"per {first or 'unit'} {'gained' if gain > 0 else 'lost'} (ratio of the two mean differences).")


def _verdict(names: list[str], metric: str, d: tuple[float, float, float, int] | None) -> str:
    """Which option the first metric favours, when its CI excludes 0 and the metric has a good side."""
    good = direction(metric)
    if d is None or good not in (HIGHER, LOWER):
        return ""
    mean, low, high, _ = d
    if low <= 0.0 <= high or math.isnan(low):
        return f"On `{metric}` the two options cannot be told apart at this many replications."
    first_better = (mean > 0) == (good == HIGHER)
    better, worse = (names[0], names[1]) if first_better else (names[1], names[0])
    return f"On `{metric}`, *{better}* does better than *{worse}* (the interval excludes 0)."


MONEY_ENDINGS = ("benefit", "cost", "profit", "paid", "penalties", "price", "fee", "fees", "margin", "take_or_pay")


def unit_of(metric: str, currency: str) -> str:
    """The unit of a metric's value, from its name (the column, for `facility:x:col`): the
    currency, t, days, or "" for a ratio, a count or a share."""
    base = metric.rsplit(":", 1)[-1]
    if base.startswith("cost_") or base.endswith(MONEY_ENDINGS):
        return currency
    if base.endswith("_t"):
        return "t"
    if base.endswith("_days"):
        return "days"
    return ""


def _signed(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:+.4g}"


def _num(x: float) -> str:
    return f"{x:.4g}"
