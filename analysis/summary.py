"""Summaries of a runs table: per design point and metric, with Monte Carlo honesty.

:func:`summarize` returns a tidy table (one row per design point and metric) with:

- `n` ok runs, `failed` runs; `mean`, `sd` (ddof 1), `se`; a 95 % CI `ci_low`..`ci_high`
  (Student t with n - 1 degrees of freedom over replications; `ci_method` says which);
- quantiles `q05`, `q25`, `median`, `q75`, `q95`;
- `var95`, `cvar95`: value at risk and conditional value at risk at alpha = 0.95 over
  replications (reference/oracles-and-metrics.md: VaR = quantile(L, a, "inverted_cdf"),
  CVaR = VaR + sum (L - VaR)^+ / ((1 - a) N)). The loss L is the metric itself, or its
  negative for metrics where more is better; the two are reported in the metric's units, so
  `cvar95` of `net_benefit` is the mean of its worst 5 %. The direction comes from
  :mod:`analysis.directions` (column `direction`); a metric with no good side ("neither", or
  one the table does not know) has no bad tail, and its `var95`, `cvar95` are NaN;
- for ratio metrics (:data:`analysis.directions.RATIOS`), beside `mean` (the mean of per-run
  ratios) the `pooled` ratio of sums over the replications, sum Y / sum X, with its delta-method
  standard error `pooled_se` and 95 % CI `pooled_ci_low`..`pooled_ci_high`
  (:func:`pooled_ratio`); NaN when the store lacks the parts (runs made before they existed);
- against the reference design point (when named), paired differences over replications
  that both completed: `diff_mean`, `diff_sd`, `diff_ci_low`..`diff_ci_high` (paired t), and
  for comparison the unpaired Welch CI `diff_ci_low_unpaired`..`diff_ci_high_unpaired` on the
  same runs. Common random numbers make the paired CI the narrower one.

A derived metric `any_shortage` (1 when a run had any unmet input in any unit, `input_unmet_t`,
`input_unmet_m3` or `input_unmet_mwh` > 0) is
added with an exact Clopper-Pearson CI: its mean is P(any shortage in the horizon).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.directions import HIGHER, LOWER, direction, ratio_parts
from analysis.directions import higher_is_better as higher_is_better  # re-exported

KEY_COLUMNS = ("design_point", "replication", "seed", "status", "error", "wall_s")

ALPHA_RISK = 0.95
CONFIDENCE = 0.95


def metric_names(runs: pd.DataFrame, factors: Sequence[str]) -> list[str]:
    """The numeric metric columns of a runs table (in table order)."""
    skip = set(KEY_COLUMNS) | set(factors)
    return [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])]


def t_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student-t CI of the mean (NaN with fewer than 2 values)."""
    n = len(values)
    if n < 2:
        return (math.nan, math.nan)
    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return (mean - half, mean + half)


def welch_interval(a: np.ndarray, b: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Welch CI of mean(a) - mean(b), treating the samples as independent."""
    if len(a) < 2 or len(b) < 2:
        return (math.nan, math.nan)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    se = math.sqrt(va + vb)
    diff = float(np.mean(a) - np.mean(b))
    if se == 0:
        return (diff, diff)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof) * se)
    return (diff - half, diff + half)


def binomial_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper-Pearson) CI of a proportion."""
    if n == 0:
        return (math.nan, math.nan)
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="exact")
    return (float(ci.low), float(ci.high))


def var_cvar(values: np.ndarray, higher_is_better: bool, alpha: float = ALPHA_RISK) -> tuple[float, float]:
    """VaR and CVaR at `alpha` of the loss (the metric, or its negative), in metric units."""
    if len(values) == 0:
        return (math.nan, math.nan)
    loss = -values if higher_is_better else values
    var = float(np.quantile(loss, alpha, method="inverted_cdf"))
    cvar = var + float(np.sum(np.maximum(loss - var, 0.0))) / ((1 - alpha) * len(loss))
    return (-var, -cvar) if higher_is_better else (var, cvar)


def describe(values: np.ndarray, metric: str) -> dict[str, float | str]:
    """Mean, sd, CI, quantiles and tail risk of one metric's values over replications."""
    n = len(values)
    low, high = t_interval(values)
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95]) if n else [math.nan] * 5
    side = direction(metric)
    var, cvar = var_cvar(values, side == HIGHER) if side in (HIGHER, LOWER) else (math.nan, math.nan)
    return {
        "n": n,
        "mean": float(np.mean(values)) if n else math.nan,
        "sd": float(np.std(values, ddof=1)) if n > 1 else math.nan,
        "se": float(np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
        "ci_low": low,
        "ci_high": high,
        "ci_method": "t",
        "q05": q[0],
        "q25": q[1],
        "median": q[2],
        "q75": q[3],
        "q95": q[4],
        "direction": side or "unknown",
        "var95": var,
        "cvar95": cvar,
    }


def pooled_ratio(num: np.ndarray, den: np.ndarray, confidence: float = CONFIDENCE) -> dict[str, float]:
    """The pooled ratio R = sum Y / sum X of per-run parts (Y numerator, X denominator) over
    n replications, with the delta-method (ratio estimator) standard error

        se(R) = sqrt( sum (Y_i - R X_i)^2 / (n - 1) / n ) / mean(X)

    and the CI R -/+ t(n - 1) se(R). NaN with no runs or sum X = 0; se NaN with one run."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    n = len(num)
    nan = {"pooled": math.nan, "pooled_se": math.nan, "pooled_ci_low": math.nan, "pooled_ci_high": math.nan}
    if n == 0 or float(np.sum(den)) == 0.0:
        return nan
    r = float(np.sum(num) / np.sum(den))
    if n < 2:
        return nan | {"pooled": r}
    se = math.sqrt(float(np.sum((num - r * den) ** 2)) / (n - 1) / n) / float(np.mean(den))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
    return {"pooled": r, "pooled_se": se, "pooled_ci_low": r - half, "pooled_ci_high": r + half}


def describe_shortage(unmet: np.ndarray) -> dict[str, float | str]:
    """P(any shortage in the horizon) with its exact binomial CI."""
    hits = unmet > 0
    n, k = len(hits), int(hits.sum())
    low, high = binomial_interval(k, n)
    p = k / n if n else math.nan
    return {
        "n": n,
        "mean": p,
        "sd": math.sqrt(p * (1 - p)) if n else math.nan,
        "se": math.sqrt(p * (1 - p) / n) if n else math.nan,
        "ci_low": low,
        "ci_high": high,
        "ci_method": "clopper-pearson",
        "direction": LOWER,
    }


def paired_difference(point: pd.Series, reference: pd.Series) -> dict[str, float]:
    """Difference point - reference over the replications both have (series indexed by
    replication), with the paired t CI and, for comparison, the unpaired Welch CI."""
    both = pd.concat({"x": point, "r": reference}, axis=1).dropna()
    d = (both["x"] - both["r"]).to_numpy(float)
    low, high = t_interval(d)
    ulow, uhigh = welch_interval(point.dropna().to_numpy(float), reference.dropna().to_numpy(float))
    return {
        "n_pairs": len(d),
        "diff_mean": float(np.mean(d)) if len(d) else math.nan,
        "diff_sd": float(np.std(d, ddof=1)) if len(d) > 1 else math.nan,
        "diff_ci_low": low,
        "diff_ci_high": high,
        "diff_ci_low_unpaired": ulow,
        "diff_ci_high_unpaired": uhigh,
    }


def summarize(runs: pd.DataFrame, factors: Sequence[str], reference: int | None = None) -> pd.DataFrame:
    """The summary table of a runs table (see the module docstring)."""
    factors = list(factors)
    metrics = metric_names(runs, factors)
    ok = runs[runs["status"] == "ok"].copy()
    if "input_unmet_t" in ok.columns:
        unmet = [c for c in ("input_unmet_t", "input_unmet_m3", "input_unmet_mwh") if c in ok.columns]
        ok["any_shortage"] = (ok[unmet].fillna(0.0).max(axis=1) > 0).astype(float)
        metrics.append("any_shortage")
    failed = runs[runs["status"] != "ok"].groupby("design_point").size()
    points = runs.drop_duplicates("design_point").set_index("design_point")[factors].sort_index()
    by_point = {dp: frame.set_index("replication") for dp, frame in ok.groupby("design_point")}
    ref_frame = by_point.get(reference) if reference is not None else None
    rows: list[dict] = []
    for dp in points.index:
        frame = by_point.get(dp, pd.DataFrame(columns=[*metrics]))
        for metric in metrics:
            values = frame[metric].dropna().to_numpy(float) if metric in frame else np.array([])
            row = {
                "design_point": int(dp),
                **{f: points.at[dp, f] for f in factors},
                "metric": metric,
                "failed": int(failed.get(dp, 0)),
            }
            if metric == "any_shortage":
                row.update(describe_shortage(values))
            else:
                row.update(describe(values, metric))
                parts = ratio_parts(metric, frame) if metric in frame else None
                if parts is not None:
                    row.update(pooled_ratio(*parts))
            if ref_frame is not None and dp != reference and metric in frame:
                row.update(paired_difference(frame[metric], ref_frame[metric]))
            rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("pooled", "pooled_se", "pooled_ci_low", "pooled_ci_high"):
        if column not in table.columns:
            table[column] = math.nan
    return table


def main_effects(runs: pd.DataFrame, factors: Sequence[str], metric: str) -> pd.DataFrame:
    """Per factor: the change of `metric` from its lowest to its highest level, averaged over
    the other factors, with a paired t CI over replications (common random numbers: each
    replication's average at the high level minus its average at the low level).

    `identical` is True when no run changes at all across the factor's levels (same
    replication, same other factors): the factor does not touch this metric."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for factor in factors:
        levels = sorted(ok[factor].dropna().unique().tolist())
        if len(levels) < 2 or metric not in ok.columns:
            continue
        low, high = levels[0], levels[-1]
        by_rep = ok.groupby(["replication", factor])[metric].mean().unstack(factor)
        d = (by_rep[high] - by_rep[low]).dropna().to_numpy(float)
        others = [f for f in factors if f != factor]
        spread = ok.groupby(["replication", *others], dropna=False)[metric].agg(lambda s: s.max() - s.min())
        scale = max(float(ok[metric].abs().max()), 1e-300)
        ci_low, ci_high = t_interval(d)
        rows.append(
            {
                "factor": factor,
                "metric": metric,
                "low": low,
                "high": high,
                "n_pairs": len(d),
                "diff_mean": float(np.mean(d)) if len(d) else math.nan,
                "diff_ci_low": ci_low,
                "diff_ci_high": ci_high,
                "identical": bool((spread <= 1e-12 * scale).all()),
            }
        )
    return pd.DataFrame(rows)
