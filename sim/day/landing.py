"""Step 4 of the day: landing and inspection, and the unloading at each buyer's turn.

**Deliveries.** Shipments due today (from the loading dock, in the order they were sent) are
inspected (quality spec and the buyer's limits); accepted lots are paid at the contract price
and enter the buyer's secondary buffer (they wait at its gate until its turn in step 5, which
nothing before reads); rejected lots are disposed at the supplier's cost and count as short.
Routed shipments land at the intermediary, which tests them (sim/intermediary.py).

The rule of the gate is :func:`sim.contracts.in_spec` (a lot within every band of its
contract); the array day's column version is sim/day/landing_arrays.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.contracts import ContractState, in_spec
from sim.ledger import DISPOSAL

if TYPE_CHECKING:
    from sim.day.world import World


def land_due(m: World, day: int) -> None:
    for c, pieces, from_hub in m.dock.pop(day, []):
        if from_hub:
            receive_from_hub(m, c, pieces, day)
        elif c.routed:
            assert m.hub is not None
            m.hub.receive(c, pieces, day)
        else:
            receive(m, c, pieces, day)


def inspect(c: ContractState, pieces: list) -> tuple[list, float, float]:
    """The buyer's gate: returns the in-spec lots, and the tonnes accepted and rejected."""
    bands = c.quality_bands
    accepted = rejected = 0.0
    if not bands:
        for piece in pieces:
            accepted += piece[0]
        return pieces, accepted, rejected
    kept = []
    for piece in pieces:
        if in_spec(piece[2], bands):
            kept.append(piece)
            accepted += piece[0]
        else:
            rejected += piece[0]
    return kept, accepted, rejected


def unload(m: World, landed: list, day: int) -> None:
    """A buyer's turn begins: the lots accepted at its gate this morning enter its buffers,
    in the order they landed.

    Step 4 settles each shipment with its contract (inspection, payment, the period) but
    leaves the buyer's side to here: nothing before the buyer's turn reads its buffers, so
    the day is the same (tests/test_day_order.py), and a large network's buyers are
    visited once a day instead of twice, once in step 4 and once in step 5."""
    accepted_row = m.inputs_flow["accepted_t"][day]
    for (inp, sub), kept, accepted, inbound in landed:
        lots = sub.lots
        for qty, born, quality in kept:
            lots.put(qty, born, quality)
        accepted_row[inp.index] += accepted
        sub.received_t += accepted
        if inbound:
            inp.inbound_t -= inbound
    landed.clear()


def receive_from_hub(m: World, c: ContractState, pieces: list, day: int) -> None:
    """The outbound leg lands: price plus fee to the intermediary for what is accepted;
    the intermediary disposes of what the buyer rejects."""
    hub = m.hub
    assert hub is not None
    kept, accepted, rejected = inspect(c, pieces)
    c.landing.append((c.buyer_input, kept, accepted, accepted + rejected))  # to the buyer, at its turn
    cf = m.contracts_flow
    k = c.index
    cf["out_accepted_t"][day, k] += accepted
    cf["out_rejected_t"][day, k] += rejected
    cf["out_short_t"][day, k] += rejected
    m.hub_flow["rejected_t"][day, 0] += rejected
    c.out_in_transit_t -= accepted + rejected
    c.out_period.taken_t += accepted
    c.out_period.short_t += rejected
    t = c.terms
    m.money.book(day, t.buyer, hub.hid, accepted * c.price_per_t, "price", k)
    m.money.book(day, t.buyer, hub.hid, accepted * hub.spec.fee_per_t, "intermediary_fee", k)
    m.money.book(day, hub.hid, DISPOSAL, rejected * hub.spec.disposal_cost_per_t, "rejection_disposal", k)


def receive(m: World, c: ContractState, pieces: list, day: int) -> None:
    """Inspect a shipment: in-spec lots to the buyer's buffer (at its turn), paid; the rest
    disposed by the supplier."""
    kept, accepted, rejected = inspect(c, pieces)
    cf = m.contracts_flow
    k = c.index
    t = c.terms
    c.period.taken_t += accepted
    c.in_transit_t -= accepted + rejected
    if accepted:
        c.landing.append((c.buyer_input, kept, accepted, 0.0))
        cf["accepted_t"][day, k] += accepted
        paid = accepted * c.price_per_t  # fixed, or indexed (sim/indexation.py)
        if paid > 0.0:
            m.money.pay(day, c.pay_price, paid)
        else:  # a gate fee (negative price) is paid the other way
            m.money.book(day, t.buyer, t.supplier, paid, "price", k)
    if rejected:
        stream = c.supplier_stream
        cf["rejected_t"][day, k] += rejected
        cf["short_t"][day, k] += rejected
        m.streams_flow["rejected_t"][day, stream.index] += rejected
        c.period.short_t += rejected
        if t.catch_up_t_per_day:
            c.backlog_t += rejected  # sim/day/catch_up.py
        m.money.pay(day, c.pay_rejection, rejected * stream.disposal_cost)
