"""The daily story of one run, along the whole chain: outages, what each source produced and
held, the buyers' buffers against capacity, and the shortfalls and penalties that followed.

Given the scenario, the plot shades the warm-up (days the run's metrics leave out), names each
buffer by the secondary material it holds and the input it serves ("kiln: sugar_lime (for
limestone)"), draws each source's storage capacity and puts money in the scenario's currency.
Every legend sits outside its panel, so none covers a line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sim.scenario import Scenario

CAUSE_COLOURS = {
    "failure": "#d62728",
    "maintenance": "#ff7f0e",
    "scripted": "#9467bd",
    "closure": "#444444",
}
#: Outages of a common cause (cause "common:<id>", sim/common_causes.py): one colour, hatched,
#: drawn over a facility's own outages so that a shock shows across every facility it took down.
COMMON_COLOUR = "#1f77b4"
WARMUP_COLOUR = "#bbbbbb"
#: Beyond the palette's colours, lines repeat a colour with another dash (dashed is kept for
#: capacities, dotted for virgin stockpiles).
LINESTYLES = ("-", "-.", (0, (6, 1, 1, 1, 1, 1)), (0, (10, 2)))
#: Streams and buffers named in colour per panel; the others are grey (see :func:`named_lines`).
MAX_NAMED = 8
#: Networks with more facilities show only those with an outage in the outage panel.
MAX_OUTAGE_ROWS = 15
OTHERS_COLOUR = "#b0b0b0"
#: Line colours without the greys, which mean "one of the others".
PALETTE = tuple(c for k, c in enumerate(plt.cm.tab10.colors) if k != 7)
WIDE_PALETTE = tuple(c for k, c in enumerate(plt.cm.tab20.colors) if k not in (14, 15))


def held_materials(scenario: Scenario, facility: str, input_material: str) -> list[str]:
    """The secondary materials the buffer of one input holds: those contracted into the input
    (all its substitutes when no contract names one)."""
    spec = next(i for i in scenario.facility(facility).inputs if i.material == input_material)
    substitutes = [s.material for s in spec.substitutes]
    contracted = [
        c.material
        for c in scenario.contracts
        if c.buyer == facility and c.material in substitutes and c.input in (None, input_material)
    ]
    return list(dict.fromkeys(contracted)) or substitutes


def buffer_label(scenario: Scenario | None, facility: str, input_material: str) -> str:
    """A reader's name for the secondary buffer of one input: the facility, the secondary
    material(s) it holds and the input it serves; without a scenario, the input only."""
    if scenario is None:
        return f"{facility}: secondary for {input_material}"
    held = held_materials(scenario, facility, input_material)
    return f"{facility}: {' + '.join(held) or 'secondary'} (for {input_material})"


def named_lines(series: pd.DataFrame, warmup: int, limit: int = MAX_NAMED) -> tuple[list[str], list[str]]:
    """The streams (`owner/material`) and buffers (`facility/input`) drawn in colour and named:
    all of them up to `limit` each; beyond, the streams that produced most and the buffers whose
    input fell shortest of secondary supply after the warm-up (then the largest). The rest are
    drawn as thin grey lines, so a 40-plant region still reads."""
    after = series.iloc[warmup:]
    streams = [c.split(":", 1)[1] for c in series.columns if c.startswith("generated_t:")]
    buffers = [c.split(":", 1)[1] for c in series.columns if c.startswith("buffer_t:")]

    def shortest(name: str) -> tuple[float, float]:
        short = f"secondary_shortfall_t:{name}"
        return (float(after[short].sum()) if short in after else 0.0, float(series[f"buffer_cap_t:{name}"].max()))

    if len(streams) > limit:
        top = set(sorted(streams, key=lambda n: -float(after[f"generated_t:{n}"].sum()))[:limit])
        streams = [n for n in streams if n in top]
    if len(buffers) > limit:
        top = set(sorted(buffers, key=lambda n: tuple(-v for v in shortest(n)))[:limit])
        buffers = [n for n in buffers if n in top]
    return streams, buffers


def line_styles(
    series: pd.DataFrame, scenario: Scenario | None, named: tuple[list[str], list[str]] | None = None
) -> dict[str, tuple[tuple, object]]:
    """A colour and a dash per named stream (`owner/material`) and buffer (`buffer:facility/input`).
    Every line has its own colour, except that a material with one source and one buyer keeps
    its colour from the source's storage to the buyer's buffer."""
    every_stream, every_buffer = named_lines(series, 0, limit=10**9)
    streams, buffers = named if named is not None else (every_stream, every_buffer)
    held = {
        name: held_materials(scenario, *name.split("/", 1)) if scenario is not None else [] for name in every_buffer
    }
    sources: dict[str, list[str]] = {}
    for name in every_stream:
        sources.setdefault(name.split("/", 1)[1], []).append(name)
    buyers = {m: [b for b in every_buffer if held[b][:1] == [m]] for m in sources}
    colour_of = {name: name for name in streams}
    for name in buffers:
        material = held[name][0] if held[name] else None
        one_to_one = material in sources and len(sources[material]) == 1 and len(buyers[material]) == 1
        shared = one_to_one and sources[material][0] in colour_of
        colour_of[f"buffer:{name}"] = sources[material][0] if shared else f"buffer:{name}"
    keys = list(dict.fromkeys(colour_of.values()))
    palette = PALETTE if len(keys) <= len(PALETTE) else WIDE_PALETTE
    style = {
        key: (palette[k % len(palette)], LINESTYLES[(k // len(palette)) % len(LINESTYLES)])
        for k, key in enumerate(keys)
    }
    return {name: style[key] for name, key in colour_of.items()}


def plot_run_series(
    series: pd.DataFrame,
    outages: pd.DataFrame,
    title: str,
    path: str | Path,
    *,
    scenario: Scenario | None = None,
) -> Path:
    """Write a six-panel PNG of one run (columns as :func:`sim.metrics.daily_series` names
    them): outages by cause; production at each source; storage at each source (and the
    intermediary's pool); the buyers' secondary buffers against capacity with outages shaded;
    daily shortfalls; cumulative penalties. `scenario` (the run's) adds the warm-up
    shading, the buffers' material names, source storage capacities and the currency."""
    days = series["day"].to_numpy()
    warmup = scenario.scenario.warmup_days if scenario is not None else 0
    facilities = [c.split(":", 1)[1] for c in series.columns if c.startswith("up:")]
    if len(facilities) > MAX_OUTAGE_ROWS:
        facilities = [f for f in facilities if f in set(outages["facility"])]
    heights = [max(1.4, 0.17 * len(facilities)), 1.7, 1.9, 2.7, 1.5, 1.5]
    fig, axes = plt.subplots(
        6,
        1,
        figsize=(12, sum(heights) + 1.0),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
        layout="constrained",
    )
    _outages_panel(axes[0], outages, facilities, warmup)
    if len(facilities) < sum(c.startswith("up:") for c in series.columns):
        _title(axes[0], "Outages (continuous time, by cause; facilities never down not shown)")
    styles = line_styles(series, scenario, named_lines(series, warmup))
    _production_panel(axes[1], series, days, styles)
    _source_storage_panel(axes[2], series, days, styles, scenario)
    _buffers_panel(axes[3], series, days, outages, styles, scenario)
    _shortfall_panel(axes[4], series, days)
    _penalty_panel(axes[5], series, days, warmup, scenario)
    if warmup > 0:
        for ax in axes:
            ax.axvspan(0, warmup, color=WARMUP_COLOUR, alpha=0.35, lw=0, zorder=0, label="_warm-up")
    axes[-1].set_xlim(0, max(len(days), 1))
    axes[-1].set_xlabel("day")
    fig.suptitle(title, fontsize=12)
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _legend_outside(ax: Axes, handles: list | None = None, labels: list[str] | None = None) -> None:
    """A legend to the right of the panel, where it cannot cover data."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _title(ax: Axes, text: str) -> None:
    ax.set_title(text, fontsize=10, loc="left")


def _stream_text(name: str) -> str:
    owner, material = name.split("/", 1)
    return f"{owner}: {material}"


def _outages_panel(ax: Axes, outages: pd.DataFrame, facilities: list[str], warmup: int) -> None:
    """Who was down, when and why (the legend also says what the warm-up shading means)."""
    for row, fid in enumerate(facilities):
        mine = outages[outages["facility"] == fid]
        for cause, grp in mine.groupby("cause"):
            common = str(cause).startswith("common:")
            ax.broken_barh(
                list(zip(grp["start"], grp["end"] - grp["start"], strict=True)),
                (row - 0.35, 0.7),
                facecolor="none" if common else CAUSE_COLOURS.get(str(cause), "grey"),
                edgecolor=COMMON_COLOUR if common else "none",
                hatch="////" if common else None,
                zorder=3 if common else 2,
                label=f"{cause} (common cause)" if common else str(cause),
            )
    ax.set_yticks(range(len(facilities)), facilities, fontsize=7 if len(facilities) > 8 else 8)
    ax.set_ylim(-0.6, len(facilities) - 0.4)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=True))
    if warmup > 0:
        uniq[f"warm-up, days 0-{warmup} (not in the metrics)"] = plt.Rectangle(
            (0, 0), 1, 1, color=WARMUP_COLOUR, alpha=0.6, lw=0
        )
    _legend_outside(ax, list(uniq.values()), list(uniq))
    _title(ax, "Outages (continuous time, by cause)")


def _streams(series: pd.DataFrame, styles: dict[str, tuple]) -> dict[str, tuple | None]:
    """Every stream with its style (None: one of the unnamed, drawn grey)."""
    names = [c.split(":", 1)[1] for c in series.columns if c.startswith("generated_t:")]
    return {name: styles.get(name) for name in names}


def _draw(ax: Axes, days: np.ndarray, values: pd.Series, style: tuple | None, label: str, lw: float) -> None:
    """One named line in its style, or an unnamed one thin and grey behind the others."""
    if style is None:
        ax.plot(days, values, lw=0.6, color=OTHERS_COLOUR, zorder=1)
    else:
        ax.plot(days, values, lw=lw, color=style[0], ls=style[1], label=label, zorder=2)


def _others_entry(handles: list, labels: list[str], count: int, what: str) -> None:
    if count:
        handles.append(Line2D([], [], lw=0.8, color=OTHERS_COLOUR))
        labels.append(f"{count} other {what} (grey)")


def _production_panel(ax: Axes, series: pd.DataFrame, days: np.ndarray, styles: dict[str, tuple]) -> None:
    """What each source produced, day by day (campaigns and batches show as on/off)."""
    streams = _streams(series, styles)
    for name, style in streams.items():
        _draw(ax, days, series[f"generated_t:{name}"], style, _stream_text(name), 0.9)
    ax.set_ylabel("t/day")
    ax.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    _others_entry(handles, labels, sum(s is None for s in streams.values()), "sources")
    _legend_outside(ax, handles, labels)
    _title(ax, "Supply: production at each source")


def _source_storage_panel(
    ax: Axes, series: pd.DataFrame, days: np.ndarray, styles: dict[str, tuple], scenario: Scenario | None
) -> None:
    """What each source held in storage (against its capacity) and what an intermediary pooled."""
    streams = _streams(series, styles)
    for name, style in streams.items():
        _draw(ax, days, series[f"source_stock_t:{name}"], style, _stream_text(name), 1.3)
        if scenario is not None and style is not None:
            colour = style[0]
            owner, material = name.split("/", 1)
            out = next(o for o in scenario.facility(owner).outputs if o.material == material)
            ax.axhline(out.storage_t, ls="--", lw=0.8, color=colour, alpha=0.8)
    for col in [c for c in series.columns if c.startswith("pool_t:")]:
        ax.plot(days, series[col], lw=1.3, color="black", label=f"{col.split(':', 1)[1]}: intermediary pool")
    handles, labels = ax.get_legend_handles_labels()
    _others_entry(handles, labels, sum(s is None for s in streams.values()), "sources")
    if scenario is not None and streams:
        handles.append(Line2D([], [], ls="--", lw=0.9, color="grey"))
        labels.append("storage capacity (dashed)")
    _legend_outside(ax, handles, labels)
    ax.set_ylabel("stock (t)")
    ax.set_ylim(bottom=0)
    _title(ax, "Supply: storage at each source")


def _buffers_panel(
    ax: Axes,
    series: pd.DataFrame,
    days: np.ndarray,
    outages: pd.DataFrame,
    styles: dict[str, tuple],
    scenario: Scenario | None,
) -> None:
    """The buyers' secondary buffers against capacity, their virgin stockpiles, outages shaded."""
    for start, end in _merged(outages):
        ax.axvspan(start, end, color="#d62728", alpha=0.08, lw=0)
    buffers = [c.split(":", 1)[1] for c in series.columns if c.startswith("buffer_t:")]
    for name in buffers:
        style = styles.get(f"buffer:{name}")
        facility, material = name.split("/", 1)
        _draw(ax, days, series[f"buffer_t:{name}"], style, buffer_label(scenario, facility, material), 1.4)
        if style is None:
            continue
        colour = style[0]
        ax.plot(days, series[f"buffer_cap_t:{name}"], ls="--", lw=0.8, color=colour, alpha=0.8)
        if f"virgin_stock_t:{name}" in series.columns:
            ax.plot(
                days,
                series[f"virgin_stock_t:{name}"],
                lw=1.0,
                ls=":",
                color=colour,
                alpha=0.7,
                label=f"{facility}: {material} virgin stockpile",
            )
    handles, labels = ax.get_legend_handles_labels()
    _others_entry(handles, labels, sum(f"buffer:{n}" not in styles for n in buffers), "buffers")
    if buffers:
        handles.append(Line2D([], [], ls="--", lw=0.9, color="grey"))
        labels.append("buffer capacity (dashed)")
    handles.append(plt.Rectangle((0, 0), 1, 1, color="#d62728", alpha=0.15, lw=0))
    labels.append("some facility down")
    _legend_outside(ax, handles, labels)
    ax.set_ylabel("stock (t)")
    ax.set_ylim(bottom=0)
    _title(ax, "Demand: buyers' secondary buffers against capacity")


def _shortfall_panel(ax: Axes, series: pd.DataFrame, days: np.ndarray) -> None:
    """Daily secondary shortfalls and unmet demand."""
    ax.bar(
        days,
        series["secondary_shortfall_t"],
        width=1.0,
        color="#1f77b4",
        alpha=0.6,
        label="secondary shortfall (virgin-equivalent)",
    )
    ax.bar(days, series["unmet_t"], width=1.0, color="#d62728", label="unmet demand")
    ax.set_ylabel("t/day")
    _legend_outside(ax)
    _title(ax, "Shortfalls")


def _penalty_panel(ax: Axes, series: pd.DataFrame, days: np.ndarray, warmup: int, scenario: Scenario | None) -> None:
    """Penalties summed from the end of the warm-up, as the run's metrics count them (the
    warm-up's own penalties dotted and not counted), so the line ends at `penalties_paid`."""
    cumulative = series["cumulative_penalties"].to_numpy(float)
    if warmup > 0:
        ax.plot(days[:warmup], cumulative[:warmup], color="black", lw=1.0, ls=":", label="during warm-up (not counted)")
        counted = cumulative[warmup:] - cumulative[warmup - 1]
        label = "after warm-up (the run's metric)"
    else:
        counted, label = cumulative, "cumulative penalties"
    ax.plot(days[warmup:], counted, color="black", lw=1.4, label=label)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(scenario.scenario.currency if scenario is not None else "money")
    _legend_outside(ax)
    _title(ax, "Penalties paid, cumulative" + (f" ({scenario.scenario.currency})" if scenario is not None else ""))


def _merged(outages: pd.DataFrame) -> list[tuple[float, float]]:
    spans = sorted(zip(outages["start"], outages["end"], strict=True))
    merged: list[list[float]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]
