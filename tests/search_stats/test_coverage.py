"""The confidence the race reports is valid: coverage over repeated searches with known truth.

Each search runs on its own root seed; the runs of candidate c at replication r are Bernoulli
draws with known probability p[c] (tests/search_stats/_synthetic.py). Over ROOTS searches the
share of searches whose statement is right must be at least the nominal confidence, less three
binomial standard errors: sqrt(0.95 * 0.05 / 400) = 0.0109, so the floor is 0.917.
"""

from __future__ import annotations

import math

from sim.experiment.racing import Constraint, Objective, race
from tests.search_stats._synthetic import Synthetic

ROOTS = 400
CONFIDENCE = 0.95
FLOOR = CONFIDENCE - 3 * math.sqrt(CONFIDENCE * (1 - CONFIDENCE) / ROOTS)
RELIABLE = Constraint("reliable", ">=", 1.0, probability=0.95)


def test_reported_clopper_pearson_bound_lies_below_the_true_probability():
    # Three candidates near the target; each reports a lower bound on its P(reliable), at the
    # end of the race or when it was dropped. The bound must sit below the true p in >= 95 %.
    p = [0.93, 0.96, 0.99]
    covered = [0, 0, 0]
    for root in range(ROOTS):
        result = race(3, Synthetic([100.0, 105.0, 110.0], p, root), Objective("cost", "min"),
                      [RELIABLE], budget=10_000, confidence=CONFIDENCE)
        for estimate in result.estimates:
            covered[estimate.candidate] += estimate.constraints[0].bound <= p[estimate.candidate]
    assert min(covered) / ROOTS >= FLOOR, covered


def test_chosen_candidate_meets_the_chance_constraint_with_the_reported_confidence():
    # Cheap candidates just below the target (p 0.9, 0.93, 0.94) tempt the race; the only
    # feasible ones are dear. With simultaneous=True the race claims that the chosen one is
    # feasible with probability >= 0.95 however it was selected: check it over 400 searches.
    cost = [100.0, 102.0, 104.0, 120.0, 125.0]
    p = [0.9, 0.93, 0.94, 0.99, 1.0]
    right = 0
    for root in range(ROOTS):
        result = race(5, Synthetic(cost, p, root), Objective("cost", "min"), [RELIABLE],
                      budget=10_000, confidence=CONFIDENCE, simultaneous=True)
        assert result.confidence == CONFIDENCE
        right += result.chosen is None or p[result.chosen] >= 0.95
    assert right / ROOTS >= FLOOR
