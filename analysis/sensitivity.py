"""Global sensitivity of run metrics to the design factors, from a runs table (SALib).

One method per design kind (DESIGN.md section 6):

- **sobol** designs: first-order and total Sobol indices `S1`, `ST` with 95 % bootstrap CIs
  (:func:`sobol_indices`, ``SALib.analyze.sobol``). The runner keeps SALib's row order, so
  design point i is SALib row i; a reference point appended after the sampled rows is left
  out. Replications are **averaged per design point first**: the indices describe the
  expected response, and replication noise (which would otherwise count as unexplained
  variance and shrink `S1`) is averaged away. The spread of the per-replication indices is
  reported beside them (`S1_rep_sd`, `ST_rep_sd`) as a check that the average is stable.
- **morris** designs: `mu_star` (mean absolute elementary effect, with its bootstrap CI) and
  `sigma` (spread of the effects: interactions or non-linearity) from
  ``SALib.analyze.morris``, on per-point means as above. Effects are per unit of the
  factor's range (the design's unit cube), so factors with different units compare.
- **lhs** designs (or any design): the given-data moment-independent `delta` and a
  first-order `S1` estimate with CIs (``SALib.analyze.delta``) over every ok run: the method
  needs no design structure, and each replication is one more sample.

Each analysis returns a :class:`SensitivityResult` (a tidy table, one row per factor) and
:func:`plot_indices` draws it. SALib is imported lazily (an optional heavy piece).
"""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.figures import short_label

METHOD_OF_KIND = {"sobol": "sobol", "morris": "morris", "lhs": "delta"}


class SensitivityError(ValueError):
    """The runs do not support the analysis (missing design points, constant metric...)."""


@dataclass(frozen=True)
class SensitivityResult:
    """Indices of one metric: `table` has a `factor` column and the method's index columns."""

    method: str
    metric: str
    table: pd.DataFrame
    note: str


def _problem(factors: Sequence[str], bounds: Sequence[Sequence[float]] | None = None) -> dict[str, Any]:
    return {
        "num_vars": len(factors),
        "names": list(factors),
        "bounds": [list(map(float, b)) for b in bounds] if bounds is not None else [[0.0, 1.0]] * len(factors),
    }


def per_point(runs: pd.DataFrame, metric: str, n_points: int) -> pd.DataFrame:
    """Metric values as a (design point x replication) table over points 0..n_points-1.

    Raises SensitivityError when a point has no ok run: Sobol and Morris need every row."""
    ok = runs[(runs["status"] == "ok") & (runs["design_point"] < n_points)]
    wide = ok.pivot(index="design_point", columns="replication", values=metric).reindex(range(n_points))
    missing = wide.index[wide.isna().all(axis=1)].tolist()
    if missing:
        raise SensitivityError(
            f"{metric}: design points {missing[:10]} have no ok run; the analysis needs every "
            "sampled point (rerun the study: failed runs are retried)"
        )
    return wide


def _check_varies(y: np.ndarray, metric: str) -> None:
    if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
        raise SensitivityError(f"{metric}: constant (or not finite) over the design; no index to compute")


def sobol_indices(
    runs: pd.DataFrame,
    factors: Sequence[str],
    metric: str,
    *,
    sampled_points: int | None = None,
    second_order: bool = False,
    seed: int = 0,
    num_resamples: int = 200,
) -> SensitivityResult:
    """S1 and ST with 95 % CIs from a Sobol (Saltelli) design's runs (see the module notes)."""
    from SALib.analyze import sobol

    n = sampled_points if sampled_points is not None else int(runs["design_point"].max()) + 1
    wide = per_point(runs, metric, n)
    y = wide.mean(axis=1).to_numpy(float)
    _check_varies(y, metric)
    problem = _problem(factors)
    res = sobol.analyze(problem, y, calc_second_order=second_order, num_resamples=num_resamples, seed=seed)
    table = pd.DataFrame(
        {
            "factor": list(factors),
            "S1": res["S1"],
            "S1_conf": res["S1_conf"],
            "ST": res["ST"],
            "ST_conf": res["ST_conf"],
        }
    )
    reps = [c for c in wide.columns if wide[c].notna().all()]
    if len(reps) > 1:
        per_rep = [
            sobol.analyze(problem, wide[c].to_numpy(float), calc_second_order=second_order, num_resamples=2, seed=seed)
            for c in reps
        ]
        table["S1_rep_sd"] = np.std([r["S1"] for r in per_rep], axis=0, ddof=1)
        table["ST_rep_sd"] = np.std([r["ST"] for r in per_rep], axis=0, ddof=1)
    note = (
        f"Sobol indices of the mean over {wide.shape[1]} replication(s) per design point, "
        f"{n} design points; CIs: 95 % bootstrap ({num_resamples} resamples)"
    )
    return SensitivityResult("sobol", metric, table, note)


def morris_indices(
    runs: pd.DataFrame,
    factors: Sequence[str],
    metric: str,
    unit_x: np.ndarray,
    *,
    num_levels: int = 4,
    seed: int = 0,
    num_resamples: int = 200,
) -> SensitivityResult:
    """mu* (with CI) and sigma from a Morris design's runs; `unit_x` is the design's sample on
    the unit cube in design-point order (:func:`unit_sample`)."""
    from SALib.analyze import morris

    x = np.asarray(unit_x, dtype=float)
    wide = per_point(runs, metric, len(x))
    y = wide.mean(axis=1).to_numpy(float)
    _check_varies(y, metric)
    res = morris.analyze(_problem(factors), x, y, num_resamples=num_resamples, num_levels=num_levels, seed=seed)
    table = pd.DataFrame(
        {
            "factor": list(factors),
            "mu_star": np.asarray(res["mu_star"], dtype=float),
            "mu_star_conf": np.asarray(res["mu_star_conf"], dtype=float),
            "sigma": np.asarray(res["sigma"], dtype=float),
            "mu": np.asarray(res["mu"], dtype=float),
        }
    )
    note = (
        f"Morris elementary effects per unit of each factor's range, of the mean over "
        f"{wide.shape[1]} replication(s) per design point, {len(x) // (len(factors) + 1)} trajectories"
    )
    return SensitivityResult("morris", metric, table, note)


def delta_indices(
    runs: pd.DataFrame, factors: Sequence[str], metric: str, *, seed: int = 0, num_resamples: int = 100
) -> SensitivityResult:
    """Moment-independent delta and first-order S1 with CIs from given data (every ok run).
    Non-numeric factors (booleans, named levels) enter as level codes."""
    from SALib.analyze import delta

    ok = runs[runs["status"] == "ok"]
    x = np.column_stack([_as_numbers(ok[f]) for f in factors])
    y = ok[metric].to_numpy(float)
    _check_varies(y, metric)
    bounds = [(float(c.min()), float(c.max()) if c.max() > c.min() else float(c.min()) + 1.0) for c in x.T]
    # SALib turns its errors into warnings (and returns NaN), resets the warning filters and
    # replaces warnings.formatwarning for good: record the warnings, put the formatter back.
    formatter = warnings.formatwarning
    try:
        with warnings.catch_warnings(record=True) as said:
            res = delta.analyze(_problem(factors, bounds), x, y, num_resamples=num_resamples, seed=seed)
    finally:
        warnings.formatwarning = formatter
    key = "delta" if "delta" in res else "delta_raw"  # SALib >= 1.5 names its variants
    if np.isnan(np.asarray(res[key], dtype=float)).all():
        text = " ".join(str(w.message) for w in said)
        reason = "its bins need more runs" if "too small" in text else text[:200] or "SALib gave no values"
        raise SensitivityError(
            f"delta could not be estimated from {len(y)} ok runs ({reason}); take more samples or replications"
        )
    table = pd.DataFrame(
        {
            "factor": list(factors),
            "delta": np.asarray(res[key], dtype=float),
            "delta_conf": np.asarray(res[f"{key}_conf"], dtype=float),
            "S1": np.asarray(res["S1"], dtype=float),
            "S1_conf": np.asarray(res["S1_conf"], dtype=float),
        }
    )
    note = f"delta moment-independent measure (given data: {len(y)} ok runs, replications as samples)"
    blank = table.loc[table["delta"].isna(), "factor"].tolist()
    if blank:
        note += f"; no estimate for {', '.join(blank)} (too few runs for SALib's bins)"
    return SensitivityResult("delta", metric, table, note)


def _as_numbers(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.to_numpy(float)
    return pd.Categorical(col.astype(str)).codes.astype(float)


def study_design(manifest: dict[str, Any]) -> Any:
    """The study's `[design]` table (validated) from the study text kept in the manifest."""
    from sim.experiment.study import Design

    text = manifest.get("study", {}).get("text")
    if not text:
        raise SensitivityError("manifest.json has no study text; cannot rebuild the design")
    return Design.model_validate(tomllib.loads(text)["design"])


def unit_sample(manifest: dict[str, Any]) -> np.ndarray:
    """The design's unit-cube sample, regenerated exactly as the runner drew it (same code,
    same seed): Morris needs the steps on the cube, which integer or level factors blur."""
    from sim.experiment.design import _unit_sample  # the one place the sample is drawn

    seed = int(tomllib.loads(manifest["study"]["text"])["study"]["seed"])
    return _unit_sample(study_design(manifest), seed)


def analyse(runs: pd.DataFrame, factors: Sequence[str], manifest: dict[str, Any], metric: str) -> SensitivityResult:
    """The analysis the study's design kind calls for (raises SensitivityError if none)."""
    design = manifest.get("design", {})
    kind = design.get("kind")
    sampled = design.get("sampled_points")
    if kind == "sobol":
        second = bool(getattr(study_design(manifest), "second_order", False)) if manifest.get("study") else False
        return sobol_indices(runs, factors, metric, sampled_points=sampled, second_order=second)
    if kind == "morris":
        spec = study_design(manifest)
        return morris_indices(runs, factors, metric, unit_sample(manifest), num_levels=spec.levels)
    if kind == "lhs":
        return delta_indices(runs, factors, metric)
    raise SensitivityError(f"design kind {kind!r} has no sensitivity analysis (sobol, morris or lhs)")


def plot_indices(result: SensitivityResult, path: str | Path) -> Path:
    """Horizontal bars with 95 % CI whiskers, one row per factor: S1 and ST (Sobol), mu*
    with sigma as diamonds (Morris), delta with S1 as dots (delta)."""
    table = result.table
    main, main_conf, second, second_conf, xlabel = {
        "sobol": ("ST", "ST_conf", "S1", "S1_conf", "Sobol index (share of output variance)"),
        "morris": ("mu_star", "mu_star_conf", "sigma", None, "elementary effect per factor range (metric units)"),
        "delta": ("delta", "delta_conf", "S1", "S1_conf", "index"),
    }[result.method]
    order = table.sort_values(main).reset_index(drop=True)
    ypos = np.arange(len(order))
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * len(order)))
    ax.barh(
        ypos,
        order[main],
        xerr=order[main_conf],
        color="#aec7e8",
        ecolor="#333333",
        capsize=3,
        label=f"{main} (95 % CI)",
    )
    ax.errorbar(
        order[second],
        ypos,
        xerr=order[second_conf] if second_conf else None,
        fmt="D" if second == "sigma" else "o",
        color="#d62728",
        capsize=3,
        ms=5,
        label=f"{second}" + (" (95 % CI)" if second_conf else ""),
    )
    ax.set_yticks(ypos, [short_label(f) for f in order["factor"]])
    ax.set_xlabel(xlabel)
    ax.axvline(0, color="black", lw=0.8)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"{result.method}: sensitivity of {result.metric.replace('_', ' ')}", fontsize=10)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
