"""Step 5c of the day: dispatch.

**Dispatch.** Each stream ships to the contracts due today (a short supplier allocates by the
policy's rule, :func:`sim.contracts.allocate`; a called backup gets only the surplus, what
is left after the primaries beyond the source storage held for them, and is due only that:
never short, or penalised, for what its supplier kept for its primaries); haulage is paid by
the party the contract names by the contract's mode (:func:`sim.logistics.move_cost`: road haulage, or a pipe's cost per
unit); a pipe carries at most its capacity (`ContractState.ship_cap_t`), the rest stays in
source storage and counts short; shipments arrive after the delivery lag. A shortfall is
excused by the supplier's down-share over the delivery window (:func:`excused_t`). With an
intermediary, it pays the haulage of the routed shipments (consolidated per supplier) and
ships the buyers' call-offs (step 6). The array day's column version is
sim/day/dispatch_arrays.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.contracts import ContractState, allocate
from sim.day.catch_up import ship_catch_up
from sim.logistics import move_cost
from sim.outages import announced_down_share

if TYPE_CHECKING:
    from sim.day.world import World


def excused_t(short_t: float, due_t: float, up_window: list[float]) -> float:
    """Tonnes of a shortfall excused by the supplier's down-time: at most the due tonnes times
    its down-share over the delivery window (the up-fractions of its days)."""
    return min(short_t, due_t * (1.0 - sum(up_window) / len(up_window)))


def due_by_terms(m: World, c: ContractState, st: Any, due: float, day: int) -> tuple[float, float]:
    """The tonnes due today under the contract's own terms, and the part of them suspended:
    `share_of_output` makes them `output_share` x the stream's output over the delivery
    interval; `suspend_for_buyer_maintenance` holds back (direct contracts) the share of a
    delivery that would land while the buyer is down for maintenance announced with the
    contract's notice."""
    t = c.terms
    if t.volume_basis == "share_of_output":
        lo = max(0, day - t.delivery_interval_days + 1)
        due = t.output_share * float(m.streams_flow["generated_t"][lo : day + 1, st.index].sum())
    suspended = 0.0
    if t.suspend_for_buyer_maintenance and not c.routed and due > 0.0:
        land = day + c.lag_days
        windows = m.facility_by_id[t.buyer].spec.outages.maintenance
        suspended = due * announced_down_share(windows, t.planned_outage_notice_days, land, land + 1)
    return due, suspended


def excused_by_terms(m: World, c: ContractState, st: Any, short_t: float, due_t: float, day: int) -> float:
    """Tonnes of a shortfall the contract's terms excuse: the supplier's down-share over the
    delivery window under `force_majeure` (:func:`excused_t`), or only its announced
    maintenance (notice at least `planned_outage_notice_days`) under `planned_outage_excused`;
    and the cut of a scripted `stream_scale` whose cause the contract names in
    `force_majeure_causes`. Nothing without such a term."""
    t = c.terms
    lo = max(0, day - t.delivery_interval_days + 1)
    down = 0.0
    if t.force_majeure or t.planned_outage_excused:
        window = m.up_history[lo : day + 1, m.facility_index[st.owner]].tolist()
        down = 1.0 - sum(window) / len(window)
        if not t.force_majeure:
            windows = m.facility_by_id[st.owner].spec.outages.maintenance
            down = min(down, announced_down_share(windows, t.planned_outage_notice_days, lo, day + 1))
    cut = 0.0
    if st.scale_cause is not None and st.scale_cause in t.force_majeure_causes:
        cut = max(0.0, 1.0 - st.scale)
    share = down if cut == 0.0 else 1.0 - (1.0 - down) * (1.0 - cut)  # the array day's columns: down
    return min(short_t, due_t * share)


def hub_ships(m: World, day: int, hub_routes: dict[str, list[tuple[ContractState, float]]]) -> None:
    """The intermediary pays the haulage of today's routed shipments (one route per
    supplier) and ships the buyers' call-offs."""
    assert m.hub is not None
    for legs in hub_routes.values():
        m.hub.pay_haulage(day, legs, lambda c: c.km)
    m.hub.dispatch(day)


def dispatch_rows(m: World, day: int) -> tuple:
    """What dispatch writes to today: the contract and stream flow rows, the ledger, the dock."""
    cf = m.contracts_flow
    return (
        cf["due_t"][day], cf["shipped_t"][day], cf["short_t"][day], cf["excused_t"][day],
        m.streams_flow["shipped_t"][day], m.money.pay, m.dock,
    )


def dispatch_streams(m: World, streams: list[Any], day: int, rows: tuple, hub_routes: dict) -> None:
    """Ship what each stream's contracts call for today, allocating a short stock by the
    rule; a routed shipment's haulage is left in `hub_routes` for the intermediary."""
    due_row, shipped_row, short_row, excused_row, stream_shipped, pay, arrivals = rows
    for st in streams:
        contracts = st.live  # a latent contract is never due
        if not contracts:
            continue
        held = [0.0] * len(contracts)  # suspended for the buyer's announced maintenance
        if len(contracts) == 1 and not st.own_terms:
            due = [contracts[0].due_today(day)]
            carry = [min(due[0], contracts[0].ship_cap_t)]
            total_carry = carry[0]
        else:
            due = [c.due_today(day) for c in contracts]
            if st.own_terms:
                for j, c in enumerate(contracts):
                    if c.own_due and due[j] > 0.0:
                        due[j], held[j] = due_by_terms(m, c, st, due[j], day)
            # a pipe carries at most its capacity
            carry = [min(d - h, c.ship_cap_t) for c, d, h in zip(contracts, due, held, strict=True)]
            total_carry = sum(carry)
        if not total_carry and not any(held):
            continue
        stock = st.storage.total
        if any(c.called for c in contracts):  # a backup only from the surplus (allocate)
            called = [c.called and d > 0.0 for c, d in zip(contracts, due, strict=True)]
            reserve = st.storage_cap if any(c.in_force and not c.is_backup for c in contracts) else 0.0
            rule = m.spec.policy.allocation
            ship = allocate(stock, carry, [c.terms.priority for c in contracts], rule, called, reserve)
            # a backup is owed only what the surplus covers (beyond a pipe's capacity it is short)
            due = [q + d - cy if b else d for d, cy, q, b in zip(due, carry, ship, called, strict=True)]
        elif total_carry <= stock:
            ship = carry
        else:
            ship = allocate(stock, carry, [c.terms.priority for c in contracts], m.spec.policy.allocation)
        owed = []
        for c, d, q, s in zip(contracts, due, ship, held, strict=True):
            if d <= 0.0:
                continue
            if c.terms.catch_up_t_per_day and not c.routed:
                owed.append(c)
            k = c.index
            p = c.period
            due_row[k] = d
            shipped_row[k] = q
            p.committed_t += d
            p.shipped_t += q
            if q < d - s:
                short = d - s - q  # what was suspended is the buyer's, not short
                excused = excused_by_terms(m, c, st, short, d, day) if c.excusable else 0.0
                short_row[k] += short
                excused_row[k] = excused
                p.short_t += short
                p.excused_t += excused
                if c.terms.catch_up_t_per_day and not c.routed:
                    c.backlog_t += short  # sim/day/catch_up.py
            if s:
                p.suspended_t += s
            if q <= 0.0:
                continue
            pieces = st.storage.take(q)
            c.in_transit_t += q
            stream_shipped[st.index] += q
            if c.routed:  # the intermediary arranges (and consolidates) the haulage
                hub_routes.setdefault(st.owner, []).append((c, q))
            else:
                pay(day, c.pay_transport, move_cost(q, c.km, m.spec.transport, c.terms))
            arrivals.setdefault(day + c.lag_days, []).append((c, pieces, False))  # as ship() does
        if owed:
            ship_catch_up(m, st, owed, day, rows)
