"""Run metrics, computed from the ledgers after a run (DESIGN.md section 8).

Every number here is a sum over the material flow tables or the money ledger of the same run,
over the days after the warm-up. Names are a public contract: add, never rename.

Benefits (DESIGN.md section 3a) compare two simulated worlds: the run, and its twin without
symbiosis (sim/twin.py: the same scenario, seed, horizon and engine with every contract,
formation and the intermediary off; the agents' other decisions, such as closing a plant that
lost a critical input, are taken in both). In each world a facility's cost on a side is what
it paid less what it received on that side (every ledger category, by CATEGORY_SIDE or its
role in the contract, as :func:`sum_money` attributes it) less the change in value of the
side's stocks from the start of day `warmup` to the end of the run, valued by one rule in both
worlds (sim/stocks.py). `supplier_benefit` = twin supply cost - supply cost, `buyer_benefit`
the same on the buy side, `net_benefit` their sum (for the network, plus the intermediary's
profit, its pool's value change included). With every contract off the run is its own twin
and every benefit is exactly 0 (tests/test_counterfactual.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.contracts import Status
from sim.disruptions import (
    SHORTFALL_TOL,
    Disruptions,
    disruption_metrics,
    episode_table,
    find_disruptions,
    input_table,
    runs_of_true,
)
from sim.expectations import planned_secondary_share
from sim.ledger import CATEGORY_SIDE, EXTERNAL
from sim.stocks import take_stocks, value_stocks
from sim.units import (
    SUFFIX,
    Keys,
    as_metrics,
    column_keys,
    flows,
    material_table,
    opening_waste,
    unit_columns,
    unit_metrics,
)

if TYPE_CHECKING:
    from sim.day.world import World

# SHORTFALL_TOL and runs_of_true live in sim/disruptions.py; still importable from here.
__all__ = ["SHORTFALL_TOL", "RunResult", "RunTables", "compute", "daily_series", "runs_of_true"]

@dataclass(frozen=True)
class RunTables:
    """Metrics plus the per-facility, per-contract, per-material and per-input breakdowns, and
    the disruption episodes."""

    metrics: dict[str, float]
    facilities: pd.DataFrame
    contracts: pd.DataFrame
    materials: pd.DataFrame | None = None
    inputs: pd.DataFrame | None = None
    episodes: pd.DataFrame | None = None


@dataclass(frozen=True)
class RunResult:
    """What one run produces (:func:`sim.run.run_once`, which exports it).

    - ``metrics``: the run metrics of DESIGN.md section 8 (name -> float);
    - ``facilities``: one row per facility (costs, benefit, flows);
    - ``contracts``: one row per contract (delivered, shortfall, penalties...);
    - ``series``: the daily time series (only when asked for);
    - ``outages``: every outage (facility, start, end, cause: failure, maintenance, scripted,
      closure or ``common:<id>`` for a common cause; only with the series);
    - ``materials``: one row per material, its unit and every flow in that unit
      (:func:`sim.units.material_table`);
    - ``inputs``: one row per input, its flows over the window and its disruption counts
      (:func:`sim.disruptions.input_table`; columns :data:`sim.disruptions.INPUT_COLUMNS`);
    - ``episodes``: one row per disruption episode of an input (facility, material,
      start_day, length_days, censored; :func:`sim.disruptions.episode_table`).
    """

    metrics: dict[str, float]
    facilities: pd.DataFrame
    contracts: pd.DataFrame
    series: pd.DataFrame | None = None
    outages: pd.DataFrame | None = None
    materials: pd.DataFrame | None = None
    inputs: pd.DataFrame | None = None
    episodes: pd.DataFrame | None = None


def _sum(arr: np.ndarray, w: int) -> float:
    return float(arr[w:].sum())


@dataclass
class MoneySums:
    """The money ledger summed over the window in one pass (pandas is too slow for the many
    small groupings a run needs)."""

    party: dict[tuple[str, str, str], float]  # (facility, side, category) -> cost to it
    contract: dict[tuple[int, str], float]  # (contract, category) -> amount
    category: dict[str, float]  # category -> amount


def sum_money(model: World, w: int) -> MoneySums:
    """Cost to each facility by side and category, and totals by contract and category."""
    party: dict[tuple[str, str, str], float] = defaultdict(float)
    contract: dict[tuple[int, str], float] = defaultdict(float)
    category: dict[str, float] = defaultdict(float)
    roles = model.contract_roles
    # First the entries by (payer, payee, category, contract): a run has thousands of
    # entries but few such keys, and the attribution below costs per key.
    flows = model.money.totals
    if w != model.money.from_day:
        flows = defaultdict(float)
        for day, payer, payee, amount, cat, k in model.money.rows:
            if day >= w:
                flows[(payer, payee, cat, k)] += amount
    for (payer, payee, cat, k), amount in flows.items():
        category[cat] += amount
        if k >= 0:
            contract[(k, cat)] += amount
        for who, signed in ((payer, amount), (payee, -amount)):
            if who in EXTERNAL:
                continue
            side = roles[k].get(who, "buy") if k >= 0 else CATEGORY_SIDE[cat]
            party[(who, side, cat)] += signed
    return MoneySums(dict(party), dict(contract), dict(category))


@dataclass(frozen=True)
class WorldCosts:
    """Each facility's cost over the window in one world (arrays in facility order), by side:
    the supply side is its source storage and every entry it books as a supplier (disposal,
    rejection disposal, haulage, holding, penalties owed and received, the price received...),
    the buy side is its inputs (virgin, emergency, lost margin, processing, buffer disposal,
    the price paid...). `*_paid` is what it paid less what it received (sum_money),
    `*_stock_change` the closing less the opening value of its stocks (sim/stocks.py)."""

    supply_paid: np.ndarray
    buy_paid: np.ndarray
    supply_stock_change: np.ndarray
    buy_stock_change: np.ndarray
    hub_stock_change: float

    @property
    def supply_cost(self) -> np.ndarray:
        """Supply-side cost: paid less received, less the rise in value of its stocks."""
        return self.supply_paid - self.supply_stock_change

    @property
    def buy_cost(self) -> np.ndarray:
        """Buy-side cost: paid less received, less the rise in value of its stocks."""
        return self.buy_paid - self.buy_stock_change


def world_costs(model: World, sums: MoneySums) -> WorldCosts:
    """The costs of one world: the ledger's sums and the stocks at the start of day `warmup`
    and at the end of the last simulated day, each at the prices of its day."""
    last = max(model.next_day - 1, 0)
    closing = value_stocks(model, take_stocks(model), last)
    opening_stocks = model.opening_stocks
    opening = closing if opening_stocks is None else value_stocks(model, opening_stocks, min(model.warmup, last))
    n = len(model.facilities)
    paid = {"supply": np.zeros(n), "buy": np.zeros(n)}
    idx = model.facility_index
    for (who, side, _), amount in sums.party.items():
        if who in idx:
            paid[side][idx[who]] += amount
    return WorldCosts(
        supply_paid=paid["supply"],
        buy_paid=paid["buy"],
        supply_stock_change=closing.supply - opening.supply,
        buy_stock_change=closing.buy - opening.buy,
        hub_stock_change=closing.hub - opening.hub,
    )


def _facility_table(
    model: World, w: int, sums: MoneySums, mine: WorldCosts, cf: WorldCosts, keys: Keys
) -> pd.DataFrame:
    """One row per facility; its flow columns (`_t`) cover materials in t only. Costs are over
    the window after the warm-up (DESIGN.md 3a):

    - `supply_cost`, `buy_cost`: paid - received on that side, less the side's
      `*_stock_value_change` (closing - opening value of its stocks, sim/stocks.py);
    - `counterfactual_cost`: the same total cost (supply + buy) in the world without
      symbiosis, the twin run (sim/twin.py); `counterfactual_supply_cost`,
      `counterfactual_buy_cost` and `counterfactual_stock_value_change` break it down;
    - `supplier_benefit` = counterfactual supply cost - `supply_cost`; `buyer_benefit` the
      same on the buy side; `net_benefit` their sum;
    - `stock_value_change` = supply + buy side change; `cost_<category>` what it paid less
      what it received per ledger category (both sides; the stock value is not in them).
    """
    sf, inf = model.streams_flow, model.inputs_flow
    supply_cost, buy_cost = mine.supply_cost, mine.buy_cost
    cf_supply, cf_buy = cf.supply_cost, cf.buy_cost
    by_cat: dict[str, dict[str, float]] = defaultdict(dict)
    for (who, _, cat), amount in sorted(sums.party.items()):
        by_cat[who][f"cost_{cat}"] = by_cat[who].get(f"cost_{cat}", 0.0) + amount
    rows = []

    def mass(item: Any) -> bool:
        return keys.unit[item.spec.material] == "t"

    for k, fac in enumerate(model.facilities):
        supplier_benefit = float(cf_supply[k] - supply_cost[k])
        buyer_benefit = float(cf_buy[k] - buy_cost[k])
        row = {
            "facility": fac.fid,
            "availability": float(model.up_history[w:, k].mean()),
            "operating_level": float(model.operating_history[w:, k].mean()),
            "closed": bool(fac.up.closed),
            "waste_generated_t": sum(_sum(sf["generated_t"][:, s.index], w) for s in fac.streams if mass(s)),
            "input_required_t": sum(_sum(inf["required_t"][:, i.index], w) for i in fac.inputs if mass(i)),
            "input_unmet_t": sum(_sum(inf["unmet_t"][:, i.index], w) for i in fac.inputs if mass(i)),
            "counterfactual_cost": float(cf_supply[k] + cf_buy[k]),
            "supply_cost": float(supply_cost[k]),
            "buy_cost": float(buy_cost[k]),
            "supplier_benefit": supplier_benefit,
            "buyer_benefit": buyer_benefit,
            "net_benefit": supplier_benefit + buyer_benefit,
            "supply_stock_value_change": float(mine.supply_stock_change[k]),
            "buy_stock_value_change": float(mine.buy_stock_change[k]),
            "stock_value_change": float(mine.supply_stock_change[k] + mine.buy_stock_change[k]),
            "counterfactual_supply_cost": float(cf_supply[k]),
            "counterfactual_buy_cost": float(cf_buy[k]),
            "counterfactual_stock_value_change": float(cf.supply_stock_change[k] + cf.buy_stock_change[k]),
        }
        rows.append({**row, **by_cat.get(fac.fid, {})})
    return pd.DataFrame(rows)


def _contract_table(model: World, w: int, sums: MoneySums) -> pd.DataFrame:
    """One row per contract (contracts.csv). `excused_t`: the tonnes of its shortfall its terms
    excuse (force majeure, announced maintenance, named causes; since issue 21 nothing without
    such a term). `end_reason`: why it ended, "" while not ended; "notice" (a scripted notice),
    "exit_for_cause" (a party left for the other's breach: no fee), "exit_without_cause" (a
    decision inside a term or with none: the fee when inside a term), "term_end" (a decision
    declining a renewal as a term ended), "closure" (a facility closed). `ended_day` and
    `end_reason` are of its last end; `contracts_ended` (run metric) counts every end."""
    cf = model.contracts_flow
    by_cat = sums.contract
    rows = []
    for c in model.contracts:
        k = c.index

        def paid(cat: str, k: int = k) -> float:
            return float(by_cat.get((k, cat), 0.0))

        rows.append(
            {
                "contract": c.terms.id,
                "supplier": c.terms.supplier,
                "buyer": c.terms.buyer,
                "material": c.terms.material,
                "role": c.terms.role,
                "mode": c.terms.mode,
                "distance_km": c.km,
                "delivery_lag_days": c.lag_days,
                "due_t": _sum(cf["due_t"][:, k], w),
                "shipped_t": _sum(cf["shipped_t"][:, k], w),
                "accepted_t": _sum(cf["accepted_t"][:, k], w),
                "rejected_t": _sum(cf["rejected_t"][:, k], w),
                "short_t": _sum(cf["short_t"][:, k], w),
                "via_intermediary": c.routed,
                "formed_in_run": c.terms.id.startswith("formed-") and not c.latent,
                "trust": c.trust,
                "out_shipped_t": _sum(cf["out_shipped_t"][:, k], w),
                "out_accepted_t": _sum(cf["out_accepted_t"][:, k], w),
                "out_short_t": _sum(cf["out_short_t"][:, k], w),
                "excused_t": _sum(cf["excused_t"][:, k], w),
                "penalties": paid("penalty"),
                "take_or_pay": paid("take_or_pay"),
                "standby_fees": paid("standby_fee"),
                "termination_fees": paid("termination_fee"),
                "price_paid": paid("price"),
                "transport_cost": paid("transport"),
                "days_in_force": _sum(cf["in_force"][:, k], w),
                "days_called": _sum(cf["called"][:, k], w),
                "status": c.status.value,
                "ended_day": -1 if c.ended_day is None else c.ended_day,
                "end_reason": c.end_reason if c.status is Status.ENDED and c.ended_day is not None else "",
            }
        )
    return pd.DataFrame(rows)


#: What a renegotiation changes (the `what` of an adaptation record).
RENEGOTIATED_TERMS = ("volume_t_per_day", "price_per_t", "penalty_per_t_short")


def decision_metrics(model: World) -> dict[str, float]:
    """What the agents decided (zeros when the network is frozen)."""
    d = model.decisions
    live = [c for c in model.contracts if (not c.latent and c.ended_day is None) or c.status is Status.ACTIVE]
    return {
        "contracts_formed": float(len(d.formed)) if d else 0.0,
        "contracts_refused": float(len(d.refused)) if d else 0.0,
        "contract_exits": float(len(d.exits)) if d else 0.0,
        "adaptations": float(len(d.adaptations)) if d else 0.0,
        "renegotiations": float(sum(a[2] in RENEGOTIATED_TERMS for a in d.adaptations)) if d else 0.0,
        "cascade_closures": float(len(d.cascade)) if d else 0.0,
        "mean_trust": float(np.mean([c.trust for c in live])) if d and live else 1.0,
    }


def link_metrics(model: World, w: int) -> dict[str, float]:
    """How stable the links are, after the warm-up. A link is a contract of the run: listed,
    formed by rule, or a candidate exchange the agents may form.

    - `link_share_in_force`: link-days in force / (links x days);
    - `exits_per_link_year`: notices given by a party (sim/behaviour.py) per 365 link-days in
      force (0 without any);
    - their parts, so that a study can pool them as ratios of sums: `link_days_in_force`,
      `link_days_possible` (links x days) and `link_exits`.
    """
    in_force = model.contracts_flow["in_force"][w:]
    link_days = float(in_force.sum())
    cells = in_force.size
    d = model.decisions
    exits = sum(day >= w for day, *_ in d.exits) if d else 0
    return {
        "link_share_in_force": link_days / cells if cells else 0.0,
        "exits_per_link_year": 365.0 * exits / link_days if link_days > 0 else 0.0,
        "link_days_in_force": link_days,
        "link_days_possible": float(cells),
        "link_exits": float(exits),
    }


def compute(model: World, twin: World) -> RunTables:
    """All run metrics and breakdowns of a finished run, against its twin without symbiosis
    (sim/twin.py; the model itself when it is its own twin)."""
    w = model.warmup
    sums = sum_money(model, w)
    keys = column_keys(model)
    mine = world_costs(model, sums)
    cf = mine if twin is model else world_costs(twin, sum_money(twin, w))
    facilities = _facility_table(model, w, sums, mine, cf, keys)
    contracts = _contract_table(model, w, sums)
    found = find_disruptions(model, w)
    inf = model.inputs_flow
    # t CO2e over every material, whatever its unit: co2e_t_per_t is per unit of the virgin
    # material replaced (a MWh of boiler heat avoids its own tonnes of CO2e).
    co2 = {m.id: m.co2e_t_per_t for m in model.spec.materials}
    co2e = sum(
        _sum(inf["from_secondary_t"][:, i.index], w) * co2[i.spec.material] for i in model.input_states
    )
    metrics = {
        **_material_metrics(model, w, keys, found),
        **_money_metrics(model, sums, facilities, keys, mine.hub_stock_change),
        "contracts_ended": float(sum(c.ends for c in model.contracts)),  # end events: a re-formed link counts again
        **decision_metrics(model),
        **link_metrics(model, w),
        "co2e_avoided_t": float(co2e),
        "mean_availability": float(model.up_history[w:].mean()) if model.facilities else 1.0,
    }
    return RunTables(
        metrics, facilities, contracts, material_table(model, w, keys),
        inputs=input_table(model, found, keys), episodes=episode_table(model, found),
    )  # fmt: skip


def _material_metrics(model: World, w: int, keys: Keys, found: Disruptions) -> dict[str, float]:
    """Inputs, disruptions, waste and shortfalls, in days and in t: the `_t` metrics and the
    rates `fill_rate`, `secondary_fill_rate` and `diversion_rate` (with their parts, so that a
    study can pool them as ratios of sums) cover materials in t only (an m3 or a MWh is never
    added to a tonne; those have their `_m3` and `_mwh` metrics, see sim/units.py).
    Disruptions (sim/disruptions.py) count every input, whatever its unit."""
    inf = model.inputs_flow
    mass = unit_columns(keys, "t")
    f = flows(model, w, mass)
    required, unmet, generated = f["required"], f["unmet"], f["generated"]
    planned = inf["required_t"] * planned_secondary_share(model)  # secondary_fill_rate's yardstick
    full = _sum(planned[:, mass.inputs], w)
    # Secondary use beyond the plan (an opening buffer) is not credited: the rate stays a
    # share in [0, 1].
    secondary_vs_full = _sum(np.minimum(inf["from_secondary_t"], planned)[:, mass.inputs], w)
    exchanged = _sum(inf["accepted_t"][:, mass.buffers], w)  # what buyers took in, directly or from the pool
    demand = np.zeros((model.horizon, len(model.facilities)))  # the day's, under demand patterns
    for k, fac in enumerate(model.facilities):
        for i in (i for i in fac.inputs if keys.unit[i.spec.material] == "t"):
            demand[:, k] += i.spec.demand_t_per_day if i.demand_path is None else np.asarray(i.demand_path)
    loss = ((model.up_history - model.operating_history)[w:] * demand[w:]).sum()
    available = generated + opening_waste(model, mass)  # all the waste the window can exchange
    return {
        **as_metrics(f, "t"),
        "fill_rate": 1.0 - unmet / required if required > 0 else 1.0,
        "secondary_fill_rate": secondary_vs_full / full if full > 0 else 1.0,  # planned_secondary_share
        "secondary_within_plan_t": secondary_vs_full,
        "secondary_planned_t": full,
        **disruption_metrics(model, found),
        "production_loss_t": float(loss),
        "waste_exchanged_t": exchanged,
        "diversion_rate": exchanged / available if available > 0 else 0.0,
        "waste_available_t": float(available),
        **unit_metrics(model, w, keys),
    }


def _money_metrics(
    model: World, sums: MoneySums, facilities: pd.DataFrame, keys: Keys, pool_change: float
) -> dict[str, float]:
    """Money by category, road haulage in t-km (materials in t only; pipes move no truck t-km),
    and each side's benefit. The intermediary has no twin: its profit is what it received less
    what it paid, plus the change in value of its pool (`pool_change`, sim/stocks.py)."""
    w = model.warmup
    cf = model.contracts_flow
    ext = sums.category
    shipped_km = sum(
        _sum(cf["shipped_t"][:, c.index], w) * c.km + _sum(cf["out_shipped_t"][:, c.index], w) * c.km_out
        for c in model.contracts
        if c.terms.mode == "road" and keys.unit[c.terms.material] == "t"
    ) + 0.0  # a float also when no contract is by road
    supplier_benefit = float(facilities["supplier_benefit"].sum()) if len(facilities) else 0.0
    buyer_benefit = float(facilities["buyer_benefit"].sum()) if len(facilities) else 0.0
    hub = model.hub
    intermediary_profit = (
        -float(sum(v for (who, _, _), v in sums.party.items() if hub is not None and who == hub.hid)) + pool_change
    )

    def cat(name: str) -> float:
        return float(ext.get(name, 0.0))

    return {
        "penalties_paid": cat("penalty"),
        "take_or_pay_paid": cat("take_or_pay"),
        "standby_fees_paid": cat("standby_fee"),
        "transport_cost": cat("transport"),
        "tkm": shipped_km,
        "virgin_cost": cat("virgin"),
        "emergency_cost": cat("emergency"),
        "lost_margin": cat("lost_margin"),
        "disposal_cost": cat("disposal") + cat("buffer_disposal") + cat("rejection_disposal"),
        # source storage and the intermediary's pool ("holding"), buffers, virgin stockpiles
        "holding_cost": cat("holding") + cat("buffer_holding") + cat("stockpile_holding"),
        "net_benefit": supplier_benefit + buyer_benefit + intermediary_profit,
        "supplier_benefit": supplier_benefit,
        "buyer_benefit": buyer_benefit,
        "intermediary_profit": intermediary_profit,
    }


def daily_series(model: World) -> pd.DataFrame:
    """The daily time series of a run, one row per day, wide columns named `what:item` (each in
    its material's unit), and network totals per unit (`disposed_t`, `unmet_t`,
    `secondary_shortfall_t` over materials in t; the same ending `_m3` and `_mwh`)."""
    sf, inf = model.streams_flow, model.inputs_flow
    cols: dict[str, np.ndarray] = {"day": np.arange(model.horizon)}
    for k, f in enumerate(model.facilities):
        cols[f"up:{f.fid}"] = model.up_history[:, k]
        cols[f"operating:{f.fid}"] = model.operating_history[:, k]
    for s in model.stream_states:
        name = f"{s.owner}/{s.spec.material}"
        cols[f"generated_t:{name}"] = sf["generated_t"][:, s.index]
        cols[f"source_stock_t:{name}"] = sf["stock_t"][:, s.index]
    for f in model.facilities:
        for i in f.inputs:
            name = f"{f.fid}/{i.spec.material}"
            cols[f"buffer_t:{name}"] = inf["buffer_t"][:, i.index]
            cols[f"buffer_cap_t:{name}"] = np.full(model.horizon, i.buffer_cap)
            cols[f"unmet_t:{name}"] = inf["unmet_t"][:, i.index]
            cols[f"secondary_shortfall_t:{name}"] = np.maximum(
                0.0, inf["secondary_full_t"][:, i.index] - inf["from_secondary_t"][:, i.index]
            )
            if i.spec.stockpile is not None:
                cols[f"virgin_stock_t:{name}"] = inf["virgin_stock_t"][:, i.index]
    hub = model.hub_flow
    if model.hub is not None:
        cols[f"pool_t:{model.hub.hid}"] = hub["stock_t"][:, 0]
    # Network totals per unit: `_t` columns add up materials in t only (sim/units.py).
    keys = column_keys(model)
    for unit, suffix in (("t", "t"), *SUFFIX.items()):
        c = unit_columns(keys, unit)
        pool = hub["rejected_t"] + hub["spoiled_t"] + hub["overflow_t"]
        disposed = np.concatenate(
            [(sf["spoiled_t"] + sf["overflow_t"] + sf["rejected_t"])[:, c.streams], pool if c.hub else 0.0 * pool],
            axis=1,
        )
        buffers = (inf["buffer_overflow_t"] + inf["buffer_spoiled_t"])[:, c.buffers]
        cols[f"disposed_{suffix}"] = disposed.sum(axis=1) + buffers.sum(axis=1)
        cols[f"unmet_{suffix}"] = inf["unmet_t"][:, c.inputs].sum(axis=1)
        short = np.maximum(0.0, inf["secondary_full_t"] - inf["from_secondary_t"])[:, c.inputs]
        cols[f"secondary_shortfall_{suffix}"] = short.sum(axis=1)
    money = model.money.frame()
    pen = money[money["category"] == "penalty"].groupby("day")["amount"].sum()
    cols["cumulative_penalties"] = np.cumsum(pen.reindex(range(model.horizon), fill_value=0.0).to_numpy())
    return pd.DataFrame(cols)
