"""Step 5c on the array day's columns: dispatch (sim/day/dispatch.py is the object core's,
and the reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.contracts import allocate
from sim.day.columns import DISPATCH, Batch, join
from sim.day.dispatch import due_by_terms, excused_by_terms
from sim.rings import SCALAR_MAX, Sums, pieces_of


def dispatch(a: Any, day: int) -> None:
    """sim.day.dispatch.dispatch_streams for every stream."""
    C = len(a.vol)
    if not C:
        return
    m = a.m
    # due today (ContractState.due_today): in force, started, on the interval
    k = a.interval
    on_interval = (k == 1) | ((day - a.start) % k == k - 1)
    on = a.in_force & (day >= a.start) & on_interval & (a.called | ~a.is_backup)
    due = np.where(on, a.vol * k, 0.0)
    held = own_due(a, day, due) if len(a.own_due_idx) else None
    offer = due if held is None else due - held
    carry = np.minimum(offer, a.ship_cap) if a.any_cap else offer  # a pipe carries at most its capacity
    sums = Sums(len(a.scale))
    for r, cs in enumerate(a.rank_contracts):
        (sums.add if r else sums.first)(a.c_stream[cs], carry[cs])
    total = sums.result()
    stock = a.src.total
    ship = carry.copy()
    considered = total[a.c_stream] != 0.0
    if held is not None:  # a stream whose deliveries are all held back still books them
        held_by_stream = np.zeros(len(a.scale))
        np.add.at(held_by_stream, a.c_stream, held)
        considered |= held_by_stream[a.c_stream] > 0.0
    short_streams = (total != 0.0) & (total > stock)
    if a.backup_idx.size:
        called = np.zeros(len(total), dtype=bool)
        called[a.c_stream[a.backup_idx[carry[a.backup_idx] > 0.0]]] = True
        if called.any():  # a backup only from the surplus: stream by stream, as the object core
            surplus(a, due, ship, carry, stock, np.flatnonzero(called).tolist())
            short_streams &= ~called
    if short_streams.any():
        if a.pro_rata:  # allocate(): each due times available / total
            cut = short_streams[a.c_stream]
            ss = a.c_stream[cut]
            ship[cut] = carry[cut] * np.where(total[ss] > 0, stock[ss] / np.where(total[ss] > 0, total[ss], 1.0), 0.0)
        else:
            for s in np.flatnonzero(short_streams).tolist():
                cs = a.stream_contracts[s]
                ship[cs] = allocate(float(stock[s]), carry[cs].tolist(), a.priorities[s], "priority")
    d_idx = np.flatnonzero(considered & (due > 0.0))
    if not len(d_idx):
        return
    d, q = due[d_idx], ship[d_idx]
    cf = m.contracts_flow
    cf["due_t"][day, d_idx] = d
    cf["shipped_t"][day, d_idx] = q
    a.committed[d_idx] = a.committed[d_idx] + d
    a.shipped[d_idx] = a.shipped[d_idx] + q
    o = offer[d_idx]
    sh = q < o
    if sh.any():
        short(a, day, d_idx[sh], d[sh], q[sh], o[sh])
    if held is not None:
        a.suspended[d_idx] = a.suspended[d_idx] + held[d_idx]
    send(a, day, d_idx, q)


def surplus(
    a: Any, due: np.ndarray, ship: np.ndarray, carry: np.ndarray, stock: np.ndarray, streams: list[int]
) -> None:
    """The streams with a called backup due: sim.contracts.allocate with the backups flagged,
    the stream's source storage held for its primaries while one is in force; a backup is
    then due only what the surplus covers (as sim.day.dispatch)."""
    rule = a.m.spec.policy.allocation
    for s in streams:
        cs = np.asarray(a.stream_contracts[s], dtype=np.int64)
        backup = a.is_backup[cs] & (carry[cs] > 0.0)
        primary = bool((a.in_force[cs] & ~a.is_backup[cs]).any())
        reserve = float(a.st_cap[s]) if primary else 0.0
        ship[cs] = allocate(float(stock[s]), carry[cs].tolist(), a.priorities[s], rule, backup.tolist(), reserve)
        b = cs[backup]
        due[b] = ship[b] + due[b] - carry[b]


def own_due(a: Any, day: int, due: np.ndarray) -> np.ndarray:
    """The contracts with a due of their own (share of output, suspension for the buyer's
    announced maintenance), by the object core's rule (sim/day/dispatch.py due_by_terms):
    `due` changed in place; returns the tonnes held back."""
    m = a.m
    held = np.zeros(len(due))
    for k in a.own_due_idx[due[a.own_due_idx] > 0.0].tolist():
        c = m.contracts[k]
        due[k], held[k] = due_by_terms(m, c, c.supplier_stream, float(due[k]), day)
    return held


def send(a: Any, day: int, d_idx: np.ndarray, q: np.ndarray) -> None:
    """Take the tonnes `q` of the contracts `d_idx` from source storage, one contract rank of
    each stream at a time (its storage is taken in that order), pay the haulage and put the
    shipments on the road."""
    m = a.m
    C = len(a.vol)
    sending = np.zeros(C, dtype=bool)
    sending[d_idx[q > 0.0]] = True
    qty = np.zeros(C)
    qty[d_idx] = q
    stream_shipped = m.streams_flow["shipped_t"][day]
    parts: list[tuple[np.ndarray, ...]] = []  # (contracts, their pieces), in the order taken
    narrow: list[np.ndarray] = []
    for cs in a.rank_contracts:
        cs = cs[sending[cs]]
        if not len(cs):
            continue
        if narrow or len(cs) <= SCALAR_MAX:  # this rank and the rest: contract by contract below
            narrow.append(cs)
            continue
        ss, qc = a.c_stream[cs], qty[cs]
        parts.append((cs, *a.src.take(ss, qc)))
        stream_shipped[ss] = stream_shipped[ss] + qc
    if narrow:
        cs = np.concatenate(narrow)
        cs = cs[np.lexsort((a.c_rank[cs], a.c_stream[cs]))]  # stream by stream, in rank order
        ss, qc = a.c_stream[cs], qty[cs]
        lists: tuple[list, list, list, list, list] = ([], [], [], [], [])
        a.src.take_in_turn(ss.tolist(), qc.tolist(), lists)
        parts.append((cs, *pieces_of(lists)))
        np.add.at(stream_shipped, ss, qc)  # in turn: a stream's contracts one after another
    if not parts:
        return
    cs, ps, pq, pb, pr, pd = join(parts)
    qc = qty[cs]
    a.in_transit[cs] = a.in_transit[cs] + qc
    # logistics.move_cost, elementwise: road rows t-km plus trips (a part load is a whole
    # trip), pipe rows the pipe's cost per unit moved
    haul = qc * a.km[cs] * a.cost_per_tkm + np.ceil(qc / a.truck_t - 1e-12) * a.cost_per_trip
    if a.any_pipe:
        haul = np.where(a.pipe[cs], qc * a.pipe_cost[cs], haul)
    order_key = a.c_stream[cs] * a.n_c_ranks + a.c_rank[cs]  # the object core's dispatch order
    a.queue_payments(a.c_fac[cs], DISPATCH, order_key, a.pay_transport[cs], haul)
    # the shipments in dispatch order, each one's pieces oldest first
    order = np.argsort(order_key, kind="stable")
    new_pos = np.empty(len(cs), dtype=np.int64)
    new_pos[order] = np.arange(len(cs))
    cs = cs[order]
    ps = new_pos[ps]
    po = np.lexsort((pd, ps))
    ps, pq, pb, pr = ps[po], pq[po], pb[po], pr[po]
    lags = a.lag[cs]
    for lag in np.unique(lags).tolist():
        mine = lags == lag
        if mine.all():
            batch = Batch(cs, ps, pq, pb, pr)
        else:
            renumber = np.cumsum(mine) - 1
            keep = mine[ps]
            batch = Batch(cs[mine], renumber[ps[keep]], pq[keep], pb[keep], pr[keep])
        a.arrivals.setdefault(day + lag, []).append(batch)


def short(a: Any, day: int, cs: np.ndarray, d: np.ndarray, q: np.ndarray, offer: np.ndarray) -> None:
    """Shortfalls (what was offered, the due less what was held back, and not shipped),
    excused by the contract's terms (sim/day/dispatch.py excused_by_terms): the supplier's
    down-share over the delivery window under force majeure in columns; announced maintenance
    and named causes contract by contract."""
    m = a.m
    short = offer - q
    lo = np.maximum(0, day - a.interval[cs] + 1)
    n = day + 1 - lo
    f = a.c_fac[cs]
    sums = Sums(len(cs))
    hist = m.up_history
    for j in range(int(n.max())):
        w = np.flatnonzero(j < n)
        (sums.add if j else sums.first)(w, hist[lo[w] + j, f[w]])
    excused = np.where(a.excusable[cs], np.minimum(short, d * (1.0 - sums.result() / n)), 0.0)
    if len(a.own_excuse_idx):
        for j in np.flatnonzero(np.isin(cs, a.own_excuse_idx)).tolist():
            c = m.contracts[int(cs[j])]
            excused[j] = excused_by_terms(m, c, c.supplier_stream, float(short[j]), float(d[j]), day)
    cf = m.contracts_flow
    cf["short_t"][day, cs] = cf["short_t"][day, cs] + short
    cf["excused_t"][day, cs] = excused
    a.short[cs] = a.short[cs] + short
    a.excused[cs] = a.excused[cs] + excused
