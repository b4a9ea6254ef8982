"""Step 5a of the day: consumption, one facility at a time (Facility.consume delegates here).

**Consumption.** Each input takes from its secondary buffer (substitutes in order, ratio, max
share), then virgin stock or market, then emergency purchase, the rest unmet at its lost
margin. Critical inputs go first: their unmet share stops the line, which lowers the
facility's operating level for its other inputs and its output.

`fac` is a :class:`sim.agents.Facility` and `inp` one of its :class:`sim.agents.InputState`
(typed loosely: the agents import this module). The array day's column version is
sim/day/consumption_arrays.py.
"""

from __future__ import annotations

from typing import Any

from sim.ledger import MARKET


def consume(fac: Any, day: int) -> None:
    """Meet today's input requirements; critical inputs first, since a shortage there stops
    the line and so lowers what the other inputs need and what the streams put out."""
    fac.operating = fac.up_fraction
    for inp in fac.inputs:
        if inp.spec.critical:
            unmet_share = consume_input(fac, inp, day, fac.up_fraction)
            fac.operating = min(fac.operating, fac.up_fraction * (1.0 - unmet_share))
    for inp in fac.inputs:
        if not inp.spec.critical:
            consume_input(fac, inp, day, fac.operating)


def consume_input(fac: Any, inp: Any, day: int, level: float) -> float:
    """Consume one input at operating `level`; returns the unmet share of its requirement."""
    m = fac.model
    flows = m.inputs_flow
    book, pay = m.money.book, m.money.pay
    k = inp.index
    spec = inp.spec
    required = spec.demand_t_per_day * level
    flows["required_t"][day, k] = required
    left = required
    full_left = required
    secondary_full = from_secondary = secondary_used = 0.0
    for s in inp.substitutes:
        cap = min(left, s.max_share * required)
        if s.contracted:
            supply = s.full_supply
            if supply is None:
                supply = s.full_supply = s.full_supply_t_per_day()
            full = min(full_left, s.max_share * required, s.ratio * supply)
            secondary_full += full
            full_left -= full
        used_func = min(cap, s.lots.total * s.ratio)
        if used_func > 0.0:
            used_t = used_func / s.ratio
            s.lots.take(used_t)
            from_secondary += used_func
            secondary_used += used_t
            if s.processing_cost:
                pay(day, s.pay_processing, used_t * s.processing_cost)
            left -= used_func
    if secondary_full:
        flows["secondary_full_t"][day, k] = secondary_full
        flows["planned_t"][day, k] = secondary_full  # stand-in for the planned use (issue 20)
        if secondary_full > from_secondary:
            flows["secondary_short_t"][day, k] = secondary_full - from_secondary
    if from_secondary:
        flows["from_secondary_t"][day, k] = from_secondary
        flows["secondary_used_t"][day, k] = secondary_used
    if left > 0.0 and spec.virgin == "market":
        flows["from_virgin_t"][day, k] = left
        pay(day, inp.pay_virgin, left * inp.virgin_price)
        left = 0.0
    elif left > 0.0 and spec.virgin == "stockpile":
        take = min(left, inp.virgin_stock)
        inp.virgin_stock -= take
        flows["from_virgin_t"][day, k] = take
        left -= take
    if inp.emergency is not None:
        if left > 1e-12:
            premium, lead_time, seller = inp.emergency
            if inp.shortage_since is None:
                inp.shortage_since = day
            if day - inp.shortage_since >= lead_time:
                flows["from_emergency_t"][day, k] = left
                price = inp.virgin_price * (1.0 + premium)
                if seller is None:
                    book(day, fac.fid, MARKET, left * price, "emergency")
                else:  # the intermediary buys at the virgin price and sells at its premium
                    book(day, fac.fid, seller, left * price, "emergency")
                    book(day, seller, MARKET, left * inp.virgin_price, "emergency_purchase")
                left = 0.0
        else:
            inp.shortage_since = None
    if left > 0.0:
        flows["unmet_t"][day, k] = left
        pay(day, inp.pay_lost, left * spec.lost_margin_per_t)
        return left / required if required > 0.0 else 0.0
    return 0.0
