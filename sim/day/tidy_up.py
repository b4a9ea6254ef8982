"""Step 5d of the day: tidy-up, one facility at a time (Facility.tidy_up delegates here).

**Tidy-up.** Spoilage past shelf life and overflow beyond storage go to disposal, at the
source (supplier's cost) and in buffers (buyer's cost: a buffer holds its target plus the
cycle stock of its periodic deliveries, see storage_cap); virgin stockpiles reorder (s, S).
Then the day's holding cost of each store's end-of-day stock is booked to its owner (rate x
stock, only when both are positive): "holding" on source storage (supplier), "buffer_holding"
on each substitute's buffer at its own rate and "stockpile_holding" on virgin stock (buyer).
With an intermediary, the facilities tidy up after it ships its call-offs in step 6 (which
read the buyers' buffers as they stand after consumption).

`fac` is a :class:`sim.agents.Facility` and `inp` one of its :class:`sim.agents.InputState`
(typed loosely: the agents import this module). The array day's column version is
sim/day/tidy_up_arrays.py.
"""

from __future__ import annotations

import math
from typing import Any

from sim.day.consumption import supply_figures


def tidy_up(fac: Any, day: int) -> None:
    """Spoilage and overflow to disposal, buffers trimmed to capacity, virgin reorder."""
    m = fac.model
    pay = m.money.pay
    sflows = m.streams_flow
    for st in fac.streams:
        k = st.index
        store = st.storage
        if st.shelf_life is not None:
            spoiled = store.expire(day, st.shelf_life)
            sflows["spoiled_t"][day, k] = spoiled
        else:
            spoiled = 0.0
        if store.total - st.storage_cap > 1e-12:
            overflow = store.trim_newest(st.storage_cap)
            sflows["overflow_t"][day, k] = overflow
        else:
            overflow = 0.0
        if spoiled or overflow:
            pay(day, st.pay_disposal, (spoiled + overflow) * st.disposal_cost)
        sflows["stock_t"][day, k] = store.total
    iflows = m.inputs_flow
    for inp in fac.inputs:
        k = inp.index
        spoiled = overflow = 0.0
        for s in inp.substitutes:
            if s.shelf_life is not None:
                sp = s.lots.expire(day, s.shelf_life)
                if sp:
                    spoiled += sp
                    s.dumped_t += sp
                    pay(day, s.pay_disposal, sp * s.disposal_cost)
        level = sum([s.lots.total for s in inp.substitutes])
        excess = level - inp.buffer_cap
        if excess > 1e-12:  # above the target: is it cycle stock?
            excess = level - storage_cap(inp)
        if excess > 1e-12:
            for s in reversed(inp.substitutes):  # the last-listed substitute gives way first
                if excess <= 1e-12:
                    break
                cut = s.lots.trim_newest(max(0.0, s.lots.total - excess))
                excess -= cut
                overflow += cut
                s.dumped_t += cut
                pay(day, s.pay_disposal, cut * s.disposal_cost)
            level = inp.buffer_level
        if spoiled:
            iflows["buffer_spoiled_t"][day, k] = spoiled
        if overflow:
            iflows["buffer_overflow_t"][day, k] = overflow
        iflows["buffer_t"][day, k] = level
        if inp.spec.stockpile is not None:
            reorder_virgin(fac, inp, day)
        iflows["virgin_stock_t"][day, k] = inp.virgin_stock
    if fac.pays_holding:
        book_holding(fac, day)


def storage_cap(inp: Any) -> float:
    """Most an input's buffers hold at the end of a day: the target `buffer_cap` (safety stock)
    plus the cycle stock of its periodic deliveries (one delivery of each periodic primary
    contract in force, summed over its substitutes), so a delivery used over its interval never
    overflows."""
    cycle = 0.0
    for s in inp.substitutes:
        if s.full_supply is None:
            supply_figures(s)
        cycle += s.cycle_t
    return inp.buffer_cap + cycle


def book_holding(fac: Any, day: int) -> None:
    """The holding cost of the facility's stores at the end of the day: source storage, then
    each input's buffers (one substitute at a time) and virgin stockpile."""
    pay = fac.model.money.pay
    for st in fac.streams:
        if st.holding_cost > 0.0 and st.storage.total > 0.0:
            pay(day, st.pay_holding, st.storage.total * st.holding_cost)
    for inp in fac.inputs:
        for s in inp.substitutes:
            if s.holding_cost > 0.0 and s.lots.total > 0.0:
                pay(day, s.pay_holding, s.lots.total * s.holding_cost)
        if inp.stockpile_holding_cost > 0.0 and inp.virgin_stock > 0.0:
            pay(day, inp.pay_stockpile_holding, inp.virgin_stock * inp.stockpile_holding_cost)


def reorder_virgin(fac: Any, inp: Any, day: int) -> None:
    """(s, S) review: when stock plus orders outstanding is at or below s, order up to S."""
    sp = inp.spec.stockpile
    if sp is None or fac.up.closed:
        return
    position = inp.virgin_stock + inp.on_order
    if position <= sp.reorder_point_t:
        qty = sp.order_up_to_t - position
        inp.on_order += qty
        lag = max(1, math.ceil(sp.lead_time_days - 1e-12))
        fac.model.schedule(lag - 1, receive_virgin, fac, inp, qty)


def receive_virgin(fac: Any, inp: Any, qty: float) -> None:
    """A virgin order arrives: into stock, paid at the virgin price."""
    m = fac.model
    day = m.today
    inp.on_order -= qty
    inp.virgin_stock += qty
    m.inputs_flow["virgin_received_t"][day, inp.index] += qty
    m.money.pay(day, inp.pay_virgin, qty * inp.virgin_price)
