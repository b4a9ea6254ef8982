"""The daily story of one run: outages, buffers against capacity, shortfalls and penalties."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

CAUSE_COLOURS = {
    "failure": "#d62728",
    "maintenance": "#ff7f0e",
    "scripted": "#9467bd",
    "closure": "#444444",
}


def plot_run_series(series: pd.DataFrame, outages: pd.DataFrame, title: str, path: str | Path) -> Path:
    """Write a three-panel PNG: facility outages (by cause), secondary buffers against
    capacity with outages shaded, and daily shortfalls with cumulative penalties."""
    facilities = [c.split(":", 1)[1] for c in series.columns if c.startswith("up:")]
    buffers = [c for c in series.columns if c.startswith("buffer_t:")]
    days = series["day"].to_numpy()
    fig, (ax0, ax1, ax2) = plt.subplots(
        3, 1, figsize=(11, 8.5), sharex=True, gridspec_kw={"height_ratios": [1, 2, 1.4]}
    )
    # Panel 1: who was down, when, and why.
    for row, fid in enumerate(facilities):
        mine = outages[outages["facility"] == fid]
        for cause, grp in mine.groupby("cause"):
            ax0.broken_barh(
                list(zip(grp["start"], grp["end"] - grp["start"], strict=True)),
                (row - 0.35, 0.7),
                color=CAUSE_COLOURS.get(str(cause), "grey"),
                label=str(cause),
            )
    ax0.set_yticks(range(len(facilities)), facilities)
    ax0.set_ylim(-0.6, len(facilities) - 0.4)
    handles, labels = ax0.get_legend_handles_labels()
    if handles:
        uniq = dict(zip(labels, handles, strict=True))
        ax0.legend(uniq.values(), uniq.keys(), loc="upper right", fontsize=8, ncol=4)
    ax0.set_title("Outages (continuous time, by cause)", fontsize=10, loc="left")
    # Panel 2: buffers against capacity, outages shaded.
    for start, end in _merged(outages):
        ax1.axvspan(start, end, color="#d62728", alpha=0.08, lw=0)
    for col in buffers:
        name = col.split(":", 1)[1]
        line = ax1.plot(days, series[col], lw=1.4, label=f"{name} buffer")[0]
        cap = series[f"buffer_cap_t:{name}"]
        ax1.plot(days, cap, ls="--", lw=0.9, color=line.get_color(), label=f"{name} capacity")
    for col in [c for c in series.columns if c.startswith("virgin_stock_t:")]:
        ax1.plot(days, series[col], lw=1.0, ls=":", label=f"{col.split(':', 1)[1]} virgin stock")
    ax1.set_ylabel("stock (t)")
    ax1.set_title(
        "Secondary buffers against capacity (red shading: some facility down)", fontsize=10, loc="left"
    )
    if buffers:
        ax1.legend(fontsize=8, loc="upper right", ncol=2)
    # Panel 3: daily shortfalls and cumulative penalties.
    ax2.bar(
        days,
        series["secondary_shortfall_t"],
        width=1.0,
        color="#1f77b4",
        alpha=0.6,
        label="secondary shortfall (virgin-equivalent t/day)",
    )
    ax2.bar(days, series["unmet_t"], width=1.0, color="#d62728", label="unmet demand (t/day)")
    ax2.set_ylabel("t/day")
    ax2.set_xlabel("day")
    twin = ax2.twinx()
    twin.plot(days, series["cumulative_penalties"], color="black", lw=1.2, label="cumulative penalties")
    twin.set_ylabel("penalties (currency)")
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _merged(outages: pd.DataFrame) -> list[tuple[float, float]]:
    spans = sorted(zip(outages["start"], outages["end"], strict=True))
    merged: list[list[float]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]
