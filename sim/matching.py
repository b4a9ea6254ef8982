"""Matching: candidate exchanges, their margins and break-even distances, and network formation.

A *candidate exchange* is one supplier output stream paired with one buyer input that lists the
stream's material under `substitutes` (never a facility with itself). Every money figure is per
t of secondary material *delivered* (after any preprocessing at the source):

    mass factor f          = (1 - moisture) / (1 - target_moisture) with dewatering, else 1
                             (dry matter conserved: sim.logistics.dewatered_mass_t(1, ...))
    supply                 = stream rate_t_per_day x f
    capacity               = (1 + commitment_allowance) x supply x availability
                             (sim.implied.commitment_capacity_t_per_day: what the supplier
                             expects to make, so what the rules let it commit)
    max take               = demand_t_per_day x max_share / ratio (the mean under a demand_pattern)
    avoided disposal   AD  = disposal cost per wet t / f          (wet t not disposed per t delivered)
    avoided procurement AP = virgin_price_per_t of the input material x ratio
    processing         PR  = substitute processing_cost_per_t + preprocessing cost_per_t / f
    quality assurance  QA  = intermediary test_cost_per_t if the exchange is routed through it, else 0
    margin             M   = AD + AP - PR - QA                       (sim.logistics.Margin.per_t)
    transport          T   = cost_per_tkm x km + cost_per_trip / truck_capacity_t
    net value          V   = M - T
    break-even         d*  = (M - cost_per_trip / truck_capacity_t) / cost_per_tkm, 0 if not positive
                             (so T(d*) = M exactly; infinite when cost_per_tkm = 0)

Transport is by road (trucks) unless an enabled listed contract of the same exchange has
`mode = "pipe"`: the pipe exists, so the exchange uses it, with T = pipe_cost_per_t (no trips,
no t-km), d* infinite when M >= T else 0 (a pipe's cost does not grow with distance; tables
print "pipe" there), never through the intermediary, and at most pipe_capacity_t_per_day (a
bound of its own in the LP and in greedy). Any other exchange is road: there is no pipe
between plants that have no pipe contract.

km is the road distance supplier -> buyer (sim.logistics.road_km). An exchange is routed through
the intermediary when the `[intermediary]` section is present and enabled and either
`policy.intermediary = true`, or `policy.intermediary` is unset and a listed contract of the
same stream and input has `via_intermediary = true`.

Formation (`form_network`) replaces the listed contracts by the network a rule forms:

- `system_optimal`: the linear program (scipy.optimize.linprog, HiGHS)
  max sum_c V_c x_c over candidates with V_c > 0, subject to
  sum_{c of stream s} x_c <= capacity_s, x_c summed per (input, substitute) <= max take, and
  sum_{c into input i} ratio_c x_c <= demand_i, x_c <= a pipe's capacity, x >= 0;
- `greedy`: streams in file order (facilities, then their outputs) each take their single best
  remaining buyer by V per t (ties: candidate order) at volume min(capacity, remaining
  take), the remaining take also limited by the input's remaining functional demand / ratio
  (and by a pipe's capacity). Greedy is a feasible point of the LP, so its value never exceeds the LP optimum.

Formed contracts: id "{supplier}-{buyer}-{material}", transport paid by the buyer, price so
that the supplier gets `formation.supplier_share` of V: the supplier gains price + AD - its
preprocessing cost per delivered t, hence price = share x V - AD + preprocessing / f;
penalty, tolerance, settlement, minimum term, notice and early-termination fee from `[formation]`;
an exchange with a pipe forms a pipe contract with the listed pipe's cost and capacity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from sim.implied import commitment_capacity_t_per_day
from sim.logistics import Margin, Roads, break_even_km, dewatered_mass_t, pipe_break_even_km, transport_per_t
from sim.scenario import Contract, Facility, Indexation, Scenario, contract_input, secondary_need_t_per_day

FLOW_EPS = 1e-6  # t/day; smaller LP flows are solver noise, not contracts
RULES = ("explicit", "system_optimal", "greedy")


@dataclass(frozen=True)
class Candidate:
    """One possible exchange, with every component of its margin per delivered t."""

    supplier: str
    buyer: str
    material: str  # the secondary material (the supplier's output)
    input: str  # the buyer's input (functional) material
    category: str
    distance_km: float
    ratio: float
    supply_t_per_day: float
    max_take_t_per_day: float
    avoided_disposal_per_t: float
    avoided_procurement_per_t: float
    processing_per_t: float  # substitute processing + preprocessing per delivered t
    preprocessing_per_t: float  # the supplier's part of processing_per_t
    quality_assurance_per_t: float
    transport_per_t: float
    via_intermediary: bool
    break_even_km: float  # (margin - cost_per_trip / truck_capacity_t) / cost_per_tkm, >= 0 (pipe: inf or 0)
    mode: str = "road"  # "pipe" when a listed pipe contract links the exchange (transport_per_t: its cost)
    pipe_capacity_t_per_day: float | None = None  # the pipe's, when mode = "pipe" (None: unlimited)
    # most the supplier commits from the stream across its primaries (sim.implied.commitment_capacity_t_per_day)
    capacity_t_per_day: float = math.inf

    @property
    def net_value_per_t(self) -> float:
        """Margin less transport at the actual distance."""
        return self.margin.per_t - self.transport_per_t

    @property
    def margin(self) -> Margin:
        """The margin components before transport."""
        return Margin(
            self.avoided_disposal_per_t,
            self.avoided_procurement_per_t,
            self.processing_per_t,
            self.quality_assurance_per_t,
        )

    @property
    def stream(self) -> tuple[str, str]:
        """(supplier, material): the output stream."""
        return (self.supplier, self.material)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(supplier, material, buyer, input): identifies the exchange."""
        return (self.supplier, self.material, self.buyer, self.input)

    @property
    def contract_id(self) -> str:
        """The id a formed contract of this exchange gets."""
        return f"{self.supplier}-{self.buyer}-{self.material}"


def _routed_keys(sc: Scenario) -> set[tuple[str, str, str, str]] | bool:
    """Which exchanges go through the intermediary: all or none (a bool) when it is off or
    `policy.intermediary` says, else the keys of the enabled contracts routed through it."""
    hub = sc.intermediary
    if hub is None or not hub.enabled:
        return False
    if sc.policy.intermediary is not None:
        return sc.policy.intermediary
    facilities = {f.id: f for f in sc.facilities}
    return {
        (c.supplier, c.material, c.buyer, contract_input(sc, c, facilities).material)
        for c in sc.contracts
        if c.enabled and c.via_intermediary
    }


def _pipes(sc: Scenario) -> dict[tuple[str, str, str, str], Contract]:
    """The first enabled listed pipe contract of each exchange, by key."""
    facilities = {f.id: f for f in sc.facilities}
    out: dict[tuple[str, str, str, str], Contract] = {}
    for c in sc.contracts:
        if c.enabled and c.mode == "pipe":
            out.setdefault((c.supplier, c.material, c.buyer, contract_input(sc, c, facilities).material), c)
    return out


def candidate_exchanges(sc: Scenario) -> list[Candidate]:
    """Every (supplier output stream, buyer input) pair the input accepts as a substitute,
    in file order (suppliers, their outputs, buyers, their inputs). See the module docstring
    for each component's formula."""
    materials = {m.id: m for m in sc.materials}
    tr = sc.transport
    trip_per_t = tr.cost_per_trip / tr.truck_capacity_t
    hub = sc.intermediary
    roads = Roads(sc)
    routed_keys = _routed_keys(sc)
    pipes = _pipes(sc)
    accepting: dict[str, list] = {}  # material -> (buyer, input, substitute), in file order
    for buy in sc.facilities:
        for inp in buy.inputs:
            for s in inp.substitutes:
                accepting.setdefault(s.material, []).append((buy, inp, s))
    out: list[Candidate] = []
    for sup in sc.facilities:
        for o in sup.outputs:
            mat = materials[o.material]
            pre = o.preprocessing
            f = dewatered_mass_t(1.0, mat.moisture, pre.target_moisture) if pre is not None else 1.0
            disposal = o.disposal_cost_per_t if o.disposal_cost_per_t is not None else mat.disposal_cost_per_t
            pre_per_t = (pre.cost_per_t / f) if pre is not None else 0.0
            capacity = commitment_capacity_t_per_day(sc, sup, o)
            for buy, inp, s in accepting.get(o.material, ()):
                if buy.id == sup.id:
                    continue
                km = roads.km(sup.id, buy.id)
                pipe = pipes.get((sup.id, o.material, buy.id, inp.material))
                routed = pipe is None and (
                    routed_keys
                    if isinstance(routed_keys, bool)
                    else (sup.id, o.material, buy.id, inp.material) in routed_keys
                )
                qa = hub.test_cost_per_t if (routed and hub is not None) else 0.0
                margin = Margin(
                    disposal / f,
                    materials[inp.material].virgin_price_per_t * s.ratio,
                    s.processing_cost_per_t + pre_per_t,
                    qa,
                )
                c = Candidate(
                    supplier=sup.id,
                    buyer=buy.id,
                    material=o.material,
                    input=inp.material,
                    category=s.category,
                    distance_km=km,
                    ratio=s.ratio,
                    supply_t_per_day=o.rate_t_per_day * f,
                    max_take_t_per_day=inp.demand_t_per_day * s.max_share / s.ratio,
                    avoided_disposal_per_t=margin.avoided_disposal_per_t,
                    avoided_procurement_per_t=margin.avoided_procurement_per_t,
                    processing_per_t=margin.processing_per_t,
                    preprocessing_per_t=pre_per_t,
                    quality_assurance_per_t=qa,
                    transport_per_t=transport_per_t(km, tr) if pipe is None else pipe.pipe_cost_per_t,
                    via_intermediary=routed,
                    break_even_km=(
                        break_even_km(margin, tr.cost_per_tkm, trip_per_t)
                        if pipe is None
                        else pipe_break_even_km(margin, pipe.pipe_cost_per_t)
                    ),
                    mode="road" if pipe is None else "pipe",
                    pipe_capacity_t_per_day=None if pipe is None else pipe.pipe_capacity_t_per_day,
                    capacity_t_per_day=capacity,
                )
                out.append(c)
    return out


def sorted_by_value(cands: Iterable[Candidate]) -> list[Candidate]:
    """Candidates by net value per t, best first (ties keep file order)."""
    return sorted(cands, key=lambda c: -c.net_value_per_t)


# --- formation -------------------------------------------------------------------------------


def _constraints(cands: list[Candidate], demand: dict[tuple[str, str], float]):
    """The LP's A_ub, b_ub over the given candidates (see the module docstring)."""
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    n = len(cands)
    groups: dict[tuple, list[int]] = {}
    for j, c in enumerate(cands):
        groups.setdefault(("supply", *c.stream), []).append(j)
        groups.setdefault(("take", c.buyer, c.input, c.material), []).append(j)
        groups.setdefault(("demand", c.buyer, c.input), []).append(j)
        if c.pipe_capacity_t_per_day is not None:
            groups[("pipe", j)] = [j]
    for key, idx in groups.items():
        row = np.zeros(n)
        first = cands[idx[0]]
        if key[0] == "supply":  # what the supplier expects to make, not its mean rate
            row[idx] = 1.0
            rhs.append(first.capacity_t_per_day)
        elif key[0] == "take":
            row[idx] = 1.0
            rhs.append(first.max_take_t_per_day)
        elif key[0] == "pipe":
            row[idx] = 1.0
            rhs.append(first.pipe_capacity_t_per_day)
        else:
            row[idx] = [cands[j].ratio for j in idx]
            rhs.append(demand[(first.buyer, first.input)])
        rows.append(row)
    return np.array(rows), np.array(rhs)


def _demands(sc: Scenario) -> dict[tuple[str, str], float]:
    # mean demand: the LP's flows are long-run t/day, and a demand_pattern has mean 1
    return {(f.id, i.material): i.demand_t_per_day for f in sc.facilities for i in f.inputs}


def solve_system_optimal(sc: Scenario, cands: list[Candidate] | None = None) -> dict[Candidate, float]:
    """Flows (t/day) maximising total net value: the LP of the module docstring, solved by
    HiGHS. Only candidates with positive net value are variables; zero flows are left out."""
    cands = [c for c in (candidate_exchanges(sc) if cands is None else cands) if c.net_value_per_t > 0]
    if not cands:
        return {}
    a_ub, b_ub = _constraints(cands, _demands(sc))
    value = np.array([c.net_value_per_t for c in cands])
    res = linprog(-value, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    if res.status != 0:  # bounded and feasible by construction (x = 0)
        raise RuntimeError(f"network formation LP failed: {res.message}")
    return {c: float(x) for c, x in zip(cands, res.x, strict=True) if x > FLOW_EPS}


def solve_greedy(sc: Scenario, cands: list[Candidate] | None = None) -> dict[Candidate, float]:
    """Flows (t/day) of greedy bilateral matching: each stream, in file order, takes its best
    remaining buyer (positive net value per t, ties in candidate order) at volume
    min(remaining supply, remaining take)."""
    cands = candidate_exchanges(sc) if cands is None else cands
    func_left = _demands(sc)
    take_left = {(c.buyer, c.input, c.material): c.max_take_t_per_day for c in cands}
    flows: dict[Candidate, float] = {}
    streams = list(dict.fromkeys(c.stream for c in cands))
    for stream in streams:
        options = []
        for c in cands:
            if c.stream != stream or c.net_value_per_t <= 0:
                continue
            room = min(take_left[(c.buyer, c.input, c.material)], func_left[(c.buyer, c.input)] / c.ratio)
            if c.pipe_capacity_t_per_day is not None:
                room = min(room, c.pipe_capacity_t_per_day)
            if room > FLOW_EPS:
                options.append((c, room))
        if not options:
            continue
        best, room = max(options, key=lambda cr: cr[0].net_value_per_t)  # first of equals wins
        qty = min(best.capacity_t_per_day, room)
        if qty <= FLOW_EPS:
            continue
        flows[best] = qty
        take_left[(best.buyer, best.input, best.material)] -= qty
        func_left[(best.buyer, best.input)] -= qty * best.ratio
    return flows


def formed_price_per_t(sc: Scenario, c: Candidate) -> float:
    """Price per t that gives the supplier `formation.supplier_share` of the net value, with
    transport paid by the buyer: share x V - AD + preprocessing per delivered t."""
    return sc.formation.supplier_share * c.net_value_per_t - c.avoided_disposal_per_t + c.preprocessing_per_t


def formed_contract(sc: Scenario, c: Candidate, volume: float, cid: str, backup: bool = False) -> Contract:
    """A contract for a candidate exchange on the `[formation]` terms (a backup also gets the
    standby fee and activation lead time)."""
    fm = sc.formation
    terms = dict(
        id=cid,
        supplier=c.supplier,
        buyer=c.buyer,
        material=c.material,
        input=c.input,
        volume_t_per_day=volume,
        price_per_t=formed_price_per_t(sc, c),
        transport_paid_by="buyer",
        penalty_per_t_short=fm.penalty_per_t_short,
        tolerance=fm.tolerance,
        settlement_days=fm.settlement_days,
        min_term_days=fm.min_term_days,
        notice_days=fm.notice_days,
        early_termination_fee=fm.early_termination_fee,
        via_intermediary=c.via_intermediary,
    )
    if fm.index_share > 0.0:
        terms["indexation"] = Indexation(share=fm.index_share, review_days=fm.index_review_days,
                                         floor_per_t=fm.index_floor_per_t, cap_per_t=fm.index_cap_per_t)
    if c.mode == "pipe":  # the exchange's pipe carries it
        terms.update(
            mode="pipe",
            pipe_cost_per_t=c.transport_per_t,
            pipe_capacity_t_per_day=c.pipe_capacity_t_per_day,
        )
    if backup:
        terms.update(
            role="backup",
            standby_fee_per_day=fm.backup_standby_fee_per_day,
            activation_lead_time_days=fm.backup_activation_lead_time_days,
        )
    return Contract(**terms)


def _unique_id(base: str, taken: set[str]) -> str:
    cid, k = base, 2
    while cid in taken:
        cid, k = f"{base}-{k}", k + 1
    taken.add(cid)
    return cid


def form_network(sc: Scenario, rule: str | None = None) -> Scenario:
    """The scenario with `contracts` replaced by the network the rule forms (`rule` defaults to
    `formation.rule`; `explicit` returns `sc` unchanged). Scripted notice events on contracts
    that no longer exist are dropped."""
    rule = sc.formation.rule if rule is None else rule
    if rule == "explicit":
        return sc
    if rule not in RULES:
        raise ValueError(f"unknown formation rule '{rule}' (allowed: {', '.join(RULES)})")
    cands = candidate_exchanges(sc)
    flows = solve_system_optimal(sc, cands) if rule == "system_optimal" else solve_greedy(sc, cands)
    taken: set[str] = set()
    contracts = [formed_contract(sc, c, flows[c], _unique_id(c.contract_id, taken)) for c in cands if c in flows]
    ids = {c.id for c in contracts}
    events = [e for e in sc.events if e.contract is None or e.contract in ids]
    return sc.model_copy(update={"contracts": contracts, "events": events})


def exchange_value(sc: Scenario, cands: list[Candidate] | None = None) -> dict[tuple[str, str, str, str], Candidate]:
    """Candidates by key (supplier, material, buyer, input)."""
    return {c.key: c for c in (candidate_exchanges(sc) if cands is None else cands)}


def contract_key(
    sc: Scenario, c: Contract, facilities: Mapping[str, Facility] | None = None
) -> tuple[str, str, str, str]:
    """(supplier, material, buyer, input) of a contract (`facilities`: see contract_input)."""
    return (c.supplier, c.material, c.buyer, contract_input(sc, c, facilities).material)


def total_value(sc: Scenario, contracts: Iterable[Contract] | None = None) -> float:
    """Net value per day of a network at contracted volumes: sum over enabled primary contracts
    (the scenario's, or those given) of volume x net value per t of their exchange. Backups
    deliver only while a primary fails, so they add nothing at full supply."""
    by_key = exchange_value(sc)
    chosen = sc.contracts if contracts is None else contracts
    facilities = {f.id: f for f in sc.facilities}
    return math.fsum(
        c.volume_t_per_day * by_key[contract_key(sc, c, facilities)].net_value_per_t
        for c in chosen
        if c.enabled and c.role == "primary"
    )


# --- redundancy ------------------------------------------------------------------------------


def apply_redundancy(sc: Scenario, k: int) -> Scenario:
    """Give each input with substitutes up to `k` sources.

    Its enabled contracts, primaries first then backups, each group by net value per t of the
    exchange (ties in file order), keep the first k; the rest get `enabled = false`. With fewer
    than k, backup contracts are added from the best remaining candidate streams (by net value
    per t; streams with no contract into the input yet), volume = the input's secondary need at
    full supply (sim.scenario.secondary_need_t_per_day) capped by the stream's supply and the
    substitute's max take, on the `[formation]` terms with its backup standby fee and lead time.
    """
    if k < 1:
        raise ValueError(f"redundancy k must be at least 1 (given {k})")
    cands = candidate_exchanges(sc)
    by_key = exchange_value(sc, cands)
    contracts = list(sc.contracts)
    taken = {c.id for c in contracts}
    facilities = {f.id: f for f in sc.facilities}
    feeds: dict[tuple[str, str], list[int]] = {}
    for j, c in enumerate(contracts):
        feeds.setdefault((c.buyer, contract_input(sc, c, facilities).material), []).append(j)
    into: dict[tuple[str, str], list[Candidate]] = {}  # candidates by (buyer, input), in file order
    for c in cands:
        into.setdefault((c.buyer, c.input), []).append(c)
    added: list[Contract] = []
    for fac in sc.facilities:
        for inp in fac.inputs:
            if not inp.substitutes:
                continue
            mine = feeds.get((fac.id, inp.material), [])
            enabled = [j for j in mine if contracts[j].enabled]
            ranked = sorted(
                enabled,
                key=lambda j: (
                    contracts[j].role != "primary",
                    -by_key[contract_key(sc, contracts[j], facilities)].net_value_per_t,
                ),
            )
            for j in ranked[k:]:
                contracts[j] = contracts[j].model_copy(update={"enabled": False})
            missing = k - len(ranked)
            if missing <= 0:
                continue
            used = {(contracts[j].supplier, contracts[j].material) for j in mine}
            pool = sorted_by_value(c for c in into.get((fac.id, inp.material), []) if c.stream not in used)
            need = secondary_need_t_per_day(inp)
            for c in pool:
                if missing <= 0:
                    break
                if c.stream in used:
                    continue
                volume = min(need, c.supply_t_per_day, c.max_take_t_per_day)
                if volume <= FLOW_EPS:
                    continue
                used.add(c.stream)
                added.append(formed_contract(sc, c, volume, _unique_id(f"{c.contract_id}-backup", taken), True))
                missing -= 1
    return sc.model_copy(update={"contracts": contracts + added})
