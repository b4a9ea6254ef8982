"""Step 4 on the array day's columns: landing and inspection (sim/day/landing.py is the
object core's, and the reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.day.columns import join


def land(a: Any, day: int) -> None:
    """Step 4 and the unloading at each buyer's turn: shipments land and are inspected
    (sim.day.landing.inspect: every piece against the contract's bands); what is in spec is paid
    and enters the buyer's stores, the rest is disposed of at the supplier's cost."""
    batches = a.arrivals.pop(day, None)
    if not batches:
        return
    m = a.m
    columns = [(b.contracts, b.piece_ship, b.piece_qty, b.piece_born, b.piece_qrow) for b in batches]
    cs, ps, pq, pb, pr = join(columns)
    ok = in_spec_columns(a, cs[ps], pr) if a.has_bands else np.ones(len(ps), dtype=bool)
    acc = np.zeros(len(cs))
    np.add.at(acc, ps[ok], pq[ok])  # piece by piece, in order, as _inspect adds them
    rej = np.zeros(len(cs))
    if not ok.all():
        np.add.at(rej, ps[~ok], pq[~ok])
    # a contract lands at most one shipment a day (one lag, one dispatch a day)
    a.taken[cs] = a.taken[cs] + acc
    a.in_transit[cs] = a.in_transit[cs] - (acc + rej)
    landed = acc != 0.0
    cl, al = cs[landed], acc[landed]
    row = m.contracts_flow["accepted_t"][day]
    row[cl] = row[cl] + al
    paid = acc * a.price[cs]
    account = a.pay_price[cs]
    gate = paid < 0.0
    if gate.any():  # a gate fee (negative price) is paid the other way (MoneyLedger.book)
        gk = cs[gate]
        for k in gk[a.gate_account[gk] < 0].tolist():  # opened when first paid, as book() does
            t = m.contracts[k].terms
            a.gate_account[k] = m.money.account(t.supplier, t.buyer, "price", k)
        account = np.where(gate, a.gate_account[cs], account)
        paid = np.where(gate, -paid, paid)
    rejected = rej != 0.0
    if rejected.any():
        cr, rr = cs[rejected], rej[rejected]
        cf = m.contracts_flow
        cf["rejected_t"][day, cr] = cf["rejected_t"][day, cr] + rr
        cf["short_t"][day, cr] = cf["short_t"][day, cr] + rr
        np.add.at(m.streams_flow["rejected_t"][day], a.c_stream[cr], rr)
        a.short[cr] = a.short[cr] + rr
        # each shipment's price, then its rejection's disposal, as _receive books them
        both = np.empty(2 * len(cs), dtype=np.int64)
        amounts = np.empty(2 * len(cs))
        both[0::2], both[1::2] = account, a.pay_rejection[cs]
        amounts[0::2], amounts[1::2] = paid, rej * a.disposal[a.c_stream[cs]]
        a.book(day, both, amounts)
    else:
        a.book(day, account, paid)
    # the buyers' turns: the accepted lots into their stores, in landing order
    keep = landed[ps] & ok
    a.buf.put_in_order(a.c_sub[cs[ps[keep]]], pq[keep], pb[keep], pr[keep])
    np.add.at(m.inputs_flow["accepted_t"][day], a.c_input[cl], al)


def in_spec_columns(a: Any, contract: np.ndarray, qrow: np.ndarray) -> np.ndarray:
    """contracts.in_spec for each piece: its quality row within every band of its
    contract (a lot without quality passes; NaN passes, as in the object core)."""
    ok = np.ones(len(qrow), dtype=bool)
    has = qrow >= 0
    if not has.any():
        return ok
    table = a.quality_table()
    rows, cons = qrow[has], contract[has]
    good = np.ones(len(rows), dtype=bool)
    for j in range(a.band_prop.shape[1]):
        v = table[rows, a.band_prop[cons, j]]
        good &= ~((v < a.band_lo[cons, j]) | (v > a.band_hi[cons, j]))
    ok[has] = good
    return ok
