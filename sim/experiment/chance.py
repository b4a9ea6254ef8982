"""One-sided confidence bounds that the policy search (sim.experiment.racing) decides with.

Pure functions of numbers, so that tests can check them by hand:

- :func:`cp_lower` / :func:`cp_upper`: Clopper-Pearson (1934) one-sided bounds on a binomial
  probability from k successes in n runs, as Beta quantiles. Exact: the coverage is at least the
  nominal level for every true probability, which is what a chance constraint
  `P(fill >= 0.98) >= 0.95` needs (a normal approximation undercovers near 0 and 1, exactly
  where reliability targets sit).
- :func:`mean_bounds`: one-sided Student-t bounds on a mean (mean constraints, and paired
  differences between two candidates run on common random numbers).
- :func:`mean_ci`: the two-sided t interval that the report shows next to a mean.

Every `alpha` here is the error of ONE bound (one side); the race divides its error budget
among its bounds (Bonferroni) before it calls these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import stats


def cp_lower(successes: int, runs: int, alpha: float) -> float:
    """Lower Clopper-Pearson bound: P(p >= bound) >= 1 - alpha.

    The `alpha` quantile of Beta(k, n - k + 1); 0 when k = 0 (or no runs). For k = n it is the
    closed form alpha ** (1 / n).
    """
    _check(successes, runs, alpha)
    if successes == 0:
        return 0.0
    return float(stats.beta.ppf(alpha, successes, runs - successes + 1))


def cp_upper(successes: int, runs: int, alpha: float) -> float:
    """Upper Clopper-Pearson bound: P(p <= bound) >= 1 - alpha.

    The `1 - alpha` quantile of Beta(k + 1, n - k); 1 when k = n. For k = 0 it is the closed
    form 1 - alpha ** (1 / n).
    """
    _check(successes, runs, alpha)
    if successes == runs:
        return 1.0
    return float(stats.beta.ppf(1.0 - alpha, successes + 1, runs - successes))


def mean_bounds(values: Sequence[float], alpha: float) -> tuple[float, float]:
    """One-sided t bounds (lower, upper) on the mean, each with error `alpha`.

    mean -/+ t(1 - alpha; n - 1) * s / sqrt(n). With fewer than two values the mean is not
    bounded (-inf, inf); with zero spread both bounds are the mean (the values are constant, as
    paired differences are when a lever does not touch the metric).
    """
    data = np.asarray(values, dtype=float)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if data.size < 2:
        return (-math.inf, math.inf)
    mean = float(data.mean())
    spread = float(data.std(ddof=1))
    if spread == 0.0:
        return (mean, mean)
    half = t_quantile(1.0 - alpha, data.size - 1) * spread / math.sqrt(data.size)
    return (mean - half, mean + half)


@lru_cache(maxsize=1024)
def t_quantile(level: float, df: int) -> float:
    """Student-t quantile (cached: a race asks for the same few levels and sample sizes)."""
    return float(stats.t.ppf(level, df))


def mean_ci(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """Two-sided t interval on the mean at `confidence` (each side (1 - confidence) / 2)."""
    return mean_bounds(values, (1.0 - confidence) / 2.0)


def _check(successes: int, runs: int, alpha: float) -> None:
    if runs < 1 or not 0 <= successes <= runs:
        raise ValueError(f"need 0 <= successes <= runs and runs >= 1, got {successes} of {runs}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
