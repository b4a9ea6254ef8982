"""SymbiosisModel: the Mesa shell around a SimPy clock.

Mesa owns the agents, the random generator and the DataCollector; a ``simpy.Environment`` is
the event calendar for what happens at its own time (outages, repairs, maintenance, closures,
scripted events, market shifts, virgin orders, backup activations). Shipments land only at
day boundaries, so they wait on a loading dock keyed by arrival day (``ship``) instead.
``step()`` advances one day; ``run()`` runs the days to the horizon.

The order of a day d (the interval [d, d + 1)) is fixed and never depends on dict or set
iteration order; facilities, streams, inputs and contracts are visited in file order:

1. **Clock.** SimPy runs to d + 1: failures, repairs, maintenance, closures, scripted events,
   backup activations and virgin orders due on day d.
   Market shifts falling on day d move prices (sim/market.py): all of day d is at them.
2. **Up-time.** Each facility's up-fraction of day d (outages pro-rate a day).
3. **Contract status.** Contracts start, those whose notice ran out end; prices indexed.
4. **Deliveries**: landing and inspection (sim/day/landing.py).
5. **Each facility in turn**, its whole day before the next facility's: (a) consumption
   (sim/day/consumption.py), (b) production (sim/day/production.py), (c) dispatch
   (sim/day/dispatch.py), (d) tidy-up (sim/day/tidy_up.py); with an intermediary, the
   facilities tidy up after step 6. Nothing one facility does in these steps reaches
   another's state before tomorrow (shipments take a day at least; each step reads and writes
   only the facility's own stocks and its own contracts' open period), so this is the same day
   as running each step over all facilities before the next (tests/test_day_order.py checks
   it to the bit), and a large network's objects are visited once a day instead of once per
   step (benchmarks/RESULTS.md).
6. **Intermediary.** It pays the haulage of the routed shipments sent today (consolidated per
   supplier) and ships the buyers' call-offs from its pool; after the facilities' tidy-up,
   its pool spoils, overflows and pays holding.
7. **Decisions** (when the agents decide, sim/behaviour.py): buffer adaptation, closures
   of facilities that lost a critical input for too long, formation rounds.
8. **Settlement** of the periods that close today (sim/day/settlement.py).
9. **Data collection.**
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import mesa
import numpy as np
import pandas as pd
import simpy

from sim import metrics as run_metrics
from sim.agents import (
    Facility,
    InputState,
    StreamState,
    fill_initial_buffers,
    make_input_state,
    make_stream_state,
    offer_emergency,
)
from sim.arrayday import run_on_arrays
from sim.behaviour import Decisions, latent_contracts
from sim.common_causes import start_common_causes
from sim.contracts import (
    ContractState,
    make_contract_state,
)
from sim.day.dispatch import dispatch_rows, dispatch_streams, hub_ships
from sim.day.landing import land_due, unload
from sim.day.settlement import settle_day
from sim.day.status import (
    close_now,
    facility_closed,
    give_notice,
    index_contracts,
    set_latent,
    set_scale,
    start_contract,
    supplier_changed,
    update_contract_status,
)
from sim.engine import pick_engine
from sim.intermediary import Intermediary
from sim.ledger import (
    CONTRACT_FLOWS,
    HUB_FLOWS,
    INPUT_FLOWS,
    STREAM_FLOWS,
    FlowTable,
    MoneyLedger,
    open_accounts,
)
from sim.logistics import Roads, move_per_t
from sim.market import NominalPrices, PricePaths, Shift, draw_market, move_prices
from sim.network import intermediary_usable, resolve_network
from sim.outages import UpState, close_at, scripted_outage, start_outages
from sim.rng import stream as rng_stream
from sim.scenario import Behaviour, Scenario
from sim.stocks import Stocks, take_stocks, value_stocks
from sim.twin import twin_of

# --- reporters (module level: a model with lambdas cannot be pickled) -------------------------


def secondary_stock_t(model: SymbiosisModel) -> float:
    """Secondary material held in all buyers' buffers."""
    return sum(i.buffer_level for i in model.input_states)


def source_stock_t(model: SymbiosisModel) -> float:
    """Waste held in all suppliers' source storage."""
    return sum(s.storage.total for s in model.stream_states)


def virgin_stock_t(model: SymbiosisModel) -> float:
    """Virgin material held in all stockpiles."""
    return sum(i.virgin_stock for i in model.input_states)


def facilities_down(model: SymbiosisModel) -> int:
    """Facilities down (or closed) at the end of the day."""
    return sum(not f.up.up for f in model.facilities)


def cumulative_penalties(model: SymbiosisModel) -> float:
    """Penalties settled so far."""
    return model.penalties_to_date


class SymbiosisModel(mesa.Model):
    """An industrial-symbiosis network over a horizon of days.

    Args:
        scenario: the validated scenario (policy levers are applied here).
        rng: the run's seed; every stochastic source draws from its own keyed child stream.
        horizon_days: overrides the scenario's horizon.
        collect_series: collect the DataCollector every day (off in sweeps, for speed).
    """

    def __init__(self, scenario: Scenario, rng: np.random.SeedSequence | int = 0, horizon_days: int | None = None,
                 collect_series: bool = True):
        seed = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(int(rng))
        super().__init__(rng=rng_stream(seed, "mesa"))
        self.seed = seed
        self.given_scenario = scenario  # as given: its twin (sim/twin.py) is made from it
        self.spec = resolve_network(scenario)
        self.horizon = int(horizon_days or self.spec.scenario.horizon_days)
        self.warmup = min(self.spec.scenario.warmup_days, self.horizon - 1)
        self.env = simpy.Environment()
        self.money = MoneyLedger(from_day=self.warmup)
        self.today = 0
        self.penalties_to_date = 0.0
        self.collect_series = collect_series
        self.settlements: list[dict[str, Any]] = []
        self.dock: dict[int, list] = {}  # the loading dock: shipments on the road, by landing day
        # called with a contract whose status or terms changed (after contract_changed's own work)
        self.contract_listeners: list[Callable[[ContractState], None]] = []
        self.clock_end = 0.0  # end of the last simulated day
        self._next_day = 0  # the day the next step simulates
        self.opening_stocks: Stocks | None = None  # taken at the start of day `warmup` (sim/stocks.py)
        self.stock_value_history: np.ndarray | None = None  # days x facilities, when tracked
        self._twin: SymbiosisModel | None = None  # the world without symbiosis (sim/twin.py)

        self._make_facilities()
        self._make_intermediary()
        self.decisions: Decisions | None = None
        behaviour = self.spec.behaviour
        adaptive = self.spec.policy.adaptive
        if adaptive or (adaptive is None and behaviour is not None):
            self.decisions = Decisions(self, behaviour or Behaviour(), rng_stream(self.seed, "behaviour/formation"))
        self._make_contracts()
        open_accounts(self.money, self.facilities, self.contracts)
        self._start_processes()
        # "objects" or "arrays" (sim/arrayday.py: the same results to the bit, faster for large networks)
        self.engine = pick_engine(scenario, self.spec.policy.engine, len(self.facilities), collect_series)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "secondary_stock_t": secondary_stock_t,
                "source_stock_t": source_stock_t,
                "virgin_stock_t": virgin_stock_t,
                "facilities_down": facilities_down,
                "cumulative_penalties": cumulative_penalties,
            },
            agenttype_reporters={Facility: {"up_fraction": "up_fraction", "operating": "operating"}},
        )

    # --- construction ------------------------------------------------------------------------

    def _make_facilities(self) -> None:
        sc = self.spec
        self.materials = materials = {m.id: m for m in sc.materials}
        self.facilities: list[Facility] = []
        self.stream_states: list[StreamState] = []
        self.input_states: list[InputState] = []
        for spec in sc.facilities:
            up = UpState(self.env, on_change=self._make_change_hook(spec.id))
            fac = Facility(self, spec, up)
            for out in spec.outputs:
                st = make_stream_state(out, materials, len(self.stream_states), spec.id, self.seed, self.horizon)
                fac.streams.append(st)
                self.stream_states.append(st)
            for inp in spec.inputs:
                ist = make_input_state(inp, materials, len(self.input_states), self.horizon)
                fac.inputs.append(ist)
                self.input_states.append(ist)
            self.facilities.append(fac)
        self.facility_by_id = {f.fid: f for f in self.facilities}
        self.facility_index = {f.fid: k for k, f in enumerate(self.facilities)}
        self.up_history = np.ones((self.horizon, len(self.facilities)))
        self.operating_history = np.ones((self.horizon, len(self.facilities)))
        self.streams_flow = FlowTable(STREAM_FLOWS, self.horizon, len(self.stream_states))
        self.inputs_flow = FlowTable(INPUT_FLOWS, self.horizon, len(self.input_states))

    def _make_intermediary(self) -> None:
        """The broker, when the scenario's `[intermediary]` is switched on (its `enabled`, or
        `policy.intermediary`; resolve_network has already routed the contracts)."""
        self.hub: Intermediary | None = None
        if intermediary_usable(self.spec):
            spec = self.spec.intermediary
            assert spec is not None
            self.hub = Intermediary(self, spec, rng_stream(self.seed, f"intermediary/{spec.id}"))
        self.hub_flow = FlowTable(HUB_FLOWS, self.horizon, 1)


    def _make_contracts(self) -> None:
        sc = self.spec
        materials = self.materials
        self.contracts: list[ContractState] = []
        self.inactive_contracts = [c.id for c in sc.contracts if not c.enabled]
        latent = latent_contracts(self) if self.decisions is not None else []
        specs = {f.id: f for f in sc.facilities}
        roads = Roads(sc)
        hub_id = self.hub.hid if self.hub is not None else None
        for terms, is_latent in [*((t, False) for t in sc.contracts), *((t, True) for t in latent)]:
            if not terms.enabled:
                continue
            sup, buy = self.facility_by_id[terms.supplier], self.facility_by_id[terms.buyer]
            k = len(self.contracts)
            c = make_contract_state(sc, specs, materials, terms, k, sup, buy, roads, hub_id, is_latent)
            stream, sub = c.supplier_stream, c.buyer_input[1]
            sub.contracted = sub.contracted or not is_latent
            if self.decisions is not None:
                c.trust = self.decisions.spec.trust_initial
            if c.routed:
                assert self.hub is not None
                self.hub.join(c, stream.shelf_life)
            stream.contracts.append(c)
            stream.own_terms = stream.own_terms or c.own_due
            if not is_latent:
                stream.live.append(c)
            self.contracts.append(c)
            if not c.is_backup and not is_latent:
                sub.primaries.append(c)
        # The day's loops go over the contracts that are not latent: an adaptive region has a
        # latent contract per uncovered candidate exchange (~n^2), idle until formed.
        self.live_contracts = [c for c in self.contracts if not c.latent]
        self.indexed_contracts = [c for c in self.contracts if c.index_col >= 0]
        self.contracts_flow = FlowTable(CONTRACT_FLOWS, self.horizon, len(self.contracts))
        self.contracts_by_input, self.primaries_by_supplier = index_contracts(self.contracts, self.input_states)
        fill_initial_buffers(self.input_states, self.materials)
        if self.hub is not None:
            self.hub.open_stock(self.materials)
        self.contract_roles = {
            c.index: {c.terms.supplier: "supply", c.terms.buyer: "buy"} for c in self.contracts
        }
        offer_emergency(self.input_states, self.hub)
        if self.decisions is not None:
            self.money.contract_cash = [c.period_cash for c in self.contracts]

    def _start_processes(self) -> None:
        """The SimPy processes: the market, each facility's outages, the scripted events."""
        sc = self.spec
        env = self.env
        self._make_market()
        for fac in self.facilities:
            start_outages(env, fac.up, fac.spec.outages, self.seed, fac.fid, self._make_close_hook(fac.fid))
        start_common_causes(env, sc.common_causes, sc.facilities, {f.fid: f.up for f in self.facilities}, self.seed)
        for e in sc.events:
            if e.kind == "closure":
                fac = self.facility_by_id[e.facility]
                env.process(close_at(env, fac.up, e.day, self._make_close_hook(fac.fid)))
            elif e.kind == "outage":
                env.process(scripted_outage(env, self.facility_by_id[e.facility].up, e.day, e.duration_days))
            elif e.kind in ("stream_end", "stream_scale"):
                st = next(s for s in self.facility_by_id[e.facility].streams if s.spec.material == e.material)
                factor = 0.0 if e.kind == "stream_end" else float(e.factor)
                self.schedule(e.day, set_scale, self, st, factor, e.cause)
            elif e.kind == "notice":
                for c in self.contracts:
                    if c.terms.id == e.contract:
                        self.schedule(e.day, give_notice, self, c, e.party)

    def _make_market(self) -> None:
        """Price paths at the nominal prices and, with a `[market]`, the process that shifts
        them (sim/market.py)."""
        self.nominal_prices = NominalPrices(self.input_states, self.stream_states)
        self.prices = PricePaths(self.nominal_prices.virgin, self.nominal_prices.disposal, self.horizon)
        self.market_shifts: list[Shift] = []
        if self.spec.market is not None:
            materials = [m.id for m in self.spec.materials]
            self.market_shifts = draw_market(self.seed, self.spec.market, materials, self.horizon)
            self.env.process(move_prices(self.env, self.market_shifts, self._shift_market))

    def _shift_market(self, shift: Shift) -> None:
        """A market shift moves every price from its day on (sim/market.py)."""
        self.nominal_prices.shift(shift, self.input_states, self.stream_states, self.prices)

    # --- live interventions (dashboard, what-if scripts) -------------------------------------

    def fail_now(self, facility_id: str, duration_days: float) -> None:
        """Take a facility down from the current time for `duration_days` (a scripted outage,
        as a teacher's "fail this plant now" button does)."""
        if facility_id not in self.facility_by_id:
            raise KeyError(f"no facility '{facility_id}' (facilities: {', '.join(self.facility_by_id)})")
        if duration_days <= 0:
            raise ValueError(f"duration_days must be above 0 (given {duration_days})")
        up = self.facility_by_id[facility_id].up
        self.env.process(scripted_outage(self.env, up, self.now - self.env.now, duration_days))

    # --- event helpers -----------------------------------------------------------------------

    @property
    def now(self) -> float:
        """The simulated time: the event's time while SimPy processes events, the end of the
        day (d + 1) during the day's material balance."""
        return max(self.env.now, self.clock_end)

    def schedule(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        """Call `fn(*args)` `delay` days from now (a SimPy timeout)."""
        ev = self.env.timeout(self.now + delay - self.env.now)
        ev.callbacks.append(lambda _ev: fn(*args))

    def _advance_clock(self, until: float) -> None:
        """Process every SimPy event before `until` (events at `until` belong to the next
        day), then stand at `until`. Cheaper than `env.run(until=...)`, which schedules and
        processes a stop event every day."""
        env = self.env
        while env.peek() < until:
            env.step()
        self.clock_end = until

    def _make_change_hook(self, fid: str) -> Callable[[bool], None]:
        return lambda up: supplier_changed(self, fid, up)

    def _make_close_hook(self, fid: str) -> Callable[[], None]:
        return lambda: facility_closed(self, fid)

    def give_notice(self, c: ContractState, party: str, for_cause: bool = False) -> None:
        """A party gives notice on a contract today (an agent's decision during the day),
        for the other party's breach or without cause."""
        give_notice(self, c, party, day=self.today, for_cause=for_cause)

    def contract_changed(self, c: ContractState) -> None:
        """A contract's status or terms changed: its buyer's store works out again what its
        primaries would deliver at full supply, and the contract listeners hear of it.
        Whatever sets either calls this."""
        c.buyer_input[1].full_supply = None
        for listener in self.contract_listeners:
            listener(c)

    start_contract = start_contract
    set_latent = set_latent
    close_now = close_now

    def haul_per_t(self, c: ContractState) -> float:
        """Transport cost per t of one day's contract volume on its route, by the contract's
        mode (road haulage, or a pipe's cost per unit)."""
        return move_per_t(c.terms.volume_t_per_day, c.km, self.spec.transport, c.terms)

    # --- the day -----------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one day (Mesa calls this at each time unit; the dashboard steps with it)."""
        self._simulate_day()

    def _simulate_day(self) -> None:
        """The next day, in the order given in the module docstring."""
        day = self._next_day
        if day >= self.horizon:
            self.running = False
            return
        if day == self.warmup:
            self.opening_stocks = take_stocks(self)
        self._start_day(day)
        # Each facility's day in one go (step 5 of the module docstring).
        rows = dispatch_rows(self, day)
        hub_routes: dict[str, list[tuple[ContractState, float]]] = {}
        operating = self.operating_history[day]
        tidy_now = self.hub is None  # the intermediary's call-offs read the buyers' untidied buffers
        for k, fac in enumerate(self.facilities):
            if fac.landed:
                unload(self, fac.landed, day)
            fac.consume(day)
            operating[k] = fac.operating
            if fac.streams:
                fac.produce(day)
                dispatch_streams(self, fac.streams, day, rows, hub_routes)
            if tidy_now:
                fac.tidy_up(day)
        if self.hub is not None:
            hub_ships(self, day, hub_routes)
            for fac in self.facilities:
                fac.tidy_up(day)
            self.hub.tidy_up(day)
        if self.decisions is not None:  # before settlement: what ends today settles today
            self.decisions.end_of_day(day)
        settle_day(self, day)
        if self.collect_series:
            self.datacollector.collect(self)
        if self.stock_value_history is not None:
            self.record_stock_values(day, take_stocks(self))
        if day == self.horizon - 1:
            self.running = False

    def track_stock_values(self, on: bool = True) -> None:
        """Value every facility's stocks at the end of each day (`stock_value_history`, days x
        facilities, supply plus buy side; the dashboard's benefit to date reads it)."""
        self.stock_value_history = np.zeros((self.horizon, len(self.facilities))) if on else None

    def record_stock_values(self, day: int, stocks: Stocks) -> None:
        """The end-of-day value of each facility's stocks (when tracked)."""
        assert self.stock_value_history is not None
        v = value_stocks(self, stocks, day)
        self.stock_value_history[day] = v.supply + v.buy

    @property
    def next_day(self) -> int:
        """The day the next step simulates."""
        return self._next_day

    def open_day(self, day: int) -> None:
        """Step 1 of day `day`: it becomes today, and the clock runs to its end."""
        self._next_day = day + 1
        self.today = day
        self._advance_clock(day + 1)

    def _start_day(self, day: int) -> None:
        """Steps 1-4 of the day: the clock, up-time, contract status and deliveries."""
        self.open_day(day)
        for k, fac in enumerate(self.facilities):
            fac.up_fraction = fac.up.up_fraction(day)
            self.up_history[day, k] = fac.up_fraction
        self.update_contract_status(day)
        land_due(self, day)

    def run(self) -> None:
        """Run to the horizon.

        Python's cyclic garbage collector is paused meanwhile (and restored after). The day
        loop makes no reference cycles (tests/test_invariants.py checks that a run leaves no
        cyclic garbage), so a collection can free nothing; yet each full collection walks every
        live object, and the objects grow with the network: at 1,000 facilities collection
        was about a third of the run time.
        """
        paused = gc.isenabled()
        gc.disable()
        try:
            # Mesa's step() goes through its event list (about 16 us a day, a quarter of a
            # small network's day); run() simulates the days itself and moves Mesa's clock as
            # Mesa would (the day d runs at time d + 1, so the DataCollector's keys agree).
            if self.engine == "arrays":
                run_on_arrays(self)
            else:
                while self.running:
                    self.time += 1.0
                    self._simulate_day()
        finally:
            if paused:
                gc.enable()

    def ship(self, c: ContractState, pieces: list, lag_days: int, from_hub: bool = False) -> None:
        """Put a shipment dispatched today on the road: it lands at the gate (or, routed, at the
        intermediary) on the morning of day today + `lag_days`. Arrivals happen at day
        boundaries, so they wait on the loading dock (a list per day, in dispatch order)
        rather than as SimPy events."""
        self.dock.setdefault(self.today + lag_days, []).append((c, pieces, from_hub))

    update_contract_status = update_contract_status

    # --- results -----------------------------------------------------------------------------

    def result(self, series: bool = False) -> run_metrics.RunResult:
        """The run's metrics and tables (a :class:`sim.run.RunResult`); benefits against the
        twin run without symbiosis (sim/twin.py), simulated here to the same day."""
        tables = run_metrics.compute(self, twin_of(self, SymbiosisModel))
        return run_metrics.RunResult(
            metrics=tables.metrics,
            facilities=tables.facilities,
            contracts=tables.contracts,
            series=run_metrics.daily_series(self) if series else None,
            outages=self.outage_log() if series else None,
            materials=tables.materials,
            inputs=tables.inputs,
            episodes=tables.episodes,
        )

    def outage_log(self) -> pd.DataFrame:
        """Every outage of the run: facility, start, end, cause."""
        rows = [(f.fid, s, e, cause) for f in self.facilities for s, e, cause in f.up.open_log(self.horizon)]
        return pd.DataFrame(rows, columns=["facility", "start", "end", "cause"])

