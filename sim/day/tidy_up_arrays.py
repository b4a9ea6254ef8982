"""Step 5d on the array day's columns: tidy-up and the holding cost of the day's closing
stocks (sim/day/tidy_up.py is the object core's, and the reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.day.columns import HOLD, TIDY
from sim.rings import Sums

#: Where inputs' items start in a payment key's item field (streams' items are their index).
INPUTS_ITEM = 1 << 30


def tidy_up(a: Any, day: int) -> None:
    """Facility.tidy_up for every stream and input."""
    m = a.m
    sflows, iflows = m.streams_flow, m.inputs_flow
    src = a.src
    n_st = len(a.scale)
    if n_st:
        spoiled = np.zeros(n_st)
        if len(a.st_shelf_idx):
            spoiled[a.st_shelf_idx] = src.expire(a.st_shelf_idx, a.st_shelf, day)
            sflows["spoiled_t"][day, a.st_shelf_idx] = spoiled[a.st_shelf_idx]
        overflow = np.zeros(n_st)
        over = np.flatnonzero(src.total - a.st_cap > 1e-12)
        if len(over):
            overflow[over] = src.trim_newest(over, a.st_cap[over])
            sflows["overflow_t"][day, over] = overflow[over]
        lost = np.flatnonzero((spoiled != 0.0) | (overflow != 0.0))
        if len(lost):
            a.queue_payments(
                a.st_fac[lost], TIDY, lost, a.pay_disposal[lost],
                (spoiled[lost] + overflow[lost]) * a.disposal[lost],
            )
        sflows["stock_t"][day] = src.total
    n_in = len(a.demand)
    if not n_in:
        return
    buf = a.buf
    inputs_item = INPUTS_ITEM
    spoiled_in = np.zeros(n_in)
    for r, subs in enumerate(a.rank_shelf):
        if not len(subs):
            continue
        sp = buf.expire(subs, a.sub_shelf[subs], day)
        hit = sp != 0.0
        if hit.any():
            s, ins = subs[hit], a.sub_in[subs[hit]]
            spoiled_in[ins] = spoiled_in[ins] + sp[hit]
            amount = sp[hit] * a.bdisp[s]
            a.queue_payments(a.in_fac[ins], TIDY, inputs_item + ins * 32 + r, a.pay_bdisp[s], amount)
    level = levels(a, n_in)
    if a.in_cycle is None:  # worked out again when a contract's status changed (ArrayDay._read_status)
        a.in_cycle = np.zeros(n_in)
        np.add.at(a.in_cycle, a.sub_in, a.cycle)
    excess = level - (a.buffer_cap + a.in_cycle)  # sim.day.tidy_up.storage_cap
    over = excess > 1e-12
    overflow_in = np.zeros(n_in)
    if over.any():
        for r in range(a.n_ranks - 1, -1, -1):  # the last-listed substitute gives way first
            subs = a.rank_subs[r]
            ins = a.sub_in[subs]
            go = over[ins] & (excess[ins] > 1e-12)
            if not go.any():
                continue
            subs, ins = subs[go], ins[go]
            cut = buf.trim_newest(subs, np.maximum(0.0, buf.total[subs] - excess[ins]))
            excess[ins] = excess[ins] - cut
            overflow_in[ins] = overflow_in[ins] + cut
            a.queue_payments(
                a.in_fac[ins], TIDY, inputs_item + ins * 32 + 16 + (15 - r), a.pay_bdisp[subs],
                cut * a.bdisp[subs],
            )
        level = np.where(over, levels(a, n_in), level)
    iflows["buffer_spoiled_t"][day] = spoiled_in
    iflows["buffer_overflow_t"][day] = overflow_in
    iflows["buffer_t"][day] = level
    for fac, inp in a.reorders:  # (s, S) review, in input order (it schedules the deliveries)
        fac.reorder_virgin(inp, day)
    iflows["virgin_stock_t"][day] = a.virgin_stock


def load_holding(a: Any, m: Any) -> None:
    """Holding rates and accounts (sim.agents' stores) of the stores that book holding: those
    at a positive rate, by stream, substitute store and input."""
    a.st_hold = np.array([st.holding_cost for st in m.stream_states], dtype=float)
    a.pay_st_hold = np.array([st.pay_holding for st in m.stream_states], dtype=np.int64)
    a.st_hold_idx = np.flatnonzero(a.st_hold > 0.0)
    a.sub_hold = np.array([s.holding_cost for s in a.subs], dtype=float)
    a.pay_sub_hold = np.array([s.pay_holding for s in a.subs], dtype=np.int64)
    a.sub_hold_idx = np.flatnonzero(a.sub_hold > 0.0)
    a.in_hold = np.array([i.stockpile_holding_cost for i in m.input_states], dtype=float)
    a.pay_in_hold = np.array([i.pay_stockpile_holding for i in m.input_states], dtype=np.int64)
    a.in_hold_idx = np.flatnonzero(a.in_hold > 0.0)


def book_holding(a: Any) -> None:
    """tidy_up.book_holding for every facility: each store's closing stock x its rate, where
    both are positive, queued after the facility's tidy-up (the object core's order: streams,
    then per input its substitutes in order and its stockpile)."""
    k = a.st_hold_idx
    if len(k):
        stock = a.src.total[k]
        k, stock = k[stock > 0.0], stock[stock > 0.0]
        a.queue_payments(a.st_fac[k], HOLD, k, a.pay_st_hold[k], stock * a.st_hold[k])
    j = a.sub_hold_idx
    if len(j):
        stock = a.buf.total[j]
        j, stock = j[stock > 0.0], stock[stock > 0.0]
        ins = a.sub_in[j]
        a.queue_payments(a.in_fac[ins], HOLD, INPUTS_ITEM + ins * 32 + a.sub_rank[j], a.pay_sub_hold[j],
                         stock * a.sub_hold[j])
    i = a.in_hold_idx
    if len(i):
        stock = a.virgin_stock[i]
        i, stock = i[stock > 0.0], stock[stock > 0.0]
        a.queue_payments(a.in_fac[i], HOLD, INPUTS_ITEM + i * 32 + 31, a.pay_in_hold[i], stock * a.in_hold[i])


def levels(a: Any, n_in: int) -> np.ndarray:
    """Each input's secondary material held (InputState.buffer_level, summed in order)."""
    sums = Sums(n_in)
    for r, subs in enumerate(a.rank_subs):
        (sums.add if r else sums.first)(a.sub_in[subs], a.buf.total[subs])
    return sums.result()
