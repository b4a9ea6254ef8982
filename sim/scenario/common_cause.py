"""`[[common_causes]]`: one shock process that takes a set of facilities down together
(a regional flood, a grid failure, a cold snap, one owner closing several sites).

The set is a list of facility ids or a region (a centre and a radius on the planar grid). The
up-time and repair laws are those of facility outages (:class:`~sim.scenario.schema.Outages`,
validated by building one); `rate_scale` multiplies the shock rate 1 / mtbf_days so that a
study factor can scale it, and `enabled = false` switches it off. The facilities' own outages
stay independent of it (sim/common_causes.py draws it from its own keyed stream).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pydantic import model_validator

from sim.scenario.schema import Facility, Frozen, Ident, Km, LifeLaw, Outages, Pos


class Region(Frozen):
    """A disc on the planar grid: every facility with planar coordinates inside it."""

    x_km: Km
    """Centre, east coordinate."""
    y_km: Km
    """Centre, north coordinate."""
    radius_km: Pos
    """Radius (a facility on the circle is inside)."""


class CommonCause(Frozen):
    """A common-cause shock: while it is on, every facility of its set is down (whatever its
    own outages do). Give exactly one of `facilities` and `region`."""

    id: Ident
    """Name (outages it causes are recorded with cause "common:<id>")."""
    facilities: list[Ident] | None = None
    """The facilities it takes down."""
    region: Region | None = None
    """Or: the facilities within a disc `{x_km, y_km, radius_km}`."""
    mtbf_days: Pos
    """Mean time between shocks (mean time from the end of one to the start of the next)."""
    mttr_days: Pos = 1.0
    """Mean length of a shock."""
    failure: LifeLaw = "exponential"
    """Law of the times between shocks (as facility outages)."""
    failure_shape: Pos | None = None
    """Weibull shape (only with failure = "weibull")."""
    failure_cv: Pos | None = None
    """Lognormal CV (only with failure = "lognormal")."""
    repair: LifeLaw = "exponential"
    """Law of shock lengths."""
    repair_shape: Pos | None = None
    """Weibull shape (only with repair = "weibull")."""
    repair_cv: Pos | None = None
    """Lognormal CV (only with repair = "lognormal")."""
    rate_scale: Pos = 1.0
    """Multiplies the shock rate 1 / mtbf_days (a study factor's handle)."""
    enabled: bool = True
    """false: the shock never happens (a study factor's switch)."""

    @model_validator(mode="after")
    def _one_set(self) -> CommonCause:
        if (self.facilities is None) == (self.region is None):
            given = "both" if self.facilities is not None else "neither"
            raise ValueError(f"give exactly one of facilities and region (given {given})")
        if self.facilities is not None and not self.facilities:
            raise ValueError("facilities is empty; list at least one facility id")
        self.outages  # noqa: B018 (the laws are checked as facility outages check them)
        return self

    @property
    def outages(self) -> Outages:
        """The shock process as an outage spec (mean up-time mtbf_days / rate_scale)."""
        return Outages(
            mtbf_days=self.mtbf_days / self.rate_scale, mttr_days=self.mttr_days, failure=self.failure,
            failure_shape=self.failure_shape, failure_cv=self.failure_cv, repair=self.repair,
            repair_shape=self.repair_shape, repair_cv=self.repair_cv,
        )


def common_cause_members(cause: CommonCause, facilities: list[Facility]) -> list[str]:
    """The ids of the facilities the cause takes down, in file order."""
    if cause.facilities is not None:
        wanted = set(cause.facilities)
        return [f.id for f in facilities if f.id in wanted]
    reg = cause.region
    assert reg is not None
    return [
        f.id for f in facilities
        if f.location.x_km is not None and f.location.y_km is not None
        and math.hypot(f.location.x_km - reg.x_km, f.location.y_km - reg.y_km) <= reg.radius_km
    ]


def common_cause_problems(
    causes: list[CommonCause], facilities: Mapping[str, Facility], defined: frozenset[str]
) -> list[tuple[str, str]]:
    """Unknown facility ids, and a region that holds no facility (checked when every
    facility is valid, so that a region is judged on the whole network)."""
    out: list[tuple[str, str]] = []
    for c in causes:
        p = f"common_causes.{c.id}"
        if c.facilities is not None:
            unknown = [f for f in c.facilities if f not in defined]
            if unknown:
                out.append((f"{p}.facilities", f"unknown facility {', '.join(repr(u) for u in unknown)}"))
        elif len(facilities) == len(defined) and not common_cause_members(c, list(facilities.values())):
            reg = c.region
            assert reg is not None
            out.append((f"{p}.region", f"holds no facility with planar coordinates (centre ({reg.x_km}, "
                        f"{reg.y_km}) km, radius {reg.radius_km} km); widen radius_km or move the centre"))
    return out
