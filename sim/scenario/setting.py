"""The `[scenario]` and `[transport]` sections: name, horizon and warm-up, and the haulage
defaults with explicit road distances (the other network-wide sections are in
:mod:`sim.scenario.sections`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from sim.scenario.schema import Frozen, Ident, NonNeg, Pos


class ScenarioMeta(Frozen):
    """The `[scenario]` section: name, currency and simulated horizon."""

    name: str
    """The scenario's name, shown in outputs."""
    description: str = ""
    """Free text about the case."""
    currency: str = "EUR"
    """Currency of every money field (labels only; no conversion)."""
    horizon_days: Annotated[int, Field(gt=0, le=100_000)] = 365
    """Simulated days."""
    warmup_days: Annotated[int, Field(ge=0, le=100_000)] = 0
    """Days at the start left out of the metrics (the network settles in); below horizon_days."""

    @model_validator(mode="after")
    def _warmup_inside_horizon(self) -> ScenarioMeta:
        if self.warmup_days >= self.horizon_days:
            raise ValueError(
                f"warmup_days must be below horizon_days (given {self.warmup_days} >= {self.horizon_days}); "
                "lower warmup_days or raise horizon_days"
            )
        return self


class Distance(Frozen):
    """An explicit road distance between two facilities, or a facility and the intermediary
    (overrides coordinates; either direction)."""

    a: Ident
    """One end: a facility id or the intermediary's id."""
    b: Ident
    """The other end."""
    km: NonNeg
    """Road distance (used instead of coordinates times circuity)."""


class Transport(Frozen):
    """The `[transport]` section: haulage defaults for every exchange."""

    cost_per_tkm: NonNeg = 0.10
    """Haulage cost per tonne and km."""
    cost_per_trip: NonNeg = 0.0
    """Fixed cost of each truck trip."""
    truck_capacity_t: Pos = 25.0
    """Load of one truck (trips = shipment / capacity, rounded up)."""
    speed_km_per_day: Pos = 500.0
    """Truck speed: a shipment lands distance / speed days after it leaves (at least same day)."""
    circuity: Annotated[float, Field(ge=1.0, le=5.0)] = 1.3
    """Road km per straight-line km, applied to distances from coordinates."""
    distances: list[Distance] = []  # noqa: RUF012 (pydantic copies defaults)
    """Explicit road distances that replace the coordinate distance for a pair."""

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
