"""Step 8 of the day: settlement, the one place where a period's money is worked out.

**Settlement.** Contracts whose period closes today (or that ended today, or at the horizon)
settle penalties, take-or-pay top-ups and standby fees; at each settlement the parties update
trust, renegotiate at term end or give notice.

The rules are the pure functions at the top (tests call them with hand calculations). The
object core applies them in :func:`settle_day` (which periods close) and :func:`settle_period`
(the legs of one period: a bilateral contract settles between its parties; a routed one its
inbound leg between supplier and intermediary and its outbound leg between intermediary and
buyer). The array day's :func:`settle_columns` keeps the daily flags in columns and hands every
period that closes to :func:`settle_period`. What the parties then decide (trust, renegotiation,
exit) is :meth:`sim.behaviour.Decisions.after_settlement`, called from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.contracts import ContractState, Period, Status
from sim.scenario import Contract

if TYPE_CHECKING:
    from sim.day.world import World

# --- pure money rules ------------------------------------------------------------------------


def chargeable_short_t(short_t: float, excused_t: float, committed_t: float, terms: Contract) -> float:
    """Tonnes short that a penalty applies to: ``(short - excused - tolerance * committed)^+``.
    `excused_t` is what the contract's terms excuse (sim/day/dispatch.py `excused_by_terms`:
    outages under force majeure, announced maintenance, named causes); since issue 21 dispatch
    records only that, so no clause is checked here."""
    return max(0.0, short_t - excused_t - terms.tolerance * committed_t)


def penalty(short_t: float, excused_t: float, committed_t: float, terms: Contract) -> float:
    """Short-delivery penalty for one settlement period:
    ``penalty_per_t_short * (short - excused - tolerance * committed)^+``, capped at
    ``penalty_cap_per_period`` (excused: by the contract's terms, see :func:`chargeable_short_t`)."""
    owed = terms.penalty_per_t_short * chargeable_short_t(short_t, excused_t, committed_t, terms)
    if terms.penalty_cap_per_period is not None:
        owed = min(owed, terms.penalty_cap_per_period)
    return owed


def offered_t(committed_t: float, short_t: float) -> float:
    """Tonnes the seller offered in a period: committed less its shortfall (what it failed to
    make or ship, its excused share and what the buyer's gate rejected included)."""
    return max(0.0, committed_t - short_t)


def take_or_pay_topup(
    taken_t: float, committed_t: float, terms: Contract, short_t: float = 0.0, price_per_t: float | None = None
) -> float:
    """What the buyer pays on top of the price of what it took, so that it pays for at least
    ``take_or_pay * min(committed, offered)``: ``price * (m min(C, C - s) - q_b)^+``, where
    ``s`` is the seller's shortfall (:func:`offered_t`). Tonnes the seller failed to deliver
    are its shortfall (a penalty), never the buyer's: a seller down all period earns no top-up.
    (Before issue 21 the obligation ran on committed tonnes, ``short_t`` ignored; the
    default keeps that reading for callers that give no shortfall.) `price_per_t`: the price in
    force on the settlement day (an indexed contract's, sim/indexation.py); unset: the terms'."""
    price = terms.price_per_t if price_per_t is None else price_per_t
    if terms.take_or_pay <= 0.0 or price <= 0.0:
        return 0.0
    owed_t = terms.take_or_pay * min(committed_t, offered_t(committed_t, short_t))
    return price * max(0.0, owed_t - taken_t)


def min_offtake_fee(taken_t: float, committed_t: float, terms: Contract, short_t: float, avoided_per_t: float) -> float:
    """A gate-fee contract's minimum offtake: the buyer pays ``rate * (min_offtake * offered -
    taken)^+``, the rate being `refusal_cost_per_t` or, unset, `avoided_per_t` (the supplier's
    disposal cost per t: what a refused tonne costs it). Tonnes the supplier did not offer are
    never the buyer's."""
    if terms.min_offtake <= 0.0:
        return 0.0
    rate = avoided_per_t if terms.refusal_cost_per_t is None else terms.refusal_cost_per_t
    return rate * max(0.0, terms.min_offtake * offered_t(committed_t, short_t) - taken_t)


def breach(terms: Contract, p: Period, taken_t: float) -> str | None:
    """The test of breach of a settled period (the Contract docstring): "supplier" when its
    chargeable shortfall was positive; "buyer" when it took less than its take-or-pay (or
    minimum-offtake) share of the tonnes offered; None when neither."""
    if chargeable_short_t(p.short_t, p.excused_t, p.committed_t, terms) > 1e-9:
        return "supplier"
    share = max(terms.take_or_pay, terms.min_offtake)
    if share > 0.0 and taken_t < share * offered_t(p.committed_t, p.short_t) - 1e-9:
        return "buyer"
    return None


def period_open(c: ContractState) -> bool:
    """Something has been booked in the contract's open settlement period(s)."""
    return any(
        p.committed_t or p.shipped_t or p.taken_t or p.short_t or p.excused_t for p in (c.period, c.out_period)
    )


# --- the object core -------------------------------------------------------------------------


def settle_day(m: World, day: int) -> None:
    """The day's flags (in force, called, standby days) and the periods that close today."""
    in_force = m.contracts_flow["in_force"][day]
    called = m.contracts_flow["called"][day]
    last = day == m.horizon - 1
    # A latent contract has nothing to settle before the horizon: it is PENDING, or ENDED
    # by a closure while PENDING (no ended day). At the horizon one may still hold what
    # landed after it ended, before it was reopened as a candidate: all are looked at then.
    for c in m.contracts if last else m.live_contracts:
        status = c.status
        if status is Status.PENDING:
            continue
        if status is Status.ENDED:
            # Shipments still on the road when a contract ends land (and may be rejected)
            # after its last settlement: what they leave is settled at the horizon.
            if c.ended_day == day or (last and period_open(c)):
                settle_period(m, c, day)
            continue
        k = c.index
        in_force[k] = 1.0
        if c.called:
            called[k] = 1.0
        if c.terms.role == "backup":
            c.period.standby_days += 1.0
        if last or (day + 1 - c.terms.start_day) % c.terms.settlement_days == 0:
            settle_period(m, c, day)


def settle_period(m: World, c: ContractState, day: int) -> None:
    """Close a settlement period. A bilateral contract settles between its parties; a
    routed one settles its inbound leg between supplier and intermediary (penalties) and
    its outbound leg between intermediary and buyer (penalties, take-or-pay). Standby
    fees always go from the buyer to the backup supplier."""
    t = c.terms
    if c.routed:
        hub = m.hub
        assert hub is not None
        supplier_owed = settle_leg(m, c, day, c.period, "inbound", t.supplier, hub.hid, take_or_pay=False)
        buyer_leg = c.out_period
        buyer_owed = settle_leg(m, c, day, buyer_leg, "outbound", hub.hid, t.buyer, take_or_pay=True)
    else:
        buyer_leg = c.period
        supplier_owed = buyer_owed = settle_leg(m, c, day, c.period, "direct", t.supplier, t.buyer, True)
    standby = c.period.standby_days * t.standby_fee_per_day
    m.money.book(day, t.buyer, t.supplier, standby, "standby_fee", c.index)
    m.settlements[-1]["standby_fee"] = standby
    if m.decisions is not None:
        m.decisions.source_buffer(c, day, supplier_owed, day + 1 - c.period_start)
        m.decisions.after_settlement(c, day, buyer_leg.committed_t, buyer_leg.short_t, buyer_leg.excused_t, buyer_owed)
    c.period, c.out_period = Period(), Period()
    # What was on the road to the buyer counted as taken in the period just settled.
    (c.out_period if c.routed else c.period).carried_in_t = c.on_road_to_buyer_t
    c.period_start = day + 1


def settle_leg(
    m: World, c: ContractState, day: int, p: Period, leg: str, seller: str, taker: str, take_or_pay: bool
) -> float:
    """Settle one leg's penalty and take-or-pay, and record the settlement; returns the
    penalty owed."""
    t = c.terms
    owed = penalty(p.short_t, p.excused_t, p.committed_t, t)
    topup = refused = 0.0
    if take_or_pay:
        # Taken: what landed and was accepted in the period, plus what is on the road to the
        # buyer at its close (shipped in the period, it lands in the next one), less what was
        # on the road when it opened (counted by the previous period). Without the road,
        # a shipment in transit at a period's close was charged as not taken, and then
        # paid again at the price when it landed.
        taken = p.taken_t + c.on_road_to_buyer_t - p.carried_in_t
        topup = take_or_pay_topup(taken, p.committed_t, t, p.short_t, c.price_per_t)
        refused = min_offtake_fee(taken, p.committed_t, t, p.short_t, c.supplier_stream.disposal_cost)
        # the test of breach (Contract docstring), read by the exit decisions
        c.breach_by = breach(t, p, taken)
    m.money.book(day, seller, taker, owed, "penalty", c.index)
    m.money.book(day, taker, seller, topup, "take_or_pay", c.index)
    m.money.book(day, taker, seller, refused, "min_offtake", c.index)
    m.penalties_to_date += owed
    m.settlements.append(_record(c, day, p, leg, owed, topup))
    return owed


def _record(c: ContractState, day: int, p: Period, leg: str, owed: float, topup: float) -> dict[str, Any]:
    """One row of the run's settlements table (the standby fee is filled in by the caller)."""
    return {
        "contract": c.terms.id,
        "leg": leg,
        "start_day": c.period_start,
        "end_day": day,
        "committed_t": p.committed_t,
        "shipped_t": p.shipped_t,
        "taken_t": p.taken_t,
        "short_t": p.short_t,
        "excused_t": p.excused_t,
        "suspended_t": p.suspended_t,
        "standby_days": c.period.standby_days,
        "penalty": owed,
        "take_or_pay": topup,
        "standby_fee": 0.0,
    }


# --- the array day ---------------------------------------------------------------------------


def settle_columns(engine: Any, day: int) -> None:
    """:func:`settle_day` on the array day's columns (`engine`: a sim.arrayday.ArrayDay):
    in-force and called flags, standby days, and the periods that close today (those of
    contracts that ended today, and at the horizon every open one), each settled by
    :func:`settle_period` on its object."""
    m = engine.m
    last = day == m.horizon - 1
    cf = m.contracts_flow
    live = engine.in_force
    cf["in_force"][day, live] = 1.0
    cf["called"][day, live & engine.called] = 1.0
    standby = live & engine.is_backup
    engine.standby[standby] = engine.standby[standby] + 1.0
    if last:
        closing = live.copy()
    else:
        closing = live & ((day + 1 - engine.start) % engine.settle_days == 0)
    ended = engine.ended & (engine.ended_day == day)
    if last and engine.ended.any():
        for k in np.flatnonzero(engine.ended & ~ended).tolist():
            c = m.contracts[k]
            c.period = engine.period_of(k)
            ended[k] = period_open(c)
    for k in np.flatnonzero(closing | ended).tolist():
        c = m.contracts[k]
        c.period = engine.period_of(k)
        c.in_transit_t = float(engine.in_transit[k])
        c.period_start = int(engine.period_start[k])
        settle_period(m, c, day)
        engine.committed[k] = engine.shipped[k] = engine.taken[k] = engine.short[k] = engine.excused[k] = 0.0
        engine.standby[k] = engine.suspended[k] = 0.0
        engine.carried_in[k] = c.period.carried_in_t
        engine.period_start[k] = c.period_start
