"""O10, the finite-refill buffer oracle (analysis/fluid_buffer.py, docs/oracle-fluid-buffer.md).

The closed forms against their limits and a hand-solved chain; the simulator's daily buffer
path against the chain's recursion, day by day; and the simulator's shares against the exact
daily chain within 4 standard errors over independent replications (one buffer here, three
buffers at two refill rates in the slow test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.fluid_buffer import (
    discrete_chain,
    fluid_closed_form,
    fluid_scenario,
    grid_step,
    simulate,
    stepped_chain,
)
from sim.run import run_once
from sim.scenario import parse_scenario

ALPHA, BETA, D = 0.05, 0.3, 4.0
FORMS = (discrete_chain, fluid_closed_form)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("r", [5.0, 6.0])
def test_no_buffer_is_short_every_down_day_and_spills_the_surplus(form, r: float) -> None:
    """B = 0: the buyer gets d while up and nothing while down, so unmet = the down share
    alpha / (alpha + beta); the surplus r - d of every up day spills: overflow = (r - d) / r."""
    s = form(ALPHA, BETA, r, D, 0.0)
    assert s.unmet == pytest.approx(ALPHA / (ALPHA + BETA), abs=1e-12)
    assert s.overflow == pytest.approx((r - D) / r, abs=1e-12)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("alpha", "beta", "r"), [(0.05, 0.3, 6.0), (0.3, 0.3, 6.0)])
def test_huge_buffer_leaves_only_the_stationary_deficit(form, alpha: float, beta: float, r: float) -> None:
    """B -> inf: unmet -> (1 - r A / d)^+ (A = beta / (alpha + beta), the up share), overflow ->
    (1 - d / (r A))^+. The first case has positive drift (r A = 1.29 d), the second negative
    (r A = 0.75 d); B = 100 d leaves less than 1e-8 of the approach (e^{zB}, |z| B >= 20)."""
    mean_in = r * beta / (alpha + beta)
    s = form(alpha, beta, r, D, 400.0)
    assert s.unmet == pytest.approx(max(0.0, 1.0 - mean_in / D), abs=1e-8)
    assert s.overflow == pytest.approx(max(0.0, 1.0 - D / mean_in), abs=1e-8)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("r", "b"), [(5.0, 2.0), (5.0, 8.0), (6.0, 20.0), (4.5, 7.0)])
def test_mass_balance_shipped_is_used_plus_spilled(form, r: float, b: float) -> None:
    """What lands is used or spills (the buffer's level is stationary):
    r A (1 - overflow share) = d (1 - unmet share)."""
    s = form(ALPHA, BETA, r, D, b)
    assert r * BETA / (ALPHA + BETA) * (1 - s.overflow) == pytest.approx(D * (1 - s.unmet), rel=1e-10)


def test_chain_matches_a_hand_solution() -> None:
    """d = 2, r = 3, B = 1: the buffer ends a day at 1 after an up landing and at 0 after a
    down one. A down landing after an up one is short 1, after a down one short 2; an up
    landing after an up one spills 1. With p0 beta = p1 alpha (balance):
    unmet share = (p1 alpha + 2 p0 (1 - beta)) / 2 = p0 (2 - beta) / 2; overflow share =
    p1 (1 - alpha) / (3 p1) = (1 - alpha) / 3."""
    p0 = ALPHA / (ALPHA + BETA)
    s = discrete_chain(ALPHA, BETA, 3.0, 2.0, 1.0)
    assert s.unmet == pytest.approx(p0 * (2 - BETA) / 2, abs=1e-12)
    assert s.overflow == pytest.approx((1 - ALPHA) / 3, abs=1e-12)


def test_continuous_form_is_the_limit_of_a_finer_clock() -> None:
    """The daily chain on a clock of 1/k day (per-step probabilities alpha / k, beta / k) tends
    to the fluid formula; the gap shrinks about as 1 / k."""
    cont = fluid_closed_form(ALPHA, BETA, 5.0, D, 8.0)
    gaps = [abs(stepped_chain(ALPHA, BETA, 5.0, D, 8.0, k).unmet - cont.unmet) for k in (1, 10, 50)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.0002 < 0.005 < gaps[0]


def test_zero_drift_is_continuous() -> None:
    """beta (r - d) = alpha d: the zero-drift branch p0 d / (d + beta B) joins the general one."""
    at = fluid_closed_form(0.1, 0.4, 5.0, D, 8.0)
    near = fluid_closed_form(0.1, 0.4 + 1e-7, 5.0, D, 8.0)
    assert at.unmet == pytest.approx(0.2 * D / (D + 0.4 * 8.0), abs=1e-12)
    assert at.unmet == pytest.approx(near.unmet, abs=1e-6)
    assert at.overflow == pytest.approx(near.overflow, abs=1e-6)


def test_chain_needs_commensurate_amounts() -> None:
    assert grid_step(1.0, 4.0, 8.0) == 1.0
    assert grid_step(0.5, 2.0, 5.0) == 0.5
    with pytest.raises(ValueError, match="commensurate"):
        discrete_chain(ALPHA, BETA, 4.0 + math.pi, D, 8.0)


def test_scenario_states_the_plan_and_no_refill_rule() -> None:
    """The buyer plans d a day and refills only from the surplus r - d (no hold-back), which
    is what makes the simulator the fluid model; a hold-back would rebuild at r - d + share x d."""
    sc = fluid_scenario(ALPHA, BETA, 5.0, D, 8.0, 200, 10)
    parse_scenario(sc)
    (inp,) = sc["facilities"][1]["inputs"]
    assert inp["planned_secondary_t_per_day"] == D and inp["refill"] == "none"


@pytest.mark.parametrize("r", [5.0, 6.0])
def test_simulator_buffer_follows_the_chain_day_by_day(r: float) -> None:
    """One run, every day: the shipment of day t - 1 lands on day t (r if the supplier was
    up), the buyer uses min(d, level + landed), the excess over B is disposed, the rest is the
    end-of-day level; the shortfall is bought virgin. The buffer opens full."""
    b, horizon = 8.0, 600
    res = run_once(parse_scenario(fluid_scenario(ALPHA, BETA, r, D, b, horizon, 0)), 3, series=True)
    s = res.series
    up = s["up:sup"].to_numpy()
    assert 0 < up.sum() < horizon and set(np.unique(up)) <= {0.0, 1.0}  # whole days up or down
    level = b
    for t in range(horizon):
        landed = r * up[t - 1] if t > 0 else 0.0
        used = min(D, level + landed)
        spill = max(0.0, level + landed - used - b)
        level = min(b, level + landed - used)
        assert s["buffer_t:buy/raw"][t] == pytest.approx(level, abs=1e-9), t
        assert s["secondary_shortfall_t:buy/raw"][t] == pytest.approx(D - used, abs=1e-9), t
        assert s["disposed_t"][t] == pytest.approx(spill, abs=1e-9), t
    assert s["source_stock_t:sup/waste"].max() == 0.0  # ships all it makes, the day it makes it


def _assert_within_4se(est, exact) -> None:
    assert abs(est.unmet - exact.unmet) <= 4 * est.unmet_se, (est.unmet, est.unmet_se, exact.unmet)
    assert abs(est.overflow - exact.overflow) <= 4 * est.overflow_se, (est.overflow, est.overflow_se, exact.overflow)


def test_simulator_matches_the_daily_chain_at_two_days_of_buffer() -> None:
    """The fast version: r = 1.25 d, B = 2 d, 16 replications of 2,000 days."""
    est = simulate(ALPHA, BETA, 5.0, D, 8.0, reps=16, horizon=2000, warmup=100, root=77)
    _assert_within_4se(est, discrete_chain(ALPHA, BETA, 5.0, D, 8.0))


@pytest.mark.slow
@pytest.mark.parametrize("r", [5.0, 6.0])
def test_simulator_matches_the_daily_chain_at_three_buffers(r: float) -> None:
    """O10: r = 1.25 d and 1.5 d, B = 0.5, 2 and 5 days of d, 40 replications of 4,000 days
    (the same seeds at every B); the check also tells the model from a delivery that enters
    after the day's use (off by one day) at the larger buffers."""
    for days in (0.5, 2.0, 5.0):
        b = days * D
        est = simulate(ALPHA, BETA, r, D, b, reps=40, horizon=4000, warmup=100, root=78)
        _assert_within_4se(est, discrete_chain(ALPHA, BETA, r, D, b))
        late = discrete_chain(ALPHA, BETA, r, D, b, "land_after_use")
        assert abs(est.overflow - late.overflow) > 4 * est.overflow_se
