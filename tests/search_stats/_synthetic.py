"""Synthetic evaluators for the race: known objective means and known constraint probabilities.

A run of candidate c at replication r under root seed `root` draws its noise from numpy
Generators keyed by (root, r) (shared by every candidate: common random numbers) and by
(root, c, r) (its own), so any pair can be asked for in any order and gives the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Synthetic:
    """Candidates with objective means `cost`, chance of meeting the constraint `p`.

    cost_r(c) = cost[c] + common_sd * Z_r + own_sd * E_cr, with Z_r shared by all candidates;
    reliable_r(c) = 1 if U_cr < p[c] else 0 (U_cr uniform, own to the run).
    """

    cost: list[float]
    p: list[float]
    root: int
    common_sd: float = 20.0
    own_sd: float = 2.0
    calls: list[list[tuple[int, int]]] = field(default_factory=list)

    def run(self, c: int, r: int) -> dict[str, float]:
        shared = np.random.default_rng([self.root, r, 10_000]).standard_normal()
        own = np.random.default_rng([self.root, r, c])
        noise, u = own.standard_normal(), own.random()
        return {
            "cost": self.cost[c] + self.common_sd * shared + self.own_sd * noise,
            "reliable": 1.0 if u < self.p[c] else 0.0,
        }

    def __call__(self, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, float]]:
        self.calls.append(list(pairs))
        return {(c, r): self.run(c, r) for c, r in pairs}

    def best_feasible(self, target: float) -> int | None:
        feasible = [c for c in range(len(self.cost)) if self.p[c] >= target]
        return min(feasible, key=lambda c: (self.cost[c], c)) if feasible else None
