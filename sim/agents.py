"""The agents: facilities with waste streams and inputs.

A :class:`Facility` is a ``mesa.Agent``. Its behaviour is split into small verbs that the
model calls in the fixed order of a day (see ``sim/model.py``): ``consume`` (its inputs, from
secondary buffer, virgin stock or market, emergency purchase, the rest unmet), ``produce``
(its waste streams into source storage) and ``tidy_up`` (spoilage, overflow, virgin reorder).
Each verb delegates to its step's module in sim/day/, which holds the rules.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim.day import consumption, production, tidy_up
from sim.logistics import dewatered_mass_t
from sim.outages import UpState
from sim.rng import stream as rng_stream
from sim.scenario import Facility as FacilitySpec
from sim.scenario import InputSpec, Material, OutputStream, run_view
from sim.streams import LotQueue, noise_factors, pattern_factors, quality_draws

if TYPE_CHECKING:
    from sim.day.world import World


class State(enum.Enum):
    """What a teacher sees on the map."""

    UP = "up"
    DOWN = "down"
    CLOSED = "closed"


class StreamState:
    """One output stream during a run: its draws for the whole horizon (`quality`: days x
    properties, None when its material has none) and its source storage.

    Source storage opens with the stream's `initial_t` (`stock_start`) as one lot made on day
    0, at the stream's mean quality: made on day 0 at the earliest, it keeps for the stream's
    whole shelf life from day 0 (usable on days 0 .. shelf life - 1) and leaves first."""

    # Slots: no per-object dict, so a large network's daily working set stays small.
    __slots__ = (
        "base", "contracts", "disposal_cost", "holding_cost", "index", "live", "mass_factor", "material", "own_terms",
        "owner", "pay_disposal", "pay_holding", "pay_preprocessing", "preprocessing_cost", "quality", "scale",
        "scale_cause", "shelf_life", "spec", "stock_start", "storage", "storage_cap",
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
        self.scale_cause: str | None = None  # the named outside cause of the scale now, if any
        self.own_terms = False  # a contract's due follows its own terms (sim/day/dispatch.py due_by_terms)
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
        rate = spec.holding_cost_per_t_day
        self.holding_cost = rate if rate is not None else material.holding_cost_per_t_day
        self.stock_start = spec.initial_t
        mean = [spec.quality[p].mean if p in spec.quality else v for p, v in material.quality.items()]
        self.storage.put(spec.initial_t, 0, np.array(mean, dtype=float) if mean else None)
        self.pay_preprocessing = self.pay_disposal = self.pay_holding = -1  # money accounts, opened by the model


class SubstituteStore:
    """A buyer's buffer of one secondary material."""

    # Slots: no per-object dict, so a large network's daily working set stays small.
    __slots__ = (
        "contracted", "cycle_t", "disposal_cost", "dumped_t", "full_supply", "holding_cost", "lots", "material",
        "max_share", "pay_disposal", "pay_holding", "pay_processing", "primaries", "processing_cost", "ratio",
        "received_t", "shelf_life",
    )

    def __init__(
        self,
        material: str,
        ratio: float,
        max_share: float,
        processing_cost: float,
        disposal_cost: float,
        shelf_life: float | None,
        holding_cost: float = 0.0,
    ):
        self.material = material
        self.ratio = ratio
        self.max_share = max_share
        self.processing_cost = processing_cost
        self.disposal_cost = disposal_cost
        self.shelf_life = shelf_life
        self.holding_cost = holding_cost  # per t and day held in this buffer
        self.lots = LotQueue()
        self.contracted = False  # some enabled contract feeds it
        self.primaries: list = []  # primary ContractStates feeding this store
        # full_supply_t_per_day() as last worked out; None once a primary's status, terms or
        # the list changes (SymbiosisModel.contract_changed). Consumption reads it daily; working
        # it out again would visit every primary contract, out of the day's order.
        self.full_supply: float | None = None
        self.cycle_t = 0.0  # cycle_stock_t(), worked out with full_supply (sim.day.consumption.supply_figures)
        self.pay_processing = self.pay_disposal = self.pay_holding = -1  # money accounts, opened by the model
        # running totals, for the buyer's period benefit (tonnes used, not dumped): tonnes
        # received from contracts, and tonnes of this store lost to overflow (object core)
        self.received_t = self.dumped_t = 0.0

    def full_supply_t_per_day(self) -> float:
        """Tonnes per day the primary contracts in force would deliver at full supply."""
        return sum([c.terms.volume_t_per_day for c in self.primaries if c.in_force])

    def cycle_stock_t(self) -> float:
        """The deliveries of its periodic primary contracts in force, summed (volume x interval
        each; 0 for daily deliveries): room the buffer needs above its target, since a periodic
        delivery lands at once and is used over its interval, and two contracts may land on the
        same day (two half contracts then need the room of one whole)."""
        return sum([c.terms.volume_t_per_day * c.terms.delivery_interval_days for c in self.primaries
                    if c.in_force and c.terms.delivery_interval_days > 1])


class InputState:
    """One input during a run: buffers, virgin stock, emergency supply."""

    # Slots: no per-object dict, so a large network's daily working set stays small.
    __slots__ = (
        "buffer_cap", "buffer_start", "demand_path", "emergency", "inbound_t", "index", "on_order", "pay_lost",
        "pay_stockpile_holding", "pay_virgin", "shortage_since", "spec", "stockpile_holding_cost", "substitutes",
        "virgin_price", "virgin_stock", "virgin_stock_start",
    )

    def __init__(
        self, spec: InputSpec, material: Material, index: int, substitutes: list[SubstituteStore], horizon: int
    ):
        self.spec = run_view(spec)  # read every day: fields in slots (see run_view)
        self.index = index
        # the day's demand, demand x the pattern's factor (None: demand_t_per_day every day)
        self.demand_path: list[float] | None = None
        if spec.demand_pattern is not None:
            self.demand_path = (spec.demand_t_per_day * pattern_factors(spec.demand_pattern, horizon)).tolist()
        self.virgin_price = material.virgin_price_per_t
        self.substitutes = substitutes
        self.buffer_cap = spec.buffer_t
        self.virgin_stock = 0.0
        self.on_order = 0.0
        self.stockpile_holding_cost = 0.0  # per t and day of virgin stock
        if spec.stockpile is not None:
            sp = spec.stockpile
            self.virgin_stock = sp.initial_t if sp.initial_t is not None else sp.order_up_to_t
            rate = sp.holding_cost_per_t_day
            self.stockpile_holding_cost = rate if rate is not None else material.holding_cost_per_t_day
        self.virgin_stock_start = self.virgin_stock
        self.buffer_start = 0.0
        self.shortage_since: int | None = None  # first day of the current emergency episode
        self.inbound_t = 0.0  # shipped to it by the intermediary, not yet arrived
        self.emergency: tuple[float, float, str | None] | None = None  # premium, lead time, seller
        self.pay_virgin = self.pay_lost = self.pay_stockpile_holding = -1  # money accounts, opened by the model

    @property
    def buffer_level(self) -> float:
        """Secondary material held, all substitutes."""
        return sum([s.lots.total for s in self.substitutes])


def make_stream_state(
    out: OutputStream, materials: dict[str, Material], index: int, owner: str, seed: np.random.SeedSequence,
    horizon: int,
) -> StreamState:
    """A stream's run state, with its draws for the horizon from its own keyed streams."""
    mat = materials[out.material]
    key = f"{owner}/{out.material}"
    return StreamState(
        out,
        mat,
        index,
        owner,
        noise=noise_factors(rng_stream(seed, f"output/{key}"), out.variability, horizon),
        pattern=pattern_factors(out.pattern, horizon),
        quality=quality_draws(rng_stream(seed, f"quality/{key}"), list(mat.quality), out.quality, mat.quality, horizon),
    )


def make_input_state(inp: InputSpec, materials: dict[str, Material], index: int, horizon: int) -> InputState:
    """An input's run state, with a store per substitute (and its demand pattern over the horizon)."""
    subs = [
        SubstituteStore(
            s.material,
            s.ratio,
            s.max_share,
            s.processing_cost_per_t,
            materials[s.material].disposal_cost_per_t,
            materials[s.material].shelf_life_days,
            _or(inp.buffer_holding_cost_per_t_day, materials[s.material].holding_cost_per_t_day),
        )
        for s in inp.substitutes
    ]
    return InputState(inp, materials[inp.material], index, subs, horizon)


def _or(override: float | None, default: float) -> float:
    return override if override is not None else default


def fill_initial_buffers(inputs: list[InputState], materials: dict[str, Material]) -> None:
    """Buffers start at `initial_buffer_t` (default: full), in the first contracted
    substitute (else the first listed), at the material's nominal quality."""
    for inp in inputs:
        if not inp.substitutes:
            continue
        init = inp.spec.initial_buffer_t
        qty = inp.buffer_cap if init is None else init
        store = next((s for s in inp.substitutes if s.contracted), inp.substitutes[0])
        nominal = np.array(list(materials[store.material].quality.values()), dtype=float)
        store.lots.put(qty, 0, nominal)
        inp.buffer_start = qty


def offer_emergency(inputs: list[InputState], hub: Any) -> None:
    """Each input's emergency source: its own, else (for member buyers with a virgin
    stockpile or none) the intermediary's `hub`, as (premium, lead time, seller or None)."""
    for inp in inputs:
        own = inp.spec.emergency
        if own is not None:
            inp.emergency = (own.premium, own.lead_time_days, None)
    if hub is None or hub.spec.emergency_premium is None:
        return
    for c in hub.contracts:
        inp = c.buyer_input[0]
        if inp.emergency is None and inp.spec.virgin != "market":
            inp.emergency = (hub.spec.emergency_premium, hub.spec.emergency_lead_time_days, hub.hid)


class Facility(mesa.Agent):
    """A plant that produces waste streams and/or consumes inputs, and sometimes fails."""

    model: World

    def __init__(self, model: World, spec: FacilitySpec, up: UpState):
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
        self.pays_holding = False  # some store of it books holding (set by sim.ledger.open_accounts)

    @property
    def state(self) -> State:
        """Up, down or closed right now."""
        if self.up.closed:
            return State.CLOSED
        return State.UP if self.up.up else State.DOWN

    # --- the day's verbs (the rules and their code: sim/day/) ----------------------------------

    def consume(self, day: int) -> None:
        """Meet today's input requirements, critical inputs first (sim/day/consumption.py)."""
        consumption.consume(self, day)

    def produce(self, day: int) -> None:
        """Put today's output into source storage (sim/day/production.py)."""
        production.produce(self, day)

    def tidy_up(self, day: int) -> None:
        """Spoilage, overflow and virgin reorders (sim/day/tidy_up.py)."""
        tidy_up.tidy_up(self, day)

    def reorder_virgin(self, inp: InputState, day: int) -> None:
        """(s, S) review of one virgin stockpile (sim/day/tidy_up.py)."""
        tidy_up.reorder_virgin(self, inp, day)
