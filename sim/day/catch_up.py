"""Step 5c of the day, after a stream's due volumes: catch-up shipments (object core only;
the array day refuses a network with a catch-up term, sim/engine.py problems).

**Catch-up.** A direct contract with `catch_up_t_per_day` > 0 keeps a backlog of every tonne
it fell short (at dispatch, and lots rejected at the gate), excused or not: catch-up restores
volume, and the penalties already booked on those tonnes stand. On each of its delivery days
the supplier ships, on top of what is due,

    min(backlog, catch_up_t_per_day x delivery_interval_days, source stock left after the
        day's due volumes, the buyer's room)

where the buyer's room is its storage cap (buffer target plus cycle stock,
sim.day.tidy_up.storage_cap) less its buffer level and what its primary contracts have on the
road to it, plus what it plans to use before the shipment lands (buyer_room_t). The tonnes go
the normal way (transport paid, inspected and paid at the contract price on landing) and are
recorded in the contract's `caught_up_t` and `shipped_t` flows.
"""

from __future__ import annotations

from typing import Any

from sim.day.tidy_up import storage_cap
from sim.logistics import move_cost


def buyer_room_t(m: Any, c: Any, day: int) -> float:
    """What the contract's buyer input can take on top of its stock and what is on its way:
    its storage cap less its buffer level and what its primaries have on the road, plus what
    it plans to use before this shipment lands (today's planned use x the delivery lag, in
    its substitutes' unit at this substitute's ratio; as the intermediary's call-off room)."""
    inp, sub = c.buyer_input
    on_road = sum([p.in_transit_t for s in inp.substitutes for p in s.primaries])
    plan_t = m.inputs_flow["planned_t"][day, inp.index] / sub.ratio
    return storage_cap(inp) - inp.buffer_level - on_road + plan_t * c.lag_days


def ship_catch_up(m: Any, st: Any, owed: list[Any], day: int, rows: tuple) -> None:
    """Ship the backlog of the stream's catch-up contracts due today (`owed`, in contract
    order), each from what the source storage holds after the day's due volumes."""
    _due, shipped_row, _short, _excused, stream_shipped, pay, arrivals = rows
    caught_row = m.contracts_flow["caught_up_t"][day]
    for c in owed:
        t = c.terms
        q = min(c.backlog_t, t.catch_up_t_per_day * t.delivery_interval_days, st.storage.total, buyer_room_t(m, c, day))
        if q <= 1e-12:
            continue
        k = c.index
        c.backlog_t -= q
        caught_row[k] += q
        shipped_row[k] += q
        c.period.shipped_t += q
        pieces = st.storage.take(q)
        c.in_transit_t += q
        stream_shipped[st.index] += q
        pay(day, c.pay_transport, move_cost(q, c.km, m.spec.transport, t))
        arrivals.setdefault(day + c.lag_days, []).append((c, pieces, False))
