"""Units per material in the run's results: which columns of the flow tables hold which unit,
the per-unit run metrics and the per-material table (DESIGN.md sections 1 and 3a).

Every flow of a material is in its unit (`[[materials]] unit`: t, m3 or MWh). The flow tables
have one column per stream, input, contract and one for the intermediary's pool, so a column's
unit is known:

- a stream's columns: its material's unit;
- an input's demand side (required, from secondary, from virgin, emergency, unmet): the input
  material's unit (secondary use counts the virgin units it replaces, via the ratio);
- an input's secondary side (accepted deliveries, buffer overflow and spoilage): its
  substitutes' unit (validation makes every substitute of an input share one unit);
- a contract's columns: its material's unit;
- the pool's columns: the unit of what is routed through it (validation makes it one unit).

Tonnage metrics (names ending `_t`) add up the columns in t only; `_m3` and `_mwh` metrics add
up the others. The per-material table gives every flow of each material in its unit. An input
whose substitutes are several materials keeps one buffer column, so its buffer overflow and
spoilage (and the pool's disposal when it pools several materials) go to a row named by the
materials joined with "+" (`ash+slag`), in their common unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.stocks import Stocks, take_stocks

if TYPE_CHECKING:
    from sim.day.world import World

#: The units a material can be in; t is the one mass unit.
UNITS = ("t", "m3", "MWh")
#: Metric-name suffix of each unit other than t (`waste_exchanged_m3`, `waste_exchanged_mwh`).
SUFFIX = {"m3": "m3", "MWh": "mwh"}
#: The per-unit run metrics, by their name without the unit suffix.
UNIT_METRICS = (
    "waste_generated", "waste_exchanged", "waste_disposed", "waste_spoiled", "waste_rejected",
    "input_required", "input_from_secondary", "input_from_virgin", "input_from_emergency", "input_unmet",
    "contract_shortfall", "supplier_shortfall",
)  # fmt: skip
#: The columns of the per-material table after `material` and `unit`.
TABLE_FLOWS = (
    "generated", "exchanged", "disposed", "spoiled", "rejected",
    "required", "from_secondary", "from_virgin", "from_emergency", "unmet",
)  # fmt: skip
#: The per-material table's columns after TABLE_FLOWS: where the waste went, split so that it
#: closes (opening_supply + generated = exchanged + source_overflow + source_spoiled + rejected
#: + pool_disposed + closing_supply; exchanged + opening_buffer = used + buffer_overflow +
#: buffer_spoiled + closing_buffer), see :func:`balance` and analysis/sankey.py.
BALANCE_FLOWS = (
    "opening_supply", "source_overflow", "source_spoiled", "pool_disposed", "closing_supply",
    "opening_buffer", "used", "buffer_overflow", "buffer_spoiled", "closing_buffer",
)  # fmt: skip


@dataclass(frozen=True)
class Columns:
    """The flow-table columns that hold one unit or one material (boolean masks)."""

    streams: np.ndarray
    inputs: np.ndarray  # demand side, in the input material's unit
    buffers: np.ndarray  # secondary side, in the substitutes' unit
    contracts: np.ndarray
    hub: bool


@dataclass(frozen=True)
class Keys:
    """What each column holds: a material id, or several joined with '+' (see the module)."""

    streams: list[str]
    inputs: list[str]
    buffers: list[str | None]  # None: an input without substitutes
    contracts: list[str]
    hub: str | None  # None: nothing routed through a pool
    unit: dict[str, str]  # key -> unit


def column_keys(model: World) -> Keys:
    """The material (or materials) of every column of the run's flow tables."""
    unit = {m.id: m.unit for m in model.spec.materials}

    def joined(materials: list[str]) -> str | None:
        names = list(dict.fromkeys(materials))
        if not names:
            return None
        key = "+".join(names)
        unit.setdefault(key, unit[names[0]])
        return key

    routed = sorted({c.terms.material for c in model.contracts if c.routed})
    return Keys(
        streams=[s.spec.material for s in model.stream_states],
        inputs=[i.spec.material for i in model.input_states],
        buffers=[joined([s.material for s in i.substitutes]) for i in model.input_states],
        contracts=[c.terms.material for c in model.contracts],
        hub=joined(routed) if model.hub is not None else None,
        unit=unit,
    )


def select(keys: Keys, wanted: set[str]) -> Columns:
    """The columns whose key is in `wanted`."""

    def mask(items: list) -> np.ndarray:
        return np.array([k in wanted for k in items], dtype=bool)

    return Columns(mask(keys.streams), mask(keys.inputs), mask(keys.buffers), mask(keys.contracts),
                   keys.hub in wanted)


def unit_columns(keys: Keys, unit: str) -> Columns:
    """The columns in `unit`."""
    return select(keys, {k for k, u in keys.unit.items() if u == unit})


def flows(model: World, w: int, cols: Columns) -> dict[str, float]:
    """Every flow of the selected columns summed from day `w` on (names of UNIT_METRICS and
    TABLE_FLOWS: `exchanged` is what buyers accepted, directly or from the pool)."""
    sf, inf, cf, hf = model.streams_flow, model.inputs_flow, model.contracts_flow, model.hub_flow

    def total(table: dict, name: str, mask: np.ndarray) -> float:
        return float(table[name][w:, mask].sum())

    hub = (lambda name: float(hf[name][w:, 0].sum())) if cols.hub else (lambda name: 0.0)
    routed = np.array([c.routed for c in model.contracts], dtype=bool)
    spoiled = total(sf, "spoiled_t", cols.streams) + total(inf, "buffer_spoiled_t", cols.buffers)
    rejected = total(sf, "rejected_t", cols.streams) + hub("rejected_t")
    disposed = (
        spoiled + rejected + total(sf, "overflow_t", cols.streams)
        + total(inf, "buffer_overflow_t", cols.buffers) + hub("spoiled_t") + hub("overflow_t")
    )  # fmt: skip
    direct, via = cols.contracts & ~routed, cols.contracts & routed
    emergency = total(inf, "from_emergency_t", cols.inputs)
    return {
        "generated": total(sf, "generated_t", cols.streams),
        "exchanged": total(cf, "accepted_t", direct) + total(cf, "out_accepted_t", via),
        "disposed": disposed,
        "spoiled": spoiled,
        "rejected": rejected,
        "required": total(inf, "required_t", cols.inputs),
        "from_secondary": total(inf, "from_secondary_t", cols.inputs),
        "from_virgin": total(inf, "from_virgin_t", cols.inputs),
        "from_emergency": emergency,
        "unmet": total(inf, "unmet_t", cols.inputs),
        "contract_shortfall": total(cf, "short_t", direct) + total(cf, "out_short_t", via),
        "supplier_shortfall": total(cf, "short_t", cols.contracts),
    }


def as_metrics(f: dict[str, float], suffix: str) -> dict[str, float]:
    """`flows` under the run-metric names with `suffix` (`input_from_virgin` includes emergency
    purchases, as `input_from_virgin_t` does)."""
    names = {
        "waste_generated": f["generated"], "waste_exchanged": f["exchanged"], "waste_disposed": f["disposed"],
        "waste_spoiled": f["spoiled"], "waste_rejected": f["rejected"], "input_required": f["required"],
        "input_from_secondary": f["from_secondary"], "input_from_virgin": f["from_virgin"] + f["from_emergency"],
        "input_from_emergency": f["from_emergency"], "input_unmet": f["unmet"],
        "contract_shortfall": f["contract_shortfall"], "supplier_shortfall": f["supplier_shortfall"],
    }  # fmt: skip
    return {f"{name}_{suffix}": float(v) for name, v in names.items()}


def unit_metrics(model: World, w: int, keys: Keys | None = None) -> dict[str, float]:
    """The `_m3` and `_mwh` run metrics: always present, 0.0 when no material is in that unit."""
    keys = keys or column_keys(model)
    out: dict[str, float] = {}
    for unit, suffix in SUFFIX.items():
        out.update(as_metrics(flows(model, w, unit_columns(keys, unit)), suffix))
    return out


def material_table(model: World, w: int, keys: Keys | None = None) -> pd.DataFrame:
    """One row per material (then per group of materials sharing a store, see the module),
    with its unit and every flow of TABLE_FLOWS in that unit, from day `w` on."""
    keys = keys or column_keys(model)
    closing = take_stocks(model)
    rows = []
    for key, unit in keys.unit.items():
        cols = select(keys, {key})
        f = flows(model, w, cols)
        b = balance(model, w, cols, closing)
        rows.append({"material": key, "unit": unit, **{name: f[name] for name in TABLE_FLOWS},
                     **{name: b[name] for name in BALANCE_FLOWS}})
    return pd.DataFrame(rows, columns=["material", "unit", *TABLE_FLOWS, *BALANCE_FLOWS])


def _waste_held(model: World, s: Stocks, cols: Columns) -> tuple[float, float]:
    """Waste of the selected columns in `s`: on the supply side (source storage, on the road
    on either leg, the intermediary's pool) and in buyers' secondary buffers."""
    road = s.in_transit[cols.contracts].sum() + s.out_in_transit[cols.contracts].sum()
    pool = sum(s.pool.values()) if cols.hub else 0.0
    sub_input = np.array([i.index for i in model.input_states for _ in i.substitutes], dtype=np.int64)
    buffer = s.buffer[cols.buffers[sub_input]].sum() if len(sub_input) else 0.0
    return float(s.source[cols.streams].sum() + road + pool), float(buffer)


def balance(model: World, w: int, cols: Columns, closing: Stocks | None = None) -> dict[str, float]:
    """Where the waste of the selected columns went from day `w` on, the BALANCE_FLOWS: the
    parts of `waste_disposed` and `waste_spoiled` by place (at source, in the intermediary's
    pool, in buyers' buffers), the secondary units buyers used (`secondary_used_t`, in the
    substitutes' unit), and the waste held at the start of day `w` (sim/stocks.py) and at the
    end of the run. With `generated`, `exchanged` and `rejected` of :func:`flows` both sides
    close (see BALANCE_FLOWS)."""
    sf, inf, hf = model.streams_flow, model.inputs_flow, model.hub_flow
    closing = closing or take_stocks(model)
    opening = model.opening_stocks or closing  # a run that stopped before `w`: nothing moved

    def total(table: dict, name: str, mask: np.ndarray) -> float:
        return float(table[name][w:, mask].sum())

    pool = float(hf["spoiled_t"][w:, 0].sum() + hf["overflow_t"][w:, 0].sum()) if cols.hub else 0.0
    (open_supply, open_buffer), (close_supply, close_buffer) = (
        _waste_held(model, opening, cols), _waste_held(model, closing, cols))
    return {
        "opening_supply": open_supply,
        "source_overflow": total(sf, "overflow_t", cols.streams),
        "source_spoiled": total(sf, "spoiled_t", cols.streams),
        "pool_disposed": pool,
        "closing_supply": close_supply,
        "opening_buffer": open_buffer,
        "used": total(inf, "secondary_used_t", cols.buffers),
        "buffer_overflow": total(inf, "buffer_overflow_t", cols.buffers),
        "buffer_spoiled": total(inf, "buffer_spoiled_t", cols.buffers),
        "closing_buffer": close_buffer,
    }


def opening_waste(model: World, cols: Columns) -> float:
    """Waste of the selected columns that already existed when the window opened: in source
    storage, on the road to a buyer or the pool, and in the intermediary's pool (the model's
    snapshot at the start of day `warmup`, sim/stocks.py; none when the run stopped before).
    With what is generated in the window, it is all the waste the window can exchange, so
    `diversion_rate` stays a share."""
    s = model.opening_stocks
    if s is None:
        return 0.0
    road = s.in_transit[cols.contracts].sum() + s.out_in_transit[cols.contracts].sum()
    pool = sum(s.pool.values()) if cols.hub else 0.0
    return float(s.source[cols.streams].sum() + road + pool)
