"""The agents: facilities with waste streams and inputs.

A :class:`Facility` is a ``mesa.Agent``. Its behaviour is split into small verbs that the
model calls in the fixed order of a day (see ``sim/model.py``): ``consume`` (its inputs, from
secondary buffer, virgin stock or market, emergency purchase, the rest unmet), ``produce``
(its waste streams into source storage) and ``tidy_up`` (spoilage, overflow, virgin reorder).
"""

from __future__ import annotations

import enum
import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.ledger import MARKET
from sim.logistics import dewatered_mass_t
from sim.outages import UpState
from sim.scenario import Facility as FacilitySpec
from sim.scenario import InputSpec, Material, OutputStream, run_view
from sim.streams import LotQueue

if TYPE_CHECKING:
    from sim.model import SymbiosisModel


class State(enum.Enum):
    """What a teacher sees on the map."""

    UP = "up"
    DOWN = "down"
    CLOSED = "closed"


class StreamState:
    """One output stream during a run: its draws for the whole horizon (`quality`: days x
    properties, None when its material has none) and its source storage."""

    # Slots: no per-object dict, so a large network's daily working set stays small.
    __slots__ = (
        "base", "contracts", "disposal_cost", "index", "live", "mass_factor", "material", "owner", "pay_disposal",
        "pay_preprocessing", "preprocessing_cost", "quality", "scale", "shelf_life", "spec", "storage", "storage_cap",
    )

    def __init__(
        self,
        spec: OutputStream,
        material: Material,
        index: int,
        owner: str,
        noise: np.ndarray,
        pattern: np.ndarray,
        quality: np.ndarray,
    ):
        self.spec = spec
        self.material = material
        self.index = index
        self.owner = owner
        self.base = spec.rate_t_per_day * noise * pattern  # before up-time and scripted scaling
        # a material without quality properties gives its lots no quality row (None) rather
        # than an empty numpy view made, carried and freed for every lot
        self.quality = quality if quality.shape[1] else None
        self.scale = 1.0  # scripted stream_scale / stream_end
        self.storage = LotQueue()
        self.storage_cap = spec.storage_t  # suppliers may raise it (sim/behaviour.py)
        self.contracts: list = []  # ContractState, filled by the model
        self.live: list = []  # those not latent, in the same order (kept by SymbiosisModel.set_latent)
        self.shelf_life = spec.shelf_life_days or material.shelf_life_days
        self.disposal_cost = (
            spec.disposal_cost_per_t if spec.disposal_cost_per_t is not None else material.disposal_cost_per_t
        )
        pre = spec.preprocessing
        self.mass_factor = (
            dewatered_mass_t(1.0, material.moisture, pre.target_moisture) if pre is not None else 1.0
        )
        self.preprocessing_cost = pre.cost_per_t if pre is not None else 0.0
        self.pay_preprocessing = self.pay_disposal = -1  # money accounts, opened by the model


class SubstituteStore:
    """A buyer's buffer of one secondary material."""

    # Slots: no per-object dict, so a large network's daily working set stays small.
    __slots__ = (
        "contracted", "disposal_cost", "full_supply", "lots", "material", "max_share", "pay_disposal",
        "pay_processing", "primaries", "processing_cost", "ratio", "shelf_life",
    )

    def __init__(
        self,
        material: str,
        ratio: float,
        max_share: float,
        processing_cost: float,
        disposal_cost: float,
        shelf_life: float | None,
    ):
        self.material = material
        self.ratio = ratio
        self.max_share = max_share
        self.processing_cost = processing_cost
        self.disposal_cost = disposal_cost
        self.shelf_life = shelf_life
        self.lots = LotQueue()
        self.contracted = False  # some enabled contract feeds it
        self.primaries: list = []  # primary ContractStates feeding this store
        # full_supply_t_per_day() as last worked out; None once a primary's status, terms or
        # the list changes (SymbiosisModel.contract_changed). Consumption reads it daily; working
        # it out again would visit every primary contract, out of the day's order.
        self.full_supply: float | None = None
        self.pay_processing = self.pay_disposal = -1  # money accounts, opened by the model

    def full_supply_t_per_day(self) -> float:
        """Tonnes per day the primary contracts in force would deliver at full supply."""
        return sum([c.terms.volume_t_per_day for c in self.primaries if c.in_force])


class InputState:
    """One input during a run: buffers, virgin stock, emergency supply."""

    # Slots: no per-object dict, so a large network's daily working set stays small.
    __slots__ = (
        "buffer_cap", "buffer_start", "emergency", "inbound_t", "index", "on_order", "pay_lost", "pay_virgin",
        "shortage_since", "spec", "substitutes", "virgin_price", "virgin_stock", "virgin_stock_start",
    )

    def __init__(self, spec: InputSpec, material: Material, index: int, substitutes: list[SubstituteStore]):
        self.spec = run_view(spec)  # read every day: fields in slots (see run_view)
        self.index = index
        self.virgin_price = material.virgin_price_per_t
        self.substitutes = substitutes
        self.buffer_cap = spec.buffer_t
        self.virgin_stock = 0.0
        self.on_order = 0.0
        if spec.stockpile is not None:
            sp = spec.stockpile
            self.virgin_stock = sp.initial_t if sp.initial_t is not None else sp.order_up_to_t
        self.virgin_stock_start = self.virgin_stock
        self.buffer_start = 0.0
        self.shortage_since: int | None = None  # first day of the current emergency episode
        self.inbound_t = 0.0  # shipped to it by the intermediary, not yet arrived
        self.emergency: tuple[float, float, str | None] | None = None  # premium, lead time, seller
        self.pay_virgin = self.pay_lost = -1  # money accounts, opened by the model

    @property
    def buffer_level(self) -> float:
        """Secondary material held, all substitutes."""
        return sum([s.lots.total for s in self.substitutes])


class Facility(mesa.Agent):
    """A plant that produces waste streams and/or consumes inputs, and sometimes fails."""

    model: SymbiosisModel

    def __init__(self, model: SymbiosisModel, spec: FacilitySpec, up: UpState):
        super().__init__(model)
        self.spec = spec
        self.fid = spec.id
        self.up = up
        self.streams: list[StreamState] = []
        self.inputs: list[InputState] = []
        self.up_fraction = 1.0  # today
        # lots accepted at its gate this morning, entering its buffers at its turn (sim/model.py)
        self.landed: list = []
        self.operating = 1.0  # today, after line stops

    @property
    def state(self) -> State:
        """Up, down or closed right now."""
        if self.up.closed:
            return State.CLOSED
        return State.UP if self.up.up else State.DOWN

    # --- consumption -------------------------------------------------------------------------

    def consume(self, day: int) -> None:
        """Meet today's input requirements; critical inputs first, since a shortage there stops
        the line and so lowers what the other inputs need and what the streams put out."""
        self.operating = self.up_fraction
        for inp in self.inputs:
            if inp.spec.critical:
                unmet_share = self._consume_input(inp, day, self.up_fraction)
                self.operating = min(self.operating, self.up_fraction * (1.0 - unmet_share))
        for inp in self.inputs:
            if not inp.spec.critical:
                self._consume_input(inp, day, self.operating)

    def _consume_input(self, inp: InputState, day: int, level: float) -> float:
        """Consume one input at operating `level`; returns the unmet share of its requirement."""
        m = self.model
        flows = m.inputs_flow
        book, pay = m.money.book, m.money.pay
        k = inp.index
        spec = inp.spec
        required = spec.demand_t_per_day * level
        flows["required_t"][day, k] = required
        flows["required_cf_t"][day, k] = spec.demand_t_per_day * self.up_fraction
        left = required
        full_left = required
        secondary_full = from_secondary = secondary_used = 0.0
        for s in inp.substitutes:
            cap = min(left, s.max_share * required)
            if s.contracted:
                supply = s.full_supply
                if supply is None:
                    supply = s.full_supply = s.full_supply_t_per_day()
                full = min(full_left, s.max_share * required, s.ratio * supply)
                secondary_full += full
                full_left -= full
            used_func = min(cap, s.lots.total * s.ratio)
            if used_func > 0.0:
                used_t = used_func / s.ratio
                s.lots.take(used_t)
                from_secondary += used_func
                secondary_used += used_t
                if s.processing_cost:
                    pay(day, s.pay_processing, used_t * s.processing_cost)
                left -= used_func
        if secondary_full:
            flows["secondary_full_t"][day, k] = secondary_full
        if from_secondary:
            flows["from_secondary_t"][day, k] = from_secondary
            flows["secondary_used_t"][day, k] = secondary_used
        if left > 0.0 and spec.virgin == "market":
            flows["from_virgin_t"][day, k] = left
            pay(day, inp.pay_virgin, left * inp.virgin_price)
            left = 0.0
        elif left > 0.0 and spec.virgin == "stockpile":
            take = min(left, inp.virgin_stock)
            inp.virgin_stock -= take
            flows["from_virgin_t"][day, k] = take
            left -= take
        if inp.emergency is not None:
            if left > 1e-12:
                premium, lead_time, seller = inp.emergency
                if inp.shortage_since is None:
                    inp.shortage_since = day
                if day - inp.shortage_since >= lead_time:
                    flows["from_emergency_t"][day, k] = left
                    price = inp.virgin_price * (1.0 + premium)
                    if seller is None:
                        book(day, self.fid, MARKET, left * price, "emergency")
                    else:  # the intermediary buys at the virgin price and sells at its premium
                        book(day, self.fid, seller, left * price, "emergency")
                        book(day, seller, MARKET, left * inp.virgin_price, "emergency_purchase")
                    left = 0.0
            else:
                inp.shortage_since = None
        if left > 0.0:
            flows["unmet_t"][day, k] = left
            pay(day, inp.pay_lost, left * spec.lost_margin_per_t)
            return left / required if required > 0.0 else 0.0
        return 0.0

    # --- production --------------------------------------------------------------------------

    def produce(self, day: int) -> None:
        """Put today's output into source storage, at today's operating level."""
        m = self.model
        flows = m.streams_flow
        generated_cf, generated_raw, generated = (
            flows["generated_cf_t"][day], flows["generated_raw_t"][day], flows["generated_t"][day]
        )
        operating, up = self.operating, self.up_fraction
        for st in self.streams:
            k = st.index
            base = st.base.item(day) * st.scale
            raw = base * operating
            generated_cf[k] = base * up
            generated_raw[k] = raw
            if raw <= 0.0:
                continue
            if st.preprocessing_cost > 0.0:
                m.money.pay(day, st.pay_preprocessing, raw * st.preprocessing_cost)
            out = raw * st.mass_factor
            generated[k] = out
            quality = st.quality
            st.storage.put(out, day, quality[day] if quality is not None else None)

    # --- end of day --------------------------------------------------------------------------

    def tidy_up(self, day: int) -> None:
        """Spoilage and overflow to disposal, buffers trimmed to capacity, virgin reorder."""
        m = self.model
        pay = m.money.pay
        sflows = m.streams_flow
        for st in self.streams:
            k = st.index
            store = st.storage
            if st.shelf_life is not None:
                spoiled = store.expire(day, st.shelf_life)
                sflows["spoiled_t"][day, k] = spoiled
            else:
                spoiled = 0.0
            if store.total - st.storage_cap > 1e-12:
                overflow = store.trim_newest(st.storage_cap)
                sflows["overflow_t"][day, k] = overflow
            else:
                overflow = 0.0
            if spoiled or overflow:
                pay(day, st.pay_disposal, (spoiled + overflow) * st.disposal_cost)
            sflows["stock_t"][day, k] = store.total
        iflows = m.inputs_flow
        for inp in self.inputs:
            k = inp.index
            spoiled = overflow = 0.0
            for s in inp.substitutes:
                if s.shelf_life is not None:
                    sp = s.lots.expire(day, s.shelf_life)
                    if sp:
                        spoiled += sp
                        pay(day, s.pay_disposal, sp * s.disposal_cost)
            level = sum([s.lots.total for s in inp.substitutes])
            excess = level - inp.buffer_cap
            if excess > 1e-12:
                for s in reversed(inp.substitutes):  # the last-listed substitute gives way first
                    if excess <= 1e-12:
                        break
                    cut = s.lots.trim_newest(max(0.0, s.lots.total - excess))
                    excess -= cut
                    overflow += cut
                    pay(day, s.pay_disposal, cut * s.disposal_cost)
                level = inp.buffer_level
            if spoiled:
                iflows["buffer_spoiled_t"][day, k] = spoiled
            if overflow:
                iflows["buffer_overflow_t"][day, k] = overflow
            iflows["buffer_t"][day, k] = level
            if inp.spec.stockpile is not None:
                self.reorder_virgin(inp, day)
            iflows["virgin_stock_t"][day, k] = inp.virgin_stock

    def reorder_virgin(self, inp: InputState, day: int) -> None:
        """(s, S) review: when stock plus orders outstanding is at or below s, order up to S."""
        sp = inp.spec.stockpile
        if sp is None or self.up.closed:
            return
        position = inp.virgin_stock + inp.on_order
        if position <= sp.reorder_point_t:
            qty = sp.order_up_to_t - position
            inp.on_order += qty
            lag = max(1, math.ceil(sp.lead_time_days - 1e-12))
            self.model.schedule(lag - 1, self._receive_virgin, inp, qty)

    def _receive_virgin(self, inp: InputState, qty: float) -> None:
        """A virgin order arrives: into stock, paid at the virgin price."""
        m = self.model
        day = m.today
        inp.on_order -= qty
        inp.virgin_stock += qty
        m.inputs_flow["virgin_received_t"][day, inp.index] += qty
        m.money.pay(day, inp.pay_virgin, qty * inp.virgin_price)
