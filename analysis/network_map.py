"""Drawing a contract network: one palette, one coordinate helper and one drawing function
(:func:`draw_network`) for the report's map (:func:`plot_network_map`) and the dashboard's
live map (:func:`analysis.dashboard_views.network_figure`).

The callers decide what a node's size or an edge's width means (a stream's role, a day's
throughput, a run's mean flow); :func:`draw_network` only draws facilities at their
coordinates, each contract as an arrow from supplier to buyer (through the intermediary when
routed via it) in its state's colour, and the intermediary.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

from sim.matching import candidate_exchanges
from sim.scenario import Contract, Location, Scenario

#: A facility's colour by its state (the dashboard colours nodes by it).
FACILITY_COLOURS = {"up": "#2ca02c", "down": "#d62728", "closed": "#7f7f7f"}
#: A contract's colour by its state; `backup` is a backup on standby, `called` one called in.
CONTRACT_COLOURS = {
    "active": "#1f77b4",
    "notice": "#ff7f0e",
    "ended": "#7f7f7f",
    "backup": "#17becf",
    "called": "#9467bd",
    "pending": "#c7c7c7",
    "disabled": "#c7c7c7",
}
#: States drawn with a dashed line: no material moves on them.
DASHED_STATES = frozenset({"backup", "disabled", "ended", "pending"})
HUB_COLOUR = "#8c564b"
ROLE_MARKERS = {"supplier": "s", "buyer": "o", "supplier and buyer": "^"}
BREAK_EVEN_COLOUR = "#9467bd"
KM_PER_DEG = 111.32


def xy(loc: Location) -> tuple[float, float]:
    """Map coordinates: km east and north, or longitude and latitude."""
    if loc.x_km is not None and loc.y_km is not None:
        return float(loc.x_km), float(loc.y_km)
    return float(loc.lon), float(loc.lat)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Node:
    """A facility as drawn: where, in which colour, marker and size (points^2)."""

    id: str
    x: float
    y: float
    colour: str = "#444444"
    marker: str = "o"
    size: float = 110.0
    label: str = ""


@dataclass(frozen=True)
class Edge:
    """A contract as drawn: its ends, state (a key of CONTRACT_COLOURS), width and label."""

    supplier: str
    buyer: str
    state: str
    width: float
    label: str = ""
    routed: bool = False


@dataclass(frozen=True)
class Hub:
    """The intermediary as drawn; `on` is False when it is in the file but switched off."""

    id: str
    x: float
    y: float
    on: bool = True


def draw_network(ax: Axes, nodes: Sequence[Node], edges: Iterable[Edge], hub: Hub | None = None) -> None:
    """Draw contracts (widest first, so thin ones stay visible), then facilities and the hub.

    Each node is its own artist with ``gid = "node-<id>"``, so that an SVG of the figure has
    one group per facility (the dashboard hangs a hover title on it). An edge's label sits
    on its last leg: routed contracts share the supplier -> hub leg.
    """
    pos = {n.id: (n.x, n.y) for n in nodes}
    hub_xy = (hub.x, hub.y) if hub is not None and hub.on else None
    for e in sorted(edges, key=lambda e: -e.width):
        if e.supplier not in pos or e.buyer not in pos:
            continue
        via = [pos[e.supplier], *([hub_xy] if e.routed and hub_xy is not None else []), pos[e.buyer]]
        colour = CONTRACT_COLOURS.get(e.state, "black")
        style = (0, (4, 2)) if e.state in DASHED_STATES else "solid"
        for p, q in itertools.pairwise(via):
            arrow = {"arrowstyle": "-|>", "lw": e.width, "ls": style, "color": colour, "shrinkA": 10, "shrinkB": 10}
            ax.annotate("", xy=q, xytext=p, arrowprops=arrow, alpha=0.85, zorder=2)
        if e.label:
            mid = ((via[-2][0] + via[-1][0]) / 2, (via[-2][1] + via[-1][1]) / 2)
            box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8}
            ax.annotate(e.label, mid, fontsize=7, color=colour, ha="center", va="center", bbox=box, zorder=5)
    for n in nodes:
        ax.scatter([n.x], [n.y], s=n.size, c=n.colour, marker=n.marker, edgecolors="black", linewidths=0.8,
                   zorder=4, gid=f"node-{n.id}")
        ax.annotate(n.label or n.id, (n.x, n.y), xytext=(8, 7), textcoords="offset points", fontsize=8, zorder=6)
    if hub is not None:
        ax.scatter([hub.x], [hub.y], marker="D", s=200, c=HUB_COLOUR if hub.on else "#c7c7c7", zorder=4)
        ax.annotate(f"{hub.id} (intermediary)", (hub.x, hub.y), xytext=(8, -14), textcoords="offset points",
                    fontsize=8, zorder=6)


def label_axes(ax: Axes, planar: bool, mean_latitude: float = 0.0, adjustable: str = "datalim") -> None:
    """Axis names, and a shape in which a km east is as long as a km north (`adjustable`:
    "box" keeps limits the caller set, "datalim" widens them)."""
    ax.set_xlabel("km east" if planar else "longitude (deg)")
    ax.set_ylabel("km north" if planar else "latitude (deg)")
    ax.set_aspect(1.0 if planar else 1.0 / math.cos(math.radians(mean_latitude)), adjustable=adjustable)


def contract_legend(states: Iterable[str]) -> list[Line2D]:
    """Legend entries for the contract states in use, in the palette's order."""
    used = set(states)
    return [Line2D([], [], color=colour, lw=3, label=s) for s, colour in CONTRACT_COLOURS.items() if s in used]


# --- the report's map ---------------------------------------------------------------------------


def _default_state(c: Contract) -> str:
    if not c.enabled:
        return "disabled"
    return "backup" if c.role == "backup" else "active"


def _role(f) -> str:
    if f.outputs and f.inputs:
        return "supplier and buyer"
    return "supplier" if f.outputs else "buyer"


def plot_network_map(
    sc: Scenario,
    path: str | Path,
    flows: Mapping[str, float] | None = None,
    states: Mapping[str, str] | None = None,
) -> Path:
    """Write a PNG map of the network and return its path.

    Facilities at their coordinates (km, or lon/lat), marked by role; each contract an arrow
    from supplier to buyer (through the intermediary when routed via it), its width
    proportional to `flows[contract id]` (t/day, e.g. a run's mean delivery) or else its
    contracted volume, its colour its state: `states[contract id]` (a key of
    CONTRACT_COLOURS), or else `backup` for backup contracts, `disabled` for disabled ones and
    `active` otherwise. Around each supplier stream a dashed circle shows the break-even
    distance of its best exchange (road km / circuity, so in straight-line map units).
    """
    path = Path(path)
    planar = all(f.location.x_km is not None for f in sc.facilities)
    nodes = [Node(f.id, *xy(f.location), marker=ROLE_MARKERS[_role(f)]) for f in sc.facilities]
    volumes = {c.id: (flows or {}).get(c.id, c.volume_t_per_day) for c in sc.contracts}
    vmax = max(volumes.values(), default=1.0) or 1.0
    contract_states = {c.id: (states or {}).get(c.id, _default_state(c)) for c in sc.contracts}
    edges = [
        Edge(c.supplier, c.buyer, contract_states[c.id], 0.8 + 7.0 * volumes[c.id] / vmax,
             f"{volumes[c.id]:.3g} t/d", c.via_intermediary)
        for c in sc.contracts
    ]
    spec = sc.intermediary
    hub = Hub(spec.id, *xy(spec.location), on=spec.enabled) if spec is not None else None
    fig, ax = plt.subplots(figsize=(9, 8))
    draw_network(ax, nodes, edges, hub)
    pts = [(n.x, n.y) for n in nodes] + ([(hub.x, hub.y)] if hub is not None else [])
    pts += _break_even_circles(ax, sc, {n.id: (n.x, n.y) for n in nodes}, pts, planar)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    pad = max(max(xs) - min(xs), max(ys) - min(ys), 1.0) * 0.15
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_ylim(min(ys) - pad, max(ys) + pad)
    label_axes(ax, planar, sum(ys) / len(ys), adjustable="box")
    label = "flow" if flows else "contracted volume"
    ax.set_title(f"{sc.scenario.name}\ncontracts (line width: {label}, t/day); dashed circles: break-even distance")
    handles = contract_legend(contract_states.values())
    handles += [Line2D([], [], marker=m, ls="", color="#444444", label=r) for r, m in ROLE_MARKERS.items()]
    handles.append(Line2D([], [], ls="--", color=BREAK_EVEN_COLOUR, label="break-even radius of best exchange"))
    if hub is not None:
        name = "intermediary" if hub.on else "intermediary (off)"
        handles.append(Line2D([], [], marker="D", ls="", color=HUB_COLOUR if hub.on else "#c7c7c7", label=name))
    ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.85)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _break_even_circles(
    ax: Axes, sc: Scenario, pos: Mapping[str, tuple[float, float]], pts: list[tuple[float, float]], planar: bool
) -> list[tuple[float, float]]:
    """Draw the break-even radius of each stream's best exchange around its supplier; return
    the corners of the circles to keep in view (those not far larger than the map), and name
    the others in a corner note."""
    best: dict[tuple[str, str], float] = {}
    value: dict[tuple[str, str], float] = {}
    for cand in candidate_exchanges(sc):
        if cand.stream not in value or cand.net_value_per_t > value[cand.stream]:
            value[cand.stream] = cand.net_value_per_t
            best[cand.stream] = cand.break_even_km if cand.mode == "road" else math.nan  # a pipe: no radius
    span = max(max(p[0] for p in pts) - min(p[0] for p in pts), max(p[1] for p in pts) - min(p[1] for p in pts), 1.0)
    corners: list[tuple[float, float]] = []
    off_map: list[str] = []
    for (sup, material), be_km in best.items():
        if math.isnan(be_km):
            off_map.append(f"{sup} {material}: by pipe (no break-even distance)")
            continue
        if not math.isfinite(be_km) or be_km <= 0:
            off_map.append(f"{sup} {material}: {be_km:.0f} km")
            continue
        r = be_km / sc.transport.circuity
        x, y = pos[sup]
        w, h = (2 * r, 2 * r) if planar else (2 * r / (KM_PER_DEG * math.cos(math.radians(y))), 2 * r / KM_PER_DEG)
        ax.add_patch(Ellipse((x, y), w, h, fill=False, ls="--", lw=1.0, ec=BREAK_EVEN_COLOUR, alpha=0.7, zorder=1))
        if max(w, h) > 3 * span:
            off_map.append(f"{sup} {material}: {be_km:,.0f} road km")
        else:
            corners += [(x - w / 2, y - h / 2), (x + w / 2, y + h / 2)]
    if off_map:
        ax.text(0.01, 0.01, "break-even distance beyond this map:\n" + "\n".join(off_map), transform=ax.transAxes,
                fontsize=7, va="bottom", color=BREAK_EVEN_COLOUR)
    return corners
