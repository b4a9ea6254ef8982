"""The bounds the race decides with, checked by hand (sim/experiment/chance.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.experiment.chance import cp_lower, cp_upper, mean_bounds, mean_ci


@pytest.mark.parametrize(("k", "n"), [(1, 10), (7, 10), (9, 10), (45, 50), (118, 128), (3, 8)])
def test_cp_bounds_are_the_ends_of_the_exact_two_sided_interval_at_twice_the_error(k, n):
    # A two-sided Clopper-Pearson interval at 1 - 2 alpha is the two one-sided bounds at alpha.
    alpha = 0.05
    interval = stats.binomtest(k, n).proportion_ci(confidence_level=1 - 2 * alpha, method="exact")
    assert cp_lower(k, n, alpha) == pytest.approx(interval.low, rel=1e-9)
    assert cp_upper(k, n, alpha) == pytest.approx(interval.high, rel=1e-9)


@pytest.mark.parametrize(("k", "n"), [(1, 10), (9, 10), (45, 50), (118, 128)])
def test_cp_lower_bound_leaves_exactly_alpha_in_the_upper_tail(k, n):
    # Definition: the lower bound p_L solves P(X >= k | p_L) = alpha.
    alpha = 0.01
    low = cp_lower(k, n, alpha)
    assert stats.binom.sf(k - 1, n, low) == pytest.approx(alpha, rel=1e-7)
    high = cp_upper(k, n, alpha)
    assert stats.binom.cdf(k, n, high) == pytest.approx(alpha, rel=1e-7)


@pytest.mark.parametrize("n", [1, 8, 64, 128])
def test_cp_bounds_at_all_or_no_successes_have_closed_forms(n):
    alpha = 0.01
    assert cp_lower(n, n, alpha) == pytest.approx(alpha ** (1 / n), rel=1e-12)
    assert cp_upper(0, n, alpha) == pytest.approx(1 - alpha ** (1 / n), rel=1e-12)
    assert cp_lower(0, n, alpha) == 0.0
    assert cp_upper(n, n, alpha) == 1.0


def test_cp_lower_bound_at_128_clean_runs_clears_095_only_below_alpha_0016():
    # 0.95 ** 128 = 0.00141: with 128 runs and no miss, P >= 0.95 is shown at any alpha above it.
    assert cp_lower(128, 128, 0.0015) > 0.95
    assert cp_lower(128, 128, 0.0013) < 0.95


def test_cp_lower_bound_covers_at_its_nominal_level():
    # 2,000 binomial samples at p = 0.9, n = 40: the share with bound <= p is >= 0.95 within
    # three binomial standard errors (sqrt(0.95 * 0.05 / 2000) = 0.0049).
    rng = np.random.default_rng(24)
    p, n, alpha, draws = 0.9, 40, 0.05, 2000
    covered = np.mean([cp_lower(int(k), n, alpha) <= p for k in rng.binomial(n, p, size=draws)])
    assert covered >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / draws)


def test_mean_bounds_by_hand():
    # 1, 2, 3, 4: mean 2.5, s = 1.290994, t(0.95; 3) = 2.353363 -> 2.5 -/+ 1.519090.
    low, high = mean_bounds([1.0, 2.0, 3.0, 4.0], 0.05)
    assert low == pytest.approx(2.5 - 2.353363 * 1.290994 / 2, abs=1e-5)
    assert high == pytest.approx(2.5 + 2.353363 * 1.290994 / 2, abs=1e-5)
    # Two-sided 95 %: t(0.975; 3) = 3.182446.
    assert mean_ci([1.0, 2.0, 3.0, 4.0], 0.95)[0] == pytest.approx(2.5 - 3.182446 * 1.290994 / 2, abs=1e-5)


def test_mean_bounds_of_constant_values_are_the_value_and_of_one_value_unbounded():
    assert mean_bounds([3.0, 3.0, 3.0], 0.01) == (3.0, 3.0)
    assert mean_bounds([3.0], 0.01) == (-math.inf, math.inf)


def test_bounds_refuse_impossible_counts():
    with pytest.raises(ValueError):
        cp_lower(5, 4, 0.05)
    with pytest.raises(ValueError):
        cp_upper(1, 4, 0.0)
