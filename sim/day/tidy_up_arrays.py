"""Step 5d on the array day's columns: tidy-up (sim/day/tidy_up.py is the object core's,
and the reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.day.columns import TIDY
from sim.rings import Sums


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
    inputs_item = (1 << 30)
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
    excess = level - a.buffer_cap
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


def levels(a: Any, n_in: int) -> np.ndarray:
    """Each input's secondary material held (InputState.buffer_level, summed in order)."""
    sums = Sums(n_in)
    for r, subs in enumerate(a.rank_subs):
        (sums.add if r else sums.first)(a.sub_in[subs], a.buf.total[subs])
    return sums.result()
