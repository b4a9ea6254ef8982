"""Step 5a on the array day's columns: consumption (sim/day/consumption.py is the object
core's, and the reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.day.columns import CONSUME, FAC_SHIFT, STEP_SHIFT
from sim.ledger import MARKET


def consume(a: Any, day: int, up: np.ndarray) -> np.ndarray:
    """Facility.consume for every input: critical inputs first, at the up-time (their
    unmet share lowers the facility's operating level), then the others at that level.
    Returns the operating levels."""
    operating = up.copy()
    demand = a.demand
    if len(a.pat_in):  # the day's demand under the inputs' demand patterns
        demand = demand.copy()
        demand[a.pat_in] = a.pat_path[day]
    crit, rest = a.passes
    if len(crit):
        f = a.in_fac[crit]
        share = consume_inputs(a, day, 0, crit, up[f], demand)
        np.minimum.at(operating, f, up[f] * (1.0 - share))
    if len(rest):
        consume_inputs(a, day, 1, rest, operating[a.in_fac[rest]], demand)
    if a.emergencies:
        book_emergencies(a, day)
    return operating


def consume_inputs(
    a: Any, day: int, pass_no: int, idx: np.ndarray, level: np.ndarray, demand: np.ndarray
) -> np.ndarray:
    """sim.day.consumption.consume_input for the inputs `idx` (ascending) at operating `level`,
    `demand` the day's demand of every input; returns each one's unmet share of its requirement."""
    m = a.m
    flows = m.inputs_flow
    required = demand[idx] * level
    flows["required_t"][day, idx] = required
    n = len(idx)
    at = a.pass_pos[pass_no]  # input -> its position in idx
    item = pass_no << 30
    buf = a.buf
    secondary_full, plan, available, avail, stock_t, stock_func = plan_secondary(a, pass_no, idx, required, level)
    use = secondary_use(a, idx, required, plan, available, stock_t, stock_func, day)
    left = required.copy()
    from_secondary = np.zeros(n)
    secondary_used = np.zeros(n)
    for r, subs in enumerate(a.pass_rank_subs[pass_no]):
        if not len(subs):
            continue
        p = at[a.sub_in[subs]]
        used_func = np.minimum(use[p], avail[r])
        pos = used_func > 0.0
        if not pos.any():
            continue
        subs, p, used_func = subs[pos], p[pos], used_func[pos]
        used_t = used_func / a.ratio[subs]
        buf.take(subs, used_t, pieces=False)
        from_secondary[p] = from_secondary[p] + used_func
        secondary_used[p] = secondary_used[p] + used_t
        cost = a.proc_cost[subs]
        paid = cost != 0.0
        ins = idx[p[paid]]
        amount = used_t[paid] * cost[paid]
        a.queue_payments(a.in_fac[ins], CONSUME, item | (ins * 16 + r), a.pay_proc[subs[paid]], amount)
        left[p] = left[p] - used_func
        use[p] = use[p] - used_func
    flows["secondary_full_t"][day, idx] = secondary_full
    flows["planned_t"][day, idx] = plan
    flows["secondary_short_t"][day, idx] = np.where(plan > available, plan - available, 0.0)
    flows["from_secondary_t"][day, idx] = from_secondary
    flows["secondary_used_t"][day, idx] = secondary_used
    return supply_the_rest(a, day, idx, item, left, required)


def load_plans(a: Any, inputs: list) -> None:
    """The inputs' buffer policies as columns (sim.day.consumption.secondary_use)."""
    planned = [i.spec.planned_secondary_t_per_day for i in inputs]
    a.has_plan = np.array([p is not None for p in planned], dtype=bool)
    a.planned = np.array([p if p is not None else 0.0 for p in planned], dtype=float)
    a.use_less = np.array([i.spec.refill == "use_less" for i in inputs], dtype=bool)
    a.refill_share = np.array([i.spec.refill_share for i in inputs], dtype=float)
    # demand patterns: the inputs that have one, and their day's demand (horizon x those inputs)
    paths = [i for i in inputs if i.demand_path is not None]
    a.pat_in = np.array([i.index for i in paths], dtype=np.int64)
    a.pat_path = np.array([i.demand_path for i in paths], dtype=float).T if paths else None


def plan_secondary(a: Any, pass_no: int, idx: np.ndarray, required: np.ndarray, level: np.ndarray) -> tuple:
    """sim.day.consumption.plan_secondary for the inputs `idx`: full supply, plan, what the
    buffers could give (total, and per rank of substitute), and the stock held (t, functional t)."""
    n = len(idx)
    at = a.pass_pos[pass_no]
    full_left = required.copy()
    avail_left = required.copy()
    secondary_full, available, share_sum = np.zeros(n), np.zeros(n), np.zeros(n)
    stock_t, stock_func = np.zeros(n), np.zeros(n)
    avail = []
    for subs in a.pass_rank_subs[pass_no]:
        p = at[a.sub_in[subs]]
        share = a.max_share[subs] * required[p]
        share_sum[p] = share_sum[p] + share
        cont = a.contracted[subs]
        if cont.any():
            cp, cs = p[cont], subs[cont]
            full = np.minimum(np.minimum(full_left[cp], share[cont]), a.ratio[cs] * a.full_supply[cs])
            secondary_full[cp] = secondary_full[cp] + full
            full_left[cp] = full_left[cp] - full
        total = a.buf.total[subs]
        func = total * a.ratio[subs]
        got = np.minimum(np.minimum(avail_left[p], share), func)
        avail.append(got)
        available[p] = available[p] + got
        avail_left[p] = avail_left[p] - got
        stock_t[p] = stock_t[p] + total
        stock_func[p] = stock_func[p] + func
    has = a.has_plan[idx]
    planned = np.minimum(np.minimum(a.planned[idx] * level, share_sum), required)
    plan = np.where(has, planned, secondary_full)
    return secondary_full, plan, available, avail, stock_t, stock_func


def secondary_use(
    a: Any, idx: np.ndarray, required: np.ndarray, plan: np.ndarray, available: np.ndarray,
    stock_t: np.ndarray, stock_func: np.ndarray, day: int,
) -> np.ndarray:
    """sim.day.consumption.secondary_use for the inputs `idx`."""
    planned = plan > 0.0
    use = np.where(planned, np.minimum(plan, available), available)
    cap = a.buffer_cap[idx]
    hold = np.flatnonzero(planned & a.use_less[idx] & (cap > 0.0) & (use > 0.0))
    if len(hold):
        above = stock_func[hold] - cap[hold] * (stock_func[hold] / stock_t[hold])
        keep = np.maximum(plan[hold] * (1.0 - a.refill_share[idx[hold]]), above)
        fresh = fresh_days(a, idx[hold], day)
        ok = (keep < use[hold]) & (stock_func[hold] - keep < plan[hold] * fresh)
        use[hold] = np.where(ok, keep, use[hold])
    short = np.flatnonzero(planned & ~a.market[idx])
    if len(short):
        ins = idx[short]
        virgin = np.where(a.stockpile[ins], a.virgin_stock[ins], 0.0)
        use[short] = np.maximum(use[short], np.minimum(available[short], required[short] - virgin))
    return use


def fresh_days(a: Any, ins: np.ndarray, day: int) -> np.ndarray:
    """sim.day.consumption.fresh_days for the inputs `ins`."""
    days = np.full(len(ins), np.inf)
    buf = a.buf
    for subs in a.rank_shelf:
        if not len(subs):
            continue
        held = subs[buf.count[subs] > 0]
        if not len(held):
            continue
        left = buf.born[held, buf.head[held]] + a.sub_shelf[held] - day - 1.0
        where = np.searchsorted(ins, a.sub_in[held])
        mine = (where < len(ins)) & (ins[np.minimum(where, len(ins) - 1)] == a.sub_in[held])
        np.minimum.at(days, where[mine], left[mine])
    return days


def supply_the_rest(
    a: Any, day: int, idx: np.ndarray, item: int, left: np.ndarray, required: np.ndarray
) -> np.ndarray:
    """What the buffers left of the inputs `idx`: virgin from the market or the stockpile, then
    emergency purchase, the rest unmet; returns each one's unmet share of `required`."""
    flows = a.m.inputs_flow
    n = len(idx)
    buy = np.flatnonzero((left > 0.0) & a.market[idx])
    if len(buy):
        ins = idx[buy]
        flows["from_virgin_t"][day, ins] = left[buy]
        amount = left[buy] * a.virgin_price[ins]
        a.queue_payments(a.in_fac[ins], CONSUME, item | (ins * 16 + 13), a.pay_virgin[ins], amount)
        left[buy] = 0.0
    draw = np.flatnonzero((left > 0.0) & a.stockpile[idx])
    if len(draw):
        ins = idx[draw]
        take = np.minimum(left[draw], a.virgin_stock[ins])
        a.virgin_stock[ins] = a.virgin_stock[ins] - take
        flows["from_virgin_t"][day, ins] = take
        left[draw] = left[draw] - take
    em = np.flatnonzero(a.emergency[idx])
    if len(em):
        ins = idx[em]
        short = left[em] > 1e-12
        a.since[ins[~short]] = -1  # the episode is over
        e, ins = em[short], ins[short]
        fresh = a.since[ins] < 0
        a.since[ins[fresh]] = day
        due = (day - a.since[ins]) >= a.em_lead[ins]
        e, ins = e[due], ins[due]
        if len(e):
            flows["from_emergency_t"][day, ins] = left[e]
            amount = left[e] * (a.virgin_price[ins] * (1.0 + a.em_premium[ins]))
            a.emergencies.append((item | (ins * 16 + 14), ins, amount))
            left[e] = 0.0
    unmet = np.flatnonzero(left > 0.0)
    share = np.zeros(n)
    if len(unmet):
        ins = idx[unmet]
        flows["unmet_t"][day, ins] = left[unmet]
        amount = left[unmet] * a.lost_margin[ins]
        a.queue_payments(a.in_fac[ins], CONSUME, item | (ins * 16 + 15), a.pay_lost[ins], amount)
        req = required[unmet]
        share[unmet] = np.where(req > 0.0, left[unmet] / np.where(req > 0.0, req, 1.0), 0.0)
    return share


def book_emergencies(a: Any, day: int) -> None:
    """Emergency purchases pay on an account per facility that the object core opens when
    it first books one (MoneyLedger.book): opened here in the same order, facility by
    facility, before the day's entries are booked."""
    items = np.concatenate([e[0] for e in a.emergencies])
    ins = np.concatenate([e[1] for e in a.emergencies])
    amount = np.concatenate([e[2] for e in a.emergencies])
    a.emergencies.clear()
    keys = (a.in_fac[ins] << FAC_SHIFT) | (CONSUME << STEP_SHIFT) | items
    order = np.argsort(keys, kind="stable")
    money = a.m.money
    for j in order.tolist():
        k = int(ins[j])
        if a.em_account[k] < 0 and amount[j] != 0.0:
            fid = a.fac_ids[int(a.in_fac[k])]
            a.em_account[k] = money.account(fid, MARKET, "emergency")
    a.queue_payments(a.in_fac[ins], CONSUME, items, a.em_account[ins], amount)
