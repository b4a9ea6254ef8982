"""The race on the real model: two firms (FGD gypsum to a plasterboard plant), one year.

Twelve candidates: the buyer's buffer (policy.buffer_days 0, 2, 4, 7, 10, 14) x the contract's
committed volume (225 or 240 t/day); maximise net_benefit (tolerance EUR 10,000, 0.2 % of it)
subject to P(secondary_fill_rate >= 0.9) >= 0.85. Runs are made as the study runner makes them
(sim.experiment.tasks): parse_scenario(raw, source, overrides), then sim.run.run_once with the
seed of replication r, the same for every candidate (common random numbers).

The grid is every candidate at the replications the race needed to decide its winner, judged
with the race's own bound at the same replications; the race's runs are reused by the grid.
"""

from __future__ import annotations

import copy
import itertools
import tomllib

import numpy as np
import pytest

from sim.experiment.chance import cp_lower
from sim.experiment.racing import Constraint, Objective, race
from sim.experiment.seeds import replication_seed
from sim.run import run_once
from sim.scenario import parse_scenario

SOURCE = "scenarios/two_firms.toml"
LEVERS = list(itertools.product([0.0, 2.0, 4.0, 7.0, 10.0, 14.0], [225.0, 240.0]))
OBJECTIVE = Objective("net_benefit", "max", tolerance=10_000.0)
FILL = Constraint("secondary_fill_rate", ">=", 0.9, probability=0.85)
MAX_REPLICATIONS = 64
ALPHA = 0.05 / 4  # the race's feasibility level: 1 - 0.95 over 4 rungs (8, 16, 32, 64) x 1 constraint


class TwoFirms:
    """Runs of the twelve candidates, each made once and kept."""

    def __init__(self, entropy: int) -> None:
        with open(SOURCE, "rb") as handle:
            raw = tomllib.load(handle)
        self.scenarios = [
            parse_scenario(copy.deepcopy(raw), SOURCE, {"policy.buffer_days": days,
                                                       "contracts.gypsum-supply.volume_t_per_day": volume})
            for days, volume in LEVERS
        ]
        self.entropy = entropy
        self.runs: dict[tuple[int, int], dict[str, float]] = {}

    def run(self, c: int, r: int) -> dict[str, float]:
        if (c, r) not in self.runs:
            seed = replication_seed(self.entropy, r)
            self.runs[(c, r)] = run_once(self.scenarios[c], seed, horizon_days=365).metrics
        return self.runs[(c, r)]

    def __call__(self, pairs):
        return {pair: self.run(*pair) for pair in pairs}


@pytest.mark.slow
@pytest.mark.parametrize("entropy", [24, 7, 2026, 1])  # root seeds
def test_race_on_two_firms_matches_the_grid_for_a_third_of_its_runs(entropy):
    model = TwoFirms(entropy=entropy)
    result = race(len(LEVERS), model, OBJECTIVE, [FILL], budget=len(LEVERS) * MAX_REPLICATIONS,
                  max_replications=MAX_REPLICATIONS)
    # The full grid at n replications, judged by the race's own rule (a one-sided Clopper-Pearson
    # bound at the race's level): n = the chosen one's replications, or every candidate's most.
    n = MAX_REPLICATIONS if result.chosen is None else \
        next(e for e in result.estimates if e.candidate == result.chosen).replications
    grid = {c: [model.run(c, r) for r in range(n)] for c in range(len(LEVERS))}
    mean = {c: float(np.mean([row["net_benefit"] for row in rows])) for c, rows in grid.items()}
    shown = [c for c, rows in grid.items()
             if cp_lower(sum(row["secondary_fill_rate"] >= 0.9 for row in rows), n, ALPHA) >= 0.85]
    if result.chosen is None:
        # Near the target (P(fill >= 0.9) close to 0.85) nothing may be shown feasible: then the
        # full grid at the most replications must not show one either.
        assert shown == []
        return
    best = max(shown, key=lambda c: (mean[c], -c))
    assert result.chosen == best or mean[best] - mean[result.chosen] <= OBJECTIVE.tolerance
    # Runs: a third of the full grid at the most replications a candidate may get (the grid the
    # search report compares with). Against the stricter grid of every candidate at the chosen
    # one's replications it used 0.23-0.38 over these seeds (measured: seed 24, 208 of 768 runs;
    # 7, 176 of 768; 1, 144 of 384 at n = 32, the first round alone a quarter of it; 2026 showed
    # nothing feasible and ran the whole grid); half is asserted there.
    assert result.runs_used <= len(LEVERS) * MAX_REPLICATIONS / 3
    assert result.runs_used <= len(LEVERS) * n / 2
