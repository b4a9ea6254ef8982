"""What the parties of a run expect of their contracts (issue 21): how much a supplier may still
commit, what a delivered t costs a buyer and what falling back costs it, and a backup's value
as insurance. The decision layer (sim/behaviour.py) inherits these; the formulas are the pure
functions of sim/implied.py (capacity) and sim/expectations.py (fallback, insurance).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.contracts import ContractState, Status
from sim.expectations import backup_cover_t_per_day, backup_insurance_value, dependence_cost_per_t, fallback_per_t
from sim.implied import availability, commitment_capacity_t_per_day

if TYPE_CHECKING:
    from sim.day.world import World


def promised(c: ContractState) -> bool:
    """In force, or formed and waiting for its start day."""
    return c.in_force or (c.status is Status.PENDING and not c.latent)


class Expectations:
    """Expectations read from the scenario and the run (a mixin of sim.behaviour.Decisions)."""

    model: World
    _capacity: dict[int, float]

    def capacity(self, stream: Any) -> float:
        """The most the supplier commits from `stream` across its primaries
        (sim.implied.commitment_capacity_t_per_day), worked out once per stream."""
        k = stream.index
        if k not in self._capacity:
            fac = next(f for f in self.model.spec.facilities if f.id == stream.owner)
            out = next(o for o in fac.outputs if o.material == stream.spec.material)
            self._capacity[k] = commitment_capacity_t_per_day(self.model.spec, fac, out)
        return self._capacity[k]

    def committed(self, stream: Any, but: ContractState | None = None) -> float:
        """Volume the supplier has promised from `stream` on primaries (in force or formed and
        waiting to start), `but` one."""
        return sum(o.terms.volume_t_per_day for o in stream.live if promised(o) and not o.is_backup and o is not but)

    def reliability(self, fid: str) -> tuple[float, float]:
        """A facility's expected availability (sim.implied.availability, from its outage law
        and maintenance) and mean repair time, as its partners know them from the file."""
        spec = next(f for f in self.model.spec.facilities if f.id == fid)
        return availability(spec, self.model.spec.scenario.horizon_days), spec.outages.mttr_days

    def buyer_cost_per_t(self, c: ContractState) -> float:
        """What a delivered t of the contract costs its buyer: price, processing, its haulage."""
        haul = self.model.haul_per_t(c) if c.terms.transport_paid_by == "buyer" else 0.0
        return c.price_per_t + c.buyer_input[1].processing_cost + haul  # today's price (sim/indexation.py)

    def fallback(self, inp: Any) -> float:
        """What the buyer pays per functional t short, falling back (sim.expectations.fallback_per_t)."""
        premium = inp.emergency[0] if inp.emergency is not None else None
        return fallback_per_t(inp.spec.virgin, inp.virgin_price, premium, inp.spec.lost_margin_per_t)

    def backup_value(self, c: ContractState, days: float) -> float:
        """A backup's value to its buyer over `days`, judged as insurance
        (sim.expectations.backup_insurance_value): the shortfall of the input's primaries it is
        expected to cover (their suppliers' expected availability and repair time, from the
        outage laws: a backup is bought for failures that have not happened yet), from what
        its supplier can be expected to have left after its own primaries, times what that
        shortfall would cost the buyer, less the standby fees."""
        inp, sub = c.buyer_input
        st = c.supplier_stream
        b_avail, _ = self.reliability(c.terms.supplier)
        allowance = self.model.spec.formation.commitment_allowance
        surplus = max(0.0, self.capacity(st) / (1.0 + allowance) - self.committed(st))
        supply = b_avail * min(c.terms.volume_t_per_day, surplus)
        primaries = []
        for s in inp.substitutes:
            for p in s.primaries:
                if p.in_force:
                    a, mttr = self.reliability(p.terms.supplier)
                    primaries.append((p.terms.volume_t_per_day * s.ratio / sub.ratio, a, mttr))
        cover = backup_cover_t_per_day(primaries, supply, c.terms.activation_lead_time_days)
        worth = dependence_cost_per_t(sub.ratio, self.fallback(inp), self.buyer_cost_per_t(c), 0.0)
        return backup_insurance_value(cover, worth, c.terms.standby_fee_per_day, days)
