"""Synthetic evaluators for the race: known objective means and known constraint probabilities.

Candidate c's runs under root seed `root` come from numpy Generators keyed by (root, c) (its
own noise and its Bernoulli draws) and by (root,) (the noise shared by every candidate at the
same replication: common random numbers). Replication r is the r-th draw of each stream, so a
pair's answer does not depend on which pairs were asked for before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_REPLICATIONS = 1024


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
    _draws: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._shared = np.random.default_rng([self.root, 10_000]).standard_normal(MAX_REPLICATIONS)

    def run(self, c: int, r: int) -> dict[str, float]:
        """The metrics of candidate c at replication r."""
        if c not in self._draws:
            own = np.random.default_rng([self.root, c])
            self._draws[c] = (own.standard_normal(MAX_REPLICATIONS), own.random(MAX_REPLICATIONS))
        noise, u = self._draws[c]
        return {
            "cost": self.cost[c] + self.common_sd * float(self._shared[r]) + self.own_sd * float(noise[r]),
            "reliable": 1.0 if u[r] < self.p[c] else 0.0,
        }

    def __call__(self, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, float]]:
        self.calls.append(list(pairs))
        return {(c, r): self.run(c, r) for c, r in pairs}

    def best_feasible(self, target: float) -> int | None:
        """The cheapest candidate whose true probability meets `target`."""
        feasible = [c for c in range(len(self.cost)) if self.p[c] >= target]
        return min(feasible, key=lambda c: (self.cost[c], c)) if feasible else None
