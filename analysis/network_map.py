"""A map of a contract network: facilities, contracts, break-even radii, the intermediary."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

from sim.matching import candidate_exchanges
from sim.scenario import Location, Scenario

STATE_COLOURS = {
    "active": "#2ca02c",
    "notice": "#ff7f0e",
    "ended": "#7f7f7f",
    "backup": "#1f77b4",
    "disabled": "#c7c7c7",
}
KM_PER_DEG = 111.32


def _xy(loc: Location) -> tuple[float, float]:
    if loc.x_km is not None and loc.y_km is not None:
        return loc.x_km, loc.y_km
    return float(loc.lon), float(loc.lat)  # type: ignore[arg-type]


def _default_state(c) -> str:
    if not c.enabled:
        return "disabled"
    return "backup" if c.role == "backup" else "active"


def plot_network_map(
    sc: Scenario,
    path: str | Path,
    flows: Mapping[str, float] | None = None,
    states: Mapping[str, str] | None = None,
) -> Path:
    """Write a PNG map of the network and return its path.

    Facilities at their coordinates (km, or lon/lat), labelled; each contract a line from
    supplier to buyer (through the intermediary when routed via it), its width proportional to
    `flows[contract id]` (t/day, e.g. a run's mean delivery) or else its contracted volume,
    its colour its state: `states[contract id]` in active / notice / ended / backup, or else
    `backup` for backup contracts, `disabled` for disabled ones and `active` otherwise.
    Around each supplier stream a dashed circle shows the break-even distance of its best
    exchange (road km / circuity, so in straight-line map units).
    """
    path = Path(path)
    planar = all(f.location.x_km is not None for f in sc.facilities)
    pos = {f.id: _xy(f.location) for f in sc.facilities}
    hub = sc.intermediary
    hub_xy = _xy(hub.location) if hub is not None else None
    fig, ax = plt.subplots(figsize=(9, 8))

    # Contracts, widest first so thin lines stay visible on top.
    volumes = {c.id: (flows or {}).get(c.id, c.volume_t_per_day) for c in sc.contracts}
    vmax = max(volumes.values(), default=1.0) or 1.0
    for c in sorted(sc.contracts, key=lambda c: -volumes[c.id]):
        if c.supplier not in pos or c.buyer not in pos:
            continue
        state = (states or {}).get(c.id, _default_state(c))
        width = 0.8 + 7.0 * volumes[c.id] / vmax
        style = (0, (4, 2)) if state in ("backup", "disabled", "ended") else "solid"
        via = [pos[c.supplier]] + ([hub_xy] if c.via_intermediary and hub_xy is not None else []) + [pos[c.buyer]]
        xs, ys = zip(*via, strict=True)
        ax.plot(xs, ys, color=STATE_COLOURS.get(state, "black"), lw=width, ls=style, alpha=0.8, zorder=2)
        # Label the last leg: routed contracts share the supplier -> hub leg.
        lx, ly = (via[-2][0] + via[-1][0]) / 2, (via[-2][1] + via[-1][1]) / 2
        ax.annotate(
            f"{volumes[c.id]:.3g} t/d", (lx, ly), fontsize=7, color="#333333", ha="center", va="bottom", zorder=5
        )

    # Break-even radius of each stream's best exchange.
    best: dict[tuple[str, str], float] = {}
    value: dict[tuple[str, str], float] = {}
    for cand in candidate_exchanges(sc):
        if cand.stream not in value or cand.net_value_per_t > value[cand.stream]:
            value[cand.stream] = cand.net_value_per_t
            best[cand.stream] = cand.break_even_km
    circuity = sc.transport.circuity
    pts = list(pos.values()) + ([hub_xy] if hub_xy is not None else [])
    span = max(max(p[0] for p in pts) - min(p[0] for p in pts), max(p[1] for p in pts) - min(p[1] for p in pts), 1.0)
    off_map: list[str] = []
    for (sup, material), be_km in best.items():
        if not math.isfinite(be_km) or be_km <= 0:
            off_map.append(f"{sup} {material}: {be_km:.0f} km")
            continue
        r = be_km / circuity
        x, y = pos[sup]
        w, h = (2 * r, 2 * r) if planar else (2 * r / (KM_PER_DEG * math.cos(math.radians(y))), 2 * r / KM_PER_DEG)
        ax.add_patch(Ellipse((x, y), w, h, fill=False, ls="--", lw=1.0, ec="#9467bd", alpha=0.7, zorder=1))
        if max(w, h) > 3 * span:
            off_map.append(f"{sup} {material}: {be_km:,.0f} road km")
        else:
            pts += [(x - w / 2, y - h / 2), (x + w / 2, y + h / 2)]
    if off_map:
        ax.text(
            0.01,
            0.01,
            "break-even distance beyond this map:\n" + "\n".join(off_map),
            transform=ax.transAxes,
            fontsize=7,
            va="bottom",
            color="#9467bd",
        )

    # Facilities and the intermediary.
    for f in sc.facilities:
        x, y = pos[f.id]
        kind = "s" if f.outputs and not f.inputs else ("^" if f.outputs else "o")
        ax.scatter([x], [y], marker=kind, s=110, c="#444444", zorder=4)
        ax.annotate(f.id, (x, y), xytext=(6, 6), textcoords="offset points", fontsize=9, zorder=6)
    if hub is not None and hub_xy is not None:
        ax.scatter([hub_xy[0]], [hub_xy[1]], marker="D", s=140, c="#d62728" if hub.enabled else "#c7c7c7", zorder=4)
        ax.annotate(
            f"{hub.id} (intermediary)", hub_xy, xytext=(6, -12), textcoords="offset points", fontsize=9, zorder=6
        )

    # Every facility in view, and the break-even circles that are not far larger than the map.
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    pad = max(max(xs) - min(xs), max(ys) - min(ys), 1.0) * 0.15
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_ylim(min(ys) - pad, max(ys) + pad)
    ax.set_aspect("equal" if planar else 1.0 / math.cos(math.radians(sum(ys) / len(ys))))
    ax.set_xlabel("x (km)" if planar else "longitude (deg)")
    ax.set_ylabel("y (km)" if planar else "latitude (deg)")
    label = "flow" if flows else "contracted volume"
    ax.set_title(f"{sc.scenario.name}\ncontracts (line width: {label}, t/day); dashed circles: break-even distance")
    used = {(states or {}).get(c.id, _default_state(c)) for c in sc.contracts}
    handles = [Line2D([], [], color=STATE_COLOURS[s], lw=3, label=s) for s in STATE_COLOURS if s in used]
    handles += [
        Line2D([], [], marker="s", ls="", color="#444444", label="supplier"),
        Line2D([], [], marker="o", ls="", color="#444444", label="buyer"),
        Line2D([], [], marker="^", ls="", color="#444444", label="supplier and buyer"),
        Line2D([], [], ls="--", color="#9467bd", label="break-even radius of best exchange"),
    ]
    if hub is not None:
        handles.append(Line2D([], [], marker="D", ls="", color="#d62728", label="intermediary"))
    ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.85)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
