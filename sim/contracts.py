"""Contract terms at work: state, minimum terms, allocation of a short supplier, quality bands.

The rules are pure functions of numbers (tests call them with hand calculations); the
:class:`ContractState` only accumulates what a settlement period needs. How a period is
settled (penalty, take-or-pay, standby fee) is sim/day/settlement.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.indexation import indexed_price_per_t
from sim.logistics import Roads, delivery_lag_days, move_lag_days, shipment_cap_t
from sim.scenario import Contract, Facility, Limit, Material, Scenario, contract_input, run_view


class Status(enum.Enum):
    """Where a contract is in its life: ACTIVE -> NOTICE -> ENDED (PENDING before start)."""

    PENDING = "pending"
    ACTIVE = "active"
    NOTICE = "notice"
    ENDED = "ended"


# --- pure money rules ------------------------------------------------------------------------


def term_end_day(terms: Contract, day: int) -> int:
    """First day after the minimum term running on `day`: terms of `min_term_days` run back
    to back from the start day (the first term before the start). `start_day` when there is
    no minimum term."""
    term = terms.min_term_days
    if term <= 0:
        return terms.start_day
    done = max(0, day - terms.start_day) // term
    return terms.start_day + (done + 1) * term


def is_term_boundary(terms: Contract, day: int) -> bool:
    """`day` starts a new minimum term (the one before it has just ended)."""
    term = terms.min_term_days
    return term > 0 and day > terms.start_day and (day - terms.start_day) % term == 0


def ends_inside_a_term(terms: Contract, first_day_out: int) -> bool:
    """A contract whose last day in force is `first_day_out - 1` stops before the end of the
    minimum term running then (with no minimum term: before it even started)."""
    return first_day_out < term_end_day(terms, first_day_out - 1)


def cut_penalty_per_t(penalty_per_t: float, supplier: float, penalties: float, chargeable_t: float) -> float | None:
    """The penalty rule: when the penalties turned the supplier's gain over the term into a
    loss (supplier benefit < 0 < supplier benefit + penalties), the highest penalty per t that
    it could have paid on the same chargeable tonnes without a loss, (benefit + penalties) /
    chargeable t, never above the old one; None when the rule does not apply."""
    before = supplier + penalties
    if penalty_per_t <= 0.0 or chargeable_t <= 0.0 or not supplier < 0.0 < before:
        return None
    return min(penalty_per_t, before / chargeable_t)


def fair_price_per_t(price_per_t: float, supplier: float, buyer: float, paid_t: float, share: float) -> float | None:
    """The price rule: when the joint benefit over the term was positive but one party's was
    negative, the price at which the supplier would have got `share` of the joint benefit on
    the tonnes it was paid for, price + (share x joint - supplier) / paid t; None when the
    rule does not apply."""
    joint = supplier + buyer
    if paid_t <= 0.0 or joint <= 0.0 or min(supplier, buyer) >= 0.0:
        return None
    return price_per_t + (share * joint - supplier) / paid_t


def allocate(
    available_t: float, due_t: list[float], priority: list[int], rule: str,
    backup: list[bool] | None = None, reserve_t: float = 0.0,
) -> list[float]:
    """Split a supplier's stock among the contracts due today.

    `pro_rata`: in proportion to the quantities due. `priority`: highest priority first, ties
    in contract order. With `backup` flags, the primaries share the stock first; the backups
    share only the surplus, what is left after the primaries less `reserve_t` (the stock the
    supplier holds for its primaries: the dispatch passes its source storage while it has a
    primary in force, so a backup takes only what would otherwise overflow, and never what a
    primary could draw on a later day)."""
    if backup is not None and any(backup):
        prim = [d if not b else 0.0 for d, b in zip(due_t, backup, strict=True)]
        out = allocate(available_t, prim, priority, rule)
        left = max(0.0, available_t - sum(out) - reserve_t)
        extra = allocate(left, [d if b else 0.0 for d, b in zip(due_t, backup, strict=True)], priority, rule)
        return [o + e for o, e in zip(out, extra, strict=True)]
    total = sum(due_t)
    if total <= available_t:
        return list(due_t)
    if rule == "pro_rata":
        share = available_t / total if total > 0 else 0.0
        return [d * share for d in due_t]
    out = [0.0] * len(due_t)
    left = available_t
    for k in sorted(range(len(due_t)), key=lambda i: (-priority[i], i)):
        out[k] = min(due_t[k], left)
        left -= out[k]
    return out


def in_spec(quality: np.ndarray | None, limits: list[tuple[int, float, float]]) -> bool:
    """True when a lot's quality lies within every (property index, min, max) band."""
    if quality is None:
        return True
    for j, lo, hi in limits:
        v = quality[j]
        if v < lo or v > hi:
            return False
    return True


def limit_bands(props: list[str], *specs: dict[str, Limit]) -> list[tuple[int, float, float]]:
    """Turn named limits into (property index, min, max) bands, intersecting several specs."""
    bands: dict[int, list[float]] = {}
    for spec in specs:
        for name, lim in spec.items():
            j = props.index(name)
            lo, hi = bands.get(j, [-np.inf, np.inf])
            lo = max(lo, lim.min if lim.min is not None else -np.inf)
            hi = min(hi, lim.max if lim.max is not None else np.inf)
            bands[j] = [lo, hi]
    return [(j, lo, hi) for j, (lo, hi) in sorted(bands.items())]


# --- running state ---------------------------------------------------------------------------


@dataclass(slots=True)
class Period:
    """What one settlement period has accumulated. `carried_in_t`: tonnes on the road to the
    buyer when the period opened, already counted as taken by the previous period's
    take-or-pay (they land, and enter `taken_t`, in this one)."""

    committed_t: float = 0.0
    shipped_t: float = 0.0
    taken_t: float = 0.0
    short_t: float = 0.0
    excused_t: float = 0.0
    standby_days: float = 0.0
    carried_in_t: float = 0.0
    suspended_t: float = 0.0  # due, held back for the buyer's announced maintenance: offered, not taken


@dataclass(slots=True, kw_only=True)
class ContractState:
    """A contract during a run: its terms, where it is in its life, and the open period.

    The fields the day reads come first, so that they share the object's first cache lines: a
    large network's day reads every contract, and each line more is a miss more."""

    # read every day
    terms: Contract
    index: int
    status: Status = Status.PENDING
    called: bool = False  # backups: delivering because a primary is failing
    routed: bool = False  # through the intermediary: km/lag_days are the inbound leg
    period: Period = field(default_factory=Period)
    in_transit_t: float = 0.0
    lag_days: int
    km: float
    ship_cap_t: float = float("inf")  # most one delivery carries (a pipe's capacity x interval)
    # money accounts the day pays on (MoneyLedger.account; opened by the model)
    pay_transport: int = -1
    pay_price: int = -1
    buyer_input: object
    landing: list  # the buyer's landing list: accepted lots wait there until its turn (sim/model.py)
    quality_bands: list[tuple[int, float, float]]
    supplier_stream: object
    pay_rejection: int = -1
    end_day: int | None = None
    ended_day: int | None = None
    period_start: int = 0
    # read when it happens
    inbound_bands: list[tuple[int, float, float]] = field(default_factory=list)  # contract spec only
    km_out: float = 0.0
    lag_out: int = 1
    out_period: Period = field(default_factory=Period)
    out_in_transit_t: float = 0.0
    latent: bool = False  # a candidate exchange that only starts if formation forms it
    trust: float = 1.0
    benefit_history: list[tuple[float, float]] = field(default_factory=list)  # (supplier, buyer) per period
    period_cash: dict[str, float] = field(default_factory=dict)  # party -> net cash this period
    activation_pending: bool = False  # backups: an activation is scheduled
    generation: int = 0  # backups: bumped on release, so stale activations are ignored
    notice_by: str | None = None
    # terms that change the day's dispatch (sim/day/dispatch.py): a due of its own (share of
    # output, suspension for the buyer's maintenance), and any clause that excuses a shortfall
    own_due: bool = False
    excusable: bool = False
    breach_by: str | None = None  # the party in breach in the period last settled, if any
    for_cause: bool = False  # the notice running was given for the other party's breach
    end_reason: str = ""  # "" | notice | exit_for_cause | exit_without_cause | term_end | closure
    ends: int = 0  # times it ended (a link that re-formed ends again)
    backlog_t: float = 0.0  # short tonnes a catch-up term still owes (sim/day/catch_up.py)
    index_col: int = -1  # indexed price: the buyer input whose virgin price is the index (-1: fixed)
    index_change: float = 0.0  # I(review day) - I(start day), set by sim.day.status.review_prices

    @property
    def price_per_t(self) -> float:
        """The price per t in force today: the contract's, or as its indexation clause set it
        at the last review (sim/indexation.py). Every payment and value estimate reads this."""
        if self.index_col < 0:
            return self.terms.price_per_t
        return indexed_price_per_t(self.terms.price_per_t, self.terms.indexation, self.index_change)

    @property
    def is_backup(self) -> bool:
        """A backup contract delivers only while called."""
        return self.terms.role == "backup"

    @property
    def on_road_to_buyer_t(self) -> float:
        """Tonnes shipped toward the buyer and not yet landed (through the intermediary: its
        outbound leg's)."""
        return self.out_in_transit_t if self.routed else self.in_transit_t

    @property
    def in_force(self) -> bool:
        """Obligations run while active and during notice."""
        return self.status in (Status.ACTIVE, Status.NOTICE)

    def due_today(self, day: int) -> float:
        """Tonnes due for dispatch at the end of `day` (0 if none)."""
        status = self.status
        if status is not Status.ACTIVE and status is not Status.NOTICE:
            return 0.0
        t = self.terms
        if (t.role == "backup" and not self.called) or day < t.start_day:
            return 0.0
        k = t.delivery_interval_days
        if k != 1 and (day - t.start_day) % k != k - 1:
            return 0.0
        return t.volume_t_per_day * k

    def settles_today(self, day: int) -> bool:
        """A settlement period closes at the end of `day`."""
        return (day + 1 - self.terms.start_day) % self.terms.settlement_days == 0


def make_contract_state(
    sc: Scenario, specs: dict[str, Facility], materials: dict[str, Material], terms: Contract, index: int,
    supplier: Any, buyer: Any, roads: Roads, hub_id: str | None, is_latent: bool,
) -> ContractState:
    """A contract's run state, from the supplier's stream of its material to the buyer's store
    of it (`supplier`, `buyer`: sim.agents.Facility): its route (direct, or routed to the
    intermediary `hub_id` and on to the buyer), delivery lags and quality bands (the
    contract's spec, and at the buyer's gate also the buyer's limits)."""
    stream = next(s for s in supplier.streams if s.spec.material == terms.material)
    spec_in = contract_input(sc, terms, specs)
    inp = next(i for i in buyer.inputs if i.spec.material == spec_in.material)
    sub = next(s for s in inp.substitutes if s.material == terms.material)
    sub_spec = next(s for s in spec_in.substitutes if s.material == terms.material)
    props = list(materials[terms.material].quality)
    routed = hub_id is not None and terms.via_intermediary
    if routed:
        km = roads.km(supplier.fid, hub_id)
    else:
        km = terms.distance_km if terms.distance_km is not None else roads.km(supplier.fid, buyer.fid)
    c = ContractState(
        terms=run_view(terms),
        index=index,
        supplier_stream=stream,
        buyer_input=(inp, sub),
        landing=buyer.landed,
        km=km,
        lag_days=move_lag_days(km, sc.transport, terms),
        ship_cap_t=shipment_cap_t(terms),
        quality_bands=limit_bands(props, terms.quality_spec, sub_spec.quality_limits),
        period_start=terms.start_day,
        routed=routed,
        inbound_bands=limit_bands(props, terms.quality_spec),
        latent=is_latent,
        own_due=terms.volume_basis != "fixed" or terms.suspend_for_buyer_maintenance,
        excusable=terms.force_majeure or terms.planned_outage_excused or bool(terms.force_majeure_causes),
        index_col=inp.index if terms.indexation is not None else -1,
    )
    if routed:
        c.km_out = roads.km(buyer.fid, hub_id)
        c.lag_out = delivery_lag_days(c.km_out, sc.transport)
    return c
