"""The day in arrays: the same day as ``SymbiosisModel._simulate_day``, over whole facility sets.

A large network's day in the object core visits a Python object per lot, shipment and open
period, and a thousand facilities' worth of those outgrow the processor's caches
(benchmarks/RESULTS.md). Here the day's state is held in columns indexed by stream, input,
substitute store and contract, and each step of the day is a handful of numpy operations over
all of them. This module holds the columns (loaded from the model's objects, written back by
:meth:`ArrayDay.sync`), the day's payments and the order of the day; each step's column code
sits beside the object core's step in sim/day/ (``landing_arrays``, ``consumption_arrays``,
``production_arrays``, ``dispatch_arrays``, ``tidy_up_arrays``, and settlement's
``settle_columns``). The object core stays the reference: this engine gives the same flows, the same
money entries in the same order and the same settlements, to the bit
(tests/test_arrayday.py runs both on the same networks and compares every table).

What is in columns: the material balance that every facility and contract goes through every
day: production with noise and patterns, preprocessing, source storage with shelf life and
overflow, shipments and their landing, buyers' buffers with substitutes (ratio, max share,
processing), the inspection of every delivered lot against the contract's quality bands,
consumption with critical inputs first, virgin supply from the market, a stockpile or none,
emergency purchases, the allocation of a short stock (pro rata or priority), shortfalls
excused by the supplier's down-time, haulage, the day's payments, and the daily settlement
flags. What happens at its own time stays the object core's own code,
called when it happens: SimPy's outages, maintenance, closures, scripted events, market
shifts, virgin deliveries and backup activations, the daily status step (starts, notices
that run out), and each settlement. The engine reads back what those change (statuses,
called backups, scales, prices, stocks) and routes their payments through its account totals.

Not covered: the intermediary, the agents' decisions and contracts' catch-up terms (and, for
the ordering keys of money entries, inputs with more than 13 substitutes). :func:`problems` names them; such a
network runs on the object core (`policy.engine = "auto"`), and `"arrays"` on it is bad input.

How it stays equal to the object core: every tonne and every amount is worked out with the
same floating-point operations in the same order, elementwise (numpy's elementwise float64
arithmetic rounds as Python's does). Where the object core adds several numbers into one
place (an account's running total, a stream's shipped tonnes), the entries are applied in the
object core's order: the day's money entries are sorted by (facility, step, item) before they
are booked, so even the ledger's rows come out in the same order. The model's objects are
loaded into columns when a run starts and written back when it ends (:meth:`ArrayDay.sync`),
so everything that reads the model after a run reads what the object core would have left.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.contracts import Period, Status
from sim.day import consumption_arrays, dispatch_arrays, landing_arrays, production_arrays, tidy_up_arrays
from sim.day.columns import FAC_SHIFT, STEP_SHIFT, Batch, QualityRows
from sim.day.settlement import settle_columns
from sim.engine import AUTO_MIN_FACILITIES, engine_problems, pick_engine, problems
from sim.ledger import MARKET
from sim.rings import Rings
from sim.stocks import columns_stocks

if TYPE_CHECKING:
    from sim.day.world import World

class ArrayDay:
    """The columns of one model's day, and the day over them (see the module docstring)."""

    def __init__(self, m: World):
        # Terms, caps, contract lists and `contracted` are read once, here: only the
        # intermediary and the agents' decisions change them during a run, and those keep a
        # network on the object core (so does a ledger tracking cash per contract).
        missing = problems(m.spec)
        if m.hub is not None or m.decisions is not None or m.money.contract_cash is not None or missing:
            raise ValueError(f"the array day does not cover this model: {'; '.join(missing) or 'its agents or hub'}")
        self.m = m
        self._load_streams(m)
        self._load_inputs(m)
        tidy_up_arrays.load_holding(self, m)
        self._load_contracts(m)
        self._load_status(m)
        self._load_supply(m)
        self._open()

    def _load_streams(self, m: World) -> None:
        """Streams, their draws and source storage, in stream order."""
        fidx = m.facility_index
        streams = m.stream_states
        S = len(streams)
        self.st_fac = np.array([fidx[st.owner] for st in streams], dtype=np.int64)
        self.base = np.ascontiguousarray(np.stack([st.base for st in streams], axis=1)) if S else None
        self.scale = np.array([st.scale for st in streams], dtype=float)
        self.mass = np.array([st.mass_factor for st in streams], dtype=float)
        self.pre_cost = np.array([st.preprocessing_cost for st in streams], dtype=float)
        self.pay_pre = np.array([st.pay_preprocessing for st in streams], dtype=np.int64)
        self.pay_disposal = np.array([st.pay_disposal for st in streams], dtype=np.int64)
        self.disposal = np.array([st.disposal_cost for st in streams], dtype=float)
        self.st_cap = np.array([st.storage_cap for st in streams], dtype=float)
        shelf = [st.shelf_life for st in streams]
        self.st_shelf_idx = np.array([k for k, v in enumerate(shelf) if v is not None], dtype=np.int64)
        self.st_shelf = np.array([v for v in shelf if v is not None], dtype=float)
        # Lot quality: a lot holds a row of one table (sim.day.columns.QualityRows)
        self.qualities = QualityRows(max([len(mat.quality) for mat in m.materials.values()] or [0]))
        self.q_offset = np.full(S, -1, dtype=np.int64)
        for st in streams:
            if st.quality is not None:
                self.q_offset[st.index] = self.qualities.add_stream(st.quality)
        self.src = Rings(S)
        for st in streams:
            self.src.load(st.index, [(q, b, self.qualities.row_of(x)) for q, b, x in st.storage.lots], st.storage.total)

    def _load_inputs(self, m: World) -> None:
        """Inputs and the buyers' stores (substitutes), flattened in input order."""
        fidx = m.facility_index
        inputs = m.input_states
        self.in_fac = np.array(
            [fidx[f.fid] for f in m.facilities for _ in f.inputs], dtype=np.int64
        )
        assert [i.index for f in m.facilities for i in f.inputs] == list(range(len(inputs)))
        self.demand = np.array([i.spec.demand_t_per_day for i in inputs], dtype=float)
        self.market = np.array([i.spec.virgin == "market" for i in inputs], dtype=bool)
        self.virgin_price = np.array([i.virgin_price if i.virgin_price is not None else 0.0 for i in inputs])
        self.lost_margin = np.array([i.spec.lost_margin_per_t for i in inputs], dtype=float)
        self.pay_virgin = np.array([i.pay_virgin for i in inputs], dtype=np.int64)
        self.pay_lost = np.array([i.pay_lost for i in inputs], dtype=np.int64)
        self.buffer_cap = np.array([i.buffer_cap for i in inputs], dtype=float)
        self.virgin_stock = np.array([i.virgin_stock for i in inputs], dtype=float)
        subs = [(i.index, r, s) for i in inputs for r, s in enumerate(i.substitutes)]
        self.subs = [s for _, _, s in subs]
        self.sub_in = np.array([k for k, _, _ in subs], dtype=np.int64)
        self.sub_rank = np.array([r for _, r, _ in subs], dtype=np.int64)
        self.ratio = np.array([s.ratio for s in self.subs], dtype=float)
        self.max_share = np.array([s.max_share for s in self.subs], dtype=float)
        self.proc_cost = np.array([s.processing_cost for s in self.subs], dtype=float)
        self.pay_proc = np.array([s.pay_processing for s in self.subs], dtype=np.int64)
        self.pay_bdisp = np.array([s.pay_disposal for s in self.subs], dtype=np.int64)
        self.bdisp = np.array([s.disposal_cost for s in self.subs], dtype=float)
        self.contracted = np.array([s.contracted for s in self.subs], dtype=bool)
        self.sub_shelf = np.array([s.shelf_life if s.shelf_life is not None else np.nan for s in self.subs])
        self.buf = Rings(len(self.subs))
        for j, s in enumerate(self.subs):
            self.buf.load(j, [(q, b, self.qualities.row_of(x)) for q, b, x in s.lots.lots], s.lots.total)
        self.n_ranks = int(self.sub_rank.max()) + 1 if len(subs) else 0
        self.rank_subs = [np.flatnonzero(self.sub_rank == r) for r in range(self.n_ranks)]
        self.rank_shelf = [rs[~np.isnan(self.sub_shelf[rs])] for rs in self.rank_subs]

    def _load_contracts(self, m: World) -> None:
        """Contracts' terms, quality bands, accounts and dispatch ranks: primaries and backups,
        none routed or latent (see problems())."""
        streams, contracts = m.stream_states, m.contracts
        sub_of = {id(s): j for j, s in enumerate(self.subs)}
        C = len(contracts)
        self.c_stream = np.array([c.supplier_stream.index for c in contracts], dtype=np.int64)
        self.c_sub = np.array([sub_of[id(c.buyer_input[1])] for c in contracts], dtype=np.int64)
        self.c_input = np.array([c.buyer_input[0].index for c in contracts], dtype=np.int64)
        self.c_fac = self.st_fac[self.c_stream] if C else np.zeros(0, dtype=np.int64)
        self.vol = np.array([c.terms.volume_t_per_day for c in contracts], dtype=float)
        self.interval = np.array([c.terms.delivery_interval_days for c in contracts], dtype=np.int64)
        self.start = np.array([c.terms.start_day for c in contracts], dtype=np.int64)
        self.settle_days = np.array([c.terms.settlement_days for c in contracts], dtype=np.int64)
        # a shortfall is excused only under the contract's terms: force majeure in columns, the
        # other excuses (announced maintenance, named causes) and a due of the contract's own
        # (share of output, suspension) by the object core's functions, contract by contract
        self.excusable = np.array([c.excusable for c in contracts], dtype=bool)
        t = [c.terms for c in contracts]
        self.own_due_idx = np.array([k for k in range(C) if contracts[k].own_due], dtype=np.int64)
        self.own_excuse_idx = np.array(
            [k for k in range(C) if t[k].planned_outage_excused or t[k].force_majeure_causes], dtype=np.int64
        )
        self.km = np.array([c.km for c in contracts], dtype=float)
        self.lag = np.array([c.lag_days for c in contracts], dtype=np.int64)
        # transport mode: pipe rows pay pipe_cost_per_t per unit (no trips) and carry at most ship_cap
        self.pipe = np.array([c.terms.mode == "pipe" for c in contracts], dtype=bool)
        self.any_pipe = bool(self.pipe.any())
        self.pipe_cost = np.array([c.terms.pipe_cost_per_t for c in contracts], dtype=float)
        self.ship_cap = np.array([c.ship_cap_t for c in contracts], dtype=float)
        self.any_cap = bool(np.isfinite(self.ship_cap).any())
        self.price = np.array([c.terms.price_per_t for c in contracts], dtype=float)
        self.pay_price = np.array([c.pay_price for c in contracts], dtype=np.int64)
        self.pay_transport = np.array([c.pay_transport for c in contracts], dtype=np.int64)
        self.pay_rejection = np.array([c.pay_rejection for c in contracts], dtype=np.int64)
        # quality bands per contract (property, min, max), padded with bands that pass all
        n_bands = max([len(c.quality_bands) for c in contracts] or [0])
        self.has_bands = n_bands > 0
        self.band_prop = np.zeros((C, max(n_bands, 1)), dtype=np.int64)
        self.band_lo = np.full((C, max(n_bands, 1)), -np.inf)
        self.band_hi = np.full((C, max(n_bands, 1)), np.inf)
        for c in contracts:
            for j, (prop, lo, hi) in enumerate(c.quality_bands):
                self.band_prop[c.index, j], self.band_lo[c.index, j], self.band_hi[c.index, j] = prop, lo, hi
        self.gate_account = np.full(C, -1, dtype=np.int64)  # gate fees: the reversed price account
        for c in contracts:
            t = c.terms
            key = (t.supplier, t.buyer, "price", c.index)
            number = m.money.number(*key)
            if number is not None:
                self.gate_account[c.index] = number
        self.c_rank = np.zeros(C, dtype=np.int64)
        for st in streams:
            for r, c in enumerate(st.live):
                self.c_rank[c.index] = r
        self.n_c_ranks = int(self.c_rank.max()) + 1 if C else 0
        self.rank_contracts = [np.flatnonzero(self.c_rank == r) for r in range(self.n_c_ranks)]
        if len(streams) * self.n_c_ranks >= 1 << STEP_SHIFT:  # the dispatch order must fit a key's item field
            raise ValueError(f"too many streams x contracts per stream for the array day ({len(streams)} x "
                             f"{self.n_c_ranks})")
        self.stream_contracts = [[c.index for c in st.live] for st in streams]
        self.priorities = [[c.terms.priority for c in st.live] for st in streams]
        self.pro_rata = m.spec.policy.allocation == "pro_rata"

    def _load_status(self, m: World) -> None:
        """Contract status and open periods (from the objects: the object core's own status step
        runs every day), shipments on the road, facilities to watch, the day's queues."""
        contracts = m.contracts
        self.in_force = np.array([c.in_force for c in contracts], dtype=bool)
        self.ended = np.array([c.status is Status.ENDED for c in contracts], dtype=bool)
        self.ended_day = np.array([c.ended_day if c.ended_day is not None else -1 for c in contracts], dtype=np.int64)
        self.is_backup = np.array([c.is_backup for c in contracts], dtype=bool)
        self.called = np.array([c.called for c in contracts], dtype=bool)
        self.backup_idx = np.flatnonzero(self.is_backup)
        self.backup_objs = [contracts[k] for k in self.backup_idx.tolist()]
        self.standby = np.array([c.period.standby_days for c in contracts], dtype=float)
        # the open period, and what is on the road
        self.committed = np.array([c.period.committed_t for c in contracts], dtype=float)
        self.shipped = np.array([c.period.shipped_t for c in contracts], dtype=float)
        self.taken = np.array([c.period.taken_t for c in contracts], dtype=float)
        self.short = np.array([c.period.short_t for c in contracts], dtype=float)
        self.excused = np.array([c.period.excused_t for c in contracts], dtype=float)
        self.suspended = np.array([c.period.suspended_t for c in contracts], dtype=float)
        self.carried_in = np.array([c.period.carried_in_t for c in contracts], dtype=float)
        self.in_transit = np.array([c.in_transit_t for c in contracts], dtype=float)
        self.period_start = np.array([c.period_start for c in contracts], dtype=np.int64)
        self.arrivals: dict[int, list[Batch]] = {}
        for d, shipments in m.dock.items():
            self.arrivals[d] = [self._batch_of(shipments)]
        # Facilities whose up-time today may be below 1: those down, or back up since their last
        # day (UpState.up_fraction pro-rates the day). An outage's start or end marks one.
        self.moving: set[int] = {k for k, fac in enumerate(m.facilities) if not fac.up.up_all_along}
        self.full_supply = np.array([s.full_supply_t_per_day() for s in self.subs], dtype=float)
        self.cycle = np.array([s.cycle_stock_t() for s in self.subs], dtype=float)
        self.in_cycle: np.ndarray | None = None  # per input, the sum of its substitutes' (tidy_up_arrays)
        self._changed: list = []  # contracts whose status changed (contract_changed; terms do not, see above)
        tr = m.spec.transport
        self.cost_per_tkm, self.cost_per_trip, self.truck_t = tr.cost_per_tkm, tr.cost_per_trip, tr.truck_capacity_t
        self._entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.emergencies: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.fac_ids = [f.fid for f in m.facilities]

    def _load_supply(self, m: World) -> None:
        """Inputs' consumption passes (critical inputs first), stockpiles, emergency supply, and
        what events change (stream scales, prices)."""
        inputs = m.input_states
        critical = np.array([i.spec.critical for i in inputs], dtype=bool)
        self.passes = (np.flatnonzero(critical), np.flatnonzero(~critical))
        self.pass_pos = []
        self.pass_rank_subs = []
        for idx in self.passes:
            at = np.full(len(inputs), -1, dtype=np.int64)
            at[idx] = np.arange(len(idx))
            self.pass_pos.append(at)
            self.pass_rank_subs.append([rs[at[self.sub_in[rs]] >= 0] for rs in self.rank_subs])
        self.stockpile = np.array([i.spec.virgin == "stockpile" for i in inputs], dtype=bool)
        consumption_arrays.load_plans(self, inputs)
        self.stock_idx = np.flatnonzero(self.stockpile)
        self.stock_objs = [inputs[k] for k in self.stock_idx.tolist()]
        self.reorders = [(m.facilities[int(self.in_fac[k])], inputs[k]) for k in self.stock_idx.tolist()]
        self.emergency = np.array([i.emergency is not None for i in inputs], dtype=bool)
        self.em_premium = np.array([i.emergency[0] if i.emergency else 0.0 for i in inputs], dtype=float)
        self.em_lead = np.array([i.emergency[1] if i.emergency else 0.0 for i in inputs], dtype=float)
        self.since = np.array([-1 if i.shortage_since is None else i.shortage_since for i in inputs], dtype=np.int64)
        self.em_account = np.array(
            [_or_minus_one(m.money.number(self.fac_ids[int(self.in_fac[k])], MARKET, "emergency"))
             for k in range(len(inputs))], dtype=np.int64,
        )
        # what events change: stream scales (stream_end / stream_scale) and prices (market shifts)
        self.scaled_streams = any(e.kind in ("stream_end", "stream_scale") for e in m.spec.events)
        self.shift_days = {s.day for s in m.market_shifts}

    def _open(self) -> None:
        """Listen, while this engine runs the days (from its making until :meth:`close`): to
        the facilities' up/down turns (a turned facility's day may be pro-rated), to the
        model's contract changes (statuses, called backups), and keep the ledger's totals in an
        array, so that a day's payments are booked as columns."""
        m = self.m
        self._watchers = [self._watch(k) for k in range(len(m.facilities))]
        for fac, watcher in zip(m.facilities, self._watchers, strict=True):
            fac.up.listeners.append(watcher)
        self._listen = self._changed.append
        m.contract_listeners.append(self._listen)
        m.money.hold_totals_in_array()
        self._listening = True  # until close(), which may be called more than once

    def _watch(self, k: int) -> Callable[[bool], None]:
        moving = self.moving
        return lambda _up: moving.add(k)

    def close(self) -> None:
        """Stop listening; the ledger keeps its totals in a list again."""
        if not self._listening:
            return
        m = self.m
        for fac, watcher in zip(m.facilities, self._watchers, strict=True):
            fac.up.listeners.remove(watcher)
        m.contract_listeners.remove(self._listen)
        m.money.release_totals()
        self._listening = False

    def _read_prices(self) -> None:
        """Prices as the market's shift left them in the objects (sim.market.NominalPrices.shift)."""
        m = self.m
        self.virgin_price[:] = [i.virgin_price if i.virgin_price is not None else 0.0 for i in m.input_states]
        self.bdisp[:] = [s.disposal_cost for s in self.subs]
        self.disposal[:] = [st.disposal_cost for st in m.stream_states]

    def _batch_of(self, shipments: list) -> Batch:
        """The object core's shipments on the road (at the start of a run) as a batch."""
        cs, ps, pq, pb, pr = [], [], [], [], []
        for j, (c, pieces, _from_hub) in enumerate(shipments):
            cs.append(c.index)
            for q, born, quality in pieces:
                ps.append(j)
                pq.append(q)
                pb.append(born)
                pr.append(self.qualities.row_of(quality))
        return Batch(
            np.array(cs, dtype=np.int64), np.array(ps, dtype=np.int64), np.array(pq, dtype=float),
            np.array(pb, dtype=float), np.array(pr, dtype=np.int64),
        )

    def quality_table(self) -> np.ndarray:
        """The lots' quality table (rows x properties, NaN past a material's properties)."""
        return self.qualities.table()

    # --- money -------------------------------------------------------------------------------

    def queue_payments(
        self, fac: np.ndarray, step: int, item: np.ndarray, account: np.ndarray, amount: np.ndarray
    ) -> None:
        """Queue payments of a step of the facilities' turns (booked in order by _book_turns)."""
        if len(amount):
            key = (fac << FAC_SHIFT) | (step << STEP_SHIFT) | item
            self._entries.append((key, account, amount))

    def book(self, day: int, account: np.ndarray, amount: np.ndarray) -> None:
        """Book entries in the order given (MoneyLedger.pay for each, entries of 0 skipped)."""
        nz = amount != 0.0
        if not nz.all():
            account, amount = account[nz], amount[nz]
        if not len(amount):
            return
        self.m.money.pay_columns(day, account, amount)

    def _book_turns(self, day: int) -> None:
        if not self._entries:
            return
        key = np.concatenate([e[0] for e in self._entries])
        account = np.concatenate([e[1] for e in self._entries])
        amount = np.concatenate([e[2] for e in self._entries])
        self._entries.clear()
        order = np.argsort(key, kind="stable")
        self.book(day, account[order], amount[order])

    # --- the day -----------------------------------------------------------------------------

    def day(self) -> None:
        """Simulate the model's next day (SymbiosisModel._simulate_day)."""
        m = self.m
        day = m.next_day
        if day >= m.horizon:
            m.running = False
            return
        m.open_day(day)
        up_row = m.up_history[day]  # ones until written: only facilities that were down need a look
        facilities = m.facilities
        for k in list(self.moving):
            state = facilities[k].up
            up_row[k] = state.up_fraction(day)
            if state.up_all_along:
                self.moving.discard(k)
        up = up_row.copy()
        if self.scaled_streams:  # scripted stream_end / stream_scale events move st.scale
            self.scale[:] = [st.scale for st in m.stream_states]
        if day in self.shift_days:  # a market shift moved prices (sim/market.py)
            self._read_prices()
        # Contract status: the object core's own step (starts and notices that run out; its
        # contract_changed calls tell this engine what changed, as do closures and notices
        # during the clock above).
        m.update_contract_status(day)  # and reviews indexed prices (sim/indexation.py)
        if m.indexed_contracts:
            self.price[[c.index for c in m.indexed_contracts]] = [c.price_per_t for c in m.indexed_contracts]
        if self._changed:
            self._read_status()
        if len(self.backup_idx):  # backups are called and released by outage events
            self.called[self.backup_idx] = [c.called for c in self.backup_objs]
        if len(self.stock_idx):  # virgin orders arrive during the clock
            self.virgin_stock[self.stock_idx] = [i.virgin_stock for i in self.stock_objs]
        landing_arrays.land(self, day)
        operating = consumption_arrays.consume(self, day, up)
        m.operating_history[day] = operating
        if len(self.stock_idx):
            for i, v in zip(self.stock_objs, self.virgin_stock[self.stock_idx].tolist(), strict=True):
                i.virgin_stock = v
        production_arrays.produce(self, day, up, operating)
        dispatch_arrays.dispatch(self, day)
        tidy_up_arrays.tidy_up(self, day)
        tidy_up_arrays.book_holding(self)
        self._book_turns(day)
        settle_columns(self, day)
        if m.collect_series:
            self.sync()
            m.datacollector.collect(m)
        if m.stock_value_history is not None:
            m.record_stock_values(day, columns_stocks(self))
        if day == m.horizon - 1:
            m.running = False

    def period_of(self, k: int) -> Period:
        """Contract `k`'s open period as the object core keeps it."""
        return Period(
            committed_t=float(self.committed[k]), shipped_t=float(self.shipped[k]), taken_t=float(self.taken[k]),
            short_t=float(self.short[k]), excused_t=float(self.excused[k]), standby_days=float(self.standby[k]),
            carried_in_t=float(self.carried_in[k]), suspended_t=float(self.suspended[k]),
        )

    def _read_status(self) -> None:
        """Status, called flags and full-supply figures of the contracts the object core
        changed (World.contract_changed)."""
        for c in self._changed:
            k = c.index
            status = c.status
            self.in_force[k] = status is Status.ACTIVE or status is Status.NOTICE
            self.ended[k] = status is Status.ENDED
            self.ended_day[k] = c.ended_day if c.ended_day is not None else -1
            self.called[k] = c.called
            j = self.c_sub[k]
            self.full_supply[j] = self.subs[j].full_supply_t_per_day()
            self.cycle[j] = self.subs[j].cycle_stock_t()
            self.in_cycle = None
        self._changed.clear()

    # --- back to the objects -----------------------------------------------------------------

    def sync(self) -> None:
        """Write the columns back into the model's objects, as the object core would have left
        them (the ledger's totals are given back by :meth:`close`)."""
        m = self.m
        for st in m.stream_states:
            n = len(st.material.quality)
            st.storage.lots = deque((q, b, self.qualities.quality(r, n)) for q, b, r in self.src.lots(st.index))
            st.storage.total = float(self.src.total[st.index])
        for j, s in enumerate(self.subs):
            n = len(m.materials[s.material].quality)
            s.lots.lots = deque((q, b, self.qualities.quality(r, n)) for q, b, r in self.buf.lots(j))
            s.lots.total = float(self.buf.total[j])
            s.full_supply = None
        last = max(m.next_day - 1, 0)
        op, up = m.operating_history[last], m.up_history[last]
        for k, fac in enumerate(m.facilities):
            fac.operating = float(op[k])
            fac.up_fraction = float(up[k])
        for inp, since in zip(m.input_states, self.since.tolist(), strict=True):
            inp.shortage_since = None if since < 0 else since
        for c in m.contracts:
            k = c.index
            c.period = self.period_of(k)
            c.in_transit_t = float(self.in_transit[k])
            c.period_start = int(self.period_start[k])
        m.dock.clear()
        for d, batches in sorted(self.arrivals.items()):
            shipments = m.dock.setdefault(d, [])
            for b in batches:
                contracts = [m.contracts[c] for c in b.contracts.tolist()]
                n_props = [len(m.materials[c.terms.material].quality) for c in contracts]
                pieces: list[list] = [[] for _ in contracts]
                columns = (b.piece_ship, b.piece_qty, b.piece_born, b.piece_qrow)
                for j, q, born, row in zip(*(x.tolist() for x in columns), strict=True):
                    pieces[j].append((q, born, self.qualities.quality(row, n_props[j])))
                shipments.extend((c, p, False) for c, p in zip(contracts, pieces, strict=True))


def _or_minus_one(number: int | None) -> int:
    return -1 if number is None else number


def run_on_arrays(m: World) -> None:
    """Run `m` to its horizon on the array day, then write the state back to its objects."""
    engine = ArrayDay(m)
    try:
        while m.running:
            m.time += 1.0
            if m.next_day == m.warmup:  # the opening stocks (sim/stocks.py)
                m.opening_stocks = columns_stocks(engine)
            engine.day()
    finally:
        engine.close()
        engine.sync()


__all__ = ["AUTO_MIN_FACILITIES", "ArrayDay", "engine_problems", "pick_engine", "problems", "run_on_arrays"]
