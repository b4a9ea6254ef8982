"""Scenario discovery, light: which factor ranges keep a metric within a target often enough.

A design point *passes* when at least `min_share` of its ok replications have the metric
within the target (`at_most` and/or `at_least`). :func:`discover` then describes the passing
points as a box, one range (numeric factors) or set of levels (others) per factor:

1. start from the smallest box that holds every passing point (coverage 1);
2. while points that fail remain inside (density < 1), peel: drop the lowest or highest value
   of one numeric factor, or one level of another, whichever leaves the densest box (ties:
   the one keeping more passing points), as long as that raises the density.

This is the first step of PRIM (Friedman and Fisher 1999) on a design's discrete values, with
no pasting and no trajectory. For the real thing, :func:`export_for_ema` writes
`experiments.csv` and `outcomes.csv` (one row per ok run, same order) for EMA Workbench::

    import pandas as pd
    from ema_workbench.analysis import prim
    x = pd.read_csv("experiments.csv").drop(columns=["design_point", "replication"])
    y = pd.read_csv("outcomes.csv")["secondary_fill_rate"].to_numpy() >= 0.95
    prim.Prim(x, y, threshold=0.8).find_box().inspect()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.figures import short_label, short_value


@dataclass(frozen=True)
class Discovery:
    """Pass rates per design point, the box (one row per factor), and the box's quality."""

    metric: str
    target: str
    min_share: float
    points: pd.DataFrame
    box: pd.DataFrame
    coverage: float
    density: float
    values: dict[str, list]


def target_text(metric: str, at_most: float | None, at_least: float | None) -> str:
    """The target in words, e.g. `secondary_fill_rate >= 0.95`."""
    parts = []
    if at_least is not None:
        parts.append(f"{metric} >= {at_least:g}")
    if at_most is not None:
        parts.append(f"{metric} <= {at_most:g}")
    return " and ".join(parts)


def pass_rates(
    runs: pd.DataFrame,
    factors: Sequence[str],
    metric: str,
    *,
    at_most: float | None = None,
    at_least: float | None = None,
    min_share: float = 0.8,
) -> pd.DataFrame:
    """Per design point: factors, `n` ok runs, `share` within the target, `passes`."""
    if at_most is None and at_least is None:
        raise ValueError("give a target: at_most, at_least or both")
    ok = runs[runs["status"] == "ok"].copy()
    within = pd.Series(True, index=ok.index)
    if at_most is not None:
        within &= ok[metric] <= at_most
    if at_least is not None:
        within &= ok[metric] >= at_least
    ok["_within"] = within.astype(float)
    table = ok.groupby("design_point").agg(
        **{f: (f, "first") for f in factors}, n=("_within", "size"), share=("_within", "mean")
    )
    table["passes"] = table["share"] >= min_share
    return table.reset_index()


def _numeric(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _inside(points: pd.DataFrame, box: dict[str, list]) -> pd.Series:
    mask = pd.Series(True, index=points.index)
    for f, values in box.items():
        mask &= points[f].isin(values)
    return mask


def _quality(points: pd.DataFrame, box: dict[str, list]) -> tuple[float, float]:
    inside = _inside(points, box)
    passing = int(points["passes"].sum())
    hits = int((inside & points["passes"]).sum())
    coverage = hits / passing if passing else 0.0
    density = hits / int(inside.sum()) if inside.any() else 0.0
    return coverage, density


def _peels(points: pd.DataFrame, box: dict[str, list]) -> list[dict[str, list]]:
    out = []
    for f, values in box.items():
        if len(values) < 2:
            continue
        drops = [values[0], values[-1]] if _numeric(points[f]) else values
        for v in drops:
            out.append({**box, f: [w for w in values if w != v]})
    return out


def discover(
    runs: pd.DataFrame,
    factors: Sequence[str],
    metric: str,
    *,
    at_most: float | None = None,
    at_least: float | None = None,
    min_share: float = 0.8,
) -> Discovery:
    """The box of factor values whose design points keep `metric` within the target in at
    least `min_share` of replications (see the module notes)."""
    points = pass_rates(runs, factors, metric, at_most=at_most, at_least=at_least, min_share=min_share)
    passing = points[points["passes"]]
    box = {}
    for f in factors:
        values = sorted(points[f].unique().tolist())
        if _numeric(points[f]) and len(passing):
            # a range holds every design value between its ends, passing or not
            lo, hi = passing[f].min(), passing[f].max()
            box[f] = [v for v in values if lo <= v <= hi]
        else:
            box[f] = sorted(passing[f].unique().tolist())
    coverage, density = _quality(points, box) if len(passing) else (0.0, 0.0)
    while len(passing) and density < 1.0:
        scored = [(_quality(points, b), b) for b in _peels(points, box)]
        if not scored:
            break
        (cov, den), best = max(scored, key=lambda s: (s[0][1], s[0][0]))
        if den <= density:
            break
        box, coverage, density = best, cov, den
    rows = []
    for f in factors:
        values = box[f]
        all_values = sorted(points[f].unique().tolist())
        numeric = _numeric(points[f])
        rows.append(
            {
                "factor": f,
                "low": values[0] if values and numeric else None,
                "high": values[-1] if values and numeric else None,
                "levels": ", ".join(short_value(v) for v in values),
                "restricts": len(values) < len(all_values),
            }
        )
    return Discovery(
        metric, target_text(metric, at_most, at_least), min_share, points, pd.DataFrame(rows), coverage, density, box
    )


def plot_discovery(found: Discovery, factors: Sequence[str], path: str | Path) -> Path:
    """One panel per factor: each design point's share of replications within the target
    against the factor's value; the threshold dashed, the box's values shaded green."""
    pts = found.points
    ncols = min(3, len(factors))
    nrows = int(np.ceil(len(factors) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.6 * nrows), squeeze=False)
    rng = np.random.default_rng(0)  # jitter only, for overlapping points
    box = found.box.set_index("factor")
    for ax, f in zip(axes.flat, factors, strict=False):
        values = sorted(pts[f].unique().tolist())
        numeric = _numeric(pts[f])
        pos = pts[f].astype(float) if numeric else pts[f].map({v: i for i, v in enumerate(values)}).astype(float)
        width = (np.ptp(pos) or 1.0) * 0.02
        x = pos + rng.uniform(-width, width, len(pos))
        ax.scatter(x[pts["passes"]], pts.loc[pts["passes"], "share"], s=18, color="#2ca02c", label="passes")
        ax.scatter(
            x[~pts["passes"]], pts.loc[~pts["passes"], "share"], s=18, color="#d62728", marker="x", label="fails"
        )
        ax.axhline(found.min_share, color="black", ls="--", lw=0.9)
        kept = pos[pts[f].isin(found.values[f])]
        if len(kept) and box.at[f, "restricts"]:
            ax.axvspan(kept.min() - 2 * width, kept.max() + 2 * width, color="#2ca02c", alpha=0.12, lw=0)
        if not numeric:
            ax.set_xticks(range(len(values)), [short_value(v) for v in values])
        ax.set_xlabel(short_label(f))
        ax.set_ylabel("share of replications within target")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(factors) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, loc="best")
    fig.suptitle(
        f"Where {found.target} holds in >= {found.min_share:.0%} of replications "
        f"(box: coverage {found.coverage:.0%}, density {found.density:.0%})",
        fontsize=10,
    )
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def export_for_ema(
    runs: pd.DataFrame, factors: Sequence[str], metrics: Sequence[str], out_dir: str | Path
) -> tuple[Path, Path]:
    """experiments.csv (design_point, replication, one column per factor) and outcomes.csv
    (design_point, replication, one column per metric), one row per ok run, same order."""
    ok = runs[runs["status"] == "ok"].sort_values(["design_point", "replication"])
    out = Path(out_dir)
    keys = ["design_point", "replication"]
    experiments, outcomes = out / "experiments.csv", out / "outcomes.csv"
    ok[[*keys, *factors]].to_csv(experiments, index=False)
    ok[[*keys, *[m for m in metrics if m in ok.columns]]].to_csv(outcomes, index=False)
    return experiments, outcomes
