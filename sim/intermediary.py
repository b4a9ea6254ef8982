"""The intermediary: a neutral broker that pools member supply, tests it, consolidates haulage
and serves member buyers from the pool (see ``IntermediarySpec`` in sim/scenario.py).

For a contract routed through it there are two legs. Inbound, the supplier delivers the
contract volume into the pool and is paid the contract price by the intermediary; it owes the
intermediary its short-delivery penalties. Outbound, the intermediary ships each buyer what
its buffer can take (a call-off, at most the contract volume), charges the price plus its fee,
and owes the buyer the penalties for what it failed to ship of that call-off. Because the pool
is shared, a buyer whose own supplier is down is served from the other members' supply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.contracts import ContractState, in_spec
from sim.ledger import DISPOSAL, HAULIER, PROCESSING
from sim.logistics import haul_cost
from sim.scenario import IntermediarySpec
from sim.streams import LotQueue

if TYPE_CHECKING:
    from sim.day.world import World


def allocate_by_rank(available_t: float, due_t: list[float], rank: list[tuple[float, ...]]) -> list[float]:
    """Serve the highest-ranked first (ties in list order)."""
    out = [0.0] * len(due_t)
    left = available_t
    for k in sorted(range(len(due_t)), key=lambda i: (tuple(-r for r in rank[i]), i)):
        out[k] = min(due_t[k], left)
        left -= out[k]
    return out


class Intermediary(mesa.Agent):
    """The broker agent: pooled storage per material, inbound inspection, outbound call-offs."""

    model: World

    def __init__(self, model: World, spec: IntermediarySpec, rng: np.random.Generator):
        super().__init__(model)
        self.spec = spec
        self.hid = spec.id
        self.detection_rng = rng
        self.pool: dict[str, LotQueue] = {}
        self.shelf_life: dict[str, float | None] = {}
        self.contracts: list[ContractState] = []
        self.live: list[ContractState] = []  # those not latent, in the same order (SymbiosisModel.set_latent)
        self.stock_start = 0.0  # the opening pool, all materials (open_stock)

    @property
    def stock_t(self) -> float:
        """Material in the pool, all materials."""
        return sum(q.total for q in self.pool.values())

    def join(self, c: ContractState, shelf_life: float | None) -> None:
        """Route a contract through the pool."""
        self.contracts.append(c)
        if not c.latent:
            self.live.append(c)
        self.pool.setdefault(c.terms.material, LotQueue())
        self.shelf_life[c.terms.material] = shelf_life

    def open_stock(self, materials: dict) -> None:
        """Put the opening stock (`initial_t`) in the pool: per material one lot made on day 0
        at the material's nominal quality, which keeps for the pool's shelf life of the
        material from day 0 (that of its routed contracts' streams, else the material's)."""
        for mid, qty in self.spec.initial_t.items():
            mat = materials[mid]
            self.shelf_life.setdefault(mid, mat.shelf_life_days)
            nominal = np.array(list(mat.quality.values()), dtype=float) if mat.quality else None
            self.pool.setdefault(mid, LotQueue()).put(qty, 0, nominal)
        self.stock_start = self.stock_t

    # --- inbound -----------------------------------------------------------------------------

    def receive(self, c: ContractState, pieces: list, day: int) -> None:
        """Test an inbound shipment: off-spec lots caught (with the detection probability) go
        back for disposal at the supplier's cost; the rest enter the pool, paid at the price."""
        m = self.model
        t = c.terms
        accepted = rejected = 0.0
        for qty, born, quality in pieces:
            off_spec = not in_spec(quality, c.inbound_bands)
            caught = off_spec and self.detection_rng.random() < self.spec.detection_probability
            if caught:
                rejected += qty
            else:
                self.pool[t.material].put(qty, born, quality)
                accepted += qty
        tested = accepted + rejected
        cf = m.contracts_flow
        k = c.index
        cf["accepted_t"][day, k] += accepted
        cf["rejected_t"][day, k] += rejected
        cf["short_t"][day, k] += rejected
        m.hub_flow["received_t"][day, 0] += accepted
        m.streams_flow["rejected_t"][day, c.supplier_stream.index] += rejected
        c.in_transit_t -= tested
        c.period.taken_t += accepted
        c.period.short_t += rejected
        m.money.book(day, self.hid, PROCESSING, tested * self.spec.test_cost_per_t, "testing", k)
        m.money.book(day, self.hid, t.supplier, accepted * c.price_per_t, "price", k)
        m.money.book(day, t.supplier, DISPOSAL, rejected * c.supplier_stream.disposal_cost, "rejection_disposal", k)

    # --- outbound ----------------------------------------------------------------------------

    def call_off(self, c: ContractState, day: int) -> float:
        """What the buyer asks for today: nothing before the first inbound delivery can have
        reached the pool, then at most the contract's due quantity, and no more than its
        buffer can take by arrival (room now, plus its use until then, less what is
        already on the way)."""
        due = c.due_today(day)
        if due <= 0.0 or day < c.terms.start_day + c.lag_days:  # nothing can be in the pool yet
            return 0.0
        inp, sub = c.buyer_input
        # the mean use: a demand_pattern's seasons are not foreseen here (in a low season the
        # buffer then overflows, as it does under direct deliveries)
        use_per_day = inp.spec.demand_t_per_day * sub.max_share / sub.ratio
        room = inp.buffer_cap - inp.buffer_level + use_per_day * c.lag_out - inp.inbound_t
        return min(due, max(0.0, room))

    def dispatch(self, day: int) -> None:
        """Ship today's call-offs from the pool, allocating a short pool by the rule, on
        consolidated trucks per buyer."""
        m = self.model
        of = m.contracts_flow
        by_material: dict[str, list[tuple[ContractState, float]]] = {}
        for c in self.live:  # a latent contract is never due
            want = self.call_off(c, day)
            if want > 0.0:
                by_material.setdefault(c.terms.material, []).append((c, want))
        routes: dict[str, list[tuple[ContractState, float]]] = {}
        for material, wants in by_material.items():
            pool = self.pool[material]
            ship = self._allocate(pool.total, wants)
            for (c, want), q in zip(wants, ship, strict=True):
                k = c.index
                short = max(0.0, want - q)
                of["out_due_t"][day, k] = want
                of["out_shipped_t"][day, k] = q
                of["out_short_t"][day, k] += short
                p = c.out_period
                p.committed_t += want
                p.shipped_t += q
                p.short_t += short
                if q <= 0.0:
                    continue
                if self.spec.blending:  # mix the pile before loading; oldest material still goes first
                    pool.mix_quality()
                pieces = pool.take(q)
                c.out_in_transit_t += q
                c.buyer_input[0].inbound_t += q
                m.hub_flow["shipped_t"][day, 0] += q
                routes.setdefault(c.terms.buyer, []).append((c, q))
                m.ship(c, pieces, c.lag_out, from_hub=True)
        for legs in routes.values():
            self.pay_haulage(day, legs, lambda c: c.km_out)

    def _allocate(self, available: float, wants: list[tuple[ContractState, float]]) -> list[float]:
        due = [w for _, w in wants]
        rule = self.spec.reallocation
        if sum(due) <= available:
            return due
        if rule == "pro_rata":
            share = available / sum(due)
            return [d * share for d in due]
        if rule == "penalty_exposure":
            rank = [(c.terms.penalty_per_t_short,) for c, _ in wants]
        else:
            rank = [(float(c.buyer_input[0].spec.critical), c.buyer_input[0].spec.lost_margin_per_t) for c, _ in wants]
        return allocate_by_rank(available, due, rank)

    def pay_haulage(self, day: int, legs: list[tuple[ContractState, float]], km_of) -> None:
        """One route, one day: the loads share trucks and the backhaul discount; the cost is
        split over the contracts in proportion to their tonnes. Road only: a pipe contract is
        never routed through the intermediary (sim.scenario.Contract, sim.network.route_contracts)."""
        m = self.model
        total = sum(q for _, q in legs)
        km = km_of(legs[0][0])
        cost = haul_cost(total, km, m.spec.transport) * (1.0 - self.spec.backhaul_discount)
        for c, q in legs:
            m.money.book(day, self.hid, HAULIER, cost * q / total, "transport", c.index)

    # --- end of day --------------------------------------------------------------------------

    def tidy_up(self, day: int) -> None:
        """Spoilage, overflow beyond the pool's capacity (newest first, last material first)
        to disposal at the intermediary's cost, and the holding cost of what stays."""
        m = self.model
        spoiled = sum(pool.expire(day, self.shelf_life[mat]) for mat, pool in self.pool.items())
        excess = self.stock_t - self.spec.storage_t
        overflow = 0.0
        for pool in reversed(list(self.pool.values())):
            if excess <= 1e-12:
                break
            cut = pool.trim_newest(max(0.0, pool.total - excess))
            excess -= cut
            overflow += cut
        hf = m.hub_flow
        hf["spoiled_t"][day, 0] = spoiled
        hf["overflow_t"][day, 0] = overflow
        hf["stock_t"][day, 0] = self.stock_t
        m.money.book(day, self.hid, DISPOSAL, (spoiled + overflow) * self.spec.disposal_cost_per_t, "hub_disposal")
        m.money.book(day, self.hid, PROCESSING, self.stock_t * self.spec.holding_cost_per_t_day, "holding")

