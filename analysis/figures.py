"""Study figures chosen from the design. Each function reads a runs table (one row per run,
DESIGN.md section 8) and writes one PNG; :func:`study_figures` picks the ones a design calls for.

- :func:`plot_effects`: key metrics against one factor, CI bands, one line per level of the
  others (lines that coincide share one legend entry that says so);
- :func:`plot_heatmap`: a metric's mean over two factors, one panel per level of a third;
- :func:`plot_tradeoff`: benefit against disruption days per design point, Pareto front marked;
- :func:`plot_episode_rates`: episodes longer than t per input-year (Kaplan-Meier; see
  :mod:`analysis.durations`); :func:`plot_survival`, for studies stored without episodes:
  1 - ECDF of disruption durations;
- :func:`plot_party_benefits`: each facility's (or party's) net benefit per design point.

The daily story of one run is :func:`analysis.series_plot.plot_run_series`; sensitivity and
scenario-discovery plots live with their analyses.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from analysis.directions import LOWER, direction

#: Metrics drawn by default, with a reader's label ("{cur}" becomes the scenario's currency).
KEY_METRICS = {
    "secondary_fill_rate": "secondary fill rate (share of planned secondary use)",
    "disruption_days": "days with a secondary shortfall (days per run)",
    "penalties_paid": "penalties paid ({cur} per run)",
    "net_benefit": "net benefit vs no symbiosis ({cur} per run)",
}
PARTIES = {
    "supplier_benefit": "suppliers",
    "buyer_benefit": "buyers",
    "intermediary_profit": "intermediary",
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
SAMPLED_KINDS = ("lhs", "sobol", "morris")


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of its 95 % t interval."""
    n = len(values)
    m = float(np.mean(values))
    if n < 2:
        return m, 0.0
    return m, float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / np.sqrt(n))


def short_label(factor: str) -> str:
    """A reader's name for a factor path: its last field, with the item when one is named
    ("policy.buffer_days" -> "buffer days", "contracts.x.enabled" -> "x enabled",
    "contracts.*.penalty_per_t_short" -> "penalty per t short")."""
    parts = factor.split(".")
    last = parts[-1].replace("_", " ")
    if len(parts) >= 3 and parts[1] != "*":
        return f"{parts[1]} {last}"
    return last


def short_value(value: object) -> str:
    """A factor level as a reader writes it (yes/no for booleans, no trailing .0)."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def compact(value: float) -> str:
    """A number in at most five characters of digits: 569.7k, 1.234M, 0.9814."""
    v = float(value)
    if not np.isfinite(v):
        return "-"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if abs(v) >= size:
            return f"{v / size:.4g}{suffix}" if suffix != "k" else f"{v / 1e3:.1f}k"
    return f"{v:.4g}"


def metric_label(metric: str, currency: str = "currency", labels: dict[str, str] | None = None) -> str:
    """The label of a metric with its unit."""
    text = (labels or KEY_METRICS).get(metric, metric.replace("_", " "))
    return text.replace("{cur}", currency)


def _numeric(frame: pd.DataFrame, factor: str) -> bool:
    col = frame[factor]
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"]


def _save(fig: plt.Figure, path: str | Path) -> Path:
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# --- effects -------------------------------------------------------------------------------


def effect_curves(
    ok: pd.DataFrame, metric: str, x: str, by: Sequence[str], positions: dict[Any, float] | None = None
) -> list[dict]:
    """One curve per combination of the `by` factors: x levels, means and CI half-widths.
    `positions` places the levels of a factor that is not a number (text, true/false) on the
    x axis; a numeric factor's levels are their own positions."""
    groups = list(ok.groupby(list(by), sort=True)) if by else [((), ok)]
    curves = []
    for key, grp in groups:
        key = key if isinstance(key, tuple) else (key,)
        xs, means, halves = [], [], []
        for xv, sub in grp.groupby(x, sort=True):
            m, h = mean_ci(sub[metric].to_numpy(dtype=float))
            xs.append(xv)
            means.append(m)
            halves.append(h)
        curves.append(
            {
                "key": dict(zip(by, key, strict=True)),
                "x": np.asarray([positions[v] for v in xs] if positions is not None else xs, dtype=float),
                "mean": np.asarray(means),
                "half": np.asarray(halves),
            }
        )
    return curves


def coinciding(curves: list[dict], rtol: float = 1e-9) -> list[list[dict]]:
    """Curves grouped into clusters whose means are identical (within `rtol` of the scale)."""
    scale = max((float(np.max(np.abs(c["mean"]))) for c in curves if len(c["mean"])), default=1.0) or 1.0
    clusters: list[list[dict]] = []
    for c in curves:
        for cl in clusters:
            ref = cl[0]
            if len(ref["mean"]) == len(c["mean"]) and np.allclose(ref["mean"], c["mean"], rtol=0, atol=rtol * scale):
                cl.append(c)
                break
        else:
            clusters.append([c])
    return clusters


def _cluster_label(cluster: list[dict], by: Sequence[str]) -> str:
    parts = []
    for f in by:
        values = sorted({c["key"][f] for c in cluster}, key=str)
        parts.append(f"{short_label(f)} = {'/'.join(short_value(v) for v in values)}")
    text = ", ".join(parts) or "all runs"
    return text + (f"  ({len(cluster)} lines coincide)" if len(cluster) > 1 else "")


def plot_effects(
    runs: pd.DataFrame,
    factors: Sequence[str],
    path: str | Path,
    metrics: dict[str, str] | None = None,
    *,
    x: str | None = None,
    by: Sequence[str] | None = None,
    currency: str = "currency",
) -> Path:
    """Each key metric against factor `x` (default: the first numeric one), one line per
    combination of the `by` factors (default: the others, at most 8 lines), with 95 % CI
    bands over replications. Lines with identical means are drawn once, and their legend
    entry lists the levels they stand for and says that they coincide. A combination keeps
    its colour and marker in every panel; each legend sits below its panel."""
    metrics = {k: v for k, v in (metrics or KEY_METRICS).items() if k in runs.columns}
    ok = _ok(runs)
    numeric = [f for f in factors if _numeric(ok, f)]
    x = x or (numeric[0] if numeric else factors[0])
    by = list(by) if by is not None else [f for f in factors if f != x]
    # a factor that is not a number (an allocation rule, a switch) gets evenly spaced levels
    levels = None if _numeric(ok, x) else sorted(ok[x].unique(), key=str)
    positions = None if levels is None else {v: float(i) for i, v in enumerate(levels)}
    ncols = 2 if len(metrics) > 1 else 1
    nrows = int(np.ceil(len(metrics) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.5 * ncols, 5.4 * nrows), squeeze=False, layout="constrained")
    colours = plt.cm.tab10.colors
    legend_lines = 0
    for ax, metric in zip(axes.flat, metrics, strict=False):
        curves = effect_curves(ok, metric, x, by, positions)[:8]
        for cluster in coinciding(curves):
            c = cluster[0]
            # the same levels keep the same colour in every panel
            i = next(k for k, curve in enumerate(curves) if curve is c)
            colour = colours[i % len(colours)]
            ax.plot(
                c["x"],
                c["mean"],
                marker=MARKERS[i % len(MARKERS)],
                color=colour,
                lw=1.5,
                ms=5,
                label=_cluster_label(cluster, by),
            )
            ax.fill_between(c["x"], c["mean"] - c["half"], c["mean"] + c["half"], color=colour, alpha=0.18, lw=0)
        ax.set_xlabel(short_label(x))
        if levels is None:
            ax.set_xticks(sorted(ok[x].astype(float).unique()))
        else:
            ax.set_xticks(range(len(levels)), [short_value(v) for v in levels])
        ax.set_title(metric_label(metric, currency, metrics), fontsize=10)
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        # Long labels (many factors) wrap at the panel's width and take one column.
        labels = [textwrap.fill(label, 90) for label in labels]
        ncol = 2 if len(labels) > 2 and max(map(len, labels)) <= 45 else 1
        # below the panel, never over a line
        ax.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=ncol,
                  frameon=False)
        text_lines = max((label.count("\n") + 1 for label in labels), default=1)
        legend_lines = max(legend_lines, -(-len(labels) // ncol) * text_lines)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    # Room for the tallest legend (7-point text, about 0.15 inch a line), so the panels keep
    # their height with many factors.
    fig.set_size_inches(6.5 * ncols, nrows * (4.4 + 0.15 * legend_lines))
    fig.suptitle(f"Effect of {short_label(x)} (mean, band: 95 % CI over replications)", fontsize=12)
    return _save(fig, path)


# --- heatmap -------------------------------------------------------------------------------


def plot_heatmap(
    runs: pd.DataFrame,
    factors: Sequence[str],
    path: str | Path,
    metric: str = "net_benefit",
    *,
    x: str | None = None,
    y: str | None = None,
    facet: str | None = None,
    currency: str = "currency",
) -> Path:
    """Mean of `metric` over factors `x` (columns) and `y` (rows), one panel per level of
    `facet`; each cell is annotated with its mean. Factors not shown are averaged over (the
    title says so). Defaults: the first three factors, the one with most levels as `x`."""
    ok = _ok(runs)
    order = sorted(factors, key=lambda f: -ok[f].nunique())
    x = x or order[0]
    y = y or next(f for f in order if f != x)
    rest = [f for f in order if f not in (x, y)]
    facet = facet if facet is not None else (rest[0] if rest else None)
    averaged = [f for f in factors if f not in (x, y, facet)]
    panels = list(ok.groupby(facet, sort=True)) if facet else [(None, ok)]
    tables = [p.groupby([y, x])[metric].mean().unstack(x) for _, p in panels]
    vmin = min(float(np.nanmin(t.to_numpy())) for t in tables)
    vmax = max(float(np.nanmax(t.to_numpy())) for t in tables)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(1.8 + 4.0 * len(panels), 4.2), squeeze=False, layout="constrained"
    )
    lower_better = direction(metric) == LOWER
    cmap = "viridis_r" if lower_better else "viridis"
    image = None
    for ax, (level, _), table in zip(axes.flat, panels, tables, strict=True):
        image = ax.imshow(table.to_numpy(float), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", origin="lower")
        ax.set_xticks(range(table.shape[1]), [short_value(v) for v in table.columns])
        ax.set_yticks(range(table.shape[0]), [short_value(v) for v in table.index])
        ax.set_xlabel(short_label(x))
        ax.set_ylabel(short_label(y))
        if facet:
            ax.set_title(f"{short_label(facet)} = {short_value(level)}", fontsize=10)
        mid = (vmin + vmax) / 2
        for (i, j), v in np.ndenumerate(table.to_numpy(float)):
            dark = (v < mid) != lower_better
            ax.text(j, i, compact(v), ha="center", va="center", fontsize=8, color="white" if dark else "black")
    fig.colorbar(image, ax=list(axes.flat), shrink=0.85, label=metric_label(metric, currency))
    note = f"; averaged over {', '.join(short_label(f) for f in averaged)}" if averaged else ""
    fig.suptitle(f"Mean {metric_label(metric, currency)} over replications{note}", fontsize=11)
    return _save(fig, path)


# --- trade-off -----------------------------------------------------------------------------


def pareto_front(cost: np.ndarray, badness: np.ndarray) -> np.ndarray:
    """Indices of points not dominated in (cost, badness), both to be minimised."""
    keep = []
    for i in range(len(cost)):
        dominated = np.any((cost <= cost[i]) & (badness <= badness[i]) & ((cost < cost[i]) | (badness < badness[i])))
        if not dominated:
            keep.append(i)
    return np.asarray(keep, dtype=int)


def tradeoff_table(
    runs: pd.DataFrame, factors: Sequence[str], benefit: str = "net_benefit", disruption: str = "disruption_days"
) -> pd.DataFrame:
    """Per design point: mean benefit and disruption, and whether the point is on the front."""
    agg = (
        _ok(runs)
        .groupby("design_point")
        .agg(benefit=(benefit, "mean"), disruption=(disruption, "mean"), **{f: (f, "first") for f in factors})
    )
    agg["pareto"] = False
    front = pareto_front(-agg["benefit"].to_numpy(), agg["disruption"].to_numpy())
    agg.iloc[front, agg.columns.get_loc("pareto")] = True
    return agg


def plot_tradeoff(
    runs: pd.DataFrame,
    factors: Sequence[str],
    path: str | Path,
    benefit: str = "net_benefit",
    disruption: str = "disruption_days",
    *,
    currency: str = "currency",
) -> Path:
    """Mean net benefit against mean disruption days per design point; the Pareto front
    (more benefit, fewer disruption days) is marked, its points numbered and listed in a box.
    When the front sits in a corner much smaller than the whole cloud, an inset zooms on it."""
    agg = tradeoff_table(runs, factors, benefit, disruption)
    fr = agg[agg["pareto"]].sort_values("disruption")
    fig, ax = plt.subplots(figsize=(10, 6))
    axes = [ax]
    span_x = float(np.ptp(agg["disruption"])) or 1.0
    span_y = float(np.ptp(agg["benefit"])) or 1.0
    if len(agg) > len(fr) and np.ptp(fr["disruption"]) < 0.1 * span_x and np.ptp(fr["benefit"]) < 0.1 * span_y:
        inset = ax.inset_axes((0.42, 0.38, 0.55, 0.5))
        axes.append(inset)
    for a in axes:
        a.scatter(agg["disruption"], agg["benefit"], s=26, color="#999999", label="design point")
        a.plot(fr["disruption"], fr["benefit"], "-o", color="#d62728", lw=1.5, ms=5, label="Pareto front")
        a.grid(alpha=0.3)
    if len(axes) > 1:
        inset = axes[1]
        pad_x = max(float(np.ptp(fr["disruption"])), 0.01 * span_x) * 0.4
        pad_y = max(float(np.ptp(fr["benefit"])), 0.01 * span_y) * 0.4
        inset.set_xlim(fr["disruption"].min() - pad_x, fr["disruption"].max() + pad_x)
        inset.set_ylim(fr["benefit"].min() - pad_y, fr["benefit"].max() + pad_y)
        inset.tick_params(labelsize=7)
        inset.set_title("zoom on the front", fontsize=8)
        ax.indicate_inset_zoom(inset, edgecolor="#555555")
    target = axes[-1]
    # Points with the same means (a factor that only moves money between parties) share a label.
    spots = fr.groupby([fr["disruption"].round(9), fr["benefit"].round(6)], sort=False)
    for k, ((xv, yv), grp) in enumerate(spots):
        target.annotate(
            "/".join(f"#{dp}" for dp in grp.index),
            (xv, yv),
            fontsize=8,
            xytext=(5, 6 if k % 2 == 0 else -12),
            textcoords="offset points",
        )
    listing = "\n".join(
        f"#{dp}: " + ", ".join(f"{short_label(f)} {short_value(row[f])}" for f in factors) for dp, row in fr.iterrows()
    )
    ax.text(
        0.01,
        0.01,
        "Pareto front\n" + listing,
        transform=ax.transAxes,
        fontsize=7,
        va="bottom",
        ha="left",
        bbox={"boxstyle": "round", "fc": "white", "ec": "#cccccc", "alpha": 0.9},
    )
    ax.set_xlabel(f"mean {disruption.replace('_', ' ')} per run (days)")
    ax.set_ylabel(f"mean {benefit.replace('_', ' ')} per run ({currency})")
    ax.set_title("Trade-off: benefit against disruption (up and left is better)", fontsize=11)
    ax.legend(fontsize=9, loc="center left")
    fig.tight_layout()
    return _save(fig, path)


# --- survival of disruptions ---------------------------------------------------------------


def survival(durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Steps of S(t) = P(D > t) = 1 - ECDF(t) at the distinct durations (starting at t = 0)."""
    d = np.sort(np.asarray(durations, dtype=float))
    if len(d) == 0:
        return np.array([0.0]), np.array([1.0])
    t = np.unique(d)
    s = 1.0 - np.searchsorted(d, t, side="right") / len(d)
    return np.concatenate([[0.0], t]), np.concatenate([[1.0], s])


def plot_survival(
    durations: pd.DataFrame,
    path: str | Path,
    *,
    by: str | None = None,
    source: str = "",
) -> Path:
    """1 - ECDF of disruption durations (days), one curve per level of `by` (a column of
    `durations`, usually a factor), pooled over everything else. `durations` has one row per
    disruption with `duration_days`; `source` names where they came from (for the title)."""
    fig, ax = plt.subplots(figsize=(8.5, 5))
    groups = list(durations.groupby(by, sort=True)) if by else [("all runs", durations)]
    # Levels with the same durations (the same curve) are drawn once and named together.
    merged: dict[tuple[float, ...], list] = {}
    for level, grp in groups[:10]:
        merged.setdefault(tuple(np.sort(grp["duration_days"].to_numpy(float))), []).append(level)
    for i, (values, levels) in enumerate(merged.items()):
        t, s = survival(np.asarray(values))
        names = "/".join(short_value(v) for v in levels)
        name = f"{short_label(by)} = {names}" if by else names
        same = f", {len(levels)} curves coincide" if len(levels) > 1 else ""
        ax.step(
            t,
            s,
            where="post",
            lw=1.6,
            marker=MARKERS[i % len(MARKERS)],
            ms=3,
            label=f"{name} (n = {len(values)} each{same})" if same else f"{name} (n = {len(values)})",
        )
    ax.set_xlabel("disruption duration (days)")
    ax.set_ylabel("P(duration > t)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(
        f"Survival of disruptions: share lasting longer than t{' (' + source + ')' if source else ''}", fontsize=10
    )
    fig.tight_layout()
    return _save(fig, path)


def plot_episode_rates(curves: list[dict], path: str | Path, *, by: str | None = None, estimator: str = "") -> Path:
    """The rate of disruption episodes longer than t days per input-year, one step curve per
    level of `by` (dicts from :func:`analysis.durations.episode_rates`); the legend gives each
    curve's episodes, runs and runs without a disruption."""
    fig, ax = plt.subplots(figsize=(8.5, 5))
    for i, c in enumerate(curves[:10]):
        name = "all runs" if by is None else f"{short_label(by)} = {short_value(c['level'])}"
        ax.step(c["t"], c["rate"], where="post", lw=1.6, marker=MARKERS[i % len(MARKERS)], ms=3,
                label=f"{name} ({c['episodes']} episodes, {c['runs']} runs, {c['runs_without']} without)")
    ax.set_xlabel("episode length t (days)")
    ax.set_ylabel("episodes longer than t per input-year")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"Disruption episodes longer than t, per input-year ({estimator})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


# --- net benefit per party -----------------------------------------------------------------


def party_columns(runs: pd.DataFrame) -> dict[str, str]:
    """The benefit columns to draw, with a reader's name for each: each facility's net benefit
    (`facility:<id>:net_benefit`, present when a study names it among its outcomes) and the
    intermediary's profit when the study has them; otherwise the party totals (suppliers,
    buyers, intermediary)."""
    facilities = {c: c.split(":")[1] for c in runs.columns if c.startswith("facility:") and c.endswith(":net_benefit")}
    if facilities:
        extra = {"intermediary_profit": "intermediary"} if "intermediary_profit" in runs.columns else {}
        return facilities | extra
    return {p: name for p, name in PARTIES.items() if p in runs.columns}


def plot_party_benefits(
    runs: pd.DataFrame,
    factors: Sequence[str],
    path: str | Path,
    *,
    reference: int | None = None,
    currency: str = "currency",
    max_points: int = 120,
    max_panels: int = 8,
) -> Path:
    """Each facility's (or, without per-facility columns, each party's) net benefit, one panel
    and colour per facility: per design point its mean over replications with the 95 % t CI,
    one row per point (the reference point shaded), so 72 points read as 72 rows. Beyond
    `max_points` points (a sampled design) each panel shows the spread over all runs as one box.
    Columns zero in every run are left out and named in the title; beyond `max_panels` the
    facilities with the largest mean benefit (in absolute value) are drawn."""
    ok = _ok(runs)
    names = party_columns(ok)
    drawn = [c for c in names if ok[c].abs().max() > 0] or list(names)[:1]
    silent = [names[c] for c in names if c not in drawn]
    ranked = sorted(drawn, key=lambda c: -abs(float(ok[c].mean())))
    hidden = [names[c] for c in ranked[max_panels:]]
    drawn = [c for c in drawn if c in ranked[:max_panels]]
    points = sorted(ok["design_point"].unique())
    pooled = len(points) > max_points
    rows = 1 if pooled else len(points)
    fig, axes = plt.subplots(
        1,
        len(drawn),
        figsize=(1.5 + 3.0 * len(drawn) + (0 if pooled else 1.6), 2.2 + (2.0 if pooled else 0.21 * rows)),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    colours = plt.cm.tab10.colors
    by_point = ok.groupby("design_point")
    for k, (ax, column) in enumerate(zip(axes[0], drawn, strict=True)):
        colour = colours[k % len(colours)]
        if pooled:
            q05, q25, q50, q75, q95 = np.quantile(ok[column].to_numpy(float), [0.05, 0.25, 0.5, 0.75, 0.95])
            ax.hlines(0, q05, q95, color=colour, lw=1.2)
            ax.hlines(0, q25, q75, color=colour, lw=6, alpha=0.6)
            ax.plot([q50], [0], "o", color=colour, ms=6)
            ax.set_yticks([0], [f"all {len(points)} design points\n(median, 25-75 %, 5-95 %)"])
        else:
            stats_ = [mean_ci(by_point.get_group(dp)[column].to_numpy(float)) for dp in points]
            means = np.array([m for m, _ in stats_])
            halves = np.array([h for _, h in stats_])
            ys = np.arange(rows)
            ax.errorbar(means, ys, xerr=halves, fmt="o", ms=3.5, color=colour, ecolor=colour, elinewidth=1.0, lw=0)
            for y in _block_starts(ok, points, factors):  # a faint rule where the first factor changes level
                ax.axhline(y - 0.5, color="#cccccc", lw=0.6, zorder=0)
            if reference in points:
                y_ref = points.index(reference)
                ax.axhspan(y_ref - 0.5, y_ref + 0.5, color="#ffbb78", alpha=0.5, lw=0, zorder=0)
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_title(names[column], fontsize=10, color=colour, fontweight="bold")
        ax.set_xlabel(currency)
        ax.grid(alpha=0.3, axis="x")
    if not pooled:
        first = axes[0, 0]
        labels = [
            f"#{dp}: " + " / ".join(short_value(by_point.get_group(dp)[f].iloc[0]) for f in factors) for dp in points
        ]
        first.set_yticks(range(rows), labels, fontsize=7)
        first.set_ylim(rows - 0.5, -0.5)  # design point 0 on top
        first.set_ylabel(
            "design point: "
            + " / ".join(short_label(f) for f in factors)
            + ("\n(orange: reference point)" if reference in points else "")
        )
    what = "mean and 95 % CI over replications" if not pooled else "spread over all runs"
    notes = [f"zero in every run: {', '.join(silent)}"] if silent else []
    notes += [f"not shown: {', '.join(hidden)}"] if hidden else []
    per = "facility" if any(c.startswith("facility:") for c in names) else "party"
    if per == "party":
        notes.append("one panel per facility: name facility:<id>:net_benefit among the study's outcomes")
    fig.suptitle(
        f"Net benefit per {per} against no symbiosis ({what})" + ("\n" + "; ".join(notes) if notes else ""),
        fontsize=11,
    )
    return _save(fig, path)


def _block_starts(ok: pd.DataFrame, points: list, factors: Sequence[str]) -> list[int]:
    """The rows (design points in order) where the first factor takes a new level."""
    if not factors:
        return []
    first = ok.groupby("design_point")[factors[0]].first().reindex(points).to_numpy()
    return [k for k in range(1, len(points)) if first[k] != first[k - 1]]


# --- choosing the figures of a study -------------------------------------------------------


def study_figures(
    runs: pd.DataFrame,
    factors: Sequence[str],
    out_dir: str | Path,
    *,
    kind: str = "grid",
    reference: int | None = None,
    currency: str = "currency",
    durations: pd.DataFrame | None = None,
    durations_source: str = "",
    heatmaps: Sequence[str] = ("net_benefit", "secondary_fill_rate"),
    episode_curves: list[dict] | None = None,
    episode_by: str | None = None,
) -> dict[str, Path]:
    """The default figures of a study into `out_dir` (created), by name.

    Level designs (grid, rows) get effects and, with two or more factors, a heatmap of each
    metric in `heatmaps` (named `heatmap_<metric>`, ':' written '-' in the file name); every
    design gets the trade-off (when benefit and disruption metrics exist), the survival of
    disruption durations (the rate of episodes longer than t per input-year from
    `episode_curves` when the study stored its episodes, else the old curve of `durations`)
    and the per-party benefits. Sampled
    designs' factor plots are the sensitivity figures (:mod:`analysis.sensitivity`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ok = _ok(runs)
    if not factors or ok.empty:
        return {}
    made: dict[str, Path] = {}
    levels = kind not in SAMPLED_KINDS
    if levels:
        made["effects"] = plot_effects(runs, factors, out / "effects.png", currency=currency)
    if levels and len(factors) >= 2 and all(ok[f].nunique() <= 12 for f in factors):
        for metric in heatmaps:
            if metric in ok.columns:
                made[f"heatmap_{metric}"] = plot_heatmap(
                    runs, factors, out / f"heatmap_{metric.replace(':', '-')}.png", metric, currency=currency
                )
    if {"net_benefit", "disruption_days"} <= set(ok.columns):
        made["tradeoff"] = plot_tradeoff(runs, factors, out / "tradeoff.png", currency=currency)
    if episode_curves:
        made["survival"] = plot_episode_rates(episode_curves, out / "survival.png", by=episode_by,
                                              estimator=durations_source)
    elif durations is not None and not durations.empty:
        by = next((f for f in factors if levels and f in durations.columns), None)
        made["survival"] = plot_survival(durations, out / "survival.png", by=by, source=durations_source)
    if party_columns(ok):
        made["party_benefits"] = plot_party_benefits(
            runs, factors, out / "party_benefits.png", reference=reference, currency=currency
        )
    return made
