"""Study figures chosen from the design: effects with CI bands and the cost-disruption
trade-off with its Pareto front. Each function reads a runs table and writes one PNG."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

#: Metrics drawn by default, with a reader's label; higher is better unless listed below.
KEY_METRICS = {
    "secondary_fill_rate": "secondary fill rate (share of full-supply use)",
    "disruption_days": "days with a secondary shortfall",
    "penalties_paid": "penalties paid (currency)",
    "net_benefit": "net benefit vs no symbiosis (currency)",
}
LOWER_IS_BETTER = {
    "disruption_days",
    "disruption_events",
    "max_disruption_days",
    "input_unmet_t",
    "penalties_paid",
    "transport_cost",
    "waste_disposed_t",
    "production_loss_t",
}


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of its 95 % t interval."""
    n = len(values)
    m = float(np.mean(values))
    if n < 2:
        return m, 0.0
    return m, float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / np.sqrt(n))


def _label(factor: str) -> str:
    return factor.replace("contracts.*.", "all contracts: ").replace("policy.", "policy: ")


def plot_effects(
    runs: pd.DataFrame, factors: Sequence[str], path: str | Path, metrics: dict[str, str] | None = None
) -> Path:
    """Each key metric against the first numeric factor, one line per combination of the
    other factors (at most 8), with 95 % CI bands over replications."""
    metrics = {k: v for k, v in (metrics or KEY_METRICS).items() if k in runs.columns}
    ok = runs[runs["status"] == "ok"]
    numeric = [
        f for f in factors if pd.api.types.is_numeric_dtype(ok[f]) and not pd.api.types.is_bool_dtype(ok[f])
    ]
    x = numeric[0] if numeric else factors[0]
    others = [f for f in factors if f != x]
    groups = list(ok.groupby(others, sort=True)) if others else [((), ok)]
    groups = groups[:8]
    ncols = 2
    nrows = int(np.ceil(len(metrics) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(12, 4.2 * nrows), squeeze=False)
    colours = plt.cm.tab10.colors
    for ax, (metric, label) in zip(axes.flat, metrics.items(), strict=False):
        for (key, grp), colour in zip(groups, itertools.cycle(colours), strict=False):
            key = key if isinstance(key, tuple) else (key,)
            xs, means, halves = [], [], []
            for xv, sub in grp.groupby(x, sort=True):
                m, h = mean_ci(sub[metric].to_numpy(dtype=float))
                xs.append(xv)
                means.append(m)
                halves.append(h)
            xs_a, m_a, h_a = np.asarray(xs, dtype=float), np.asarray(means), np.asarray(halves)
            name = ", ".join(f"{_label(f)} = {v}" for f, v in zip(others, key, strict=True)) or metric
            ax.plot(xs_a, m_a, marker="o", color=colour, lw=1.5, label=name)
            ax.fill_between(xs_a, m_a - h_a, m_a + h_a, color=colour, alpha=0.18, lw=0)
        ax.set_xlabel(_label(x))
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("Effects with 95 % confidence bands over replications", fontsize=12)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * (len(groups) // 2), 1, 0.97))
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def pareto_front(cost: np.ndarray, badness: np.ndarray) -> np.ndarray:
    """Indices of points not dominated in (cost, badness), both to be minimised."""
    keep = []
    for i in range(len(cost)):
        dominated = np.any(
            (cost <= cost[i]) & (badness <= badness[i]) & ((cost < cost[i]) | (badness < badness[i]))
        )
        if not dominated:
            keep.append(i)
    return np.asarray(keep, dtype=int)


def plot_tradeoff(
    runs: pd.DataFrame,
    factors: Sequence[str],
    path: str | Path,
    benefit: str = "net_benefit",
    disruption: str = "disruption_days",
) -> Path:
    """Mean net benefit against mean disruption days per design point; the Pareto front
    (more benefit, fewer disruption days) is marked and its points labelled."""
    ok = runs[runs["status"] == "ok"]
    agg = ok.groupby("design_point").agg(
        benefit=(benefit, "mean"), disruption=(disruption, "mean"), **{f: (f, "first") for f in factors}
    )
    front = pareto_front(-agg["benefit"].to_numpy(), agg["disruption"].to_numpy())
    fig, ax = plt.subplots(figsize=(9, 6))
    ax.scatter(agg["disruption"], agg["benefit"], s=28, color="#999999", label="design point")
    fr = agg.iloc[front].sort_values("disruption")
    ax.plot(fr["disruption"], fr["benefit"], "-o", color="#d62728", lw=1.5, label="Pareto front")
    for dp, row in fr.iterrows():
        text = "\n".join(f"{_label(f)}={row[f]}" for f in factors)
        ax.annotate(
            f"#{dp}\n{text}",
            (row["disruption"], row["benefit"]),
            fontsize=7,
            xytext=(6, -6),
            textcoords="offset points",
            va="top",
        )
    ax.set_xlabel(f"mean {disruption.replace('_', ' ')} per run")
    ax.set_ylabel(f"mean {benefit.replace('_', ' ')} per run (currency)")
    ax.set_title("Trade-off: benefit against disruption (up and left is better)", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def study_figures(runs: pd.DataFrame, factors: Sequence[str], out_dir: str | Path) -> list[Path]:
    """All default figures of a study into `out_dir` (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not factors or (runs["status"] == "ok").sum() == 0:
        return []
    return [
        plot_effects(runs, factors, out / "effects.png"),
        plot_tradeoff(runs, factors, out / "tradeoff.png"),
    ]
