"""Agent decisions: trust, contract formation, renegotiation, exit, adaptation and cascades.

The rules and their parameters are documented on ``Behaviour`` in sim/scenario.py. The model
calls :meth:`Decisions.after_settlement` when a contract closes a settlement period and
:meth:`Decisions.end_of_day` after the day's settlement; everything else here is bookkeeping
for those two moments. All chance (which candidate exchanges a firm learns of) comes from one
keyed random stream.

Benefits are valued at the prices of the day the tonnes moved (``model.prices``), so that under
a `[market]` a party judges a period by what the exchange really saved it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.commitments import Expectations, promised
from sim.contracts import (
    ContractState,
    Status,
    cut_penalty_per_t,
    ends_inside_a_term,
    fair_price_per_t,
    term_end_day,
)
from sim.day.settlement import chargeable_short_t, penalty
from sim.expectations import dependence_cost_per_t, dependence_risk_per_t
from sim.market import priced_total
from sim.scenario import Behaviour, Contract, replaced

if TYPE_CHECKING:
    from sim.day.world import World

#: A performance or trust below this is a "hurt"; contracts born from formation carry this id prefix.
FORMED_PREFIX = "formed-"
#: t/day; a supplier with less room than this left under its capacity offers nothing.
ROOM_EPS_T = 1e-6


@dataclass
class TermTally:
    """What a contract's running minimum term has brought, summed over its settlements: each
    party's benefit (penalties included), the penalties the supplier paid, the tonnes short
    they were charged on, and the tonnes the supplier was paid the price for."""

    supplier: float = 0.0
    buyer: float = 0.0
    penalties: float = 0.0
    chargeable_t: float = 0.0
    paid_t: float = 0.0


class Decisions(Expectations):
    """The decision layer of one run (what the parties expect: sim.commitments.Expectations)."""

    def __init__(self, model: World, spec: Behaviour, rng: np.random.Generator):
        self.model = model
        self.spec = spec
        self.rng = rng
        self.known: set[int] = set()  # latent contracts a buyer has learnt of
        self.formed: list[tuple[int, str]] = []  # (day, contract id)
        self.refused: list[tuple[int, str, str]] = []  # (day, contract id, who refused)
        self.exits: list[tuple[int, str, str, str]] = []  # (day, contract id, party, reason)
        self.adaptations: list[tuple[int, str, str, float]] = []  # (day, facility, what, new capacity)
        self.cascade: list[tuple[int, str]] = []  # (day, facility closed by a lost critical input)
        self.extra_buffer_days: dict[int, float] = {}  # input index -> days added
        self.extra_source_days: dict[int, float] = {}  # stream index -> days added
        self.unmet_run: dict[str, int] = {}  # facility -> consecutive days of critical unmet
        self.hurt: dict[int, bool] = {}  # input index -> unmet seen in the current episode
        self.tallies: dict[int, TermTally] = {}  # contract index -> its running minimum term
        self.proposals: dict[int, Contract] = {}  # formed candidate -> the terms it was first proposed on
        self._capacity: dict[int, float] = {}  # stream index -> commitment capacity (see capacity)
        # contract -> its buyer's store's (received, dumped) running totals at its last settlement
        self.marks: dict[int, tuple[float, float]] = {}

    # --- trust, exit, renegotiation (at settlement) ------------------------------------------

    def after_settlement(self, c: ContractState, day: int, committed_t: float, short_t: float,
                         excused_t: float, penalty_owed: float) -> None:
        """Update trust from the period's performance and disputes, then let the parties
        renegotiate at term end or leave."""
        s = self.spec
        if committed_t > 0.0:
            # A short-fall counts against trust unless the contract excuses it (excused_t is
            # what its terms excuse: sim/day/dispatch.py excused_by_terms).
            unexcused = short_t - excused_t
            performance = 1.0 - max(0.0, unexcused) / committed_t
            c.trust += s.trust_learning_rate * (min(1.0, max(0.0, performance)) - c.trust)
        if penalty_owed > 0.0:
            loss = s.dispute_trust_loss * (s.intermediary_dispute_factor if c.routed else 1.0)
            c.trust = max(0.0, c.trust - loss)
        benefits = self.period_benefits(c, day)
        c.benefit_history.append(benefits)
        c.period_cash.clear()
        if c.terms.min_term_days > 0:
            self._tally(c, benefits)
        tally = self.tallies.pop(c.index, TermTally()) if _term_ends(c, day) else None
        if c.status is Status.ACTIVE:
            self._decide(c, day, tally)
        # A fee booked by these decisions (an exit's termination fee) belongs to this period.
        if c.period_cash and c.benefit_history:
            s_cash, b_cash = c.period_cash.get(c.terms.supplier, 0.0), c.period_cash.get(c.terms.buyer, 0.0)
            supplier, buyer = c.benefit_history[-1]
            c.benefit_history[-1] = (supplier + s_cash, buyer + b_cash)
            c.period_cash.clear()

    def _decide(self, c: ContractState, day: int, tally: TermTally | None) -> None:
        """Renegotiate at a term's end, or review the contract and perhaps leave."""
        s = self.spec
        if tally is None:  # within a term, or no term: the last review periods
            recent = c.benefit_history[-s.review_periods :]
            full = len(recent) == s.review_periods
            self._consider_exit(c, day, recent if full else [], len(recent) * c.terms.settlement_days)
        elif self._renegotiate(c, day, tally):  # new terms: the review starts afresh
            self._consider_exit(c, day, [], 0)
        else:  # renew or leave, judged on the whole term
            self._consider_exit(c, day, [(tally.supplier, tally.buyer)], c.terms.min_term_days)

    def period_benefits(self, c: ContractState, day: int) -> tuple[float, float]:
        """(supplier, buyer) benefit from the contract over the period ending on `day`: the
        cash it moved (price, fees, penalties, take-or-pay, standby, haulage) plus what it saved
        them (disposal avoided on tonnes taken; procurement avoided less processing on tonnes
        used: taken less the contract's share of what the buyer's store of the material lost to
        overflow or spoilage in the period, :meth:`dumped_t`), at each day's prices."""
        cf = self.model.contracts_flow
        prices = self.model.prices
        start, k = c.period_start, c.index
        inp, sub = c.buyer_input
        stream = c.supplier_stream
        taken = c.out_period.taken_t if c.routed else c.period.taken_t
        dumped = self.dumped_t(c, taken)
        disposal = prices.disposal[start : day + 1, stream.index]
        virgin = prices.virgin[start : day + 1, inp.index]
        if _constant(disposal):  # one price all period (always, without a [market])
            avoided_disposal = c.period.taken_t * (float(disposal[0]) if disposal.size else stream.disposal_cost)
        else:
            avoided_disposal = priced_total(cf["accepted_t"][start : day + 1, k], disposal)
        if _constant(virgin):
            price = float(virgin[0]) if virgin.size else inp.virgin_price
            avoided_virgin = (taken - dumped) * (sub.ratio * price - sub.processing_cost)
        else:
            used = cf["out_accepted_t" if c.routed else "accepted_t"][start : day + 1, k]
            avoided_virgin = sub.ratio * (priced_total(used, virgin) - dumped * float(virgin[-1]))
            avoided_virgin -= (taken - dumped) * sub.processing_cost
        supplier = c.period_cash.get(c.terms.supplier, 0.0) + avoided_disposal
        buyer = c.period_cash.get(c.terms.buyer, 0.0) + avoided_virgin
        return supplier, buyer

    def dumped_t(self, c: ContractState, taken_t: float) -> float:
        """The contract's share of the tonnes its buyer's store of the material lost to overflow
        or spoilage since the contract last settled: those lost x its share of what the store
        received meanwhile (the store's running totals, sim/agents.py SubstituteStore)."""
        sub = c.buyer_input[1]
        received0, dumped0 = self.marks.get(c.index, (0.0, 0.0))
        self.marks[c.index] = (sub.received_t, sub.dumped_t)
        received, dumped = sub.received_t - received0, sub.dumped_t - dumped0
        if received <= 0.0 or dumped <= 0.0:
            return 0.0
        return min(taken_t, dumped * min(1.0, taken_t / received))

    def _tally(self, c: ContractState, benefits: tuple[float, float]) -> None:
        """Add a settled period to the running term's tally (the supplier's leg: for a routed
        contract, the inbound one)."""
        t, p = c.terms, c.period
        tally = self.tallies.setdefault(c.index, TermTally())
        tally.supplier += benefits[0]
        tally.buyer += benefits[1]
        tally.penalties += penalty(p.short_t, p.excused_t, p.committed_t, t)
        tally.chargeable_t += chargeable_short_t(p.short_t, p.excused_t, p.committed_t, t)
        tally.paid_t += p.taken_t

    def _renegotiate(self, c: ContractState, day: int, tally: TermTally) -> bool:
        """At the end of a minimum term, the terms in `renegotiate` move by the rules on
        `Behaviour`, each computed from the term's tally; after a change the exit rule's
        review starts afresh. True when a term changed."""
        terms = self.spec.renegotiate
        changed = False
        if "volume" in terms:
            changed |= self._renegotiate_volume(c, day)
        supplier, buyer = tally.supplier, tally.buyer
        if "penalty" in terms:
            new = cut_penalty_per_t(c.terms.penalty_per_t_short, supplier, tally.penalties, tally.chargeable_t)
            if new is not None:
                # the term as it would have been on the new penalty: the buyer receives less
                saved = tally.penalties - min(tally.penalties, new * tally.chargeable_t)
                supplier, buyer = supplier + saved, buyer - saved
                changed |= self._set(c, day, "penalty_per_t_short", new)
        if "price" in terms:
            share = self.spec.fair_share
            share = self.model.spec.formation.supplier_share if share is None else share
            new = fair_price_per_t(c.terms.price_per_t, supplier, buyer, tally.paid_t, share)
            if new is not None:
                changed |= self._set(c, day, "price_per_t", new)
        if changed:
            c.benefit_history.clear()
        return changed

    def _renegotiate_volume(self, c: ContractState, day: int) -> bool:
        """The volume moves, up or down, to what the supplier showed it can make over the term,
        within its capacity and the buyer's need: the stream's output per day over the term
        x (1 + allowance), less its other primaries' volumes, at most its commitment room
        (`capacity`) and the buyer's remaining planned use (max share x demand / ratio, less
        its other primaries). Set from the term's evidence, not from the old volume, so a run
        of terms does not ratchet (at 95 % availability a 10 t/day contract settles near
        9.5). Backups are left alone (they ship only while called)."""
        if c.is_backup:
            return False
        term = c.terms.min_term_days
        st = c.supplier_stream
        inp, sub = c.buyer_input
        made = float(self.model.streams_flow["generated_t"][day + 1 - term : day + 1, st.index].sum()) / term
        others = self.committed(st, but=c)
        allowance = self.model.spec.formation.commitment_allowance
        # the mean demand (a demand_pattern is mean 1): a volume is a flat rate over a whole term
        need = inp.spec.demand_t_per_day * sub.max_share / sub.ratio
        need -= sum(p.terms.volume_t_per_day for p in sub.primaries if promised(p) and p is not c)
        target = min(made * (1.0 + allowance) - others, self.capacity(st) - others, need)
        if target > 0.0 and abs(target - c.terms.volume_t_per_day) > 1e-9 * c.terms.volume_t_per_day:
            return self._set(c, day, "volume_t_per_day", target)
        return False

    def _set(self, c: ContractState, day: int, term: str, value: float) -> bool:
        c.terms = replaced(c.terms, **{term: value})
        self.model.contract_changed(c)
        self.adaptations.append((day, c.terms.id, term, value))
        return True

    def _consider_exit(self, c: ContractState, day: int, review: list[tuple[float, float]], days: int) -> None:
        """A buyer that lost trust leaves; else a party whose benefit over the `review`
        (periods covering `days` days; none: no review yet) is negative leaves if it is worth it."""
        s = self.spec
        if c.trust < s.exit_trust_threshold:
            self._leave(c, "buyer", f"trust {c.trust:.2f} below {s.exit_trust_threshold}", day)
            return
        if not review:
            return
        buyer = sum(b for _, b in review)
        if c.is_backup:  # insurance: what it is expected to cover, not the cash of the periods seen
            buyer = self.backup_value(c, days)
        for party, benefit in (("buyer", buyer), ("supplier", sum(b for b, _ in review))):
            free = c.breach_by is not None and c.breach_by != party  # for cause: no fee
            if benefit < 0.0 and (free or self._worth_leaving(c, day, -benefit, days)):
                self._leave(c, party, "negative benefit over the review periods", day)
                return

    def _worth_leaving(self, c: ContractState, day: int, loss: float, days: int) -> bool:
        """Leaving now costs the early-termination fee (when the model would charge it: see
        `_give_notice`); staying instead, a party can leave for free when the term ends, so it
        bears the loss per day seen in the review until then (the notice runs either way)."""
        t = c.terms
        first_day_out = max(day + t.notice_days, day + 1)  # in force through today
        if t.early_termination_fee <= 0.0 or _term_ends(c, day) or not ends_inside_a_term(t, first_day_out):
            return True
        return loss / days * (term_end_day(t, day) - day - 1) > t.early_termination_fee

    def _leave(self, c: ContractState, party: str, reason: str, day: int) -> None:
        """`party` gives notice: for cause when the other party was in breach in the period
        just settled (the test on the Contract docstring; free), else without (a fee inside a
        term)."""
        for_cause = c.breach_by is not None and c.breach_by != party
        if for_cause:
            reason += f" (for cause: the {c.breach_by}'s breach)"
        self.exits.append((day, c.terms.id, party, reason))
        self.model.give_notice(c, party, for_cause)

    # --- every day ---------------------------------------------------------------------------

    def end_of_day(self, day: int) -> None:
        """Adapt buffers after a hurting disruption, close facilities that lost a critical
        input for too long, and run a formation round when one is due."""
        self._adapt_buffers(day)
        self._cascade(day)
        if (day + 1) % self.spec.formation_interval_days == 0:
            self._formation_round(day)

    def _adapt_buffers(self, day: int) -> None:
        s = self.spec
        flows = self.model.inputs_flow
        for inp in self.model.input_states:
            k = inp.index
            if flows["unmet_t"][day, k] > 0.0:
                self.hurt[k] = True
                continue
            if not self.hurt.pop(k, False):
                continue
            added = self.extra_buffer_days.get(k, 0.0)
            step = min(s.buffer_step_days, s.buffer_budget_days - added)
            # days of the mean use (a demand_pattern is mean 1), as buffer_days counts them
            need = sum(sub.max_share * inp.spec.demand_t_per_day / sub.ratio for sub in inp.substitutes[:1])
            if step <= 0.0 or need <= 0.0:
                continue
            self.extra_buffer_days[k] = added + step
            inp.buffer_cap += step * need
            owner = next(f.fid for f in self.model.facilities if inp in f.inputs)
            self.adaptations.append((day, owner, f"buffer_t:{inp.spec.material}", inp.buffer_cap))

    def source_buffer(self, c: ContractState, day: int, penalty_owed: float, period_days: int) -> None:
        """A supplier that paid penalties keeps a source buffer when that costs less: the
        penalty against the holding cost the stream's storage books (sim/day/tidy_up.py) on
        the extra stock, held full over the period."""
        s = self.spec
        st = c.supplier_stream
        added = self.extra_source_days.get(st.index, 0.0)
        step = min(s.buffer_step_days, s.buffer_budget_days - added)
        if penalty_owed <= 0.0 or step <= 0.0:
            return
        extra_t = step * c.terms.volume_t_per_day
        holding = extra_t * st.holding_cost * period_days  # what its storage would book on the extra stock
        if penalty_owed > holding:
            self.extra_source_days[st.index] = added + step
            st.storage_cap += extra_t
            self.adaptations.append((day, st.owner, f"storage_t:{st.spec.material}", st.storage_cap))

    def _cascade(self, day: int) -> None:
        limit = self.spec.cascade_closure_days
        if limit is None:
            return
        flows = self.model.inputs_flow
        for fac in self.model.facilities:
            if fac.up.closed:
                continue
            lost = any(i.spec.critical and flows["unmet_t"][day, i.index] > 0.0 for i in fac.inputs)
            run = self.unmet_run.get(fac.fid, 0) + 1 if lost else 0
            self.unmet_run[fac.fid] = run
            if run >= limit:
                self.cascade.append((day, fac.fid))
                self.model.close_now(fac.fid)

    # --- formation ---------------------------------------------------------------------------

    def _formation_round(self, day: int) -> None:
        for c in self.model.contracts:
            if self._may_form_again(c, day):
                self._reopen(c)
            if not c.latent or c.status is not Status.PENDING:
                continue
            if c.index not in self.known:
                if self.rng.random() >= self.spec.discovery_probability:
                    continue
                self.known.add(c.index)
            sup = self.model.facility_by_id[c.terms.supplier]
            buy = self.model.facility_by_id[c.terms.buyer]
            if sup.up.closed or buy.up.closed:
                continue
            self._propose(c, day)

    def _propose(self, c: ContractState, day: int) -> None:
        """Propose a known candidate: the supplier offers at most what it has not yet promised
        of what it expects to make (`capacity`), then each party accepts or refuses; a refused
        proposal keeps its first terms."""
        first = c.terms
        room = self.capacity(c.supplier_stream) - self.committed(c.supplier_stream, but=c)
        if room <= ROOM_EPS_T:
            self.refused.append((day, first.id, "supplier"))
            return
        if room < first.volume_t_per_day:
            c.terms = replaced(first, volume_t_per_day=room)
            self.model.contract_changed(c)
        if not self.supplier_accepts(c, day):
            self.refused.append((day, first.id, "supplier"))
        elif not self.buyer_accepts(c, day):
            self.refused.append((day, first.id, "buyer"))
        else:
            self.formed.append((day, first.id))
            self.proposals.setdefault(c.index, first)
            sub = c.buyer_input[1]
            self.marks[c.index] = (sub.received_t, sub.dumped_t)
            self.model.start_contract(c, day + 1)
            return
        if c.terms is not first:
            c.terms = first
            self.model.contract_changed(c)

    def _may_form_again(self, c: ContractState, day: int) -> bool:
        """A link the agents formed, that a party left `reform_after_days` ago or more, between
        facilities still open."""
        wait = self.spec.reform_after_days
        if wait is None or c.index not in self.proposals or c.status is not Status.ENDED or c.ended_day is None:
            return False
        closed = any(self.model.facility_by_id[f].up.closed for f in (c.terms.supplier, c.terms.buyer))
        return day - c.ended_day >= wait and not closed

    def _reopen(self, c: ContractState) -> None:
        """The link is a known candidate again, on the terms it was first proposed on, with a
        new relationship's trust and no history."""
        c.status = Status.PENDING
        self.model.set_latent(c, True)
        c.terms = self.proposals[c.index]
        self.model.contract_changed(c)
        c.end_day = c.ended_day = c.notice_by = c.breach_by = None
        c.end_reason, c.for_cause = "", False
        sub = c.buyer_input[1]
        self.marks[c.index] = (sub.received_t, sub.dumped_t)
        c.trust = self.spec.trust_initial
        c.benefit_history.clear()
        self.tallies.pop(c.index, None)

    def availability(self, fid: str, day: int) -> tuple[float, float]:
        """A facility's observed availability and mean outage length (days) so far."""
        k = self.model.facility_index[fid]
        up = self.model.up_history[: day + 1, k]
        avail = float(up.mean())
        downs = [e - s for s, e, cause in self.model.facility_by_id[fid].up.open_log(day + 1) if cause != "closure"]
        return avail, (float(np.mean(downs)) if downs else 1.0)

    def delivery_share(self, c: ContractState, day: int) -> float:
        """The share of the contract the supplier can expect to deliver: its observed
        availability, scaled down if its stream is already committed beyond its output."""
        st = c.supplier_stream
        avail, _ = self.availability(c.terms.supplier, day)
        committed = sum(o.terms.volume_t_per_day for o in st.live if promised(o) and not o.is_backup)
        output = st.spec.rate_t_per_day * st.mass_factor
        total = committed + c.terms.volume_t_per_day
        return avail * min(1.0, output / total) if total > 0 else avail

    def supplier_accepts(self, c: ContractState, day: int) -> bool:
        """Expected profit per t covers the penalty the supplier expects from its own history
        (and from what it has already promised)."""
        t = c.terms
        haul = self.model.haul_per_t(c) if t.transport_paid_by == "supplier" else 0.0
        profit = c.price_per_t + c.supplier_stream.disposal_cost - haul  # today's price, indexed or fixed
        return profit >= t.penalty_per_t_short * (1.0 - self.delivery_share(c, day))

    def buyer_accepts(self, c: ContractState, day: int) -> bool:
        """The buyer still needs the material, and its savings per t exceed its dependence risk
        (sim.expectations.dependence_risk_per_t): the shortage it expects beyond its buffer's
        cover, valued at what falling back costs it (market price, emergency premium or lost
        margin) net of what the t would have cost and of the penalty it would receive."""
        t = c.terms
        inp, sub = c.buyer_input
        use = inp.spec.demand_t_per_day * sub.max_share / sub.ratio  # the mean: a volume is a flat rate
        contracted = sum(p.terms.volume_t_per_day for p in sub.primaries if promised(p))
        if contracted + t.volume_t_per_day > use * (1.0 + 1e-9):
            return False
        _, mttr = self.availability(t.supplier, day)
        avail = self.delivery_share(c, day)
        cost = self.buyer_cost_per_t(c)
        saving = sub.ratio * inp.virgin_price - cost
        cover = inp.buffer_cap / use if use > 0 else math.inf
        dependence = dependence_cost_per_t(sub.ratio, self.fallback(inp), cost, t.penalty_per_t_short)
        return saving > dependence_risk_per_t(self.spec.risk_aversion, avail, cover, mttr, dependence)



def _term_ends(c: ContractState, day: int) -> bool:
    """The settlement on `day` closes a minimum term."""
    term = c.terms.min_term_days
    return term > 0 and (day + 1 - c.terms.start_day) % term == 0


def _constant(prices: np.ndarray) -> bool:
    return prices.size == 0 or bool((prices == prices[0]).all())


def latent_contracts(model: World) -> list[Contract]:
    """Candidate exchanges no contract covers yet, as contracts on the `[formation]` terms that
    start only if formation forms them."""
    from sim.matching import candidate_exchanges, formed_contract

    sc = model.spec
    covered = {(c.supplier, c.material, c.buyer) for c in sc.contracts}
    taken = {c.id for c in sc.contracts}
    out = []
    for cand in candidate_exchanges(sc):
        if (cand.supplier, cand.material, cand.buyer) in covered or cand.net_value_per_t <= 0.0:
            continue
        cid = f"{FORMED_PREFIX}{cand.contract_id}"
        if cid in taken:
            continue
        taken.add(cid)
        volume = min(cand.capacity_t_per_day, cand.max_take_t_per_day)
        if volume <= 0.0:
            continue
        terms = formed_contract(sc, cand, volume, cid)
        update: dict[str, object] = {"start_day": model.horizon + 1}
        if sc.policy.penalty_per_t_short is not None:
            update["penalty_per_t_short"] = sc.policy.penalty_per_t_short
        out.append(terms.model_copy(update=update))
        covered.add((cand.supplier, cand.material, cand.buyer))
    return out
