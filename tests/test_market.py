"""Market turbulence (`[market]`, sim/market.py): shifts drawn up front from their own keyed
streams, prices that follow them day by day, and bills, benefits and the no-symbiosis
counterfactual valued at the price of the day the tonnes moved."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest import approx
from tiny_net import build, daily, run

from sim.market import Shift, draw_shifts, lognormal_factors, priced_total
from sim.rng import stream
from sim.run import run_once
from sim.scenario import Market, load_scenario

REPO = Path(__file__).resolve().parents[1]
SEED = np.random.SeedSequence(11, spawn_key=(4,))
TURBULENT = {"shift_interval_days": 3.0, "virgin_price_cv": 0.4, "disposal_cost_cv": 0.5}


def factor_on(shifts: list[Shift], day: int, kind: str, material: str) -> float:
    """The factor in force on `day`: that of the last shift on or before it (1 before any)."""
    past = [getattr(s, kind)[material] for s in shifts if s.day <= day]
    return past[-1] if past else 1.0


# --- the draws -------------------------------------------------------------------------------


def test_shifts_are_drawn_from_their_own_keyed_streams() -> None:
    spec = Market(**TURBULENT)
    shifts = draw_shifts(SEED, spec, ["ash", "stone"], 60)
    clock = stream(SEED, "market/shifts")
    t, days = 0.0, []
    while math.ceil(t := t + 3.0 * clock.standard_exponential()) < 60:
        days.append(math.ceil(t))
    assert [s.day for s in shifts] == days and len(days) > 5
    s2 = math.log1p(0.4**2)
    virgin = stream(SEED, "market/virgin/stone").lognormal(-s2 / 2, math.sqrt(s2), size=len(days))
    assert [s.virgin["stone"] for s in shifts] == approx(virgin.tolist(), rel=1e-15)


def test_no_interval_no_shifts() -> None:
    assert draw_shifts(SEED, Market(), ["ash"], 1000) == []


def test_a_shorter_interval_compresses_the_same_shifts_in_time() -> None:
    # Shift k falls at T_k = interval x (E_1 + ... + E_k): halving the interval halves every
    # T_k, so with ceil(T) as the day, day at 20 is 2 x day at 10 or one less; the factors of
    # shift k are the same (common random numbers across a turbulence sweep).
    slow = draw_shifts(SEED, Market(shift_interval_days=20.0, virgin_price_cv=0.3), ["stone"], 4000)
    fast = draw_shifts(SEED, Market(shift_interval_days=10.0, virgin_price_cv=0.3), ["stone"], 4000)
    assert len(fast) > len(slow) > 100
    for a, b in zip(fast, slow, strict=False):
        assert b.day in (2 * a.day - 1, 2 * a.day)
        assert a.virgin == b.virgin


def test_factors_are_lognormal_with_mean_one_and_the_given_cv() -> None:
    # log f ~ N(-s2 / 2, s2) with s2 = ln(1 + cv^2); tolerances are 4 standard errors.
    n, cv = 40_000, 0.5
    f = lognormal_factors(np.random.Generator(np.random.PCG64(5)), cv, n)
    s2 = math.log1p(cv * cv)
    logs = np.log(f)
    assert abs(logs.mean() + s2 / 2) < 4 * math.sqrt(s2 / n)
    assert abs(logs.var(ddof=1) - s2) < 4 * s2 * math.sqrt(2 / (n - 1))
    assert abs(f.mean() - 1.0) < 4 * cv / math.sqrt(n)
    assert (lognormal_factors(np.random.Generator(np.random.PCG64(5)), 0.0, 3) == 1.0).all()


def test_priced_total_sums_tonnes_times_the_day_price() -> None:
    tonnes = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    prices = np.array([10.0, 10.0, 20.0, 20.0, 5.0])
    assert priced_total(tonnes, prices) == 10 + 20 + 60 + 80 + 25
    assert priced_total(tonnes, prices, start=3) == 80 + 25
    assert priced_total(tonnes, np.full(5, 7.0)) == float(tonnes.sum()) * 7.0


# --- prices in a run -------------------------------------------------------------------------


def turbulent(horizon: int = 20, **kw: Any):
    return build({"market": dict(TURBULENT)}, horizon=horizon, **kw)


def test_the_virgin_bill_and_the_counterfactual_follow_the_day_price() -> None:
    # No exchange: the buyer buys 10 t of stone a day at 50 x the factor of the day; the run
    # is the world without symbiosis, so its counterfactual is the same bill and its benefit
    # is 0; the supplier disposes of 10 t a day at 10 x its factor, which is also its
    # counterfactual. No store holds anything (no buffer, no source storage): no stock value.
    m = run(turbulent(contracts=[]), seed=3)
    shifts = m.market_shifts
    assert len({s.day for s in shifts}) >= 3  # the story needs the prices to move
    stone = np.array([50.0 * factor_on(shifts, d, "virgin", "stone") for d in range(20)])
    ash = np.array([10.0 * factor_on(shifts, d, "disposal", "ash") for d in range(20)])
    assert daily(m, "virgin", "buy") == approx(10 * stone, rel=1e-12)
    assert daily(m, "disposal", "sup") == approx(10 * ash, rel=1e-12)
    fac = m.result().facilities.set_index("facility")
    assert fac.at["buy", "counterfactual_cost"] == approx(10 * stone.sum(), rel=1e-12)
    assert fac.at["sup", "counterfactual_cost"] == approx(10 * ash.sum(), rel=1e-12)
    assert fac.at["buy", "net_benefit"] == approx(0.0, abs=1e-9)
    assert fac.at["sup", "net_benefit"] == approx(0.0, abs=1e-9)


def test_net_benefit_of_an_exchange_is_valued_at_the_day_price() -> None:
    # With c1 (free ash from day 1): the buyer avoids 10 t of stone on days 1-19 at the day's
    # price. The supplier ships all it makes and so avoids the disposal of 10 t a day that the
    # world without symbiosis pays on days 0-19, but day 19's 10 t are still on the road at
    # the end: its own until they land, a liability valued at day 19's disposal cost. Valued
    # at the last day's prices instead, both would be wrong.
    m = run(turbulent(), seed=3)
    shifts = m.market_shifts
    stone = np.array([50.0 * factor_on(shifts, d, "virgin", "stone") for d in range(20)])
    ash = np.array([10.0 * factor_on(shifts, d, "disposal", "ash") for d in range(20)])
    metrics = m.result().metrics
    assert metrics["buyer_benefit"] == approx(10 * stone[1:].sum(), rel=1e-12)
    assert metrics["supplier_benefit"] == approx(10 * ash.sum() - 10 * ash[19], rel=1e-12)
    assert metrics["buyer_benefit"] != approx(10 * 19 * stone[-1], rel=1e-3)


def test_a_period_benefit_values_tonnes_at_the_day_price() -> None:
    # Price 0, 5-day periods: the supplier's benefit over days 0-4 is the disposal avoided on
    # the tonnes the buyer took (10 t on days 1-4) at each day's disposal cost.
    sc = build({"market": dict(TURBULENT), "behaviour": {"formation_interval_days": 1000},
                "contracts.c1.settlement_days": 5}, horizon=10)
    m = run(sc, seed=3)
    ash = [10.0 * factor_on(m.market_shifts, d, "disposal", "ash") for d in range(10)]
    stone = [50.0 * factor_on(m.market_shifts, d, "virgin", "stone") for d in range(10)]
    first = m.contracts[0].benefit_history[0]
    assert first == approx((10 * sum(ash[1:5]), 10 * sum(stone[1:5])), rel=1e-12)


def test_buffer_disposal_follows_the_market() -> None:
    # A 5 t buffer (starting full) receives 10 t a day from day 1 while the line uses none of
    # it (max share 0): 10 t spill a day, at 10 x the day's ash factor, at the buyer's cost.
    sc = build({"market": dict(TURBULENT), "facilities.buy.inputs.stone.buffer_t": 5.0,
                "facilities.buy.inputs.stone.substitutes.ash.max_share": 0.0}, horizon=20)
    m = run(sc, seed=3)
    ash = np.array([10.0 * factor_on(m.market_shifts, d, "disposal", "ash") for d in range(20)])
    spill = np.array([0.0, *[10.0] * 19])
    assert daily(m, "buffer_disposal", "buy") == approx(spill * ash, rel=1e-12)


# --- common random numbers -------------------------------------------------------------------


def test_a_market_never_moves_the_draws_of_outputs_or_outages() -> None:
    overrides = {"facilities.sup.outputs.ash.variability": {"dist": "gamma", "cv": 0.5},
                 "facilities.sup.outages": {"mtbf_days": 6.0, "mttr_days": 2.0}}
    calm = run(build(overrides, horizon=60), seed=5)
    moved = run(build({**overrides, "market": dict(TURBULENT)}, horizon=60), seed=5)
    assert np.array_equal(calm.streams_flow["generated_raw_t"], moved.streams_flow["generated_raw_t"])
    assert np.array_equal(calm.up_history, moved.up_history)


@pytest.mark.parametrize("name", ["brewery_farms", "redundancy_market"])
def test_a_market_that_moves_no_price_changes_nothing(name: str) -> None:
    # Shifts every 5 days with factors of exactly 1: the same numbers, bit for bit, as no
    # [market] at all (hence as before markets existed: the arithmetic is the same).
    path = REPO / "scenarios" / f"{name}.toml"
    seed = np.random.SeedSequence(3, spawn_key=(1,))
    plain = run_once(load_scenario(path), seed)
    still = run_once(load_scenario(path, {"market.shift_interval_days": 5.0}), seed)
    assert still.metrics == plain.metrics
    assert still.contracts.equals(plain.contracts) and still.facilities.equals(plain.facilities)
