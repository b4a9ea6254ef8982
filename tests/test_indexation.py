"""Contract price indexation (a contract's `[contracts.indexation]`, sim/indexation.py) and the
market's mean-reverting virgin-price path (`[market]` reversion_per_day and
volatility_per_sqrt_day, sim.market.draw_ou_factors).

- An indexed price follows its index with the floor, the cap and the review interval: a hand
  calculation on a scripted index path, and in a run, every day's payment against the
  clause applied by hand to the run's own virgin price path (both engines, to the bit).
- A flat index reproduces the fixed price to the bit (every ledger row, flow and metric).
- The path's log price has the mean and variance of its closed form (within 4 SE over seeds).
- Adding the path moves no other draw (common random numbers).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from test_arrayday import _pair, assert_same_run
from tiny_net import build, daily, run

from sim.indexation import index_change, indexed_price_per_t, review_day
from sim.market import draw_market, draw_ou_factors, draw_shifts
from sim.scenario import Indexation, Market, load_scenario

REPO = Path(__file__).resolve().parents[1]
SEED = np.random.SeedSequence(5, spawn_key=(2,))


# --- the clause by hand ----------------------------------------------------------------------


def test_an_indexed_price_follows_its_index_with_floor_cap_and_review_interval() -> None:
    # Index (the virgin price): 100 on days 0-9, 150 on 10-19, 40 on 20-29, 110 from 30.
    index = np.array([100.0] * 10 + [150.0] * 10 + [40.0] * 10 + [110.0] * 10)
    clause = Indexation(share=0.5, review_days=7, floor_per_t=40.0, cap_per_t=60.0)
    base, start = 50.0, 3
    # Review days 3, 10, 17, 24, 31, 38 (from the start day, every 7 days).
    days = (0, 3, 9, 10, 16, 17, 23, 24, 31, 39)
    assert [review_day(start, 7, d) for d in days] == [3, 3, 3, 10, 10, 17, 17, 24, 31, 38]
    prices = [indexed_price_per_t(base, clause, index_change(index, start, 7, d)) for d in range(40)]
    # Days 3-9: I(3) - I(3) = 0 -> 50 (the base, exactly); days 0-2 (before the start) too.
    assert prices[:10] == [50.0] * 10
    # Days 10-16: I(10) = 150, change +50 -> 50 + 0.5 x 50 = 75, capped at 60.
    assert prices[10:17] == [60.0] * 7
    # Days 17-23: I(17) = 150 still (held: the index fell on day 20, the price waits for day 24).
    assert prices[17:24] == [60.0] * 7
    # Days 24-30: I(24) = 40, change -60 -> 50 - 30 = 20, floored at 40.
    assert prices[24:31] == [40.0] * 7
    # Days 31-37: I(31) = 110, change +10 -> 50 + 5 = 55 (inside the band); 38-39: I(38) = 110.
    assert prices[31:40] == [55.0] * 9
    # No floor or cap, share 1: one for one; a gate fee (negative base) shrinks as the index rises.
    free = Indexation(share=1.0, review_days=1)
    assert indexed_price_per_t(50.0, free, -30.0) == 20.0
    assert indexed_price_per_t(-8.0, Indexation(share=0.25), 20.0) == -3.0


TURBULENT = {"shift_interval_days": 4.0, "virgin_price_cv": 0.5}
CLAUSE = {"share": 0.8, "review_days": 5, "floor_per_t": 16.0, "cap_per_t": 24.0}


def indexed_tiny(horizon: int = 120, market: dict | None = None, clause: dict | None = None, **extra):
    """The tiny network (one contract, 10 t/day) at price 20 per t, indexed by `clause`, in `market`."""
    c1 = {"id": "c1", "supplier": "sup", "buyer": "buy", "material": "ash", "volume_t_per_day": 10.0,
          "distance_km": 0.0, "price_per_t": 20.0, **extra}
    if clause is not None:
        c1["indexation"] = clause
    sc = build(horizon=horizon, contracts=[c1])
    if market is not None:
        sc = sc.model_copy(update={"market": Market(**market)})
    return sc


def test_a_run_pays_each_day_the_clause_applied_to_its_own_index_path() -> None:
    m = run(indexed_tiny(market=TURBULENT, clause=CLAUSE), seed=4)
    index = m.prices.virgin[:, 0]  # the buyer's stone: the material the ash replaces
    assert len(set(index.tolist())) > 5  # the market moved it
    clause = Indexation(**CLAUSE)
    expected = np.array([indexed_price_per_t(20.0, clause, index_change(index, 0, 5, d)) for d in range(m.horizon)])
    accepted = m.contracts_flow["accepted_t"][:, 0]
    paid = daily(m, "price", "buy", "sup")
    assert accepted[1:].min() == 10.0  # every day from day 1 lands 10 t
    assert paid == pytest.approx(accepted * expected, rel=1e-12)
    assert (expected == 16.0).any() and (expected == 24.0).any()  # floor and cap both bound
    assert ((expected > 16.0) & (expected < 24.0)).any()
    held = expected.reshape(-1, 5)  # held between reviews
    assert (held == held[:, :1]).all()


def test_both_engines_pay_the_same_indexed_prices() -> None:
    sc = indexed_tiny(market={**TURBULENT, "reversion_per_day": 0.05, "volatility_per_sqrt_day": 0.03},
                      clause=CLAUSE, take_or_pay=0.9)
    a, b = _pair(sc, seed=7)
    assert_same_run(a, b)


@pytest.mark.parametrize("market", [None, {"shift_interval_days": 10.0, "disposal_cost_cv": 0.3}])
def test_a_flat_index_reproduces_the_fixed_price_to_the_bit(market: dict | None) -> None:
    # No market, or a market that moves only disposal costs: the index ratio is exactly 1.
    fixed = indexed_tiny(horizon=90, market=market, take_or_pay=0.5)
    indexed = indexed_tiny(horizon=90, market=market, clause=CLAUSE, take_or_pay=0.5)
    for engine_pair in (_pair(fixed, seed=1), _pair(indexed, seed=1)):
        assert_same_run(*engine_pair)
    a, b = _pair(fixed, seed=1)[0], _pair(indexed, seed=1)[0]
    assert a.money.rows == b.money.rows and a.money.accounts == b.money.accounts
    for table in ("streams_flow", "inputs_flow", "contracts_flow"):
        for name in getattr(a, table).names:
            assert np.array_equal(getattr(a, table)[name], getattr(b, table)[name]), (table, name)
    ra, rb = a.result().metrics, b.result().metrics
    assert all(ra[k] == rb[k] or (math.isnan(ra[k]) and math.isnan(rb[k])) for k in ra)


def test_formed_contracts_with_a_flat_index_reproduce_fixed_prices() -> None:
    # The agents form and price contracts (contracts_market.toml); a market that never moves
    # virgin prices leaves index_share = 1 paying what index_share = 0 pays, to the bit.
    path = REPO / "scenarios" / "contracts_market.toml"
    flat = {"scenario.horizon_days": 300, "market.virgin_price_cv": 0.0}
    a = run(load_scenario(path, {**flat, "formation.index_share": 0.0}), seed=2)
    b = run(load_scenario(path, {**flat, "formation.index_share": 1.0}), seed=2)
    assert any(c.index_col >= 0 for c in b.contracts) and not any(c.index_col >= 0 for c in a.contracts)
    assert a.contracts_flow["accepted_t"].sum() > 0
    assert a.money.rows == b.money.rows


# --- the mean-reverting path -----------------------------------------------------------------


def test_the_log_price_path_has_the_mean_and_variance_of_its_closed_form() -> None:
    # X(0) = 0, exact OU steps: E X(d) = 0, Var X(d) = s2 (1 - exp(-2 theta d)), s2 = sigma^2 / (2 theta).
    theta, sigma, n = 0.02, 0.05, 4000
    spec = Market(reversion_per_day=theta, volatility_per_sqrt_day=sigma)
    days = [1, 10, 60, 400]
    seeds = [np.random.SeedSequence(9, spawn_key=(r,)) for r in range(n)]
    x = np.array([np.log(draw_ou_factors(s, spec, ["stone"], 401)["stone"][days]) for s in seeds])
    s2 = sigma**2 / (2 * theta)
    for j, d in enumerate(days):
        var = s2 * -math.expm1(-2 * theta * d)
        mean_se = math.sqrt(var / n)
        var_se = var * math.sqrt(2.0 / (n - 1))  # a normal sample's variance
        assert abs(x[:, j].mean()) < 4 * mean_se, d
        assert abs(x[:, j].var(ddof=1) - var) < 4 * var_se, d


def test_adding_the_path_moves_no_other_draw() -> None:
    jumps = Market(shift_interval_days=15.0, virgin_price_cv=0.3, disposal_cost_cv=0.2)
    both = Market(**{**jumps.model_dump(), "reversion_per_day": 0.1, "volatility_per_sqrt_day": 0.04})
    materials, horizon = ["ash", "stone"], 200
    shifts = draw_shifts(SEED, jumps, materials, horizon)
    assert draw_market(SEED, jumps, materials, horizon) == shifts  # no path: the shifts alone
    moves = draw_market(SEED, both, materials, horizon)
    ou = draw_ou_factors(SEED, both, materials, horizon)
    assert [s.day for s in moves] == list(range(1, horizon))
    for s in moves:  # each day: the shift in force times the path; disposal: the shift's
        past = [p for p in shifts if p.day <= s.day]
        for mat in materials:
            jump_v = past[-1].virgin[mat] if past else 1.0
            assert s.virgin[mat] == jump_v * float(ou[mat][s.day])
            assert s.disposal[mat] == (past[-1].disposal[mat] if past else 1.0)
    # In a run, outputs and outages draw the same with or without the path.
    a = run(indexed_tiny(horizon=200, market=jumps.model_dump(), **{}), seed=3)
    b = run(indexed_tiny(horizon=200, market=both.model_dump()), seed=3)
    assert np.array_equal(a.streams_flow["generated_t"], b.streams_flow["generated_t"])
    assert np.array_equal(a.up_history, b.up_history)
    assert not np.array_equal(a.prices.virgin, b.prices.virgin)
