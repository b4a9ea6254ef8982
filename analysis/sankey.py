"""Where every tonne went: material-flow (Sankey) diagrams of one run or of a design point's
mean, one per unit (t, m3 and MWh are never added together).

The flows come from the run's per-material table (`RunResult.materials`, sim/units.py
`material_table`; a study stores it as materials.parquet), summed over the materials of each
unit. Each diagram has two stages that both close (inflows = outflows):

- **supply**: held at the start (source storage, on the road, in the intermediary's pool:
  the opening waste of `waste_available_t`) + generated (`waste_generated_t`) = exchanged,
  accepted into buyers' buffers (`waste_exchanged_t`) + overflowed at source + spoiled at
  source + rejected (`waste_rejected_t`) + disposed by the intermediary + held at the end;
- **buyer**: exchanged + in buffers at the start = used in place of virgin material
  (secondary units consumed) + overflowed from buffers + spoiled in buffers + in buffers at
  the end.

Overflow, spoilage, rejection and the intermediary's disposal on both stages add up to
`waste_disposed_t`; spoilage at source and in buffers to `waste_spoiled_t` (docs/metrics.md;
the same with `_m3` and `_mwh`). A design point's diagram is the mean over its runs of each
flow, so it closes too. Zero flows are left out of the drawing, never out of the CSV.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.sankey import Sankey

#: File-name and metric suffix of each unit (flows_t, sankey_mwh.png, waste_generated_mwh).
SUFFIX = {"t": "t", "m3": "m3", "MWh": "mwh"}
#: (stage, direction, flow: a column of the per-material table, label, the metric of
#: docs/metrics.md it is or is part of, `{u}` standing for the unit's suffix).
FLOWS = (
    ("supply", "in", "opening_supply", "held at the start",
     "opening waste: source, road, pool (in t: waste_available_t - waste_generated_t)"),
    ("supply", "in", "generated", "generated", "waste_generated_{u}"),
    ("supply", "out", "exchanged", "exchanged", "waste_exchanged_{u}"),
    ("supply", "out", "source_overflow", "overflowed at source", "part of waste_disposed_{u}"),
    ("supply", "out", "source_spoiled", "spoiled at source", "part of waste_spoiled_{u} and waste_disposed_{u}"),
    ("supply", "out", "rejected", "rejected", "waste_rejected_{u} (part of waste_disposed_{u})"),
    ("supply", "out", "pool_disposed", "disposed by the intermediary", "part of waste_disposed_{u}"),
    ("supply", "out", "closing_supply", "held at the end", "closing stock: source, road, pool"),
    ("buyer", "in", "exchanged", "exchanged", "waste_exchanged_{u}"),
    ("buyer", "in", "opening_buffer", "in buffers at the start", "opening stock: buffers"),
    ("buyer", "out", "used", "used", "secondary units consumed (input_from_secondary_{u} / ratio)"),
    ("buyer", "out", "buffer_overflow", "overflowed from buffers", "part of waste_disposed_{u}"),
    ("buyer", "out", "buffer_spoiled", "spoiled in buffers", "part of waste_spoiled_{u} and waste_disposed_{u}"),
    ("buyer", "out", "closing_buffer", "in buffers at the end", "closing stock: buffers"),
)
COLUMNS = ["unit", "stage", "direction", "flow", "label", "metric", "value"]
#: Closure tolerance (relative to a stage's inflow).
CLOSURE_TOL = 1e-9


def unit_flows(materials: pd.DataFrame) -> pd.DataFrame:
    """The flows of every unit in the per-material table of one run (or of a mean, see
    :func:`mean_flows`): one row per unit and entry of FLOWS (COLUMNS), in the order t, m3,
    MWh. A unit is present when one of the table's materials is in it."""
    rows = []
    for unit in (u for u in SUFFIX if u in set(materials["unit"])):
        sums = materials.loc[materials["unit"] == unit].sum(numeric_only=True)
        for stage, direction, flow, label, metric in FLOWS:
            rows.append([unit, stage, direction, flow, label, metric.format(u=SUFFIX[unit]), float(sums[flow])])
    return pd.DataFrame(rows, columns=COLUMNS)


def mean_flows(materials: pd.DataFrame, design_point: int) -> pd.DataFrame:
    """The flows of one design point of a study's materials table (materials.parquet): the
    mean over its runs of each flow of each unit; empty when the point has no runs."""
    own = materials[materials["design_point"] == design_point]
    runs = [unit_flows(g) for _, g in own.groupby("replication", sort=True)]
    if not runs:
        return pd.DataFrame(columns=COLUMNS)
    keys = ["unit", "stage", "direction", "flow", "label", "metric"]
    stacked = pd.concat(runs, ignore_index=True)
    mean = stacked.groupby(keys, sort=False)["value"].sum() / len(runs)  # a unit missing from a run: 0
    return mean.reset_index()[COLUMNS]


def closure(flows: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(unit, stage) -> |inflow - outflow| / inflow (0 for a stage with nothing in or out)."""
    out = {}
    for (unit, stage), g in flows.groupby(["unit", "stage"], sort=False):
        inflow = float(g.loc[g["direction"] == "in", "value"].sum())
        outflow = float(g.loc[g["direction"] == "out", "value"].sum())
        out[(unit, stage)] = abs(inflow - outflow) / inflow if inflow > 0 else abs(outflow)
    return out


def present_units(flows: pd.DataFrame) -> list[str]:
    """The units with waste to draw: some inflow on the supply or buyer stage."""
    inflow = flows[flows["direction"] == "in"].groupby("unit", sort=False)["value"].sum()
    return [u for u in SUFFIX if u in inflow.index and inflow[u] > 0]


def _amount(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if abs(value) >= 10 else f"{value:.3g} {unit}"


def _stage(flows: pd.DataFrame, stage: str, keep: Iterable[str]) -> dict[str, list]:
    """Names, signed values, labels, orientations and path lengths of one stage's drawn flows
    (the non-zero ones and those in `keep`): inflows
    from the left (the one held at the start from above), the main outflow (exchanged, used)
    to the right, stocks at the end up, losses down, staggered so that their labels do not
    overlap."""
    g = flows[(flows["stage"] == stage) & (flows["flow"].isin(list(keep)) | (flows["value"] > 0))]
    names, values, labels, orient, lengths = [], [], [], [], []
    down = up = 0
    for row in g.itertuples():
        sign = 1.0 if row.direction == "in" else -1.0
        if row.flow in ("generated", "exchanged", "used"):
            o, length = 0, 0.5
        elif row.flow in ("opening_supply", "opening_buffer"):
            o, length = 1, 0.4
        elif row.flow.startswith("closing"):
            o, length = 1, 0.4 + 0.35 * up
            up += 1
        else:
            o, length = -1, 0.3 + 0.35 * down
            down += 1
        names.append(row.flow)
        values.append(sign * row.value)
        labels.append(f"{row.label}\n{_amount(row.value, row.unit)}")
        orient.append(o)
        lengths.append(length)
    return {"names": names, "flows": values, "labels": labels, "orientations": orient, "pathlengths": lengths}


def draw(flows: pd.DataFrame, unit: str, title: str, path: Path) -> Path:
    """One unit's diagram: the supply stage, and the buyer stage joined to it by the exchanged
    flow (drawn only when something was exchanged or held in buffers)."""
    own = flows[flows["unit"] == unit]
    values = own.set_index(["stage", "flow"])["value"]
    inflow = own.loc[own["direction"] == "in"].groupby("stage")["value"].sum()
    total = max(float(inflow.max()), 1e-300)
    fig, ax = plt.subplots(figsize=(11, 7))
    ax.axis("off")
    sankey = Sankey(ax=ax, scale=1.0 / total, unit=None, format="%.0f", gap=0.35, head_angle=120,
                    offset=0.12, margin=0.3, tolerance=CLOSURE_TOL * 10)
    exchanged = float(values[("supply", "exchanged")])
    names: list[str] = []
    if inflow.get("supply", 0.0) > 0:
        supply = _stage(own, "supply", ["exchanged"] if exchanged > 0 else [])
        names = supply.pop("names")
        sankey.add(**supply, facecolor="#c7d9e8", edgecolor="#4a6f8a",
                   label="supply: at source, on the road, in the pool")
    if inflow.get("buyer", 0.0) > 0:
        buyer = _stage(own, "buyer", ["exchanged"] if "exchanged" in names else [])
        joined = {}
        if "exchanged" in names:  # joined to the supply stage's exchanged flow, labelled there
            joined = {"prior": 0, "connect": (names.index("exchanged"), buyer["names"].index("exchanged"))}
            buyer["labels"][buyer["names"].index("exchanged")] = None
        buyer.pop("names")
        sankey.add(**buyer, **joined, facecolor="#d5e8c7", edgecolor="#5b8a4a", label="buyers' buffers")
    for diagram in sankey.finish():
        for text in diagram.texts:
            text.set_fontsize(8)
    ax.set_aspect("equal", adjustable="box")  # Sankey's "datalim" warns against its own fixed limits
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_run(materials: pd.DataFrame, out: Path, title: str) -> list[Path]:
    """`simulate --out`: flows.csv (every unit's flows, with a unit column) and one
    sankey_<unit>.png per unit with waste to draw (SUFFIX names the file: sankey_t.png,
    sankey_m3.png, sankey_mwh.png). Returns the images' paths."""
    flows = unit_flows(materials)
    flows.to_csv(out / "flows.csv", index=False)
    return [draw(flows, u, f"{title}: where every {u} went", out / f"sankey_{SUFFIX[u]}.png")
            for u in present_units(flows)]


def _reading(flows: pd.DataFrame, unit: str) -> str:
    """One unit's diagram in words, from its numbers."""
    v = flows[flows["unit"] == unit].set_index(["stage", "flow"])["value"]
    supply_in = float(v[("supply", "opening_supply")] + v[("supply", "generated")])
    lost = sum(float(v[(stage, f)]) for stage, _, f, *_ in FLOWS
               if f in ("source_overflow", "source_spoiled", "rejected", "pool_disposed", "buffer_overflow",
                        "buffer_spoiled"))
    share = f" ({v[('supply', 'exchanged')] / supply_in:.0%} of what the suppliers had)" if supply_in > 0 else ""
    worst = max((r for k, r in closure(flows).items() if k[0] == unit), default=0.0)
    return (f"{_amount(float(v[('supply', 'generated')]), unit)} generated and "
            f"{_amount(float(v[('supply', 'opening_supply')]), unit)} held at the start; "
            f"{_amount(float(v[('supply', 'exchanged')]), unit)} exchanged{share}, "
            f"{_amount(float(v[('buyer', 'used')]), unit)} used by buyers, {_amount(lost, unit)} disposed "
            f"(overflow, spoilage, rejection: `waste_disposed_{SUFFIX[unit]}`), "
            f"{_amount(float(v[('supply', 'closing_supply')] + v[('buyer', 'closing_buffer')]), unit)} held at the "
            f"end. Inflows equal outflows on each stage to {worst:.1e} (relative).")


def section_flows(data) -> str:  # data: analysis.report.ReportInput
    """The report's "Where every tonne went" section: the reference point's (else the first
    point's) mean flows per unit, drawn to figures/sankey_<unit>.png, and every unit's mean
    flows in material_flows.csv."""
    from sim.experiment.store import ResultStore, atomic_write

    materials = ResultStore(data.root).read_table("materials")
    lines = ["## Where every tonne went", ""]
    if materials is None or materials.empty:
        return "\n".join([*lines, "This study stored no per-material tables (it was run before studies kept "
                          "them); run it again into a new folder to see its material flows.", ""])
    ref = data.point_to_show(materials["design_point"])
    if ref is None:
        return ""
    named = "the reference point" if ref == data.reference else "design point"
    runs = int(materials.loc[materials["design_point"] == ref, "replication"].nunique())
    flows = mean_flows(materials, ref)
    atomic_write(data.root / "material_flows.csv", lambda tmp: flows.to_csv(tmp, index=False))
    lines += [f"Where the waste of {named} #{ref} went: the mean of each flow over its {runs} runs, one diagram "
              "per unit (t, m3 and MWh are never added). Supply stage: held at the start + generated = "
              "exchanged + disposed at source or by the intermediary + held at the end; buyer stage: exchanged "
              "+ held in buffers at the start = used + disposed from buffers + held at the end "
              "(`material_flows.csv`).", ""]
    for unit in present_units(flows):
        path = draw(flows, unit, f"design point #{ref}, mean of {runs} runs: where every {unit} went",
                    data.root / "figures" / f"sankey_{SUFFIX[unit]}.png")
        lines += [f"![sankey_{SUFFIX[unit]}](figures/{path.name})", "", _reading(flows, unit), ""]
    return "\n".join(lines)
