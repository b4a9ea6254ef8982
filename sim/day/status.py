"""Step 3 of the day, and the events of step 1 that change contracts: status, notice, closures,
backups.

**Contract status.** Contracts start, and those whose notice ran out end. Notices (scripted
or decided) run for the contract's notice period; a contract that then stops inside a minimum
term costs the leaver the early-termination fee, unless the notice declines a renewal as a term
ends or the leaver leaves for the other's breach (:func:`sim.contracts.ends_inside_a_term`,
:func:`sim.contracts.is_term_boundary`). A permanent closure ends every contract of the
facility. Each contract records why it ended (`ContractState.end_reason`). A backup is called
when one of its buyer's primaries fails (its supplier down or closed, its stream stopped, the
contract ended) and the failure outlasts the backup's activation lead time; it is released when
every primary is back. A contract formed by the agents starts on its terms (:func:`start_contract`); one
given up waits as a candidate again (:func:`set_latent`).
"""

from __future__ import annotations

import bisect
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from sim.contracts import ContractState, Status, ends_inside_a_term, is_term_boundary
from sim.indexation import index_change
from sim.scenario import replaced

if TYPE_CHECKING:
    from sim.day.world import World


def update_contract_status(m: World, day: int) -> None:
    """Step 3 of the day: contracts start, and those whose notice ran out end; indexed
    contracts take their price of the day (:func:`review_prices`)."""
    for c in m.live_contracts:  # a latent contract waits as PENDING (its start day is past the horizon)
        status = c.status
        if status is Status.PENDING and day >= c.terms.start_day:
            c.status = status = Status.ACTIVE if c.end_day is None else Status.NOTICE
            m.contract_changed(c)
        if status is Status.NOTICE and c.end_day is not None and day >= c.end_day:
            end(m, c, day)
    if m.indexed_contracts:
        review_prices(m, day)


def review_prices(m: World, day: int) -> None:
    """Each indexed contract in force from its start takes the index change of its review day
    (held between reviews: the change of day d is that of its review day r <= d), read from the
    run's virgin price path as the market left it this morning (sim/indexation.py)."""
    virgin = m.prices.virgin
    for c in m.indexed_contracts:
        t = c.terms
        if day >= t.start_day:
            c.index_change = index_change(virgin[:, c.index_col], t.start_day, t.indexation.review_days, day)


def give_notice(m: World, c: ContractState, party: str, day: int | None = None, for_cause: bool = False) -> None:
    """A party gives notice: obligations run for `notice_days`; a contract that then stops
    inside a minimum term costs the leaver the early-termination fee, paid now to the party
    left behind, unless the notice comes as a term ends (it declines the renewal) or the
    party leaves for cause (the other's breach: the test is on the Contract docstring). The
    contract will end for the reason recorded here (`ContractState.end_reason`): "notice" (a
    scripted notice), "exit_for_cause", "term_end" (a decision declining a renewal) or
    "exit_without_cause"."""
    if c.status not in (Status.ACTIVE, Status.PENDING):
        return
    # A decision during the day's balance comes after today's status update, so the
    # contract is in force through today at least; a scripted notice comes before it.
    decided = day is not None
    day = int(m.env.now) if day is None else day
    if c.status is Status.ACTIVE:
        c.status = Status.NOTICE  # a pending contract turns to notice when it starts
        m.contract_changed(c)
    c.notice_by = party
    c.for_cause = for_cause
    c.end_day = day + c.terms.notice_days
    first_day_out = max(c.end_day, day + 1) if decided else c.end_day
    # Notice as a term ends declines its renewal: no fee, whatever the notice runs into.
    renewal_declined = is_term_boundary(c.terms, day + 1 if decided else day)
    if for_cause:
        c.end_reason = "exit_for_cause"
    elif not decided:
        c.end_reason = "notice"
    else:
        c.end_reason = "term_end" if renewal_declined else "exit_without_cause"
    if not for_cause and not renewal_declined and ends_inside_a_term(c.terms, first_day_out):
        leaver = c.terms.supplier if party == "supplier" else c.terms.buyer
        other = c.terms.buyer if party == "supplier" else c.terms.supplier
        m.money.book(day, leaver, other, c.terms.early_termination_fee, "termination_fee", c.index)


def end(m: World, c: ContractState, day: int, reason: str | None = None) -> None:
    """The contract ends on `day` (for `reason`, else the one its notice recorded)."""
    was_pending = c.status is Status.PENDING
    c.status = Status.ENDED
    m.contract_changed(c)
    c.ended_day = None if was_pending else day
    if reason is not None:
        c.end_reason = reason
    if not was_pending:
        c.ends += 1
    c.called = False
    if not c.is_backup:
        for b in backups_of(m, c):
            review_backup(m, b, recovered=False)


def primary_failing(m: World, c: ContractState) -> bool:
    sup = m.facility_by_id[c.terms.supplier]
    started = c.status is not Status.PENDING
    return c.status is Status.ENDED or (started and (not sup.up.up or c.supplier_stream.scale == 0.0))


def backups_of(m: World, c: ContractState) -> list[ContractState]:
    return m.contracts_by_input[c.buyer_input[0].index][1]


def primaries_of(m: World, b: ContractState) -> list[ContractState]:
    return m.contracts_by_input[b.buyer_input[0].index][0]


def set_scale(m: World, stream: Any, factor: float, cause: str | None = None) -> None:
    """A scripted change of a stream's output, for a named outside `cause` or none; an ended
    stream calls its buyers' backups (and a restarted one releases them), as an outage does."""
    stream.scale = factor
    stream.scale_cause = cause
    for c in stream.contracts:
        if not c.is_backup:
            for b in backups_of(m, c):
                review_backup(m, b, recovered=factor > 0.0)


def supplier_changed(m: World, fid: str, up: bool) -> None:
    """A supplier went down or came back: call or release the backups of its buyers."""
    for c in m.primaries_by_supplier.get(fid, ()):
        for b in backups_of(m, c):
            review_backup(m, b, up)


def review_backup(m: World, b: ContractState, recovered: bool) -> None:
    failing = any(primary_failing(m, p) for p in primaries_of(m, b))
    if recovered and not failing:
        b.called = False
        b.activation_pending = False
        b.generation += 1
    elif failing and not b.called and not b.activation_pending and b.in_force:
        b.activation_pending = True
        m.schedule(b.terms.activation_lead_time_days, activate, m, b, b.generation)


def activate(m: World, b: ContractState, generation: int) -> None:
    """Call a backup once its lead time has passed, if the failure that asked for it lasts."""
    if generation != b.generation:
        return
    b.activation_pending = False
    if b.in_force and any(primary_failing(m, p) for p in primaries_of(m, b)):
        b.called = True


def facility_closed(m: World, fid: str, day: int | None = None) -> None:
    """A permanent closure ends every contract of the facility (on the day of the
    closure event, or on `day` for a closure decided during a day's balance)."""
    day = int(m.env.now) if day is None else day
    for c in m.contracts:
        if fid in (c.terms.supplier, c.terms.buyer) and c.status is not Status.ENDED:
            end(m, c, day, "closure")
    for c in m.contracts:
        if not c.is_backup and c.terms.supplier == fid:
            for b in backups_of(m, c):
                review_backup(m, b, recovered=False)


def start_contract(m: World, c: ContractState, start_day: int) -> None:
    """A formed contract starts on `start_day` on its terms."""
    c.terms = replaced(c.terms, start_day=start_day)
    set_latent(m, c, False)
    c.period_start = start_day
    sub = c.buyer_input[1]
    sub.contracted = True
    if not c.is_backup and c not in sub.primaries:  # a link formed again is listed once
        sub.primaries.append(c)
    m.contract_changed(c)


def set_latent(m: World, c: ContractState, latent: bool) -> None:
    """Make a contract a candidate again (latent) or a formed one, keeping the lists of the
    contracts that are not latent (the model's, its stream's and, routed, the
    intermediary's) in contract order."""
    if c.latent == latent:
        return
    c.latent = latent
    lists = [m.live_contracts, c.supplier_stream.live]
    if c.routed and m.hub is not None:
        lists.append(m.hub.live)
    for live in lists:
        at = bisect.bisect_left(live, c.index, key=attrgetter("index"))
        if latent:
            assert live[at] is c
            del live[at]
        else:
            live.insert(at, c)


def close_now(m: World, facility_id: str) -> None:
    """Close a facility for good from now (an agent's decision); its contracts end."""
    fac = m.facility_by_id[facility_id]
    if not fac.up.closed:
        fac.up.close(at=m.now)
        facility_closed(m, facility_id, day=m.today)


def index_contracts(
    contracts: list[ContractState], inputs: list[Any]
) -> tuple[dict[int, tuple[list[ContractState], list[ContractState]]], dict[str, list[ContractState]]]:
    """Look-ups for outage events, so that an event costs what its facility's contracts cost,
    not a scan of the whole network (contract order kept): each input's (primaries, backups),
    and each supplier's primaries."""
    by_input: dict[int, tuple[list[ContractState], list[ContractState]]] = {i.index: ([], []) for i in inputs}
    by_supplier: dict[str, list[ContractState]] = {}
    for c in contracts:
        by_input[c.buyer_input[0].index][1 if c.is_backup else 0].append(c)
        if not c.is_backup:
            by_supplier.setdefault(c.terms.supplier, []).append(c)
    return by_input, by_supplier
