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
from sim.logistics import move_cost

if TYPE_CHECKING:
    from sim.day.world import World


def excused_t(short_t: float, due_t: float, up_window: list[float]) -> float:
    """Tonnes of a shortfall excused by the supplier's down-time: at most the due tonnes times
    its down-share over the delivery window (the up-fractions of its days)."""
    return min(short_t, due_t * (1.0 - sum(up_window) / len(up_window)))


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
        if len(contracts) == 1:
            due = [contracts[0].due_today(day)]
            carry = [min(due[0], contracts[0].ship_cap_t)]
            total_carry = carry[0]
        else:
            due = [c.due_today(day) for c in contracts]
            carry = [min(d, c.ship_cap_t) for c, d in zip(contracts, due, strict=True)]  # a pipe's capacity
            total_carry = sum(carry)
        if not total_carry:
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
        for c, d, q in zip(contracts, due, ship, strict=True):
            if d <= 0.0:
                continue
            k = c.index
            p = c.period
            due_row[k] = d
            shipped_row[k] = q
            p.committed_t += d
            p.shipped_t += q
            if q < d:
                short = d - q
                # the supplier's down-share over the delivery window
                lo = max(0, day - c.terms.delivery_interval_days + 1)
                window = m.up_history[lo : day + 1, m.facility_index[st.owner]].tolist()
                excused = excused_t(short, d, window)
                short_row[k] += short
                excused_row[k] = excused
                p.short_t += short
                p.excused_t += excused
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
