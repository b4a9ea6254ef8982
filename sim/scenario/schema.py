"""The scenario schema: bounded quantities and the items of a network (materials, facilities
with their outages, output streams and inputs, contracts) as immutable pydantic values.

Unknown keys are errors (a typo must not silently become a default). The network-wide
sections (policy levers, intermediary, behaviour, formation, market, events) and the
:class:`Scenario` that holds them all are in :mod:`sim.scenario.sections`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

