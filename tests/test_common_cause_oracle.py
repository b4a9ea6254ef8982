"""O12, the beta-factor oracle (analysis/common_cause.py, docs/oracle-common-cause.md).

Two suppliers that each cover the buyer alone, independent daily Markov outages and one common
cause over both: the share of days with neither up and the buyer's unmet share with no buffer
match P(neither) = 1 - (1 - q_c)(1 - q_1 q_2) within 4 SE, and the unmet days are exactly the
days after a day with neither up. The fast version runs in CI; the long one is marked slow.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from analysis.checks import mean_se
from analysis.common_cause import RATES, beta_factor, down_share, neither_share, simulate


def test_closed_form_by_hand() -> None:
    # q1 = (1/20) / (1/20 + 1/4) = 1/6, q2 = 1/7, q_c = 1/11: 1 - (10/11)(41/42) = 52/462.
    assert down_share(1 / 20, 1 / 4) == pytest.approx(1 / 6, rel=1e-12)
    assert neither_share(*RATES) == pytest.approx(float(Fraction(52, 462)), rel=1e-12)
    # No common cause (q_c -> 0): the product of the two down shares.
    assert neither_share(0.1, 0.4, 0.2, 0.2, 1e-12, 1.0) == pytest.approx(0.2 * 0.5, rel=1e-9)
    assert beta_factor(1 / 20, 1 / 60) == pytest.approx(0.25)


def test_closed_form_equals_the_joint_daily_chain() -> None:
    # The three chains as one 8-state chain: its stationary P(both suppliers down) is the form.
    a1, b1, a2, b2, ac, bc = RATES
    def step(a: float, b: float) -> np.ndarray:
        return np.array([[1 - a, a], [b, 1 - b]])  # state 0 up, 1 down
    p = np.kron(np.kron(step(a1, b1), step(a2, b2)), step(ac, bc))
    w, v = np.linalg.eig(p.T)
    pi = np.real(v[:, np.argmin(abs(w - 1))])
    pi /= pi.sum()
    neither = sum(pi[4 * i + 2 * j + c] for i in (0, 1) for j in (0, 1) for c in (0, 1) if c == 1 or (i and j))
    assert neither == pytest.approx(neither_share(*RATES), abs=1e-12)


def _check(reps: int, horizon: int, common: bool) -> None:
    est = simulate(RATES, 4.0, reps, horizon, common=common)
    ref = neither_share(*RATES) if common else down_share(*RATES[:2]) * down_share(*RATES[2:4])
    assert est.mapping_breaks == 0, "unmet on day t + 1 exactly when neither supplier was up on day t"
    for runs in (est.neither_runs, est.unmet_runs):
        mean, se = mean_se(runs)
        assert se > 0
        assert abs(mean - ref) <= 4 * se, (mean, se, ref)


@pytest.mark.parametrize("common", [True, False])
def test_oracle_fast(common: bool) -> None:
    _check(reps=10, horizon=1500, common=common)


@pytest.mark.slow
@pytest.mark.parametrize("common", [True, False])
def test_oracle_long(common: bool) -> None:
    _check(reps=60, horizon=6000, common=common)
