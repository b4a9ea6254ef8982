"""Step 5a of the day: consumption, one facility at a time (Facility.consume delegates here).

**Consumption.** Each input's requirement is its demand (x the day's `demand_pattern`
factor) x the operating level. Each input takes its planned secondary use from its buffers (substitutes in
order, ratio, max share; the plan is `planned_secondary_t_per_day`, else what its primary
contracts in force deliver, so a periodic delivery is used over its interval), less what its
`refill` rule holds back to rebuild a buffer below target (secondary_use), then virgin stock
or market, then emergency purchase, the rest unmet at its lost margin. `planned_t` and
`secondary_short_t` (the part of the plan the buffers could not cover) are booked daily.
Critical inputs go first: their unmet share stops the line, which lowers the facility's
operating level for its other inputs and its output.

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
    path = inp.demand_path  # the day's demand under a demand_pattern
    required = (spec.demand_t_per_day if path is None else path[day]) * level
    flows["required_t"][day, k] = required
    secondary_full, plan, available, avail = plan_secondary(inp, required, level)
    if plan > 0.0 and spec.virgin == "market" and (spec.refill != "use_less" or not inp.buffer_cap):
        use = min(plan, available)  # secondary_use, when nothing is held back
    else:
        use = secondary_use(inp, required, plan, available, day)
    left = required
    from_secondary = secondary_used = 0.0
    for s, a in zip(inp.substitutes, avail):  # noqa: B905 (as long by construction)
        used_func = min(use, a)
        if used_func > 0.0:
            used_t = used_func / s.ratio
            s.lots.take(used_t)
            from_secondary += used_func
            secondary_used += used_t
            if s.processing_cost:
                pay(day, s.pay_processing, used_t * s.processing_cost)
            left -= used_func
            use -= used_func
    if secondary_full:
        flows["secondary_full_t"][day, k] = secondary_full
    if plan:
        flows["planned_t"][day, k] = plan
        if plan > available:
            flows["secondary_short_t"][day, k] = plan - available
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


def plan_secondary(inp: Any, required: float, level: float) -> tuple[float, float, float, list[float]]:
    """Today's secondary figures of one input, functional t: what its primary contracts in force
    would cover at full supply (`secondary_full`), the planned use (`planned_secondary_t_per_day`
    x `level`, else `secondary_full`; never above the max shares of `required`), what its
    buffers could give within the max shares (`available`), and that per substitute, in order."""
    full_left = avail_left = required
    secondary_full = available = share_sum = 0.0
    avail = []
    for s in inp.substitutes:
        share = s.max_share * required
        share_sum += share
        if s.contracted:
            supply = s.full_supply
            if supply is None:
                supply = supply_figures(s)
            full = min(full_left, share, s.ratio * supply)
            secondary_full += full
            full_left -= full
        a = s.lots.total * s.ratio  # min(avail_left, share, stock), written out: read daily
        if share < a:
            a = share
        if avail_left < a:
            a = avail_left
        avail.append(a)
        available += a
        avail_left -= a
    planned = inp.spec.planned_secondary_t_per_day
    plan = secondary_full if planned is None else min(planned * level, share_sum, required)
    return secondary_full, plan, available, avail


def secondary_use(inp: Any, required: float, plan: float, available: float, day: int) -> float:
    """Functional t of secondary material to use today, by the input's refill rule.

    The plan, as far as the buffers cover it. `use_less`: while the buffer would end the day
    below its target B (`buffer_cap`), hold back up to `refill_share` of the plan, never more
    than brings it back to B: min(available, plan, max(plan (1 - refill_share), stock - B)), B
    in functional t at the stock's mean ratio. What is held back is bought virgin, so it is held
    back only as far as virgin can replace it (the market: all; a stockpile: its stock; none:
    nothing): holding back never leaves demand unmet. Nor is perishable material held back to
    rot: there is no hold-back unless all the stock that would be kept overnight can be used at
    the planned rate before the oldest lot in it spoils (stock kept < plan x the oldest lot's
    days left, `fresh_days`), so a buffer of a short-lived material rebuilds only as far as it
    stays fresh. With no plan (no contract in force) the
    buffer is used as far as it goes, so leftovers after an exit are not stranded."""
    if plan <= 0.0:
        return available
    use = min(plan, available)
    spec = inp.spec
    if spec.refill == "use_less" and inp.buffer_cap > 0.0 and use > 0.0:
        stock_t = stock_func = 0.0
        for s in inp.substitutes:
            stock_t += s.lots.total
            stock_func += s.lots.total * s.ratio
        above = stock_func - inp.buffer_cap * (stock_func / stock_t)
        keep = max(plan * (1.0 - spec.refill_share), above)
        if keep < use and stock_func - keep < plan * fresh_days(inp, day):
            use = keep
    if spec.virgin != "market":
        virgin = inp.virgin_stock if spec.virgin == "stockpile" else 0.0
        use = max(use, min(available, required - virgin))
    return use


def fresh_days(inp: Any, day: int) -> float:
    """Days after today for which the oldest lot of the input's perishable stores stays usable
    (a lot born on day b is usable to day b + shelf life - 1); infinite without shelf life."""
    days = float("inf")
    for s in inp.substitutes:
        if s.shelf_life is not None and s.lots.lots:
            left = s.lots.lots[0][1] + s.shelf_life - day - 1.0
            if left < days:
                days = left
    return days


def supply_figures(s: Any) -> float:
    """Work out again (and keep) a substitute store's full supply and cycle stock from its
    primary contracts in force; returns the full supply, t/day."""
    s.full_supply = s.full_supply_t_per_day()
    s.cycle_t = s.cycle_stock_t()
    return s.full_supply
