"""The scenario schema: bounded quantities and the items of a network (materials, facilities
with their outages, output streams and inputs) as immutable pydantic values. The `[scenario]`
and `[transport]` sections are in :mod:`sim.scenario.setting`.

Unknown keys are errors (a typo must not silently become a default). A contract is in
:mod:`sim.scenario.contract`; the network-wide sections (policy levers, intermediary,
behaviour, formation, market, events) and the :class:`Scenario` that holds them all are in
:mod:`sim.scenario.sections`.
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

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)


class Material(Frozen):
    """A material: a waste stream's substance or an input's functional material."""

    id: Ident
    """Name used by streams, inputs, substitutes and contracts (letters, digits, _ and -)."""
    name: str = ""
    """Readable name."""
    state: Literal["solid", "sludge", "liquid", "gas", "energy"] = "solid"
    """Physical state (labels and plots)."""
    unit: Literal["t", "m3", "MWh"] = "t"
    """Unit of every flow, store and price of it (fields written `_t`, `_per_t`); t is the one mass unit."""
    moisture: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    """Water share of the wet mass (dewatering lowers it)."""
    shelf_life_days: Pos | None = None
    """Age after which stored material is spoilt and disposed of; unset: it keeps."""
    virgin_price_per_t: NonNeg = 0.0
    """Price of one unit (its `unit`) of the virgin material; what a buyer saves per unit replaced."""
    disposal_cost_per_t: NonNeg = 0.0
    """Cost of disposing of one unit (its `unit`); what a supplier avoids."""
    co2e_t_per_t: NonNeg = 0.0
    """t CO2e emitted per unit (its `unit`) of this virgin material, credited when a secondary replaces it."""
    holding_cost_per_t_day: NonNeg = 0.0
    """Cost of holding one unit (its `unit`) of it for a day in any store (source storage, a buyer's buffer, a virgin
    stockpile), booked daily on the end-of-day stock to the store's owner; each store may override it."""
    quality: dict[Ident, Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)]] = {}
    """Nominal quality properties by name (e.g. `{ cao = 0.35 }`)."""
    storable: bool | None = None
    """Whether it can be kept in a buyer's buffer; unset: every unit but MWh (energy is not stored unless the file
    declares a buffer_t on the input). `policy.buffer_days` passes over inputs whose substitutes are all
    non-storable."""


# --- facilities ------------------------------------------------------------------------------


class Location(Frozen):
    """Where a facility stands: planar `{x_km, y_km}` or geographic `{lat, lon}`."""

    x_km: Km | None = None
    """Planar east coordinate."""
    y_km: Km | None = None
    """Planar north coordinate."""
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    """Latitude (with lon; distances are great-circle times circuity)."""
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    """Longitude."""

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
    """Day the first shutdown begins."""
    duration_days: Pos
    """Length of each shutdown."""
    every_days: Pos | None = None
    """Repeat interval; unset: once."""
    notice_days: NonNeg = 0.0
    """Days each shutdown is announced ahead (default 0: on the day; contracts needing notice do not excuse it)."""

    @model_validator(mode="after")
    def _fits_cycle(self) -> Maintenance:
        if self.every_days is not None and self.duration_days >= self.every_days:
            raise ValueError(
                f"duration_days must be shorter than every_days "
                f"(given {self.duration_days} >= {self.every_days}); shorten duration_days or raise every_days"
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
    """Mean time between failures (mean up-time); unset: never fails at random. Availability = mtbf / (mtbf + mttr)."""
    mttr_days: Pos = 1.0
    """Mean time to repair."""
    failure: LifeLaw = "exponential"
    """Law of up-times."""
    failure_shape: Pos | None = None
    """Weibull shape of up-times (only with failure = "weibull")."""
    failure_cv: Pos | None = None
    """Coefficient of variation of up-times (only with failure = "lognormal")."""
    repair: LifeLaw = "exponential"
    """Law of repair times."""
    repair_shape: Pos | None = None
    """Weibull shape of repair times (only with repair = "weibull")."""
    repair_cv: Pos | None = None
    """Coefficient of variation of repair times (only with repair = "lognormal")."""
    maintenance: list[Maintenance] = []
    """Planned shutdown windows."""
    closure_hazard_per_year: NonNeg = 0.0
    """Yearly rate of closing for good (0: never)."""

    @model_validator(mode="after")
    def _geometric_in_whole_days(self) -> Outages:
        for which, mean in (("failure", self.mtbf_days), ("repair", self.mttr_days)):
            if getattr(self, which) == "geometric" and mean is not None and mean < 1.0:
                raise ValueError(
                    f"{which} = 'geometric' counts whole days and needs a mean >= 1 (given {mean}); give a mean "
                    "of at least 1 day or choose another law"
                )
        return self

    @model_validator(mode="after")
    def _shape_matches_law(self) -> Outages:
        for which in ("failure", "repair"):
            law = getattr(self, which)
            for param, needs in ((f"{which}_shape", "weibull"), (f"{which}_cv", "lognormal")):
                given = getattr(self, param) is not None
                if given and law != needs:
                    raise ValueError(f"{param} applies only when {which} = '{needs}' (given '{law}'); "
                                     f"remove {param} or set {which} = '{needs}'")
                if law == needs and not given:
                    raise ValueError(f"{which} = '{needs}' needs {param} (add e.g. {param} = 1.5)")
        return self


class Variability(Frozen):
    """Day-to-day randomness of a stream's output: a law with mean 1 and the given CV."""

    dist: Literal["fixed", "gamma", "lognormal", "truncnormal"] = "fixed"
    """Law of the day's output factor (mean 1)."""
    cv: NonNeg = 0.0
    """Its coefficient of variation (0 with dist = "fixed")."""

    @model_validator(mode="after")
    def _cv_matches_law(self) -> Variability:
        if self.dist == "fixed" and self.cv != 0.0:
            raise ValueError(f"cv applies only to a random dist (given dist 'fixed', cv {self.cv}); remove cv "
                             "or choose dist = 'gamma', 'lognormal' or 'truncnormal'")
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
    """When the stream produces: every day, in batches, in campaigns or by season."""
    every_days: Annotated[int, Field(ge=1)] | None = None
    """batch: days between batches (each carries that many days of output)."""
    on_days: Annotated[int, Field(ge=1)] | None = None
    """campaign: producing days per cycle; output per producing day is rate_t_per_day x (on_days + off_days) / on_days.
    """
    off_days: Annotated[int, Field(ge=0)] | None = None
    """campaign: idle days per cycle."""
    phase_days: Annotated[int, Field(ge=0)] = 0
    """Day of the cycle the run starts at (shifts batches and campaigns)."""
    monthly_factors: list[NonNeg] | None = None
    """seasonal: 12 relative monthly levels (normalised to mean 1)."""
    amplitude: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    """seasonal: relative amplitude of a sinusoid (0 to 1)."""
    peak_day: Annotated[float, Field(ge=0.0, lt=366.0)] = 0.0
    """seasonal: day of the year of the sinusoid's peak."""

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
            raise ValueError(f"{', '.join(sorted(extra))} do not apply to kind '{self.kind}'; remove them or "
                             "choose the kind they belong to")
        if self.kind == "seasonal":
            if (self.monthly_factors is None) == (self.amplitude is None):
                raise ValueError("kind 'seasonal' needs exactly one of monthly_factors or amplitude (keep one)")
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
    """Mean of the property per lot."""
    sd: NonNeg = 0.0
    """Standard deviation per lot (normal, truncated at zero)."""


class Limit(Frozen):
    """An acceptance band for one quality property."""

    min: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] | None = None
    """Lowest accepted value."""
    max: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] | None = None
    """Highest accepted value."""

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
    """The treatment at the source."""
    target_moisture: Annotated[float, Field(ge=0.0, lt=1.0)]
    """Moisture after treatment (below the material's moisture)."""
    cost_per_t: NonNeg = 0.0
    """Treatment cost per wet t treated."""


class OutputStream(Frozen):
    """A waste stream: what a facility produces, stores at source and disposes of."""

    material: Ident
    """The material put out (a `[[materials]]` id)."""
    rate_t_per_day: NonNeg
    """Mean output (in the material's unit) per calendar day while the plant is up, production days or not (a
    campaign or batch pattern packs it into fewer days; validate shows the on-day rate). Outages and maintenance
    stop output on top of this, so a year makes about rate x 365 x availability (validate's 'expected' column)."""
    variability: Variability = Variability()
    """Day-to-day randomness of the output."""
    pattern: Pattern = Pattern()
    """When the stream produces."""
    quality: dict[Ident, QualityDraw] = {}
    """Quality drawn per lot, by property."""
    storage_t: NonNeg = 0.0
    """Storage at the source (the material's unit); output beyond it (or unsold past shelf life) is disposed of."""
    initial_t: NonNeg = 0.0
    """Opening stock of source storage on day 0 (at most storage_t), made on day 0 for its shelf life; default:
    empty."""
    holding_cost_per_t_day: NonNeg | None = None
    """Cost of holding one unit in source storage for a day, paid by the supplier; unset: the material's."""
    shelf_life_days: Pos | None = None
    """Shelf life of this stream; unset: the material's."""
    disposal_cost_per_t: NonNeg | None = None
    """Disposal cost of this stream; unset: the material's."""
    preprocessing: Preprocessing | None = None
    """Treatment at the source before shipping."""

    @model_validator(mode="after")
    def _opening_stock_fits(self) -> OutputStream:
        if self.initial_t > self.storage_t:
            raise ValueError(f"initial_t exceeds storage_t ({self.initial_t} > {self.storage_t}); lower initial_t "
                             "or raise storage_t")
        return self


class Substitute(Frozen):
    """A secondary material that may replace part of an input's virgin material."""

    material: Ident
    """The secondary material accepted (a `[[materials]]` id)."""
    ratio: Pos = 1.0
    """Input-material units replaced per unit of this secondary (each in its own unit); set it if units differ."""
    max_share: Share = 1.0
    """Largest share of the input's demand it may fill."""
    processing_cost_per_t: NonNeg = 0.0
    """Buyer's cost to use one unit (this secondary's unit) of it."""
    category: Literal["direct", "indirect", "cascaded"] = "direct"
    """Kind of exchange (labels and reports)."""
    quality_limits: dict[Ident, Limit] = {}
    """Acceptance band per quality property."""


class Stockpile(Frozen):
    """A virgin stockpile reviewed daily under an (s, S) policy with a fixed lead time."""

    capacity_t: Pos
    """Largest stock (the input material's unit, as every field of the stockpile)."""
    reorder_point_t: NonNeg
    """Order when the stock falls to this (s)."""
    order_up_to_t: Pos
    """Order back up to this (S)."""
    lead_time_days: NonNeg = 0.0
    """Days from order to arrival."""
    initial_t: NonNeg | None = None
    """Opening stock on day 0 (at most capacity_t); default: full, i.e. order_up_to_t."""
    holding_cost_per_t_day: NonNeg | None = None
    """Cost of holding one unit of virgin material in the stockpile for a day, paid by the buyer; unset: the input
    material's."""

    @model_validator(mode="after")
    def _ordered(self) -> Stockpile:
        if not self.reorder_point_t < self.order_up_to_t <= self.capacity_t:
            raise ValueError(
                "need reorder_point_t < order_up_to_t <= capacity_t (given "
                f"{self.reorder_point_t}, {self.order_up_to_t}, {self.capacity_t})"
            )
        if self.initial_t is not None and self.initial_t > self.capacity_t:
            raise ValueError(f"initial_t exceeds capacity_t ({self.initial_t} > {self.capacity_t}); lower it")
        return self


class Emergency(Frozen):
    """Emergency purchase of virgin material: a price premium, available `lead_time_days`
    after a shortage episode begins."""

    premium: NonNeg = 0.0
    """Extra price over the virgin price, as a share (0.5: 50 % dearer)."""
    lead_time_days: NonNeg = 0.0
    """Days after a shortage begins before emergency supply arrives."""


class InputSpec(Frozen):
    """What a facility consumes: a functional material and the secondary materials that may
    replace it, with its buffer, virgin supply, emergency purchase and shortage cost.

    `virgin` says where non-secondary material comes from: `market` (bought as needed at the
    virgin price), `stockpile` (an (s, S) stockpile with a lead time) or `none`.

    `demand_pattern` makes the need seasonal (or batch / campaign), in the vocabulary of an
    output's `pattern` and by the same rule (:func:`sim.streams.pattern_factors`): the day's
    requirement is demand_t_per_day x the day's factor x the operating level. The factors are
    mean-preserving as output patterns are (monthly factors normalised to their mean, a
    sinusoid around 1, batches and campaigns over whole cycles), so demand_t_per_day stays the
    long-run mean, and what reads the demand as a rate (contract formation, the intermediary,
    validate's days of buffer) reads that mean. The planned secondary use is still capped by
    the max shares of the day's requirement, so in a low season deliveries above use fill the
    buffer and then overflow, disposed of at the buyer's cost.
    """

    material: Ident
    """The functional material consumed (a `[[materials]]` id), bought virgin unless replaced."""
    demand_t_per_day: NonNeg
    """Daily need of the functional material, in its unit; with a demand_pattern, its long-run mean."""
    demand_pattern: Pattern | None = None
    """When the need falls, as an output's `pattern` (kind "seasonal" with 12 monthly_factors or an amplitude and
    peak_day; "batch"; "campaign"): the day's need = demand_t_per_day x the day's factor (mean 1; monthly factors
    are normalised to their mean). Unset: the same every day."""
    buffer_t: NonNeg = 0.0
    """Store of SECONDARY material at the buyer, in the substitutes' unit (not the input's: all substitutes of a
    buffered input share one unit); days of use = buffer_t / secondary use per day."""
    initial_buffer_t: NonNeg | None = None
    """Opening buffer stock on day 0 (at most buffer_t), in the substitutes' unit like buffer_t, in the first
    contracted substitute; default: full, i.e. buffer_t."""
    buffer_holding_cost_per_t_day: NonNeg | None = None
    """Cost of holding one unit of secondary material in the buffer for a day, paid by the buyer; unset: each
    substitute material's own."""
    substitutes: list[Substitute] = []
    """Secondary materials that may replace part of the demand, in the order used."""
    virgin: Literal["market", "stockpile", "none"] = "market"
    """Where the rest comes from."""
    stockpile: Stockpile | None = None
    """The virgin stockpile (exactly when virgin = "stockpile")."""
    emergency: Emergency | None = None
    """Emergency virgin purchase (with virgin = "stockpile" or "none")."""
    lost_margin_per_t: NonNeg = 0.0
    """Margin lost per unit (the input material's) of demand not met."""
    critical: bool = False
    """A shortage stops the plant (see behaviour.cascade_closure_days)."""
    planned_secondary_t_per_day: NonNeg | None = None
    """Secondary material the buyer plans to use per day at full operation, in the input's unit (virgin-equivalent,
    i.e. after each substitute's ratio); scaled by the day's operating level and never above the substitutes' max
    shares of the need. Unset: what its primary contracts in force deliver at full supply. The buffer covers a
    shortfall against this plan, and a periodic delivery is used over its interval at this rate."""
    refill: Literal["use_less", "catch_up", "none"] = "use_less"
    """How a buffer drawn down below buffer_t is rebuilt. "use_less": use up to `refill_share` less secondary than
    planned (the rest bought virgin) until it is back at buffer_t; "catch_up": the supplier ships its backlog under
    a contract's `catch_up_t_per_day` term (at least one contract of this input must have one); "none": only
    deliveries above the planned use refill it. Holding back never leaves demand unmet: an input whose virgin supply
    cannot replace the tonnes held back (virgin "none", a short stockpile) uses them. Nor does it keep perishable
    material to rot: nothing is held back unless the stock kept overnight can be used at the planned rate before
    the oldest lot in it spoils, so a short-lived buffer rebuilds only as far as it stays fresh."""
    refill_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.25
    """use_less: the largest share of the planned use held back per day while the buffer is below target [E].
    0.25 rebuilds a buffer of B days of plan in 4B days of normal deliveries: a plant manager tops up with virgin
    rather than run a process on virgin material alone, and a drawdown is made good within about a month for the
    1-7 day buffers of the shipped scenarios."""

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if (self.virgin == "stockpile") != (self.stockpile is not None):
            raise ValueError(
                "virgin = 'stockpile' needs a stockpile table (capacity_t, reorder_point_t, order_up_to_t)"
                if self.virgin == "stockpile"
                else f"stockpile applies only to virgin = 'stockpile' (given '{self.virgin}'); set virgin = "
                "'stockpile' or remove the stockpile table"
            )
        if self.virgin == "market" and self.emergency is not None:
            raise ValueError("emergency purchase needs virgin = 'stockpile' or 'none'; set one of them, or remove "
                             "emergency (with virgin = 'market' the market covers every shortfall)")
        if self.initial_buffer_t is not None and self.initial_buffer_t > self.buffer_t:
            raise ValueError(f"initial_buffer_t exceeds buffer_t ({self.initial_buffer_t} > {self.buffer_t}); "
                             "lower initial_buffer_t or raise buffer_t")
        seen = [s.material for s in self.substitutes]
        if len(seen) != len(set(seen)):
            raise ValueError(f"substitutes name a material twice ({seen}); list each material once")
        return self


class Facility(Frozen):
    """A plant: where it is, how it fails, what it puts out and what it takes in."""

    id: Ident
    """Name used by contracts, distances and events (letters, digits, _ and -)."""
    name: str = ""
    """Readable name."""
    sector: str = ""
    """Industry (labels and reports)."""
    location: Location
    """Where it stands."""
    outages: Outages = Outages()
    """How it fails and is maintained."""
    outputs: list[OutputStream] = []
    """Its by-product streams."""
    inputs: list[InputSpec] = []
    """What it consumes."""

    @model_validator(mode="after")
    def _unique_streams(self) -> Facility:
        for what, items in (("outputs", self.outputs), ("inputs", self.inputs)):
            names = [i.material for i in items]
            if len(names) != len(set(names)):
                raise ValueError(f"{what} name a material twice ({names}); merge them into one")
        return self
