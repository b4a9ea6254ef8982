"""The day in arrays: the same day as ``SymbiosisModel._simulate_day``, over whole facility sets.

A large network's day in the object core visits a Python object per lot, shipment and open
period, and a thousand facilities' worth of those outgrow the processor's caches
(benchmarks/RESULTS.md). Here the day's state is held in columns indexed by stream, input,
substitute store and contract, and each step of the day is a handful of numpy operations over
all of them. The object core stays the reference: this engine gives the same flows, the same
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

Not covered: the intermediary and the agents' decisions (and, for the ordering keys of money
entries, inputs with more than 13 substitutes). :func:`problems` names them; such a
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

from sim.contracts import Period, Status, allocate
from sim.day.settlement import settle_columns
from sim.ledger import MARKET
from sim.rings import SCALAR_MAX, Rings, Sums, pieces_of

if TYPE_CHECKING:
    from sim.model import SymbiosisModel
    from sim.scenario import Scenario

# Money entries are sorted by facility, then by step of the facility's turn, then by item, so
# that they are booked in the object core's order. Keys: facility << 40 | step << 36 | item.
_CONSUME, _PRODUCE, _DISPATCH, _TIDY = 1, 2, 3, 4
_FAC_SHIFT, _STEP_SHIFT = 40, 36
_MAX_SUBSTITUTES = 13  # item keys leave this many substitute slots per input (then virgin, emergency, lost)

# `policy.engine = "auto"` takes the array day from this many facilities on (benchmarks/
# bench_engines.py measures where the two engines cross; see benchmarks/RESULTS.md).
AUTO_MIN_FACILITIES = 120


def problems(spec: Scenario) -> list[str]:
    """What the scenario has that the array day does not cover (read from the file's terms, so
    that it holds for the network the model resolves from them); empty when it can run on
    arrays."""
    from sim.network import intermediary_usable

    out: list[str] = []
    if intermediary_usable(spec):
        out.append("an intermediary")
    if spec.policy.adaptive or (spec.policy.adaptive is None and spec.behaviour is not None):
        out.append("agents' decisions (policy.adaptive or [behaviour])")
    inputs = [i for f in spec.facilities for i in f.inputs]
    if any(len(i.substitutes) > _MAX_SUBSTITUTES for i in inputs):
        out.append(f"inputs with more than {_MAX_SUBSTITUTES} substitutes")
    return out


class _Batch:
    """Shipments sent on one day that land on the same day, in dispatch order, and their
    pieces (lots taken from source storage: shipment, tonnes, born day, quality row), each
    shipment's pieces oldest first."""

    __slots__ = ("contracts", "piece_born", "piece_qrow", "piece_qty", "piece_ship")

    def __init__(self, contracts, piece_ship, piece_qty, piece_born, piece_qrow):
        self.contracts, self.piece_ship = contracts, piece_ship
        self.piece_qty, self.piece_born, self.piece_qrow = piece_qty, piece_born, piece_qrow


def _join(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Shipments of several parts as one: (contracts, piece shipment numbers, other piece
    columns...), the contracts in order, each piece's shipment number shifted by the
    shipments of the parts before its own."""
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] + o for p, o in zip(parts, offsets, strict=True)]),
        *(np.concatenate([p[k] for p in parts]) for k in range(2, len(parts[0]))),
    )


class ArrayDay:
    """The columns of one model's day, and the day over them (see the module docstring)."""

    def __init__(self, m: SymbiosisModel):
        # Terms, caps, contract lists and `contracted` are read once, here: only the
        # intermediary and the agents' decisions change them during a run, and those keep a
        # network on the object core (so does a ledger tracking cash per contract).
        missing = problems(m.spec)
        if m.hub is not None or m.decisions is not None or m.money.contract_cash is not None or missing:
            raise ValueError(f"the array day does not cover this model: {'; '.join(missing) or 'its agents or hub'}")
        self.m = m
        fidx = m.facility_index
        streams, inputs, contracts = m.stream_states, m.input_states, m.contracts
        # --- streams and source storage
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
        # Lot quality: a lot holds a row of one table: a stream's draws for the horizon (row
        # offset + day), or a row added for a lot loaded from the objects (initial buffers).
        props = max([len(mat.quality) for mat in m.materials.values()] or [0])
        self.q_offset = np.full(S, -1, dtype=np.int64)
        parts, n_rows = [], 0
        for st in streams:
            if st.quality is not None:
                self.q_offset[st.index] = n_rows
                parts.append(st.quality)
                n_rows += len(st.quality)
        self._parts, self._n_props, self._extra_rows, self._rows = parts, props, [], n_rows
        self.src = Rings(S)
        for st in streams:
            self.src.load(st.index, [(q, b, self._row_of(x)) for q, b, x in st.storage.lots], st.storage.total)
        # --- inputs and the buyers' stores (substitutes), flattened in input order
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
            self.buf.load(j, [(q, b, self._row_of(x)) for q, b, x in s.lots.lots], s.lots.total)
        self.n_ranks = int(self.sub_rank.max()) + 1 if len(subs) else 0
        self.rank_subs = [np.flatnonzero(self.sub_rank == r) for r in range(self.n_ranks)]
        self.rank_shelf = [rs[~np.isnan(self.sub_shelf[rs])] for rs in self.rank_subs]
        sub_of = {id(s): j for j, s in enumerate(self.subs)}
        # --- contracts: primaries and backups, none routed or latent (see problems())
        C = len(contracts)
        self.c_stream = np.array([c.supplier_stream.index for c in contracts], dtype=np.int64)
        self.c_sub = np.array([sub_of[id(c.buyer_input[1])] for c in contracts], dtype=np.int64)
        self.c_input = np.array([c.buyer_input[0].index for c in contracts], dtype=np.int64)
        self.c_fac = self.st_fac[self.c_stream] if C else np.zeros(0, dtype=np.int64)
        self.vol = np.array([c.terms.volume_t_per_day for c in contracts], dtype=float)
        self.interval = np.array([c.terms.delivery_interval_days for c in contracts], dtype=np.int64)
        self.start = np.array([c.terms.start_day for c in contracts], dtype=np.int64)
        self.settle_days = np.array([c.terms.settlement_days for c in contracts], dtype=np.int64)
        self.km = np.array([c.km for c in contracts], dtype=float)
        self.lag = np.array([c.lag_days for c in contracts], dtype=np.int64)
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
        self._qtab: np.ndarray | None = None
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
        if len(streams) * self.n_c_ranks >= 1 << _STEP_SHIFT:  # the dispatch order must fit a key's item field
            raise ValueError(f"too many streams x contracts per stream for the array day ({len(streams)} x "
                             f"{self.n_c_ranks})")
        self.stream_contracts = [[c.index for c in st.live] for st in streams]
        self.priorities = [[c.terms.priority for c in st.live] for st in streams]
        self.pro_rata = m.spec.policy.allocation == "pro_rata"
        # status, from the objects: the object core's own status step runs every day
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
        self.carried_in = np.array([c.period.carried_in_t for c in contracts], dtype=float)
        self.in_transit = np.array([c.in_transit_t for c in contracts], dtype=float)
        self.period_start = np.array([c.period_start for c in contracts], dtype=np.int64)
        self.arrivals: dict[int, list[_Batch]] = {}
        for d, shipments in m.dock.items():
            self.arrivals[d] = [self._batch_of(shipments)]
        # Facilities whose up-time today may be below 1: those down, or back up since their last
        # day (UpState.up_fraction pro-rates the day). An outage's start or end marks one.
        self.moving: set[int] = {k for k, fac in enumerate(m.facilities) if not fac.up.up_all_along}
        self.full_supply = np.array([s.full_supply_t_per_day() for s in self.subs], dtype=float)
        self._changed: list = []  # contracts whose status changed (contract_changed; terms do not, see above)
        tr = m.spec.transport
        self.cost_per_tkm, self.cost_per_trip, self.truck_t = tr.cost_per_tkm, tr.cost_per_trip, tr.truck_capacity_t
        self._entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._emergencies: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.fac_ids = [f.fid for f in m.facilities]
        # inputs: consumption passes (critical inputs first), stockpiles, emergency supply
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
        self._open()

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
        """Prices as the market's shift left them in the objects (Model._shift_market)."""
        m = self.m
        self.virgin_price[:] = [i.virgin_price if i.virgin_price is not None else 0.0 for i in m.input_states]
        self.bdisp[:] = [s.disposal_cost for s in self.subs]
        self.disposal[:] = [st.disposal_cost for st in m.stream_states]

    def _batch_of(self, shipments: list) -> _Batch:
        """The object core's shipments on the road (at the start of a run) as a batch."""
        cs, ps, pq, pb, pr = [], [], [], [], []
        for j, (c, pieces, _from_hub) in enumerate(shipments):
            cs.append(c.index)
            for q, born, quality in pieces:
                ps.append(j)
                pq.append(q)
                pb.append(born)
                pr.append(self._row_of(quality))
        return _Batch(
            np.array(cs, dtype=np.int64), np.array(ps, dtype=np.int64), np.array(pq, dtype=float),
            np.array(pb, dtype=float), np.array(pr, dtype=np.int64),
        )

    def _row_of(self, quality: np.ndarray | None) -> int:
        """The quality table's row for a lot loaded from the objects (a row added; -1 for a
        lot without quality)."""
        if quality is None:
            return -1
        self._extra_rows.append(np.asarray(quality, dtype=float))
        return self._rows + len(self._extra_rows) - 1

    def _table(self) -> np.ndarray:
        """The quality table (rows x properties, NaN past a material's properties)."""
        if self._qtab is None:
            rows = [*self._parts, *(x[None, :] for x in self._extra_rows)]
            table = np.full((sum(len(r) for r in rows), max(self._n_props, 1)), np.nan)
            at = 0
            for r in rows:
                table[at : at + len(r), : r.shape[1]] = r
                at += len(r)
            self._qtab = table
        return self._qtab

    def _quality(self, row: int, n_props: int) -> np.ndarray | None:
        return None if row < 0 else self._table()[row, :n_props]

    # --- money -------------------------------------------------------------------------------

    def _pay(self, fac: np.ndarray, step: int, item: np.ndarray, account: np.ndarray, amount: np.ndarray) -> None:
        """Queue payments of a step of the facilities' turns (booked in order by _book_turns)."""
        if len(amount):
            key = (fac << _FAC_SHIFT) | (step << _STEP_SHIFT) | item
            self._entries.append((key, account, amount))

    def _book(self, day: int, account: np.ndarray, amount: np.ndarray) -> None:
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
        self._book(day, account[order], amount[order])

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
        m.update_contract_status(day)
        if self._changed:
            self._read_status()
        if len(self.backup_idx):  # backups are called and released by outage events
            self.called[self.backup_idx] = [c.called for c in self.backup_objs]
        if len(self.stock_idx):  # virgin orders arrive during the clock
            self.virgin_stock[self.stock_idx] = [i.virgin_stock for i in self.stock_objs]
        self._land(day)
        operating = self._consume(day, up)
        m.operating_history[day] = operating
        if len(self.stock_idx):
            for i, v in zip(self.stock_objs, self.virgin_stock[self.stock_idx].tolist(), strict=True):
                i.virgin_stock = v
        self._produce(day, up, operating)
        self._dispatch(day)
        self._tidy_up(day)
        self._book_turns(day)
        settle_columns(self, day)
        if m.collect_series:
            self.sync()
            m.datacollector.collect(m)
        if day == m.horizon - 1:
            m.running = False

    def _land(self, day: int) -> None:
        """Step 4 and the unloading at each buyer's turn: shipments land and are inspected
        (Model._inspect: every piece against the contract's bands); what is in spec is paid
        and enters the buyer's stores, the rest is disposed of at the supplier's cost."""
        batches = self.arrivals.pop(day, None)
        if not batches:
            return
        m = self.m
        columns = [(b.contracts, b.piece_ship, b.piece_qty, b.piece_born, b.piece_qrow) for b in batches]
        cs, ps, pq, pb, pr = _join(columns)
        ok = self._in_spec(cs[ps], pr) if self.has_bands else np.ones(len(ps), dtype=bool)
        acc = np.zeros(len(cs))
        np.add.at(acc, ps[ok], pq[ok])  # piece by piece, in order, as _inspect adds them
        rej = np.zeros(len(cs))
        if not ok.all():
            np.add.at(rej, ps[~ok], pq[~ok])
        # a contract lands at most one shipment a day (one lag, one dispatch a day)
        self.taken[cs] = self.taken[cs] + acc
        self.in_transit[cs] = self.in_transit[cs] - (acc + rej)
        landed = acc != 0.0
        cl, al = cs[landed], acc[landed]
        row = m.contracts_flow["accepted_t"][day]
        row[cl] = row[cl] + al
        paid = acc * self.price[cs]
        account = self.pay_price[cs]
        gate = paid < 0.0
        if gate.any():  # a gate fee (negative price) is paid the other way (MoneyLedger.book)
            gk = cs[gate]
            for k in gk[self.gate_account[gk] < 0].tolist():  # opened when first paid, as book() does
                t = m.contracts[k].terms
                self.gate_account[k] = m.money.account(t.supplier, t.buyer, "price", k)
            account = np.where(gate, self.gate_account[cs], account)
            paid = np.where(gate, -paid, paid)
        rejected = rej != 0.0
        if rejected.any():
            cr, rr = cs[rejected], rej[rejected]
            cf = m.contracts_flow
            cf["rejected_t"][day, cr] = cf["rejected_t"][day, cr] + rr
            cf["short_t"][day, cr] = cf["short_t"][day, cr] + rr
            np.add.at(m.streams_flow["rejected_t"][day], self.c_stream[cr], rr)
            self.short[cr] = self.short[cr] + rr
            # each shipment's price, then its rejection's disposal, as _receive books them
            both = np.empty(2 * len(cs), dtype=np.int64)
            amounts = np.empty(2 * len(cs))
            both[0::2], both[1::2] = account, self.pay_rejection[cs]
            amounts[0::2], amounts[1::2] = paid, rej * self.disposal[self.c_stream[cs]]
            self._book(day, both, amounts)
        else:
            self._book(day, account, paid)
        # the buyers' turns: the accepted lots into their stores, in landing order
        keep = landed[ps] & ok
        self.buf.put_in_order(self.c_sub[cs[ps[keep]]], pq[keep], pb[keep], pr[keep])
        np.add.at(m.inputs_flow["accepted_t"][day], self.c_input[cl], al)

    def _in_spec(self, contract: np.ndarray, qrow: np.ndarray) -> np.ndarray:
        """contracts.in_spec for each piece: its quality row within every band of its
        contract (a lot without quality passes; NaN passes, as in the object core)."""
        ok = np.ones(len(qrow), dtype=bool)
        has = qrow >= 0
        if not has.any():
            return ok
        table = self._table()
        rows, cons = qrow[has], contract[has]
        good = np.ones(len(rows), dtype=bool)
        for j in range(self.band_prop.shape[1]):
            v = table[rows, self.band_prop[cons, j]]
            good &= ~((v < self.band_lo[cons, j]) | (v > self.band_hi[cons, j]))
        ok[has] = good
        return ok

    def _consume(self, day: int, up: np.ndarray) -> np.ndarray:
        """Facility.consume for every input: critical inputs first, at the up-time (their
        unmet share lowers the facility's operating level), then the others at that level.
        Returns the operating levels."""
        operating = up.copy()
        crit, rest = self.passes
        if len(crit):
            f = self.in_fac[crit]
            share = self._consume_inputs(day, 0, crit, up[f], up)
            np.minimum.at(operating, f, up[f] * (1.0 - share))
        if len(rest):
            self._consume_inputs(day, 1, rest, operating[self.in_fac[rest]], up)
        if self._emergencies:
            self._book_emergencies(day)
        return operating

    def _consume_inputs(self, day: int, pass_no: int, idx: np.ndarray, level: np.ndarray, up: np.ndarray) -> np.ndarray:
        """Facility._consume_input for the inputs `idx` (ascending) at operating `level`;
        returns each one's unmet share of its requirement."""
        m = self.m
        flows = m.inputs_flow
        fac = self.in_fac[idx]
        demand = self.demand[idx]
        required = demand * level
        flows["required_t"][day, idx] = required
        flows["required_cf_t"][day, idx] = demand * up[fac]
        n = len(idx)
        left = required.copy()
        full_left = required.copy()
        secondary_full = np.zeros(n)
        from_secondary = np.zeros(n)
        secondary_used = np.zeros(n)
        at = self.pass_pos[pass_no]  # input -> its position in idx
        item = pass_no << 30
        buf = self.buf
        for r, subs in enumerate(self.pass_rank_subs[pass_no]):
            if not len(subs):
                continue
            p = at[self.sub_in[subs]]
            share = self.max_share[subs] * required[p]
            cap = np.minimum(left[p], share)
            cont = self.contracted[subs]
            if cont.any():
                cp, cs = p[cont], subs[cont]
                full = np.minimum(np.minimum(full_left[cp], share[cont]), self.ratio[cs] * self.full_supply[cs])
                secondary_full[cp] = secondary_full[cp] + full
                full_left[cp] = full_left[cp] - full
            used_func = np.minimum(cap, buf.total[subs] * self.ratio[subs])
            pos = used_func > 0.0
            if not pos.any():
                continue
            subs, p, used_func = subs[pos], p[pos], used_func[pos]
            used_t = used_func / self.ratio[subs]
            buf.take(subs, used_t, pieces=False)
            from_secondary[p] = from_secondary[p] + used_func
            secondary_used[p] = secondary_used[p] + used_t
            cost = self.proc_cost[subs]
            paid = cost != 0.0
            ins = idx[p[paid]]
            amount = used_t[paid] * cost[paid]
            self._pay(self.in_fac[ins], _CONSUME, item | (ins * 16 + r), self.pay_proc[subs[paid]], amount)
            left[p] = left[p] - used_func
        flows["secondary_full_t"][day, idx] = secondary_full
        flows["from_secondary_t"][day, idx] = from_secondary
        flows["secondary_used_t"][day, idx] = secondary_used
        buy = np.flatnonzero((left > 0.0) & self.market[idx])
        if len(buy):
            ins = idx[buy]
            flows["from_virgin_t"][day, ins] = left[buy]
            amount = left[buy] * self.virgin_price[ins]
            self._pay(self.in_fac[ins], _CONSUME, item | (ins * 16 + 13), self.pay_virgin[ins], amount)
            left[buy] = 0.0
        draw = np.flatnonzero((left > 0.0) & self.stockpile[idx])
        if len(draw):
            ins = idx[draw]
            take = np.minimum(left[draw], self.virgin_stock[ins])
            self.virgin_stock[ins] = self.virgin_stock[ins] - take
            flows["from_virgin_t"][day, ins] = take
            left[draw] = left[draw] - take
        em = np.flatnonzero(self.emergency[idx])
        if len(em):
            ins = idx[em]
            short = left[em] > 1e-12
            self.since[ins[~short]] = -1  # the episode is over
            e, ins = em[short], ins[short]
            fresh = self.since[ins] < 0
            self.since[ins[fresh]] = day
            due = (day - self.since[ins]) >= self.em_lead[ins]
            e, ins = e[due], ins[due]
            if len(e):
                flows["from_emergency_t"][day, ins] = left[e]
                amount = left[e] * (self.virgin_price[ins] * (1.0 + self.em_premium[ins]))
                self._emergencies.append((item | (ins * 16 + 14), ins, amount))
                left[e] = 0.0
        unmet = np.flatnonzero(left > 0.0)
        share = np.zeros(n)
        if len(unmet):
            ins = idx[unmet]
            flows["unmet_t"][day, ins] = left[unmet]
            amount = left[unmet] * self.lost_margin[ins]
            self._pay(self.in_fac[ins], _CONSUME, item | (ins * 16 + 15), self.pay_lost[ins], amount)
            req = required[unmet]
            share[unmet] = np.where(req > 0.0, left[unmet] / np.where(req > 0.0, req, 1.0), 0.0)
        return share

    def _book_emergencies(self, day: int) -> None:
        """Emergency purchases pay on an account per facility that the object core opens when
        it first books one (MoneyLedger.book): opened here in the same order, facility by
        facility, before the day's entries are booked."""
        items = np.concatenate([e[0] for e in self._emergencies])
        ins = np.concatenate([e[1] for e in self._emergencies])
        amount = np.concatenate([e[2] for e in self._emergencies])
        self._emergencies.clear()
        keys = (self.in_fac[ins] << _FAC_SHIFT) | (_CONSUME << _STEP_SHIFT) | items
        order = np.argsort(keys, kind="stable")
        money = self.m.money
        for j in order.tolist():
            k = int(ins[j])
            if self.em_account[k] < 0 and amount[j] != 0.0:
                fid = self.fac_ids[int(self.in_fac[k])]
                self.em_account[k] = money.account(fid, MARKET, "emergency")
        self._pay(self.in_fac[ins], _CONSUME, items, self.em_account[ins], amount)

    def _produce(self, day: int, up: np.ndarray, operating: np.ndarray) -> None:
        """Facility.produce for every stream."""
        if self.base is None:
            return
        flows = self.m.streams_flow
        base = self.base[day] * self.scale
        raw = base * operating[self.st_fac]
        flows["generated_cf_t"][day] = base * up[self.st_fac]
        flows["generated_raw_t"][day] = raw
        made = np.flatnonzero(raw > 0.0)
        raw = raw[made]
        pre = self.pre_cost[made] > 0.0
        if pre.any():
            s = made[pre]
            self._pay(self.st_fac[s], _PRODUCE, s, self.pay_pre[s], raw[pre] * self.pre_cost[s])
        out = raw * self.mass[made]
        flows["generated_t"][day, made] = out
        offset = self.q_offset[made]
        self.src.put(made, out, np.full(len(made), float(day)), np.where(offset >= 0, offset + day, -1))

    def _dispatch(self, day: int) -> None:
        """Model._dispatch_streams for every stream."""
        C = len(self.vol)
        if not C:
            return
        m = self.m
        # due today (ContractState.due_today): in force, started, on the interval
        k = self.interval
        on_interval = (k == 1) | ((day - self.start) % k == k - 1)
        on = self.in_force & (day >= self.start) & on_interval & (self.called | ~self.is_backup)
        due = np.where(on, self.vol * k, 0.0)
        sums = Sums(len(self.scale))
        for r, cs in enumerate(self.rank_contracts):
            (sums.add if r else sums.first)(self.c_stream[cs], due[cs])
        total = sums.result()
        stock = self.src.total
        ship = due.copy()
        considered = total[self.c_stream] != 0.0
        short_streams = (total != 0.0) & (total > stock)
        if short_streams.any():
            if self.pro_rata:  # allocate(): each due times available / total
                cut = short_streams[self.c_stream]
                ss = self.c_stream[cut]
                ship[cut] = due[cut] * np.where(total[ss] > 0, stock[ss] / np.where(total[ss] > 0, total[ss], 1.0), 0.0)
            else:
                for s in np.flatnonzero(short_streams).tolist():
                    cs = self.stream_contracts[s]
                    ship[cs] = allocate(float(stock[s]), due[cs].tolist(), self.priorities[s], "priority")
        d_idx = np.flatnonzero(considered & (due > 0.0))
        if not len(d_idx):
            return
        d, q = due[d_idx], ship[d_idx]
        cf = m.contracts_flow
        cf["due_t"][day, d_idx] = d
        cf["shipped_t"][day, d_idx] = q
        self.committed[d_idx] = self.committed[d_idx] + d
        self.shipped[d_idx] = self.shipped[d_idx] + q
        sh = q < d
        if sh.any():
            self._short(day, d_idx[sh], d[sh], q[sh])
        # ship, one contract rank of each stream at a time (its storage is taken in that order)
        sending = np.zeros(C, dtype=bool)
        sending[d_idx[q > 0.0]] = True
        qty = np.zeros(C)
        qty[d_idx] = q
        stream_shipped = m.streams_flow["shipped_t"][day]
        parts: list[tuple[np.ndarray, ...]] = []  # (contracts, their pieces), in the order taken
        narrow: list[np.ndarray] = []
        for cs in self.rank_contracts:
            cs = cs[sending[cs]]
            if not len(cs):
                continue
            if narrow or len(cs) <= SCALAR_MAX:  # this rank and the rest: contract by contract below
                narrow.append(cs)
                continue
            ss, qc = self.c_stream[cs], qty[cs]
            parts.append((cs, *self.src.take(ss, qc)))
            stream_shipped[ss] = stream_shipped[ss] + qc
        if narrow:
            cs = np.concatenate(narrow)
            cs = cs[np.lexsort((self.c_rank[cs], self.c_stream[cs]))]  # stream by stream, in rank order
            ss, qc = self.c_stream[cs], qty[cs]
            lists: tuple[list, list, list, list, list] = ([], [], [], [], [])
            self.src.take_in_turn(ss.tolist(), qc.tolist(), lists)
            parts.append((cs, *pieces_of(lists)))
            np.add.at(stream_shipped, ss, qc)  # in turn: a stream's contracts one after another
        if not parts:
            return
        cs, ps, pq, pb, pr, pd = _join(parts)
        qc = qty[cs]
        self.in_transit[cs] = self.in_transit[cs] + qc
        # logistics.haul_cost, elementwise: t-km plus trips (a part load is a whole trip)
        haul = qc * self.km[cs] * self.cost_per_tkm + np.ceil(qc / self.truck_t - 1e-12) * self.cost_per_trip
        order_key = self.c_stream[cs] * self.n_c_ranks + self.c_rank[cs]  # the object core's dispatch order
        self._pay(self.c_fac[cs], _DISPATCH, order_key, self.pay_transport[cs], haul)
        # the shipments in dispatch order, each one's pieces oldest first
        order = np.argsort(order_key, kind="stable")
        new_pos = np.empty(len(cs), dtype=np.int64)
        new_pos[order] = np.arange(len(cs))
        cs = cs[order]
        ps = new_pos[ps]
        po = np.lexsort((pd, ps))
        ps, pq, pb, pr = ps[po], pq[po], pb[po], pr[po]
        lags = self.lag[cs]
        for lag in np.unique(lags).tolist():
            mine = lags == lag
            if mine.all():
                batch = _Batch(cs, ps, pq, pb, pr)
            else:
                renumber = np.cumsum(mine) - 1
                keep = mine[ps]
                batch = _Batch(cs[mine], renumber[ps[keep]], pq[keep], pb[keep], pr[keep])
            self.arrivals.setdefault(day + lag, []).append(batch)

    def _short(self, day: int, cs: np.ndarray, d: np.ndarray, q: np.ndarray) -> None:
        """Shortfalls, excused by the supplier's down-share over the delivery window."""
        m = self.m
        short = d - q
        lo = np.maximum(0, day - self.interval[cs] + 1)
        n = day + 1 - lo
        f = self.c_fac[cs]
        sums = Sums(len(cs))
        hist = m.up_history
        for j in range(int(n.max())):
            w = np.flatnonzero(j < n)
            (sums.add if j else sums.first)(w, hist[lo[w] + j, f[w]])
        excused = np.minimum(short, d * (1.0 - sums.result() / n))
        cf = m.contracts_flow
        cf["short_t"][day, cs] = cf["short_t"][day, cs] + short
        cf["excused_t"][day, cs] = excused
        self.short[cs] = self.short[cs] + short
        self.excused[cs] = self.excused[cs] + excused

    def _tidy_up(self, day: int) -> None:
        """Facility.tidy_up for every stream and input."""
        m = self.m
        sflows, iflows = m.streams_flow, m.inputs_flow
        src = self.src
        n_st = len(self.scale)
        if n_st:
            spoiled = np.zeros(n_st)
            if len(self.st_shelf_idx):
                spoiled[self.st_shelf_idx] = src.expire(self.st_shelf_idx, self.st_shelf, day)
                sflows["spoiled_t"][day, self.st_shelf_idx] = spoiled[self.st_shelf_idx]
            overflow = np.zeros(n_st)
            over = np.flatnonzero(src.total - self.st_cap > 1e-12)
            if len(over):
                overflow[over] = src.trim_newest(over, self.st_cap[over])
                sflows["overflow_t"][day, over] = overflow[over]
            lost = np.flatnonzero((spoiled != 0.0) | (overflow != 0.0))
            if len(lost):
                self._pay(
                    self.st_fac[lost], _TIDY, lost, self.pay_disposal[lost],
                    (spoiled[lost] + overflow[lost]) * self.disposal[lost],
                )
            sflows["stock_t"][day] = src.total
        n_in = len(self.demand)
        if not n_in:
            return
        buf = self.buf
        inputs_item = (1 << 30)
        spoiled_in = np.zeros(n_in)
        for r, subs in enumerate(self.rank_shelf):
            if not len(subs):
                continue
            sp = buf.expire(subs, self.sub_shelf[subs], day)
            hit = sp != 0.0
            if hit.any():
                s, ins = subs[hit], self.sub_in[subs[hit]]
                spoiled_in[ins] = spoiled_in[ins] + sp[hit]
                amount = sp[hit] * self.bdisp[s]
                self._pay(self.in_fac[ins], _TIDY, inputs_item + ins * 32 + r, self.pay_bdisp[s], amount)
        level = self._levels(n_in)
        excess = level - self.buffer_cap
        over = excess > 1e-12
        overflow_in = np.zeros(n_in)
        if over.any():
            for r in range(self.n_ranks - 1, -1, -1):  # the last-listed substitute gives way first
                subs = self.rank_subs[r]
                ins = self.sub_in[subs]
                go = over[ins] & (excess[ins] > 1e-12)
                if not go.any():
                    continue
                subs, ins = subs[go], ins[go]
                cut = buf.trim_newest(subs, np.maximum(0.0, buf.total[subs] - excess[ins]))
                excess[ins] = excess[ins] - cut
                overflow_in[ins] = overflow_in[ins] + cut
                self._pay(
                    self.in_fac[ins], _TIDY, inputs_item + ins * 32 + 16 + (15 - r), self.pay_bdisp[subs],
                    cut * self.bdisp[subs],
                )
            level = np.where(over, self._levels(n_in), level)
        iflows["buffer_spoiled_t"][day] = spoiled_in
        iflows["buffer_overflow_t"][day] = overflow_in
        iflows["buffer_t"][day] = level
        for fac, inp in self.reorders:  # (s, S) review, in input order (it schedules the deliveries)
            fac.reorder_virgin(inp, day)
        iflows["virgin_stock_t"][day] = self.virgin_stock

    def _levels(self, n_in: int) -> np.ndarray:
        """Each input's secondary material held (InputState.buffer_level, summed in order)."""
        sums = Sums(n_in)
        for r, subs in enumerate(self.rank_subs):
            (sums.add if r else sums.first)(self.sub_in[subs], self.buf.total[subs])
        return sums.result()

    def period_of(self, k: int) -> Period:
        """Contract `k`'s open period as the object core keeps it."""
        return Period(
            committed_t=float(self.committed[k]), shipped_t=float(self.shipped[k]), taken_t=float(self.taken[k]),
            short_t=float(self.short[k]), excused_t=float(self.excused[k]), standby_days=float(self.standby[k]),
            carried_in_t=float(self.carried_in[k]),
        )

    def _read_status(self) -> None:
        """Status, called flags and full-supply figures of the contracts the object core
        changed (SymbiosisModel.contract_changed)."""
        for c in self._changed:
            k = c.index
            status = c.status
            self.in_force[k] = status is Status.ACTIVE or status is Status.NOTICE
            self.ended[k] = status is Status.ENDED
            self.ended_day[k] = c.ended_day if c.ended_day is not None else -1
            self.called[k] = c.called
            j = self.c_sub[k]
            self.full_supply[j] = self.subs[j].full_supply_t_per_day()
        self._changed.clear()

    # --- back to the objects -----------------------------------------------------------------

    def sync(self) -> None:
        """Write the columns back into the model's objects, as the object core would have left
        them (the ledger's totals are given back by :meth:`close`)."""
        m = self.m
        for st in m.stream_states:
            n = len(st.material.quality)
            st.storage.lots = deque((q, b, self._quality(r, n)) for q, b, r in self.src.lots(st.index))
            st.storage.total = float(self.src.total[st.index])
        for j, s in enumerate(self.subs):
            n = len(m.materials[s.material].quality)
            s.lots.lots = deque((q, b, self._quality(r, n)) for q, b, r in self.buf.lots(j))
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
                    pieces[j].append((q, born, self._quality(row, n_props[j])))
                shipments.extend((c, p, False) for c, p in zip(contracts, pieces, strict=True))


def _or_minus_one(number: int | None) -> int:
    return -1 if number is None else number


def run_on_arrays(m: SymbiosisModel) -> None:
    """Run `m` to its horizon on the array day, then write the state back to its objects."""
    engine = ArrayDay(m)
    try:
        while m.running:
            m.time += 1.0
            engine.day()
    finally:
        engine.close()
        engine.sync()


__all__ = ["AUTO_MIN_FACILITIES", "ArrayDay", "problems", "run_on_arrays"]
