"""What the teaching dashboard (``app.py``) shows, computed from a running model.

The dashboard holds no model logic: it builds a :class:`DashboardModel` (the ordinary
:class:`~sim.model.SymbiosisModel` made from a scenario file and the levers a class can move),
steps it, and draws what this module reads off it:

- the network at the facility coordinates (:func:`facility_table`, :func:`contract_table`,
  :func:`network_figure`): nodes coloured by state and sized by throughput, edges by flow and
  contract state, the intermediary when it is on;
- the live plots (:func:`stocks_figure`, :func:`money_figure`) from the model's daily flow
  tables and money ledger, up to the last simulated day.

Everything is a plain function of the model, so tests call it without a browser.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.network_map import FACILITY_COLOURS, Edge, Hub, Node, contract_legend, draw_network, label_axes, xy
from sim.contracts import Status
from sim.ledger import EXTERNAL
from sim.model import SymbiosisModel
from sim.rng import as_seed_sequence
from sim.scenario import Scenario, load_scenario
from sim.stocks import value_stocks
from sim.twin import twin_of

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
DEFAULT_SCENARIO = "brewery_farms.toml"
#: The value of a lever select that leaves the scenario file's own values in place.
AS_IN_FILE = "as in scenario"



def scenario_files() -> list[str]:
    """The scenario files a class can choose from (names inside ``scenarios/``)."""
    return sorted(p.name for p in SCENARIO_DIR.glob("*.toml"))


def scenario_path(scenario_file: str) -> Path:
    """The path of a scenario the page offers; ValueError for any other name. The name comes
    from the browser, so it is matched against the list, never joined onto the folder as given
    (``../`` or an absolute path would reach files outside ``scenarios/``)."""
    if scenario_file not in scenario_files():
        shown = scenario_file if len(scenario_file) <= 80 else scenario_file[:38] + "..." + scenario_file[-38:]
        raise ValueError(f"no scenario {shown!r} in the dashboard's list (one of the files in scenarios/)")
    return SCENARIO_DIR / scenario_file


def lever_overrides(
    buffer_days: str | float = AS_IN_FILE,
    redundancy: str | int = AS_IN_FILE,
    penalty_per_t_short: str | float = AS_IN_FILE,
) -> dict[str, Any]:
    """The dotted-path overrides for the levers that are not left as in the scenario file."""
    out: dict[str, Any] = {}
    if buffer_days != AS_IN_FILE:
        out["policy.buffer_days"] = float(buffer_days)
    if redundancy != AS_IN_FILE:
        out["policy.redundancy"] = int(redundancy)
    if penalty_per_t_short != AS_IN_FILE:
        out["policy.penalty_per_t_short"] = float(penalty_per_t_short)
    return out


def parse_seed(seed: str | int) -> int:
    """The seed a box holds, as a whole number >= 0; ValueError with a sentence otherwise."""
    try:
        value = int(str(seed).strip())
    except ValueError:
        raise ValueError(f"the seed must be a whole number >= 0, got {seed!r}") from None
    if value < 0:
        raise ValueError(f"the seed must be a whole number >= 0, got {value}")
    return value


class DashboardModel(SymbiosisModel):
    """The simulation as the dashboard runs it: a scenario file from ``scenarios/``, a seed
    and the class's levers, applied as the same overrides ``run_experiments.py simulate --set``
    takes, so that the dashboard and ``simulate`` give the same numbers.

    `intermediary` is applied only to scenarios with an ``[intermediary]`` section; for the
    others it is left off and :attr:`notes` says why.
    """

    def __init__(
        self,
        scenario_file: str = DEFAULT_SCENARIO,
        seed: str | int = 42,
        buffer_days: str | float = AS_IN_FILE,
        redundancy: str | int = AS_IN_FILE,
        penalty_per_t_short: str | float = AS_IN_FILE,
        intermediary: bool = False,
    ):
        path = scenario_path(scenario_file)
        overrides = lever_overrides(buffer_days, redundancy, penalty_per_t_short)
        scenario = load_scenario(path, overrides)
        notes = []
        if intermediary and scenario.intermediary is None:
            notes.append(f"{scenario_file} has no [intermediary] section, so the intermediary stays off.")
        elif intermediary:
            overrides["policy.intermediary"] = True
            scenario = load_scenario(path, overrides)
        super().__init__(scenario, rng=as_seed_sequence(parse_seed(seed)))
        self.track_stock_values()  # for the net benefit to date (net_benefit_series)
        self.scenario_file = scenario_file
        self.overrides = overrides
        self.notes = notes


# --- reading the model ------------------------------------------------------------------------


def days_done(model: SymbiosisModel) -> int:
    """Days simulated so far."""
    return min(int(model.time), model.horizon)


def intermediary_available(scenario: Scenario) -> bool:
    """Whether the scenario has an ``[intermediary]`` the toggle can switch on
    (``policy.intermediary = true`` switches on a disabled one too)."""
    return scenario.intermediary is not None


def intermediary_on(model: SymbiosisModel) -> bool:
    """Whether the intermediary works in this run (the model built its agent)."""
    return model.hub is not None


def _cost_to_date(model: SymbiosisModel, n: int) -> np.ndarray:
    """Each facility's cost to date in one world (days x facilities): what it paid less what
    it received since the warm-up, less the change in value of its stocks since the start of
    day `warmup` (sim/stocks.py; the model tracks its stock values day by day)."""
    idx, w = model.facility_index, model.warmup
    daily = np.zeros((model.horizon, len(model.facilities)))
    for day, payer, payee, amount, _cat, _k in model.money.rows:
        if payer not in EXTERNAL and payer in idx:
            daily[day, idx[payer]] += amount
        if payee not in EXTERNAL and payee in idx:
            daily[day, idx[payee]] -= amount
    daily[:w] = 0.0
    cost = np.cumsum(daily[:n], axis=0)
    history = model.stock_value_history
    if history is None:
        raise ValueError("the model does not track its stock values: call track_stock_values() before the run")
    if model.opening_stocks is not None and n > w:
        opening = value_stocks(model, model.opening_stocks, w)
        cost[w:] -= history[w:n] - (opening.supply + opening.buy)
    return cost


def net_benefit_series(model: SymbiosisModel) -> pd.DataFrame:
    """Each facility's net benefit to date (days x facilities), counted as the run metrics
    count it: its cost to date in the world without symbiosis (the twin run, sim/twin.py,
    simulated to the same day) less its cost to date in this run (:func:`_cost_to_date`);
    days before the warm-up ends count zero. The last row equals the facilities table's
    ``net_benefit`` when the run is over."""
    n = days_done(model)
    benefit = _cost_to_date(twin_of(model, SymbiosisModel), n) - _cost_to_date(model, n)
    return pd.DataFrame(benefit, columns=[f.fid for f in model.facilities])


def money_to_date(model: SymbiosisModel) -> pd.DataFrame:
    """Per facility: cash received, cash paid, penalties received and paid so far."""
    rows = {
        f.fid: dict.fromkeys(("received", "paid", "penalties_received", "penalties_paid"), 0.0)
        for f in model.facilities
    }
    for _day, payer, payee, amount, cat, _k in model.money.rows:
        if payer in rows:
            rows[payer]["paid"] += amount
            if cat == "penalty":
                rows[payer]["penalties_paid"] += amount
        if payee in rows:
            rows[payee]["received"] += amount
            if cat == "penalty":
                rows[payee]["penalties_received"] += amount
    return pd.DataFrame.from_dict(rows, orient="index")


def facility_table(model: SymbiosisModel) -> pd.DataFrame:
    """One row per facility: where it is, its state, yesterday's throughput, its stocks and its
    money so far (what the map's nodes and the details table show)."""
    n = days_done(model)
    last = max(n - 1, 0)
    sf, inf = model.streams_flow, model.inputs_flow
    money = money_to_date(model)
    benefit = net_benefit_series(model)
    rows = []
    for fac in model.facilities:
        x, y = xy(fac.spec.location)
        made = sum(sf["generated_t"][last, s.index] for s in fac.streams) if n else 0.0
        used = sum(inf["secondary_used_t"][last, i.index] for i in fac.inputs) if n else 0.0
        rows.append(
            {
                "facility": fac.fid,
                "x": x,
                "y": y,
                "state": fac.state.value,
                "down_cause": down_cause(fac),
                "operating": float(fac.operating),
                "throughput_t": float(made + used),
                "source_stock_t": sum(s.storage.total for s in fac.streams),
                "buffer_t": sum(i.buffer_level for i in fac.inputs),
                "buffer_cap_t": sum(i.buffer_cap for i in fac.inputs),
                "virgin_stock_t": sum(i.virgin_stock for i in fac.inputs),
                "received": money.at[fac.fid, "received"],
                "paid": money.at[fac.fid, "paid"],
                "penalties_paid": money.at[fac.fid, "penalties_paid"],
                "penalties_received": money.at[fac.fid, "penalties_received"],
                "net_benefit": float(benefit[fac.fid].iloc[-1]) if n else 0.0,
            }
        )
    return pd.DataFrame(rows)


def down_cause(fac: Any) -> str:
    """Why a facility is down now: its causes (an own failure, maintenance, a common-cause shock
    named "common:<id>", a scripted outage), joined; "" when it is up."""
    return ", ".join(sorted(fac.up.causes))


def contract_table(model: SymbiosisModel) -> pd.DataFrame:
    """One row per contract: its ends, status, whether a backup is called, and its recent flow
    (t/day shipped over its last delivery interval)."""
    n = days_done(model)
    shipped = model.contracts_flow["shipped_t"]
    rows = []
    for c in model.contracts:
        k = max(c.terms.delivery_interval_days, 1)
        recent = float(shipped[max(0, n - k) : n, c.index].sum()) / k if n else 0.0
        rows.append(
            {
                "contract": c.terms.id,
                "supplier": c.terms.supplier,
                "buyer": c.terms.buyer,
                "status": c.status.value,
                "backup": c.is_backup,
                "called": bool(c.called),
                "routed": bool(getattr(c, "routed", False) or c.terms.via_intermediary),
                "flow_t_per_day": recent,
                "volume_t_per_day": float(c.terms.volume_t_per_day),
            }
        )
    return pd.DataFrame(rows)


# --- figures ----------------------------------------------------------------------------------


def network_figure(model: SymbiosisModel) -> Figure:
    """The network at the facility coordinates on day `days_done`: nodes coloured by state and
    sized by yesterday's throughput, arrows by contract state and recent flow (drawn by
    :func:`analysis.network_map.draw_network`, as the report's map is)."""
    fac = facility_table(model)
    sizes = 120 + 60 * np.sqrt(fac["throughput_t"].to_numpy(float))
    nodes = [
        Node(r.facility, r.x, r.y, FACILITY_COLOURS[r.state], "o", size, f"{r.facility} ({r.state})")
        for r, size in zip(fac.itertuples(), sizes, strict=True)
    ]
    edges = [
        Edge(r.supplier, r.buyer, _edge_state(r),
             0.6 + 3.5 * min(r.flow_t_per_day / max(r.volume_t_per_day, 1e-9), 1.5),
             f"{r.flow_t_per_day:.1f} t/d", r.routed)
        for r in contract_table(model).itertuples()
    ]
    hub = None
    if intermediary_on(model):
        assert model.spec.intermediary is not None
        hub = Hub(model.spec.intermediary.id, *xy(model.spec.intermediary.location))
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    draw_network(ax, nodes, edges, hub)
    ax.set_title(f"{model.spec.scenario.name}: day {days_done(model)}", fontsize=9, loc="left")
    planar = model.spec.facilities[0].location.x_km is not None
    label_axes(ax, planar, float(fac["y"].mean()))
    ax.margins(0.18)
    legend = [Line2D([], [], marker="o", ls="", color=c, label=s, markersize=8) for s, c in FACILITY_COLOURS.items()]
    legend += contract_legend({"active", *(e.state for e in edges)})
    ax.legend(handles=legend, fontsize=7, loc="best", framealpha=0.7)
    return fig


def _edge_state(row: Any) -> str:
    """A contract's state as the map colours it: a called backup stands out; an uncalled one is
    on standby."""
    if row.called:
        return "called"
    if row.backup and row.status == Status.ACTIVE.value:
        return "backup"
    return str(row.status)


def node_tooltip(fid: str, row: pd.Series, currency: str) -> str:
    """What hovering a node shows: state, stocks and money so far."""
    cause = f", {row['down_cause']}" if row.get("down_cause") else ""
    return (
        f"{fid}: {row['state']}{cause} (operating {row['operating']:.0%})\n"
        f"buffer {row['buffer_t']:,.1f} of {row['buffer_cap_t']:,.1f} t; "
        f"waste in store {row['source_stock_t']:,.1f} t; "
        f"virgin stock {row['virgin_stock_t']:,.1f} t\n"
        f"received {row['received']:,.0f} {currency}, paid {row['paid']:,.0f} {currency}, "
        f"penalties paid {row['penalties_paid']:,.0f} {currency}\n"
        f"net benefit so far {row['net_benefit']:,.0f} {currency}"
    )


def network_svg(model: SymbiosisModel) -> str:
    """The map as inline SVG in which hovering a node shows its stocks and money (an SVG
    <title> per node, which browsers show as a tooltip)."""
    fig = network_figure(model)
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype for inline use
    fac = facility_table(model).set_index("facility")
    currency = model.spec.scenario.currency
    for fid, row in fac.iterrows():
        tag = f'<g id="node-{fid}">'
        title = html.escape(node_tooltip(str(fid), row, currency))
        svg = svg.replace(tag, f'{tag}<title>{title}</title>', 1)
    return svg


def stocks_figure(model: SymbiosisModel) -> Figure:
    """Secondary buffers against capacity, daily shortfall and daily disposal, to date."""
    n = days_done(model)
    days = np.arange(n)
    sf, inf = model.streams_flow, model.inputs_flow
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax0, ax1, ax2 = fig.subplots(3, 1, sharex=True, height_ratios=[2, 1.2, 1.2])
    for f in model.facilities:
        for i in f.inputs:
            if not i.substitutes:
                continue
            line = ax0.plot(days, inf["buffer_t"][:n, i.index], lw=1.4, label=f"{f.fid} buffer")[0]
            ax0.axhline(i.buffer_cap, ls="--", lw=0.8, color=line.get_color())
            ax1.plot(
                days,
                np.maximum(0.0, inf["secondary_full_t"][:n, i.index] - inf["from_secondary_t"][:n, i.index]),
                lw=1.2,
                color=line.get_color(),
                label=f.fid,
            )
    disposed = (sf["spoiled_t"] + sf["overflow_t"] + sf["rejected_t"]).sum(axis=1)
    disposed += (inf["buffer_overflow_t"] + inf["buffer_spoiled_t"]).sum(axis=1)
    ax2.fill_between(days, disposed[:n], color="#8c564b", alpha=0.6, lw=0)
    ax0.set_title("Secondary buffers (dashed: capacity)", fontsize=9, loc="left")
    ax0.set_ylabel("t")
    ax0.legend(fontsize=7, loc="lower left", ncol=2)
    ax1.set_title("Daily shortfall of secondary supply (virgin-equivalent t)", fontsize=9, loc="left")
    ax1.set_ylabel("t/day")
    ax2.set_title("Daily disposal (spoiled, overflow, rejected)", fontsize=9, loc="left")
    ax2.set_ylabel("t/day")
    ax2.set_xlabel("day")
    ax2.set_xlim(0, model.horizon)
    return fig


def money_figure(model: SymbiosisModel) -> Figure:
    """Cumulative penalties and each facility's net benefit to date."""
    n = days_done(model)
    days = np.arange(n)
    penalties = np.zeros(model.horizon)
    for day, _payer, _payee, amount, cat, _k in model.money.rows:
        if cat == "penalty":
            penalties[day] += amount
    benefit = net_benefit_series(model)
    currency = model.spec.scenario.currency
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax0, ax1 = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1.6])
    ax0.plot(days, np.cumsum(penalties[:n]), color="#d62728", lw=1.6)
    ax0.set_title("Cumulative penalties paid", fontsize=9, loc="left")
    ax0.set_ylabel(currency)
    for fid in benefit.columns:
        ax1.plot(days, benefit[fid], lw=1.3, label=fid)
    ax1.axhline(0.0, color="black", lw=0.6)
    ax1.set_title("Net benefit to date against no symbiosis", fontsize=9, loc="left")
    ax1.set_ylabel(currency)
    ax1.set_xlabel("day")
    ax1.set_xlim(0, model.horizon)
    ax1.legend(fontsize=7, loc="upper left", ncol=2)
    return fig
