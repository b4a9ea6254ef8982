"""Scenario files: schema, loading, validation, overrides by dotted path and policy levers.

A scenario is one network in one TOML file (DESIGN.md section 5). Everything here is an
immutable value: the model reads it and never changes it.

Errors are collected, never raised one at a time: :func:`load_scenario` raises
:class:`ScenarioError` whose ``problems`` are lines of the form
``FILE: path.to.field: what is wrong (what was given, what is allowed)``. List items are named
by their id (``facilities.farm.inputs.feed.buffer_t``), as in overrides.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# Quantities (tonnes, money, days, rates) are bounded by a trillion: far beyond any plant,
# and small enough that no product of two of them over a horizon overflows to infinity.
BIG = 1e12
NonNeg = Annotated[float, Field(ge=0.0, le=BIG, allow_inf_nan=False)]
Pos = Annotated[float, Field(gt=0.0, le=BIG, allow_inf_nan=False)]
# Planar coordinates: within 100,000 km of the origin (the Earth is 40,075 km round).
Km = Annotated[float, Field(ge=-1e5, le=1e5, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Ident = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")]

LifeLaw = Literal["exponential", "weibull", "lognormal", "fixed", "geometric"]


class Frozen(BaseModel):
    """Base of every scenario value: immutable, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- network-wide sections -------------------------------------------------------------------


class ScenarioMeta(Frozen):
    """The `[scenario]` section: name, currency and simulated horizon."""

    name: str
    description: str = ""
    currency: str = "EUR"
    horizon_days: Annotated[int, Field(gt=0, le=100_000)] = 365
    warmup_days: Annotated[int, Field(ge=0, le=100_000)] = 0

    @model_validator(mode="after")
    def _warmup_inside_horizon(self) -> ScenarioMeta:
        if self.warmup_days >= self.horizon_days:
            raise ValueError(
                f"warmup_days must be below horizon_days (given {self.warmup_days} >= {self.horizon_days})"
            )
        return self


class Distance(Frozen):
    """An explicit road distance between two facilities, or a facility and the intermediary
    (overrides coordinates; either direction)."""

    a: Ident
    b: Ident
    km: NonNeg


class Transport(Frozen):
    """The `[transport]` section: haulage defaults for every exchange."""

    cost_per_tkm: NonNeg = 0.10
    cost_per_trip: NonNeg = 0.0
    truck_capacity_t: Pos = 25.0
    speed_km_per_day: Pos = 500.0
    circuity: Annotated[float, Field(ge=1.0, le=5.0)] = 1.3
    distances: list[Distance] = []

    @model_validator(mode="after")
    def _one_distance_per_pair(self) -> Transport:
        seen: dict[frozenset[str], float] = {}
        problems = []
        for d in self.distances:
            if d.a == d.b:
                problems.append(f"{d.a} to itself (a distance joins two facilities)")
                continue
            pair = frozenset((d.a, d.b))
            if pair in seen and seen[pair] != d.km:
                problems.append(f"{d.a}-{d.b} given twice, {seen[pair]} and {d.km} km (one road per pair, "
                                "either direction)")
            seen.setdefault(pair, d.km)
        if problems:
            raise ValueError("distances: " + "; ".join(problems))
        return self


class Material(Frozen):
    """A material: a waste stream's substance or an input's functional material."""

    id: Ident
    name: str = ""
    state: Literal["solid", "sludge", "liquid", "gas", "energy"] = "solid"
    moisture: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    shelf_life_days: Pos | None = None
    virgin_price_per_t: NonNeg = 0.0
    disposal_cost_per_t: NonNeg = 0.0
    co2e_t_per_t: NonNeg = 0.0
    quality: dict[Ident, Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)]] = {}


# --- facilities ------------------------------------------------------------------------------


class Location(Frozen):
    """Where a facility stands: planar `{x_km, y_km}` or geographic `{lat, lon}`."""

    x_km: Km | None = None
    y_km: Km | None = None
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one_pair(self) -> Location:
        planar = self.x_km is not None and self.y_km is not None
        geo = self.lat is not None and self.lon is not None
        given = [k for k in ("x_km", "y_km", "lat", "lon") if getattr(self, k) is not None]
        if planar == geo or len(given) != 2:
            raise ValueError(f"give either x_km and y_km, or lat and lon (given {given or 'none'})")
        return self


class Maintenance(Frozen):
    """A planned shutdown window, optionally repeating every `every_days`."""

    start_day: NonNeg
    duration_days: Pos
    every_days: Pos | None = None

    @model_validator(mode="after")
    def _fits_cycle(self) -> Maintenance:
        if self.every_days is not None and self.duration_days >= self.every_days:
            raise ValueError(
                f"duration_days must be shorter than every_days "
                f"(given {self.duration_days} >= {self.every_days})"
            )
        return self


class Outages(Frozen):
    """Unplanned failures and repairs, planned maintenance and a permanent-closure hazard.

    `failure` and `repair` name the law of up-times and repair times; `*_shape` is the Weibull
    shape and `*_cv` the lognormal coefficient of variation. `geometric` counts whole days
    (a two-state Markov chain on days: P(fail) = 1 / mtbf_days, P(repair) = 1 / mttr_days).
    No `mtbf_days` means the facility never fails at random.
    """

    mtbf_days: Pos | None = None
    mttr_days: Pos = 1.0
    failure: LifeLaw = "exponential"
    failure_shape: Pos | None = None
    failure_cv: Pos | None = None
    repair: LifeLaw = "exponential"
    repair_shape: Pos | None = None
    repair_cv: Pos | None = None
    maintenance: list[Maintenance] = []
    closure_hazard_per_year: NonNeg = 0.0

    @model_validator(mode="after")
    def _geometric_in_whole_days(self) -> Outages:
        for which, mean in (("failure", self.mtbf_days), ("repair", self.mttr_days)):
            if getattr(self, which) == "geometric" and mean is not None and mean < 1.0:
                raise ValueError(
                    f"{which} = 'geometric' counts whole days and needs a mean >= 1 (given {mean})"
                )
        return self

    @model_validator(mode="after")
    def _shape_matches_law(self) -> Outages:
        for which in ("failure", "repair"):
            law = getattr(self, which)
            for param, needs in ((f"{which}_shape", "weibull"), (f"{which}_cv", "lognormal")):
                given = getattr(self, param) is not None
                if given and law != needs:
                    raise ValueError(f"{param} applies only when {which} = '{needs}' (given '{law}')")
                if law == needs and not given:
                    raise ValueError(f"{which} = '{needs}' needs {param}")
        return self


class Variability(Frozen):
    """Day-to-day randomness of a stream's output: a law with mean 1 and the given CV."""

    dist: Literal["fixed", "gamma", "lognormal", "truncnormal"] = "fixed"
    cv: NonNeg = 0.0

    @model_validator(mode="after")
    def _cv_matches_law(self) -> Variability:
        if self.dist == "fixed" and self.cv != 0.0:
            raise ValueError(f"cv applies only to a random dist (given dist 'fixed', cv {self.cv})")
        if self.dist != "fixed" and self.cv == 0.0:
            raise ValueError(f"dist '{self.dist}' needs cv > 0 (or use dist = 'fixed')")
        return self


class Pattern(Frozen):
    """When a stream produces.

    - `continuous`: every day.
    - `batch`: the output of `every_days` days comes out at once, every `every_days` days.
    - `campaign`: `on_days` producing then `off_days` idle; output per producing day is scaled
      so that the long-run mean stays `rate_t_per_day`.
    - `seasonal`: `monthly_factors` (12 values, normalised to mean 1) or a sinusoid of relative
      `amplitude` peaking on `peak_day` of the year.
    """

    kind: Literal["continuous", "batch", "campaign", "seasonal"] = "continuous"
    every_days: Annotated[int, Field(ge=1)] | None = None
    on_days: Annotated[int, Field(ge=1)] | None = None
    off_days: Annotated[int, Field(ge=0)] | None = None
    phase_days: Annotated[int, Field(ge=0)] = 0
    monthly_factors: list[NonNeg] | None = None
    amplitude: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    peak_day: Annotated[float, Field(ge=0.0, lt=366.0)] = 0.0

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Pattern:
        needs = {
            "continuous": set(),
            "batch": {"every_days"},
            "campaign": {"on_days", "off_days"},
            "seasonal": set(),
        }[self.kind]
        optional = {"every_days", "on_days", "off_days", "monthly_factors", "amplitude"}
        given = {k for k in optional if getattr(self, k) is not None}
        missing = needs - given
        if missing:
            raise ValueError(f"kind '{self.kind}' needs {', '.join(sorted(missing))}")
        allowed = needs | ({"monthly_factors", "amplitude"} if self.kind == "seasonal" else set())
        extra = given - allowed
        if extra:
            raise ValueError(f"{', '.join(sorted(extra))} do not apply to kind '{self.kind}'")
        if self.kind == "seasonal":
            if (self.monthly_factors is None) == (self.amplitude is None):
                raise ValueError("kind 'seasonal' needs exactly one of monthly_factors or amplitude")
            if self.monthly_factors is not None and (
                len(self.monthly_factors) != 12 or sum(self.monthly_factors) <= 0
            ):
                raise ValueError(
                    f"monthly_factors needs 12 values with a positive sum "
                    f"(given {len(self.monthly_factors)} values)"
                )
        return self


class QualityDraw(Frozen):
    """A quality property drawn per lot: normal(mean, sd) truncated at zero."""

    mean: NonNeg
    sd: NonNeg = 0.0


class Limit(Frozen):
    """An acceptance band for one quality property."""

    min: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] | None = None
    max: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Limit:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min must not exceed max (given {self.min} > {self.max})")
        return self


class Preprocessing(Frozen):
    """Dewatering at the source: dry matter is conserved, water is removed at a cost per wet t."""

    kind: Literal["dewatering"] = "dewatering"
    target_moisture: Annotated[float, Field(ge=0.0, lt=1.0)]
    cost_per_t: NonNeg = 0.0


class OutputStream(Frozen):
    """A waste stream: what a facility produces, stores at source and disposes of."""

    material: Ident
    rate_t_per_day: NonNeg
    variability: Variability = Variability()
    pattern: Pattern = Pattern()
    quality: dict[Ident, QualityDraw] = {}
    storage_t: NonNeg = 0.0
    shelf_life_days: Pos | None = None
    disposal_cost_per_t: NonNeg | None = None
    preprocessing: Preprocessing | None = None


class Substitute(Frozen):
    """A secondary material that may replace part of an input's virgin material."""

    material: Ident
    ratio: Pos = 1.0
    max_share: Share = 1.0
    processing_cost_per_t: NonNeg = 0.0
    category: Literal["direct", "indirect", "cascaded"] = "direct"
    quality_limits: dict[Ident, Limit] = {}


class Stockpile(Frozen):
    """A virgin stockpile reviewed daily under an (s, S) policy with a fixed lead time."""

    capacity_t: Pos
    reorder_point_t: NonNeg
    order_up_to_t: Pos
    lead_time_days: NonNeg = 0.0
    initial_t: NonNeg | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Stockpile:
        if not self.reorder_point_t < self.order_up_to_t <= self.capacity_t:
            raise ValueError(
                "need reorder_point_t < order_up_to_t <= capacity_t (given "
                f"{self.reorder_point_t}, {self.order_up_to_t}, {self.capacity_t})"
            )
        if self.initial_t is not None and self.initial_t > self.capacity_t:
            raise ValueError(f"initial_t exceeds capacity_t ({self.initial_t} > {self.capacity_t})")
        return self


class Emergency(Frozen):
    """Emergency purchase of virgin material: a price premium, available `lead_time_days`
    after a shortage episode begins."""

    premium: NonNeg = 0.0
    lead_time_days: NonNeg = 0.0


class InputSpec(Frozen):
    """What a facility consumes: a functional material and the secondary materials that may
    replace it, with its buffer, virgin supply, emergency purchase and shortage cost.

    `virgin` says where non-secondary material comes from: `market` (bought as needed at the
    virgin price), `stockpile` (an (s, S) stockpile with a lead time) or `none`.
    """

    material: Ident
    demand_t_per_day: NonNeg
    buffer_t: NonNeg = 0.0
    initial_buffer_t: NonNeg | None = None
    substitutes: list[Substitute] = []
    virgin: Literal["market", "stockpile", "none"] = "market"
    stockpile: Stockpile | None = None
    emergency: Emergency | None = None
    lost_margin_per_t: NonNeg = 0.0
    critical: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if (self.virgin == "stockpile") != (self.stockpile is not None):
            raise ValueError("stockpile is given exactly when virgin = 'stockpile'")
        if self.virgin == "market" and self.emergency is not None:
            raise ValueError("emergency purchase needs virgin = 'stockpile' or 'none'")
        if self.initial_buffer_t is not None and self.initial_buffer_t > self.buffer_t:
            raise ValueError(f"initial_buffer_t exceeds buffer_t ({self.initial_buffer_t} > {self.buffer_t})")
        seen = [s.material for s in self.substitutes]
        if len(seen) != len(set(seen)):
            raise ValueError(f"substitutes name a material twice ({seen})")
        return self


class Facility(Frozen):
    """A plant: where it is, how it fails, what it puts out and what it takes in."""

    id: Ident
    name: str = ""
    sector: str = ""
    location: Location
    outages: Outages = Outages()
    outputs: list[OutputStream] = []
    inputs: list[InputSpec] = []

    @model_validator(mode="after")
    def _unique_streams(self) -> Facility:
        for what, items in (("outputs", self.outputs), ("inputs", self.inputs)):
            names = [i.material for i in items]
            if len(names) != len(set(names)):
                raise ValueError(f"{what} name a material twice ({names})")
        return self


# --- contracts, policy, events ---------------------------------------------------------------


class Contract(Frozen):
    """A bilateral exchange of one supplier stream into one buyer input, with its terms.

    Settlement runs every `settlement_days` (and at the horizon end): penalties
    `penalty_per_t_short * (shortfall - tolerance * committed)^+`, capped per period at
    `penalty_cap_per_period`, with outage-caused shortfall excused under `force_majeure`;
    take-or-pay tops the buyer's payment up to `take_or_pay * committed * price`, where what
    the buyer took counts what landed in spec in the period and what is on the road to it at
    the period's close (that lands, and is paid at the price, in the next period).
    A `backup` contract delivers only while a primary of the same input is failing,
    `activation_lead_time_days` after the failure, and earns `standby_fee_per_day` meanwhile.
    Terms of `min_term_days` run back to back from `start_day` (each renews at its end, which
    is when agents renegotiate). Notice runs for `notice_days`; a party whose notice stops the
    contract inside a term pays the other `early_termination_fee`, unless it gave the notice
    as a term ended (declining the renewal).
    """

    id: Ident
    supplier: Ident
    buyer: Ident
    material: Ident
    input: Ident | None = None
    role: Literal["primary", "backup"] = "primary"
    enabled: bool = True
    volume_t_per_day: Pos
    delivery_interval_days: Annotated[int, Field(ge=1)] = 1
    price_per_t: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] = 0.0  # negative: a gate fee
    transport_paid_by: Literal["buyer", "supplier"] = "buyer"
    distance_km: NonNeg | None = None
    quality_spec: dict[Ident, Limit] = {}
    penalty_per_t_short: NonNeg = 0.0
    tolerance: Share = 0.0
    penalty_cap_per_period: NonNeg | None = None
    force_majeure: bool = False
    take_or_pay: Share = 0.0
    settlement_days: Annotated[int, Field(ge=1)] = 30
    standby_fee_per_day: NonNeg = 0.0
    activation_lead_time_days: NonNeg = 0.0
    priority: int = 0
    start_day: Annotated[int, Field(ge=0)] = 0
    min_term_days: Annotated[int, Field(ge=0)] = 0
    notice_days: Annotated[int, Field(ge=0)] = 0
    early_termination_fee: NonNeg = 0.0
    via_intermediary: bool = False

    @model_validator(mode="after")
    def _terms_fit_role(self) -> Contract:
        if self.role == "primary":
            for term in ("standby_fee_per_day", "activation_lead_time_days"):
                if getattr(self, term) != 0.0:
                    raise ValueError(f"{term} applies only to role = 'backup'")
        if self.take_or_pay > 0 and self.price_per_t <= 0:
            raise ValueError(
                f"take_or_pay needs a positive price_per_t (given {self.price_per_t}); "
                "a gate fee paid by the supplier has no take-or-pay"
            )
        if self.supplier == self.buyer:
            raise ValueError(f"supplier and buyer are the same facility ('{self.supplier}')")
        return self


class Policy(Frozen):
    """Network-wide levers. When set, they override the per-item values.

    - `buffer_days`: every input's secondary buffer becomes this many days of its secondary use
      at full supply.
    - `penalty_per_t_short`: every contract's penalty.
    - `allocation`: how a short supplier splits its stock among contracts due the same day:
      `pro_rata` to the quantities due, or by contract `priority` (highest first).
    - `intermediary`: switch the `[intermediary]` on and route every contract through it
      (true), or switch it off (false); unset, its own `enabled` and each contract's
      `via_intermediary` decide.
    - `redundancy`: give each input up to this many sources (see `[formation]`).
    - `adaptive`: agents decide (trust, formation, exit, adaptation; see `[behaviour]`, whose
      defaults apply when the section is absent) or not (false: the network stays as given).
    - `engine`: how a run computes its days; every engine gives the same results to the bit.
      `objects` is the reference (a Python object per lot, shipment and open period);
      `arrays` holds the day's material balance in columns over whole facility sets
      (sim/arrayday.py), faster from about 100 facilities on, for every network without an
      intermediary, agents' decisions or an input of more than 13 substitutes; `auto` (the
      default) takes
      `arrays` for such networks of at least `sim.arrayday.AUTO_MIN_FACILITIES` facilities run
      without daily series, else `objects`.
    """

    buffer_days: NonNeg | None = None
    penalty_per_t_short: NonNeg | None = None
    allocation: Literal["pro_rata", "priority"] = "pro_rata"
    intermediary: bool | None = None
    redundancy: Annotated[int, Field(ge=1, le=20)] | None = None
    adaptive: bool | None = None
    engine: Literal["auto", "objects", "arrays"] = "auto"


class IntermediarySpec(Frozen):
    """A neutral broker between suppliers and buyers (the `[intermediary]` section).

    Contracts with `via_intermediary = true` (all of them when `policy.intermediary = true`)
    deliver into its pooled storage; it tests every inbound lot (an off-spec lot is caught
    with `detection_probability` and sent back for disposal at the supplier's cost), holds
    the pool at `holding_cost_per_t_day`, blends when `blending` is on (the pile is mixed
    before each loading, so shipments have the pool's mass-weighted mean quality, which can
    meet a buyer's specification that single lots would fail; the oldest material still
    leaves first), and serves the buyers of its contracts from the pool, allocating a short
    pool by `reallocation`: `pro_rata` to what is due, `penalty_exposure` (highest penalty per
    t first) or `criticality` (critical inputs first, then by lost margin). It arranges all
    haulage: shipments on the same route and day share trucks, and `backhaul_discount` is the
    share of haulage cost saved by return loads. Buyers pay the contract price plus `fee_per_t`;
    it pays suppliers the contract price; short-delivery penalties are owed to it by suppliers
    and by it to buyers. With `emergency_premium` set it sources virgin material for member
    buyers short of supply, `emergency_lead_time_days` after the shortage begins.
    """

    id: Ident = "intermediary"
    name: str = ""
    enabled: bool = True
    location: Location
    storage_t: NonNeg
    holding_cost_per_t_day: NonNeg = 0.0
    fee_per_t: NonNeg = 0.0
    test_cost_per_t: NonNeg = 0.0
    detection_probability: Share = 1.0
    blending: bool = True
    backhaul_discount: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    reallocation: Literal["pro_rata", "penalty_exposure", "criticality"] = "pro_rata"
    emergency_premium: NonNeg | None = None
    emergency_lead_time_days: NonNeg = 0.0
    disposal_cost_per_t: NonNeg = 0.0


class Behaviour(Frozen):
    """The agents' decisions (the `[behaviour]` section); in force when the section is given
    (or `policy.adaptive = true`), frozen by `policy.adaptive = false`.

    Trust (per contract, in [0, 1]) moves at each settlement toward the period's delivery
    performance (1 - short / committed, outage shortfall excused only under a force-majeure
    clause) at `trust_learning_rate`, and drops by
    `dispute_trust_loss` when a penalty is claimed (times `intermediary_dispute_factor` when
    the contract runs through the intermediary, which settles disputes).
    Exit: a buyer gives notice when trust falls below `exit_trust_threshold`; either party
    gives notice when its benefit from the contract over the last `review_periods`
    settlements is negative (take-or-pay and penalties included). Notice periods and
    early-termination fees apply.
    A contract with a minimum term is judged differently. Within a term, a party leaves on
    negative benefit only when its loss per day over the review periods, borne until the term
    ends (when it could leave for free), would exceed the early-termination fee it pays by
    leaving now (a buyer that lost trust leaves whatever the fee). At each term end (terms renew; see `Contract`)
    the parties first renegotiate; unless a term changed (which starts the review afresh),
    a party whose benefit over the whole term was negative leaves.
    Renegotiation, at the end of each minimum term, of the terms listed in `renegotiate`, from
    the contract's own ledger over the term:
    - `volume`: cut to what the supplier actually shipped per day over the term (never raised);
    - `penalty`: when the penalties the supplier paid exceeded what the exchange earned it
      before penalties (a gain turned into a loss by the penalty), the penalty per t short is
      cut to that earning per chargeable t short: the highest penalty it could have paid over
      the term without a loss (never raised, never below 0);
    - `price`: when the joint benefit over the term (as it would have been on a cut penalty)
      was positive but one party's was negative, the price moves by (`fair_share` x joint
      benefit - supplier benefit) / tonnes paid for, so that over the same term the supplier
      would have got `fair_share` of the joint benefit and the buyer the rest (the "simple
      contract scheme that shares benefits fairly" of Albino, Fraccascia & Giannoccaro 2016;
      exact for a bilateral contract, whose price moves both parties by the same tonnes).
      `fair_share` unset means `[formation].supplier_share`.
    After a renegotiation the benefit history that the exit rule reviews starts afresh.
    Formation: every `formation_interval_days` each candidate exchange without a contract is
    discovered with `discovery_probability` (once known, it stays known) and proposed on the
    `[formation]` terms; the supplier accepts if price plus avoided disposal less its haulage
    covers the penalty it expects from its delivery share (its availability so far, scaled
    down when its output is already promised); the buyer accepts if it still needs the
    material and its saving per t exceeds `risk_aversion` x the shortage it expects beyond its
    buffer cover
    (P(outage > cover) = exp(-cover / MTTR) for the supplier's observed MTTR), valued at its
    lost margin, net of the penalty it would receive.
    Re-formation: with `reform_after_days` set, a link the agents formed that a party left
    becomes a candidate again that many days after it ended, known to both and proposed on
    its first terms at the next formation round (unset: an ended link never comes back).
    Adaptation: after a disruption episode with unmet demand, a buyer raises its buffer by
    `buffer_step_days` of secondary use, up to `buffer_budget_days` extra; a supplier that paid
    penalties in a period raises its source storage by `buffer_step_days` of its contracted
    volume, up to `buffer_budget_days`, when the penalties exceed the storage's holding cost
    at `source_holding_cost_per_t_day`.
    Cascades: a facility whose critical input has been unmet on `cascade_closure_days`
    consecutive days closes for good.
    """

    trust_initial: Share = 0.6
    trust_learning_rate: Share = 0.3
    dispute_trust_loss: Share = 0.1
    intermediary_dispute_factor: Share = 0.3
    exit_trust_threshold: Share = 0.3
    review_periods: Annotated[int, Field(ge=1)] = 3
    formation_interval_days: Annotated[int, Field(ge=1)] = 60
    discovery_probability: Share = 0.3
    risk_aversion: NonNeg = 1.0
    buffer_step_days: NonNeg = 2.0
    buffer_budget_days: NonNeg = 10.0
    source_holding_cost_per_t_day: NonNeg = 0.5
    cascade_closure_days: Pos | None = None
    renegotiate: list[Literal["volume", "price", "penalty"]] = ["volume"]
    fair_share: Share | None = None
    reform_after_days: NonNeg | None = None

    @field_validator("renegotiate")
    @classmethod
    def _each_term_once(cls, terms: list[str]) -> list[str]:
        if len(terms) != len(set(terms)):
            raise ValueError(f"name each term once (given {terms})")
        return terms


class Formation(Frozen):
    """How the contract network is formed (the `[formation]` section).

    `explicit` uses the listed contracts. `system_optimal` (a linear program over the candidate
    exchanges maximising total net value) and `greedy` (each supplier takes its best buyer)
    replace them with contracts formed by the rule, on the terms below; the price splits each
    exchange's margin per t so that the supplier gets `supplier_share` of it. With
    `policy.redundancy = k` each input gets up to k sources: its primaries, then backup
    contracts from the best remaining candidates on the backup terms below. Contracts formed
    during a run by the agents (`[behaviour]`) get the same terms.
    """

    rule: Literal["explicit", "system_optimal", "greedy"] = "explicit"
    supplier_share: Share = 0.5
    penalty_per_t_short: NonNeg = 0.0
    tolerance: Share = 0.0
    settlement_days: Annotated[int, Field(ge=1)] = 30
    min_term_days: Annotated[int, Field(ge=0)] = 0
    notice_days: Annotated[int, Field(ge=0)] = 0
    early_termination_fee: NonNeg = 0.0
    backup_standby_fee_per_day: NonNeg = 0.0
    backup_activation_lead_time_days: NonNeg = 0.0


class Market(Frozen):
    """Market turbulence (the `[market]` section): virgin prices and disposal costs that shift
    at random times.

    Shifts come at exponential intervals of mean `shift_interval_days` (omitted: never) and take
    effect from the start of the day they fall in. At each shift every material's virgin price
    and disposal cost are set to their nominal values (as given in the file) times independent
    lognormal factors of mean 1 and coefficient of variation `virgin_price_cv` and
    `disposal_cost_cv`, one factor per material (a stream's own disposal cost moves with its
    material's factor). The level does not drift: each shift draws afresh around the nominal
    value. The intermediary's own disposal cost is its contract with a disposer and does not
    move. All shift times and factors are drawn up front from their own keyed random streams,
    so a market never shifts the draws of anything else.
    """

    shift_interval_days: Pos | None = None
    virgin_price_cv: NonNeg = 0.0
    disposal_cost_cv: NonNeg = 0.0

    @model_validator(mode="after")
    def _shifts_for_factors(self) -> Market:
        if self.shift_interval_days is None:
            moved = [f for f in ("virgin_price_cv", "disposal_cost_cv") if getattr(self, f) > 0.0]
            if moved:
                raise ValueError(
                    f"{' and '.join(moved)} need shift_interval_days (given none, so prices would never move)"
                )
        return self


class Event(Frozen):
    """A scripted event.

    - `closure`: the facility closes for good at `day`.
    - `outage`: the facility is down from `day` for `duration_days`.
    - `stream_end`: the facility's output of `material` stops for good.
    - `stream_scale`: the output of `material` is multiplied by `factor` from `day` on.
    - `notice`: `party` (buyer or supplier) gives notice on `contract`.
    """

    day: NonNeg
    kind: Literal["closure", "outage", "stream_end", "stream_scale", "notice"]
    facility: Ident | None = None
    material: Ident | None = None
    duration_days: Pos | None = None
    factor: NonNeg | None = None
    contract: Ident | None = None
    party: Literal["buyer", "supplier"] | None = None

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Event:
        needs = {
            "closure": {"facility"},
            "outage": {"facility", "duration_days"},
            "stream_end": {"facility", "material"},
            "stream_scale": {"facility", "material", "factor"},
            "notice": {"contract", "party"},
        }[self.kind]
        optional = {"facility", "material", "duration_days", "factor", "contract", "party"}
        given = {k for k in optional if getattr(self, k) is not None}
        if needs - given:
            raise ValueError(f"kind '{self.kind}' needs {', '.join(sorted(needs - given))}")
        if given - needs:
            raise ValueError(f"{', '.join(sorted(given - needs))} do not apply to kind '{self.kind}'")
        return self


class Scenario(Frozen):
    """One network: the whole content of a scenario file."""

    scenario: ScenarioMeta
    transport: Transport = Transport()
    materials: list[Material]
    facilities: list[Facility]
    contracts: list[Contract] = []
    intermediary: IntermediarySpec | None = None
    formation: Formation = Formation()
    behaviour: Behaviour | None = None
    market: Market | None = None
    policy: Policy = Policy()
    events: list[Event] = []

    @field_validator("materials", "facilities", "contracts")
    @classmethod
    def _unique_ids(cls, items: list[Any]) -> list[Any]:
        ids = [i.id for i in items]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"ids must be unique (repeated: {', '.join(dup)})")
        return items

    # Convenience look-ups (the model builds its own indexes; these are for tools).
    def material(self, material_id: str) -> Material:
        """The material with this id."""
        return next(m for m in self.materials if m.id == material_id)

    def facility(self, facility_id: str) -> Facility:
        """The facility with this id."""
        return next(f for f in self.facilities if f.id == facility_id)

    def contract(self, contract_id: str) -> Contract:
        """The contract with this id."""
        return next(c for c in self.contracts if c.id == contract_id)


# --- errors ----------------------------------------------------------------------------------


class ScenarioError(Exception):
    """Bad input: one or more problems, each a line `FILE: path.to.field: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems




_NAMED_BY_MATERIAL = frozenset({"outputs", "inputs", "substitutes"})


def _item_name(item: Any, index: int, parent: str = "") -> str:
    """How a list item is named in paths: by id, by material for a facility's outputs and
    inputs and an input's substitutes, else by position `[k]`."""
    if isinstance(item, Mapping):
        if isinstance(item.get("id"), str):
            return str(item["id"])
        if parent in _NAMED_BY_MATERIAL and isinstance(item.get("material"), str):
            return str(item["material"])
    return f"[{index}]"


def _path_of(raw: Any, loc: Iterable[Any]) -> str:
    """Render a pydantic location as a dotted path, naming list items by their id."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list):
            item = node[key] if 0 <= key < len(node) else None
            parts.append(_item_name(item, key, parts[-1] if parts else ""))
            node = item
        elif isinstance(key, str) and isinstance(node, Mapping) and (key in node or not _is_union_tag(key)):
            parts.append(key)
            node = node.get(key)
        elif isinstance(key, str) and not _is_union_tag(key):
            parts.append(key)
            node = None
    return ".".join(map(_printable, parts)) or "(top level)"


def _is_union_tag(key: str) -> bool:
    """A location part naming which member of a union pydantic tried (`list[...]`, `Range`,
    `function-after[...]`), not a key of the file."""
    return "[" in key or key.startswith(("function-", "literal")) or key[:1].isupper() or key in _SCALAR_TAGS


_SCALAR_TAGS = {"bool", "int", "float", "str", "none", "list", "dict"}


# Errors that only say a value is not of one member's shape: when another member of the union
# has its own complaint about the same value, that complaint is the one to show.
_SHAPE_ERRORS = {"list_type", "dict_type", "model_type", "model_attributes_type", "float_type", "int_type",
                 "string_type", "bool_type"}


def _printable(name: str) -> str:
    """A key or id as written in a problem line: quoted and escaped when empty or when it
    holds line breaks or other unprintable characters (a problem stays on one line)."""
    return name if name and name.isprintable() else json.dumps(name)


def _escaped(text: str) -> str:
    """`text` with line breaks and other unprintable characters written as escapes."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown field (given {_short(err['input'])}; check the spelling)"
    if kind == "missing":
        return "required field is missing"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    return f"{msg} (given {_short(err['input'])})"


def format_validation_error(source: str, raw: Any, exc: ValidationError) -> list[str]:
    """One line per problem, with list items named by id."""
    by_path: dict[str, list[Mapping[str, Any]]] = {}
    for err in exc.errors(include_url=False):
        by_path.setdefault(_path_of(raw, err["loc"]), []).append(err)
    # A value no member of a union accepts gives one error per member: keep the complaint of
    # the member that got furthest (a specific error, or one about a part of the value), and
    # merge the rest ("Input should be a valid boolean or a valid integer").
    lines = []
    for path, errs in by_path.items():
        specific = [e for e in errs if e["type"] not in _SHAPE_ERRORS]
        if specific:
            lines += [f"{source}: {path}: {_message(e)}" for e in specific]
        elif not any(p.startswith(path + ".") for p in by_path):
            wants = list(dict.fromkeys(str(e["msg"]).removeprefix("Input should be ") for e in errs))
            lines.append(f"{source}: {path}: Input should be {' or '.join(wants)} (given {_short(errs[0]['input'])})")
    return list(dict.fromkeys(lines))


# --- cross references ------------------------------------------------------------------------


@dataclass(frozen=True)
class DefinedIds:
    """Every id a file defines, including items whose own fields are invalid, so that a
    reference to them is not reported as undefined."""

    materials: tuple[str, ...]
    facilities: frozenset[str]
    contracts: frozenset[str]


def cross_reference_problems(
    sc: Scenario, defined: DefinedIds | None = None, event_index: list[int] | None = None
) -> list[tuple[str, str]]:
    """Problems a per-field schema cannot see: undefined ids and inconsistent links.

    `sc` may be partial (only the items that are valid on their own, see
    :func:`partial_reference_problems`); `defined` then names every id of the file and
    `event_index` the file position of each event kept. Links from or to an item that is
    itself invalid are not followed.
    """
    out: list[tuple[str, str]] = []
    materials = {m.id: m for m in sc.materials}
    facilities = {f.id: f for f in sc.facilities}
    if defined is None:
        defined = DefinedIds(tuple(materials), frozenset(facilities), frozenset(c.id for c in sc.contracts))

    def need_material(path: str, mid: str) -> None:
        if mid not in defined.materials:
            out.append((path, f"unknown material '{mid}' (defined: {', '.join(map(_printable, defined.materials))})"))

    for f in sc.facilities:
        for o in f.outputs:
            p = f"facilities.{f.id}.outputs.{o.material}"
            need_material(f"{p}.material", o.material)
            mat = materials.get(o.material)
            if mat is not None:
                for q in o.quality:
                    if q not in mat.quality:
                        out.append(
                            (
                                f"{p}.quality.{q}",
                                f"material '{mat.id}' has no quality property '{q}'"
                                f" (it has: {', '.join(mat.quality) or 'none'})",
                            )
                        )
                if o.preprocessing is not None and o.preprocessing.target_moisture >= mat.moisture:
                    out.append(
                        (
                            f"{p}.preprocessing.target_moisture",
                            f"dewatering must lower the moisture (given {o.preprocessing.target_moisture}"
                            f", material moisture {mat.moisture})",
                        )
                    )
        for i in f.inputs:
            p = f"facilities.{f.id}.inputs.{i.material}"
            need_material(f"{p}.material", i.material)
            for s in i.substitutes:
                need_material(f"{p}.substitutes.{s.material}.material", s.material)
                sub_mat = materials.get(s.material)
                for q in s.quality_limits if sub_mat is not None else ():
                    if q not in sub_mat.quality:
                        out.append(
                            (f"{p}.substitutes.{s.material}.quality_limits.{q}",
                             f"material '{sub_mat.id}' has no quality property '{q}'"
                             f" (it has: {', '.join(sub_mat.quality) or 'none'})")
                        )
    hub_id = sc.intermediary.id if sc.intermediary is not None else None
    for d in sc.transport.distances:
        for end in (d.a, d.b):
            if end not in defined.facilities and end != hub_id:
                out.append((f"transport.distances.{d.a}-{d.b}", f"unknown facility or intermediary '{end}'"))
    for c in sc.contracts:
        p = f"contracts.{c.id}"
        sup, buy = facilities.get(c.supplier), facilities.get(c.buyer)
        if c.supplier not in defined.facilities:
            out.append((f"{p}.supplier", f"unknown facility '{c.supplier}'"))
        elif sup is not None and c.material not in {o.material for o in sup.outputs}:
            out.append(
                (
                    f"{p}.material",
                    f"supplier '{sup.id}' has no output of '{c.material}' "
                    f"(it puts out: {', '.join(o.material for o in sup.outputs) or 'nothing'})",
                )
            )
        if c.buyer not in defined.facilities:
            out.append((f"{p}.buyer", f"unknown facility '{c.buyer}'"))
        if buy is None:
            continue
        accepting = [i for i in buy.inputs if c.material in {s.material for s in i.substitutes}]
        if c.input is not None:
            chosen = [i for i in buy.inputs if i.material == c.input]
            if not chosen:
                out.append((f"{p}.input", f"buyer '{buy.id}' has no input '{c.input}'"))
            elif chosen[0] not in accepting:
                out.append(
                    (
                        f"{p}.material",
                        f"buyer input '{buy.id}.{c.input}' does not accept '{c.material}' as a substitute",
                    )
                )
        elif not accepting:
            out.append(
                (
                    f"{p}.material",
                    f"buyer '{buy.id}' has no input that accepts '{c.material}' "
                    f"(list it under an input's substitutes)",
                )
            )
        elif len(accepting) > 1:
            out.append(
                (
                    f"{p}.input",
                    f"buyer '{buy.id}' accepts '{c.material}' in several inputs "
                    f"({', '.join(i.material for i in accepting)}); name one with input = ...",
                )
            )
        mat = materials.get(c.material)
        if mat is not None:
            for q in c.quality_spec:
                if q not in mat.quality:
                    out.append(
                        (f"{p}.quality_spec.{q}", f"material '{mat.id}' has no quality property '{q}'")
                    )
    hub = sc.intermediary
    if hub is not None and hub.id in defined.facilities:
        out.append(("intermediary.id", f"'{hub.id}' is also a facility id; give the intermediary its own id"))
    routed = [c.id for c in sc.contracts if c.via_intermediary]
    if hub is None and (routed or sc.policy.intermediary):
        what = f"contracts {', '.join(routed)} are routed through it" if routed else "policy.intermediary = true"
        out.append(("intermediary", f"missing: {what}; add an [intermediary] section"))
    for k, e in zip(event_index or range(len(sc.events)), sc.events, strict=True):
        p = f"events.[{k}]"
        if e.facility is not None and e.facility not in defined.facilities:
            out.append((f"{p}.facility", f"unknown facility '{e.facility}'"))
        elif e.material is not None and e.facility in facilities:
            if e.material not in {o.material for o in facilities[e.facility].outputs}:
                out.append((f"{p}.material", f"facility '{e.facility}' has no output '{e.material}'"))
        if e.contract is not None and e.contract not in defined.contracts:
            out.append((f"{p}.contract", f"unknown contract '{e.contract}'"))
        if e.day >= sc.scenario.horizon_days:
            out.append((f"{p}.day", f"after the horizon (given {e.day}, horizon {sc.scenario.horizon_days})"))
    if sc.policy.engine == "arrays":
        from sim.arrayday import problems as array_problems  # here: sim.arrayday reads the scenario types

        for what in array_problems(sc):
            out.append(("policy.engine", f"'arrays' does not cover {what}; use 'auto' or 'objects'"))
    if len(facilities) == len(defined.facilities):  # every facility valid: every input is known
        consumed = {i.material for f in sc.facilities for i in f.inputs}
        for m in sc.materials:
            if m.co2e_t_per_t > 0 and m.id not in consumed:
                out.append((f"materials.{m.id}.co2e_t_per_t", "credited only on a material an input consumes (the "
                            f"virgin material a secondary replaces), and no input consumes '{m.id}'"))
    return out


def partial_reference_problems(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Reference problems of a file whose fields are not all valid: the checks run on the
    items that are valid on their own, so one pass reports field and reference problems."""

    def valid(cls: type[Frozen], key: str) -> list[tuple[int, Any]]:
        items = raw.get(key)
        kept = []
        for k, item in enumerate(items if isinstance(items, list) else []):
            try:
                kept.append((k, cls.model_validate(item)))
            except ValidationError:
                pass
        return kept

    def ids(key: str) -> list[str]:
        items = raw.get(key)
        items = items if isinstance(items, list) else []
        return [str(i["id"]) for i in items if isinstance(i, Mapping) and isinstance(i.get("id"), str)]

    try:
        meta = ScenarioMeta.model_validate(raw.get("scenario"))
    except ValidationError:  # no horizon to check events against
        meta = ScenarioMeta.model_construct(name="", horizon_days=sys.maxsize)
    try:
        transport = Transport.model_validate(raw.get("transport", {}))
    except ValidationError:
        transport = Transport()
    events = valid(Event, "events")
    try:
        hub = IntermediarySpec.model_validate(raw["intermediary"]) if "intermediary" in raw else None
    except ValidationError:  # present but invalid: its own lines say so; links to it are not missing
        hub = IntermediarySpec.model_construct(id="")
    partial = Scenario.model_construct(
        scenario=meta,
        transport=transport,
        materials=[m for _, m in valid(Material, "materials")],
        facilities=[f for _, f in valid(Facility, "facilities")],
        contracts=[c for _, c in valid(Contract, "contracts")],
        intermediary=hub,
        formation=Formation(),
        policy=Policy(),
        events=[e for _, e in events],
    )
    defined = DefinedIds(
        tuple(dict.fromkeys(ids("materials"))), frozenset(ids("facilities")), frozenset(ids("contracts"))
    )
    return cross_reference_problems(partial, defined, [k for k, _ in events])


# --- overrides -------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """Read an override value the way TOML would (`3`, `2.5`, `true`, `"x"`, `[1, 2]`);
    anything that is not a TOML value is taken as a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at a dotted `path` in raw scenario data, in place.

    List items are matched by id (or by material for streams, inputs and substitutes), and `*`
    matches every item (below a `*`, items that lack the next part of the path are passed
    over, as long as one has it). A missing table on the way is created so that levers such as
    `policy.buffer_days` can be set on files without a `[policy]` section. Raises KeyError with
    a sentence when a list item is not found.
    """
    parts = path.split(".")
    if not all(parts):
        raise KeyError(f"empty part in path '{path}'")
    targets: list[Any] = [raw]
    for depth, part in enumerate(parts[:-1]):
        nxt: list[Any] = []
        # Below a `*`, an item some of the matched items lack is skipped on those (the breweries
        # of `facilities.*.inputs.feed` have no feed input), and an error only if none has it.
        below_star = "*" in parts[:depth]
        missing: list[str] = []
        for node in targets:
            if isinstance(node, dict):
                child = node.get(part)
                if child is None:
                    # A missing list has no items to match; a missing table is created.
                    child = [] if part in _LIST_FIELDS else node.setdefault(part, {})
                nxt.append(child)
            elif isinstance(node, list):
                try:
                    nxt.extend(_match_items(node, part, parts[: depth + 1]))
                except KeyError as err:
                    if not below_star:
                        raise
                    missing.append(err.args[0])
        if missing and not nxt:
            raise KeyError(f"no item '{part}' under '{'.'.join(parts[:depth])}' in any of the items * matched")
        targets = nxt
    last = parts[-1]
    for node in targets:
        if isinstance(node, list):
            raise KeyError(f"'{path}' names a list; address an item by id or *")
        if not isinstance(node, dict):
            raise KeyError(f"'{'.'.join(parts[:-1])}' is not a table")
        node[last] = value


_LIST_FIELDS = frozenset(
    {
        "materials",
        "facilities",
        "contracts",
        "events",
        "outputs",
        "inputs",
        "substitutes",
        "distances",
        "maintenance",
    }
)


def _match_items(items: list[Any], key: str, where: list[str]) -> list[Any]:
    if key == "*":
        return list(items)
    parent = where[-2] if len(where) >= 2 else ""
    found = [it for k, it in enumerate(items) if _item_name(it, k, parent) == key]
    if not found:
        names = [_item_name(it, k, parent) for k, it in enumerate(items)]
        raise KeyError(f"no item '{key}' in {'.'.join(where[:-1]) or where[0]} (items: {', '.join(names)})")
    return found


# --- loading ---------------------------------------------------------------------------------


def parse_scenario(
    raw: dict[str, Any], source: str = "<scenario>", overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """Validate raw scenario data (as read from TOML) after applying overrides."""
    problems: list[str] = []
    for path, value in (overrides or {}).items():
        try:
            apply_override(raw, path, value)
        except KeyError as err:
            # the path is the user's text, and shows up in the reason too: keep the line one line
            problems.append(f"{source}: {_printable(path)}: cannot override: {_escaped(err.args[0])}")
    if problems:
        raise ScenarioError(problems)
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as exc:
        fields = format_validation_error(source, raw, exc)
        links = [f"{source}: {path}: {msg}" for path, msg in partial_reference_problems(raw)]
        raise ScenarioError(fields + [line for line in links if line not in fields]) from None
    problems = [f"{source}: {path}: {msg}" for path, msg in cross_reference_problems(sc)]
    if problems:
        raise ScenarioError(problems)
    return sc


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning I/O and syntax errors into a ScenarioError."""
    p = Path(path)
    name = _printable(str(p))
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError([f"{name}: file not found"]) from None
    except IsADirectoryError:
        raise ScenarioError([f"{name}: is a folder, not a TOML file"]) from None
    except PermissionError:
        raise ScenarioError([f"{name}: cannot be read (permission denied)"]) from None
    except UnicodeDecodeError:
        raise ScenarioError([f"{name}: is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError([f"{name}: (TOML syntax): {err}"]) from None
    except ValueError:  # a NUL character in the path
        raise ScenarioError([f"{name}: not a valid file name"]) from None
    except OSError as err:  # a name too long, a broken link, an I/O error...
        raise ScenarioError([f"{name}: cannot be read ({err.strerror or err})"]) from None


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file, with optional overrides by dotted path."""
    return parse_scenario(read_toml(path), str(path), overrides)


# --- policy levers ---------------------------------------------------------------------------


def secondary_need_t_per_day(inp: InputSpec) -> float:
    """Tonnes of secondary material an input uses per day at full supply: substitutes fill the
    functional demand in the order listed, each up to its max share."""
    left = inp.demand_t_per_day
    need = 0.0
    for s in inp.substitutes:
        functional = min(left, s.max_share * inp.demand_t_per_day)
        need += functional / s.ratio
        left -= functional
    return need


def apply_policy(sc: Scenario) -> Scenario:
    """Return the scenario with the `[policy]` levers written into the items they override."""
    pol = sc.policy
    facilities = sc.facilities
    if pol.buffer_days is not None:
        facilities = [
            f.model_copy(
                update={
                    "inputs": [
                        i.model_copy(
                            update={
                                "buffer_t": pol.buffer_days * secondary_need_t_per_day(i),
                                "initial_buffer_t": None,
                            }
                        )
                        for i in f.inputs
                    ]
                }
            )
            for f in facilities
        ]
    contracts = sc.contracts
    if pol.penalty_per_t_short is not None:
        contracts = [c.model_copy(update={"penalty_per_t_short": pol.penalty_per_t_short}) for c in contracts]
    return sc.model_copy(update={"facilities": facilities, "contracts": contracts})


def contract_input(sc: Scenario, c: Contract, facilities: Mapping[str, Facility] | None = None) -> InputSpec:
    """The buyer input a contract feeds (explicit, or the one input accepting its material).
    A caller asking for many contracts passes the facilities by id (`facilities`), made once,
    rather than have each call search the facility list."""
    buyer = sc.facility(c.buyer) if facilities is None else facilities[c.buyer]
    if c.input is not None:
        return next(i for i in buyer.inputs if i.material == c.input)
    return next(i for i in buyer.inputs if c.material in {s.material for s in i.substitutes})


# --- run views -------------------------------------------------------------------------------


class _RunView:
    """A scenario value copied into slots (see :func:`run_view`)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is an immutable scenario value (use replaced())")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # like the pydantic value it copies

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"


_RUN_VIEWS: dict[type, type[_RunView]] = {}
# Fields the day reads, by value type: first in the view, so that they share its first cache
# line (the rest follow in the value's own order).
_READ_DAILY: dict[str, tuple[str, ...]] = {
    "Contract": (
        "role", "start_day", "delivery_interval_days", "volume_t_per_day", "price_per_t", "settlement_days",
    ),
    "InputSpec": ("critical", "demand_t_per_day", "virgin", "lost_margin_per_t", "stockpile"),
}


def run_view[V: BaseModel](value: V) -> V:
    """`value` with its fields in slots, for the objects the daily loop reads every day (a
    contract's terms, an input's spec): a pydantic instance keeps its fields in a dict of its
    own, which takes several times the memory, and at 1,000 facilities the day's working set
    then spills out of the processor's caches (benchmarks/RESULTS.md). Same field names and
    values, read-only; :func:`replaced` makes changed copies."""
    if isinstance(value, _RunView):
        return value
    cls = type(value)
    view = _RUN_VIEWS.get(cls)
    if view is None:
        view = _RUN_VIEWS[cls] = type(
            cls.__name__, (_RunView,), {"__slots__": _view_slots(cls), "__module__": __name__}
        )
    out = object.__new__(view)
    for name in view.__slots__:
        object.__setattr__(out, name, getattr(value, name))
    return out  # type: ignore[return-value]  # read like the value it copies


def _view_slots(cls: type[BaseModel]) -> tuple[str, ...]:
    daily = _READ_DAILY.get(cls.__name__, ())
    assert set(daily) <= set(cls.model_fields), f"{cls.__name__}: daily fields {daily} not all fields"
    return (*daily, *(name for name in cls.model_fields if name not in daily))


def replaced[V](value: V, **update: Any) -> V:
    """A copy of a scenario value, or of its run view, with the fields in `update` changed (not
    validated, as pydantic's ``model_copy``)."""
    if isinstance(value, _RunView):
        names = type(value).__slots__
        unknown = set(update) - set(names)
        if unknown:
            raise AttributeError(f"{type(value).__name__} has no field {sorted(unknown)}")
        out = object.__new__(type(value))
        for name in names:
            object.__setattr__(out, name, update[name] if name in update else getattr(value, name))
        return out
    assert isinstance(value, BaseModel)
    return value.model_copy(update=update)  # type: ignore[return-value]
