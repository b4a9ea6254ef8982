"""Metamorphic relations on money: price scaling and the penalty as a transfer.

Price scaling. Multiply every field in money units (relations.MONEY_KEYS: contract prices,
virgin prices, disposal, holding, processing, preprocessing, test and refusal costs, penalties
and their caps, standby and termination fees, the intermediary's fee, pipe costs, transport
per t-km and per trip, lost margins) by lambda. Ratios (emergency premia, backhaul discounts,
price CVs) stay. With agents' decisions off (policy.adaptive = false, no [behaviour], no
formation), every money metric scales by lambda (rel 1e-9) and every other metric (t, m3,
MWh, days, rates, counts) is unchanged: no rule of the static day reads a price.

With decisions on, a rule is scale-free when it compares money with money: formation and exit
compare a link's expected value with zero and with other links (a sign and an order do not
change under lambda > 0); a buyer's acceptance weighs the saving per t against
risk_aversion x (1 - availability) x exceedance x cost per t (sim/expectations.py: linear in
money, so risk_aversion is a pure number); trust learns from delivered tonnes; the
intermediary's `penalty_exposure` reallocation orders buyers by penalty; indexation floors and
caps are in money and scale with the rest. No behaviour threshold is in money units, so the
relation should hold with decisions on too: tested on random networks with [behaviour]
(exits, adaptations and formations happen in most of them) and on the shipped scenarios as
they are (contracts_market forms contracts, redundancy_market adapts).

Penalty as a transfer. With decisions off and the intermediary's reallocation not by
penalty exposure, sweeping every contract's penalty (x3 + 5 per t, caps x3) changes no
physical metric and not net_benefit (the sum of supplier, buyer and intermediary benefits):
a penalty moves money from one party to another.
"""

from __future__ import annotations

import copy

import pytest
from helpers import random_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.metamorphic.relations import (
    MONEY_METRICS,
    SHIPPED,
    assert_same,
    metrics,
    money_scale,
    physical_keys,
    raw_of,
    scale_money,
    shipped_raw,
    static,
)  # fmt: skip

FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**31 - 1)


def _price_scaling(raw: dict, seed: int, lam: float, horizon: int | None = None, static_first: bool = True) -> None:
    if static_first:
        raw = static(raw)
    base = metrics(raw, seed, horizon)
    scaled = metrics(scale_money(raw, lam), seed, horizon)
    assert_same(base, scaled, physical_keys(base), what=f"physical, lambda {lam}")
    expected = {k: base[k] * lam for k in MONEY_METRICS}
    assert_same(expected, scaled, list(MONEY_METRICS), scale=lam * money_scale(base), what=f"money x {lam}")


def _penalty_transfer(raw: dict, seed: int, horizon: int | None = None) -> None:
    raw = static(raw)
    if "intermediary" in raw:
        raw["intermediary"]["reallocation"] = "pro_rata"
    base = metrics(raw, seed, horizon)
    swept = copy.deepcopy(raw)
    for c in swept.get("contracts", []):
        c["penalty_per_t_short"] = c.get("penalty_per_t_short", 0.0) * 3.0 + 5.0
        if "penalty_cap_per_period" in c:
            c["penalty_cap_per_period"] *= 3.0
    other = metrics(swept, seed, horizon)
    assert_same(base, other, [*physical_keys(base), "net_benefit"], scale=money_scale(base) + money_scale(other),
                what="penalty sweep")
    total = other["supplier_benefit"] + other["buyer_benefit"] + other["intermediary_profit"]
    assert_same({"net": other["net_benefit"]}, {"net": total}, ["net"], scale=money_scale(other))


@FAST
@given(SEEDS, st.integers(0, 1000), st.sampled_from([3.0, 1.7]))
def test_price_scaling_on_random_networks(seed: int, run_seed: int, lam: float) -> None:
    _price_scaling(raw_of(random_scenario(seed, 90)), run_seed, lam)


@pytest.mark.slow
@SLOW
@given(SEEDS, st.integers(0, 1000), st.floats(0.01, 100.0))
def test_price_scaling_on_random_networks_many(seed: int, run_seed: int, lam: float) -> None:
    _price_scaling(raw_of(random_scenario(seed, 200)), run_seed, lam)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_price_scaling_on_shipped_scenarios(path) -> None:
    _price_scaling(shipped_raw(path), 3, 1.7, horizon=120)


def _decisions_on(seed: int) -> dict:
    """A random network with agents deciding (its own [behaviour] or a default one)."""
    raw = raw_of(random_scenario(seed, 120))
    raw.setdefault("policy", {})["adaptive"] = True
    return raw


@FAST
@given(SEEDS, st.integers(0, 1000), st.sampled_from([3.0, 1.7]))
def test_price_scaling_with_decisions_on(seed: int, run_seed: int, lam: float) -> None:
    _price_scaling(_decisions_on(seed), run_seed, lam, static_first=False)


@pytest.mark.slow
@SLOW
@given(SEEDS, st.integers(0, 1000), st.floats(0.01, 100.0))
def test_price_scaling_with_decisions_on_many(seed: int, run_seed: int, lam: float) -> None:
    _price_scaling(_decisions_on(seed), run_seed, lam, static_first=False)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_price_scaling_on_shipped_scenarios_as_they_are(path) -> None:
    _price_scaling(shipped_raw(path), 3, 1.7, horizon=120, static_first=False)


@FAST
@given(SEEDS, st.integers(0, 1000))
def test_a_penalty_sweep_moves_only_money_on_random_networks(seed: int, run_seed: int) -> None:
    _penalty_transfer(raw_of(random_scenario(seed, 90)), run_seed)


@pytest.mark.slow
@SLOW
@given(SEEDS, st.integers(0, 1000))
def test_a_penalty_sweep_moves_only_money_on_random_networks_many(seed: int, run_seed: int) -> None:
    _penalty_transfer(raw_of(random_scenario(seed, 200)), run_seed)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_a_penalty_sweep_moves_only_money_on_shipped_scenarios(path) -> None:
    _penalty_transfer(shipped_raw(path), 3, horizon=120)
