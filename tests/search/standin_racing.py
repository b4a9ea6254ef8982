"""A stand-in for sim.experiment.racing with the same interface (SEARCH_API.md): every candidate
at `first_replications`, then the best feasible one by its mean. Enough to test the plumbing
(store, resume, report) without depending on the real race's statistics."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Objective:
    metric: str
    sense: str
    tolerance: float = 0.0


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    threshold: float
    probability: float | None = None


Evaluate = Callable[[list[tuple[int, int]]], Mapping[tuple[int, int], Mapping[str, float]]]


@dataclass
class ConstraintEstimate:
    constraint: Constraint
    estimate: float
    bound: float
    met: bool


@dataclass
class CandidateEstimate:
    candidate: int
    replications: int
    objective_mean: float
    objective_ci: tuple[float, float]
    constraints: list[ConstraintEstimate]
    status: str
    round_out: int | None
    reason: str


@dataclass
class SearchResult:
    chosen: int | None
    estimates: list[CandidateEstimate]
    runs_used: int
    confidence: float
    rounds: list[dict]
    method: str


def _estimate(c: Constraint, values: np.ndarray, alpha: float) -> ConstraintEstimate:
    n = len(values)
    if c.probability is not None:
        ok = values >= c.threshold if c.op == ">=" else values <= c.threshold
        k = int(ok.sum())
        bound = float(stats.beta.ppf(alpha, k, n - k + 1)) if k > 0 else 0.0
        return ConstraintEstimate(c, k / n, bound, bound >= c.probability)
    mean, se = float(values.mean()), float(values.std(ddof=1) / np.sqrt(n))
    t = float(stats.t.ppf(1 - alpha, n - 1))
    bound = mean - t * se if c.op == ">=" else mean + t * se
    return ConstraintEstimate(c, mean, bound, bound >= c.threshold if c.op == ">=" else bound <= c.threshold)


def race(n_candidates: int, evaluate: Evaluate, objective: Objective, constraints: Sequence[Constraint], *,
         budget: int, confidence: float = 0.95, first_replications: int = 8,
         max_replications: int = 128) -> SearchResult:
    reps = max(2, min(first_replications, budget // max(1, n_candidates)))
    pairs = [(c, r) for c in range(n_candidates) for r in range(reps)]
    got = evaluate(pairs)
    alpha = (1 - confidence) / max(1, len(constraints))
    estimates = []
    for c in range(n_candidates):
        rows = [got[(c, r)] for r in range(reps) if (c, r) in got]
        if len(rows) < 2:
            estimates.append(CandidateEstimate(c, len(rows), float("nan"), (float("nan"),) * 2, [], "unresolved",
                                               None, "runs failed"))
            continue
        obj = np.array([row[objective.metric] for row in rows])
        half = float(stats.t.ppf(0.975, len(obj) - 1) * obj.std(ddof=1) / np.sqrt(len(obj)))
        cons = [_estimate(k, np.array([row[k.metric] for row in rows]), alpha) for k in constraints]
        feasible = all(e.met for e in cons)
        estimates.append(CandidateEstimate(c, len(rows), float(obj.mean()), (obj.mean() - half, obj.mean() + half),
                                           cons, "feasible" if feasible else "infeasible", None if feasible else 1,
                                           "meets every constraint" if feasible else "a constraint's bound misses"))
    feasible = [e for e in estimates if e.status == "feasible"]
    sign = 1 if objective.sense == "max" else -1
    chosen = max(feasible, key=lambda e: sign * e.objective_mean).candidate if feasible else None
    for e in estimates:
        if e.candidate == chosen:
            e.status, e.reason = "chosen", "best feasible mean"
        elif e.status == "feasible":
            e.status, e.reason = "dominated", "worse mean than the chosen"
    return SearchResult(chosen, estimates, len(pairs), confidence, [{"replications": reps, "survivors": n_candidates}],
                        "stand-in: every candidate at the first replications (tests only)")
