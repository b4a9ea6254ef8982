"""A race among candidate policies: the best one that meets chance and mean constraints.

:func:`race` asks `evaluate` for runs of (candidate, replication) pairs, where replication r
uses the same random numbers for every candidate (common random numbers), and spends runs where
the decision is still open. Every candidate starts with `first_replications` runs; a candidate
that still matters doubles its runs (8, 16, 32, ... up to `max_replications`) each round. After
each round a candidate is

- dropped as *infeasible* when a one-sided bound shows a constraint violated (Clopper-Pearson
  upper bound below the target probability, or a t bound on the mean on the wrong side);
- *shown feasible* when the opposite one-sided bound clears every constraint;
- dropped as *dominated* when a paired t interval on the common replications shows its
  objective worse than that of a candidate shown feasible;
- *paused* (kept, not replicated) while it is confidently worse than a candidate whose
  estimates meet every constraint but which is not yet shown feasible: its runs are spent only
  if that candidate fails.

The race stops when the best candidate shown feasible is, on paired intervals, within the
tolerance of every candidate still in, or at the budget, or when nothing is left to replicate.
The error budget 1 - confidence is split by Bonferroni over rounds and constraints (feasibility)
and over rounds and rivals (comparisons); docs/search-method.md states what that guarantees.

Pure: numpy and scipy, no model imports. Deterministic: the result is a function of the
arguments and of what `evaluate` returns, and pairs are asked for in a fixed order (by
candidate, then replication), so a search resumed from a store of finished runs repeats itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sim.experiment.chance import cp_lower, cp_upper, mean_bounds, mean_ci

__all__ = [
    "CandidateEstimate",
    "Constraint",
    "ConstraintEstimate",
    "Evaluate",
    "Objective",
    "SearchResult",
    "race",
    "replication_schedule",
]

METHOD = (
    "racing with common random numbers: doubling replications, Clopper-Pearson and t bounds "
    "for constraints, paired t intervals for the objective, Bonferroni over rounds "
    "(docs/search-method.md)"
)


@dataclass(frozen=True)
class Objective:
    """What to optimise: a run metric, its sense, and the indifference zone."""

    metric: str
    sense: str  # "min" | "max"
    #: Candidates within this of the best (objective units) count as equally good.
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.sense not in ("min", "max"):
            raise ValueError(f"objective sense must be 'min' or 'max', got {self.sense!r}")
        if not self.tolerance >= 0.0:
            raise ValueError(f"objective tolerance must be >= 0, got {self.tolerance}")


@dataclass(frozen=True)
class Constraint:
    """`P(metric op threshold) >= probability` (chance) or `E[metric] op threshold` (mean)."""

    metric: str
    op: str  # ">=" | "<="
    threshold: float
    probability: float | None = None

    def __post_init__(self) -> None:
        if self.op not in (">=", "<="):
            raise ValueError(f"constraint op must be '>=' or '<=', got {self.op!r}")
        if self.probability is not None and not 0.0 < self.probability < 1.0:
            raise ValueError(f"constraint probability must lie in (0, 1), got {self.probability}")

    def holds(self, value: float) -> bool:
        """Whether one run meets `metric op threshold`."""
        return value >= self.threshold if self.op == ">=" else value <= self.threshold

    def __str__(self) -> str:
        if self.probability is None:
            return f"E[{self.metric}] {self.op} {self.threshold:g}"
        return f"P({self.metric} {self.op} {self.threshold:g}) >= {self.probability:g}"


#: evaluate(pairs) -> {(candidate, replication): {metric: value}}; a failed run is absent.
Evaluate = Callable[[list[tuple[int, int]]], Mapping[tuple[int, int], Mapping[str, float]]]


@dataclass
class ConstraintEstimate:
    """A constraint at one candidate: estimate, one-sided bound, and whether it is shown met."""

    constraint: Constraint
    estimate: float  # share of runs meeting it (chance) or the mean
    bound: float  # one-sided bound in the constraint's direction (CP lower bound for a chance one)
    met: bool  # the bound clears the target
    violated: bool = False  # the opposite bound shows it missed
    opposite: float = math.nan  # that opposite bound (CP upper bound for a chance one)


@dataclass
class CandidateEstimate:
    """One candidate at the end of the race (or when it was dropped)."""

    candidate: int
    replications: int
    objective_mean: float
    objective_ci: tuple[float, float]
    constraints: list[ConstraintEstimate]
    status: str  # "chosen" | "feasible" | "infeasible" | "dominated" | "unresolved"
    round_out: int | None
    reason: str


@dataclass
class SearchResult:
    """What the race found, and what it spent."""

    chosen: int | None
    estimates: list[CandidateEstimate]
    runs_used: int
    confidence: float
    rounds: list[dict]
    method: str
    #: Why the race stopped: "resolved", "budget", "max_replications", "all dropped", "stalled".
    stopped: str = ""


def replication_schedule(first: int, maximum: int) -> list[int]:
    """Replications per candidate at each rung: first, 2 first, 4 first, ..., capped at maximum."""
    if not 1 <= first <= maximum:
        raise ValueError(f"need 1 <= first_replications <= max_replications, got {first}, {maximum}")
    rungs = [first]
    while rungs[-1] < maximum:
        rungs.append(min(2 * rungs[-1], maximum))
    return rungs


def race(
    n_candidates: int,
    evaluate: Evaluate,
    objective: Objective,
    constraints: Sequence[Constraint],
    *,
    budget: int,
    confidence: float = 0.95,
    first_replications: int = 8,
    max_replications: int = 128,
    simultaneous: bool = False,
) -> SearchResult:
    """Race `n_candidates` candidates to the best one shown to meet every constraint.

    `simultaneous=True` also divides the feasibility error by the number of candidates, so that
    every feasibility statement about every candidate holds jointly with `confidence` (which
    covers the selection of the chosen one); by default the statement holds per candidate.
    Never asks for more than `budget` runs. See docs/search-method.md.
    """
    if n_candidates < 1:
        raise ValueError(f"need at least one candidate, got {n_candidates}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    schedule = replication_schedule(first_replications, max_replications)
    if budget < n_candidates * first_replications:
        raise ValueError(
            f"budget {budget} is below one first round: {n_candidates} candidates x "
            f"{first_replications} replications = {n_candidates * first_replications} runs"
        )
    state = _Race(n_candidates, evaluate, objective, list(constraints), schedule, budget,
                  1.0 - confidence, simultaneous)
    state.play()
    return SearchResult(
        chosen=state.chosen,
        estimates=state.estimates(confidence),
        runs_used=state.runs_used,
        confidence=confidence,
        rounds=state.rounds,
        method=METHOD + (", simultaneous over candidates" if simultaneous else ", per candidate"),
        stopped=state.stopped,
    )


class _Race:
    """The race's state: runs per candidate, who is in, and the error levels."""

    def __init__(self, n_candidates: int, evaluate: Evaluate, objective: Objective,
                 constraints: list[Constraint], schedule: list[int], budget: int,
                 alpha: float, simultaneous: bool) -> None:
        self.evaluate = evaluate
        self.objective = objective
        self.constraints = constraints
        self.schedule = schedule
        self.budget = budget
        looks = len(schedule)
        # Feasibility: each candidate's data takes at most `looks` states, each tested on every
        # constraint; comparisons: each pair's common replications take at most `looks` values.
        self.alpha_feasible = alpha / (looks * max(1, len(constraints)))
        if simultaneous:
            self.alpha_feasible /= n_candidates
        self.alpha_pair = alpha / (looks * max(1, n_candidates - 1))
        self.runs: dict[int, list[Mapping[str, float]]] = {c: [] for c in range(n_candidates)}
        self.alive: list[int] = list(range(n_candidates))
        self.out: dict[int, tuple[str, int, str]] = {}  # candidate -> (status, round, reason)
        self.runs_used = 0
        self.rounds: list[dict] = []
        self.stopped = ""
        self.chosen: int | None = None
        self._metrics = [objective.metric, *(c.metric for c in constraints)]
        self._cache: dict[tuple[str, int], tuple[int, object]] = {}  # (what, candidate) -> (runs, value)
        self._pairs: dict[tuple[int, int, int], tuple[float, float]] = {}  # (c, j, common runs) -> bounds

    # -- the race ---------------------------------------------------------------------------

    def play(self) -> None:
        """Round after round until resolved, out of budget or out of candidates to replicate."""
        self._run_round({c: self.schedule[0] for c in self.alive})
        while True:
            if not self.alive:
                self.stopped = "all dropped"
                break
            if self._resolved():
                self.stopped = "resolved"
                break
            targets = self._next_targets()
            if targets is None:
                break
            self._run_round(targets)
        self.chosen = self._leader()

    def _run_round(self, targets: dict[int, int]) -> None:
        """Run each candidate up to its target replications, then drop what the data allow."""
        pairs = [(c, r) for c in sorted(targets) for r in range(len(self.runs[c]), targets[c])]
        answers = self.evaluate(pairs)
        self.runs_used += len(pairs)
        number = len(self.rounds) + 1
        dropped = self._store(pairs, answers, number)
        dropped += self._drop_infeasible(number)
        dropped += self._drop_dominated(number)
        self.rounds.append({
            "round": number,
            "runs": len(pairs),
            "replications": {c: len(self.runs[c]) for c in self.alive},
            "survivors": list(self.alive),
            "paused": self._paused(),
            "dropped": dropped,
        })

    def _store(self, pairs: list[tuple[int, int]], answers: Mapping, number: int) -> list[dict]:
        """Keep the answers; a candidate with a failed run leaves the race as unresolved."""
        dropped = []
        for c, r in pairs:
            if c not in self.alive:
                continue
            row = answers.get((c, r))
            problem = self._row_problem(row)
            if problem:
                dropped.append(self._drop(c, "unresolved", number, f"run (candidate {c}, "
                                          f"replication {r}) failed: {problem}"))
                continue
            # Keep only the metrics the race reads, as floats: a run row has dozens of columns,
            # and the caller's mapping may be reused.
            self.runs[c].append({metric: float(row[metric]) for metric in self._metrics})
        return dropped

    def _row_problem(self, row: Mapping[str, float] | None) -> str:
        if row is None:
            return "no result"
        for metric in self._metrics:
            value = row.get(metric)
            if value is None:
                return f"no {metric!r} in its result"
            try:
                number = float(value)
            except (TypeError, ValueError):
                return f"{metric} = {value!r} is not a number"
            if not math.isfinite(number):
                return f"{metric} = {value}"
        return ""

    def _drop_infeasible(self, number: int) -> list[dict]:
        dropped = []
        for c in list(self.alive):
            for estimate in self.constraint_estimates(c):
                if estimate.violated:
                    dropped.append(self._drop(c, "infeasible", number, _violation(estimate, len(self.runs[c]))))
                    break
        return dropped

    def _drop_dominated(self, number: int) -> list[dict]:
        """Drop candidates confidently worse than one shown feasible (decided on the state
        before this step, so the order of candidates does not matter)."""
        feasible = self._by_mean(self._shown_feasible())
        verdicts = []
        for c in self.alive:
            for j in feasible:
                if j == c:
                    continue
                low, _, n = self._paired(c, j)
                if low > 0.0:
                    verdicts.append((c, f"objective worse than candidate {j} (shown feasible) by "
                                        f"at least {low:.4g} on {n} paired runs"))
                    break
        return [self._drop(c, "dominated", number, reason) for c, reason in verdicts]

    def _drop(self, c: int, status: str, number: int, reason: str) -> dict:
        self.alive.remove(c)
        self.out[c] = (status, number, reason)
        return {"candidate": c, "status": status, "reason": reason}

    # -- what to do next --------------------------------------------------------------------

    def _resolved(self) -> bool:
        """The leader is within tolerance of every other candidate still in (paired bounds)."""
        leader = self._leader()
        if leader is None:
            return False
        return all(self._paired(leader, k)[1] <= self.objective.tolerance
                   for k in self.alive if k != leader)

    def _next_targets(self) -> dict[int, int] | None:
        """The candidates to replicate next, each to its next rung, within the budget (best
        objective first when the budget does not stretch to all); None: stop (and say why)."""
        # The last round recorded who is paused; nothing has changed since.
        paused = set(self.rounds[-1]["paused"] if self.rounds else self._paused())
        contenders = [c for c in self._by_mean(self.alive)
                      if c not in paused and len(self.runs[c]) < self.schedule[-1]]
        if not contenders:
            self.stopped = "stalled" if paused else "max_replications"
            return None
        targets: dict[int, int] = {}
        left = self.budget - self.runs_used
        for c in contenders:
            have = len(self.runs[c])
            need = next(n for n in self.schedule if n > have) - have
            if need <= left:
                targets[c] = have + need
                left -= need
        if not targets:
            self.stopped = "budget"
            return None
        return targets

    def _paused(self) -> list[int]:
        """Candidates confidently worse than a plausible rival: one whose estimates meet every
        constraint and which can still be shown feasible (or already is)."""
        top = self.schedule[-1]
        plausible = [j for j in self.alive if self._plausible(j)
                     and (self._feasible(j) or len(self.runs[j]) < top)]
        return [c for c in self.alive
                if any(j != c and self._paired(c, j)[0] > 0.0 for j in plausible)]

    def _leader(self) -> int | None:
        feasible = self._by_mean(self._shown_feasible())
        return feasible[0] if feasible else None

    # -- statistics -------------------------------------------------------------------------

    def _cached(self, what: str, c: int, compute: Callable[[], object]) -> object:
        """A per-candidate statistic, recomputed only when the candidate has new runs."""
        n = len(self.runs[c])
        hit = self._cache.get((what, c))
        if hit is None or hit[0] != n:
            hit = (n, compute())
            self._cache[(what, c)] = hit
        return hit[1]

    def loss(self, c: int) -> np.ndarray:
        """The objective as a loss (smaller is better), one value per replication."""
        def compute() -> np.ndarray:
            values = np.array([row[self.objective.metric] for row in self.runs[c]], dtype=float)
            return values if self.objective.sense == "min" else -values
        return self._cached("loss", c, compute)

    def _paired(self, c: int, j: int) -> tuple[float, float, int]:
        """Bounds on loss(c) - loss(j) over their common replications (two-sided interval at
        1 - alpha_pair) and how many replications that is."""
        n = min(len(self.runs[c]), len(self.runs[j]))
        if (c, j, n) not in self._pairs:
            difference = self.loss(c)[:n] - self.loss(j)[:n]
            self._pairs[(c, j, n)] = mean_bounds(difference, self.alpha_pair / 2.0)
        low, high = self._pairs[(c, j, n)]
        return low, high, n

    def _by_mean(self, candidates: list[int]) -> list[int]:
        return sorted(candidates, key=lambda c: (float(self.loss(c).mean()), c))

    def _shown_feasible(self) -> list[int]:
        return [c for c in self.alive if self._feasible(c)]

    def _feasible(self, c: int) -> bool:
        return all(e.met for e in self.constraint_estimates(c))

    def _plausible(self, c: int) -> bool:
        for estimate in self.constraint_estimates(c):
            rule = estimate.constraint
            target = rule.threshold if rule.probability is None else rule.probability
            op = rule.op if rule.probability is None else ">="
            if not (estimate.estimate >= target if op == ">=" else estimate.estimate <= target):
                return False
        return True

    def constraint_estimates(self, c: int) -> list[ConstraintEstimate]:
        """Each constraint at candidate c, its bounds at the race's feasibility level."""
        def compute() -> list[ConstraintEstimate]:
            return [_estimate(rule, np.array([row[rule.metric] for row in self.runs[c]], dtype=float),
                              self.alpha_feasible) for rule in self.constraints]
        return self._cached("constraints", c, compute)

    # -- the report -------------------------------------------------------------------------

    def estimates(self, confidence: float) -> list[CandidateEstimate]:
        paused = set(self._paused())
        return [self._estimate_of(c, confidence, paused) for c in sorted(self.runs)]

    def _estimate_of(self, c: int, confidence: float, paused: set[int]) -> CandidateEstimate:
        values = np.array([row[self.objective.metric] for row in self.runs[c]], dtype=float)
        mean = float(values.mean()) if values.size else math.nan
        ci = mean_ci(values, confidence) if values.size else (math.nan, math.nan)
        if c in self.out:
            status, number, reason = self.out[c]
            round_out: int | None = number
        else:
            status, reason = self._final_status(c, paused)
            round_out = None
        return CandidateEstimate(
            candidate=c, replications=len(values), objective_mean=mean, objective_ci=ci,
            constraints=self.constraint_estimates(c) if values.size else [],
            status=status, round_out=round_out, reason=reason,
        )

    def _final_status(self, c: int, paused: set[int]) -> tuple[str, str]:
        n = len(self.runs[c])
        if c == self.chosen:
            return "chosen", f"best objective among the candidates shown feasible ({n} runs; stopped: {self.stopped})"
        if self._feasible(c):
            _, high, common = self._paired(self.chosen, c) if self.chosen is not None else (0, math.inf, 0)
            return "feasible", (f"shown feasible; the chosen one is at most {high:.4g} worse "
                                f"on {common} paired runs")
        if c in paused:
            return "unresolved", f"paused after {n} runs behind a better candidate not yet shown feasible"
        return "unresolved", f"feasibility not decided after {n} runs ({_open_bounds(self.constraint_estimates(c))})"


def _estimate(rule: Constraint, values: np.ndarray, alpha: float) -> ConstraintEstimate:
    """A constraint's estimate and one-sided bounds at `alpha` (each side)."""
    n = values.size
    if rule.probability is None:
        low, high = mean_bounds(values, alpha)
        estimate = float(values.mean())
        if rule.op == ">=":
            return ConstraintEstimate(rule, estimate, low, met=low >= rule.threshold,
                                      violated=high < rule.threshold, opposite=high)
        return ConstraintEstimate(rule, estimate, high, met=high <= rule.threshold,
                                  violated=low > rule.threshold, opposite=low)
    hits = int(sum(rule.holds(v) for v in values))
    low, high = cp_lower(hits, n, alpha), cp_upper(hits, n, alpha)
    return ConstraintEstimate(rule, hits / n, low, met=low >= rule.probability,
                              violated=high < rule.probability, opposite=high)


def _violation(estimate: ConstraintEstimate, n: int) -> str:
    rule = estimate.constraint
    bound = f"{estimate.opposite:.4g}"
    if rule.probability is None:
        side, sign = ("upper", "<") if rule.op == ">=" else ("lower", ">")
        return (f"{rule}: {side} bound on the mean {bound} {sign} {rule.threshold:g} after {n} runs "
                f"(mean {estimate.estimate:.4g})")
    return (f"{rule}: upper bound {bound} < {rule.probability:g} after {n} runs "
            f"(share {estimate.estimate:.3g})")


def _open_bounds(estimates: list[ConstraintEstimate]) -> str:
    return "; ".join(f"{e.constraint}: estimate {e.estimate:.4g}, bound {e.bound:.4g}"
                     for e in estimates if not e.met)
