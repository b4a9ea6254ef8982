"""Distances, haulage cost and time, and source preprocessing (dewatering).

Pure functions of numbers: tests call them directly, the model and the matcher share them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.scenario import Contract, Location, Scenario, Transport

EARTH_RADIUS_KM = 6371.0088


def straight_km(a: Location, b: Location) -> float:
    """Straight-line distance: Euclidean for planar coordinates, great-circle for lat/lon."""
    if a.x_km is not None and b.x_km is not None:
        return math.hypot(a.x_km - b.x_km, a.y_km - b.y_km)  # type: ignore[operator]
    if a.lat is not None and b.lat is not None:
        p1, p2 = math.radians(a.lat), math.radians(b.lat)
        dp, dl = p2 - p1, math.radians(b.lon - a.lon)  # type: ignore[operator]
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
    raise ValueError("cannot measure between planar and geographic locations")


class Roads:
    """Road distances between one scenario's facilities and its intermediary: an explicit
    `[transport].distances` entry if one is given (either direction; a pair given twice must
    agree), else the straight line times the circuity factor.

    The look-ups are made once: matching asks for a distance per (supplier, buyer) pair, and a
    search through the facility list for each would make a 1,000-plant region's n^2 pairs cost
    n^3 (12 of the 17 s its candidate list took).
    """

    def __init__(self, sc: Scenario):
        self._location = {f.id: f.location for f in sc.facilities}
        if sc.intermediary is not None:
            self._location[sc.intermediary.id] = sc.intermediary.location
        self._explicit: dict[frozenset[str], float] = {}
        for d in sc.transport.distances:
            self._explicit.setdefault(frozenset((d.a, d.b)), d.km)
        self._circuity = sc.transport.circuity

    def km(self, a: str, b: str) -> float:
        """Road km between `a` and `b` (facility or intermediary ids)."""
        if self._explicit:
            given = self._explicit.get(frozenset((a, b)))
            if given is not None:
                return given
        return straight_km(self._location[a], self._location[b]) * self._circuity


def road_km(sc: Scenario, a: str, b: str) -> float:
    """Road distance between two facilities (see :class:`Roads`, which a caller asking for
    many distances should make once)."""
    return Roads(sc).km(a, b)


def trips(qty_t: float, truck_capacity_t: float) -> int:
    """Truckloads needed for a shipment (a part load is a whole trip)."""
    return math.ceil(qty_t / truck_capacity_t - 1e-12) if qty_t > 0 else 0


def haul_cost(qty_t: float, km: float, tr: Transport) -> float:
    """Money for hauling `qty_t` over `km`: per t-km plus per trip."""
    return qty_t * km * tr.cost_per_tkm + trips(qty_t, tr.truck_capacity_t) * tr.cost_per_trip


def move_cost(qty_t: float, km: float, tr: Transport, terms: Contract) -> float:
    """Money for moving `qty_t` on a contract by its mode: road, :func:`haul_cost` (per t-km
    plus per trip, a trip charged even at 0 km); pipe, `pipe_cost_per_t` per unit moved (no
    trips, no t-km)."""
    if terms.mode == "pipe":
        return qty_t * terms.pipe_cost_per_t
    return haul_cost(qty_t, km, tr)


def shipment_cap_t(terms: Contract) -> float:
    """Most one delivery of the contract can carry: a pipe's `pipe_capacity_t_per_day` times
    `delivery_interval_days`; unlimited (inf) for road or an unset capacity."""
    cap = terms.pipe_capacity_t_per_day
    if terms.mode != "pipe" or cap is None:
        return math.inf
    return cap * terms.delivery_interval_days


def transit_days(km: float, tr: Transport) -> float:
    """Time on the road."""
    return km / tr.speed_km_per_day


def delivery_lag_days(km: float, tr: Transport) -> int:
    """Whole days from dispatch (end of day d) to use: material shipped at the end of day d
    is in the buyer's buffer for day d + lag, lag = max(1, ceil(transit days))."""
    return max(1, math.ceil(transit_days(km, tr) - 1e-12))


def move_lag_days(km: float, tr: Transport, terms: Contract) -> int:
    """A contract's delivery lag by its mode: road, :func:`delivery_lag_days`; pipe, 1 (no
    transit time: shipped at the end of day d, in the buyer's buffer for day d + 1)."""
    return 1 if terms.mode == "pipe" else delivery_lag_days(km, tr)


def dewatered_mass_t(wet_t: float, moisture: float, target_moisture: float) -> float:
    """Mass after dewatering from `moisture` to `target_moisture`, dry matter conserved:
    1 t at 90 % moisture becomes 0.1 / 0.7 = 0.143 t at 30 %."""
    return wet_t * (1.0 - moisture) / (1.0 - target_moisture)


@dataclass(frozen=True)
class Margin:
    """The components of an exchange's value per tonne of secondary material (before haulage)."""

    avoided_disposal_per_t: float
    avoided_procurement_per_t: float
    processing_per_t: float
    quality_assurance_per_t: float = 0.0

    @property
    def per_t(self) -> float:
        """Value per t before transport."""
        return (
            self.avoided_disposal_per_t
            + self.avoided_procurement_per_t
            - self.processing_per_t
            - self.quality_assurance_per_t
        )


def transport_per_t(km: float, tr: Transport) -> float:
    """Haulage cost per t of a full truckload over `km`: cost_per_tkm x km + cost_per_trip /
    truck_capacity_t (the per-trip charge spread over a full truck)."""
    return tr.cost_per_tkm * km + tr.cost_per_trip / tr.truck_capacity_t


def break_even_km(margin: Margin, cost_per_tkm: float, trip_cost_per_t: float = 0.0) -> float:
    """The distance at which transport cost per t equals the exchange's margin per t:
    (margin.per_t - trip_cost_per_t) / cost_per_tkm, where `trip_cost_per_t` is the per-trip
    charge per t of a full truck (cost_per_trip / truck_capacity_t; 0 by default).
    0 when that numerator is not positive; infinite when haulage per t-km is free."""
    room = margin.per_t - trip_cost_per_t
    if room <= 0:
        return 0.0
    if cost_per_tkm <= 0:
        return math.inf
    return room / cost_per_tkm


def haul_per_t(volume_t: float, km: float, transport: Transport) -> float:
    """Road haulage per t of a shipment of `volume_t` over `km` (0 for no volume)."""
    return haul_cost(volume_t, km, transport) / volume_t if volume_t > 0 else 0.0


def move_per_t(volume_t: float, km: float, transport: Transport, terms: Contract) -> float:
    """Transport cost per unit of a contract's shipment of `volume_t`, by its mode: road,
    :func:`haul_per_t`; pipe, `pipe_cost_per_t`."""
    if terms.mode == "pipe":
        return terms.pipe_cost_per_t
    return haul_per_t(volume_t, km, transport)


def pipe_break_even_km(margin: Margin, pipe_cost_per_t: float) -> float:
    """A pipe's cost does not grow with distance, so its "break-even distance" is all or
    nothing: infinite when the margin covers `pipe_cost_per_t`, else 0 (the table prints
    "pipe" and the margin after the pipe cost instead)."""
    return math.inf if margin.per_t - pipe_cost_per_t >= 0 else 0.0
