"""Metamorphic relations on contract design: splitting a contract, and a backup served from
surplus under common random numbers.

Networks come from the one-supplier, one-buyer generator of tests/test_buffer_policy.py
(`_one_to_one`: no shelf life, random outages, variability, storage, buffer and refill rule).

Splitting. Contract c1 replaced by two copies of half its volume (and half its catch-up
term), same supplier, buyer, price, penalty, start and terms, gives the same physical flows and
money as the one contract, run by run (rel 1e-9), except the per-link counts
(link_days_in_force and link_days_possible count each contract). Conditions: deliveries every
1, 3 or 7 days and no cost per truck trip (a half-size contract needs as many
trips, so a cost per trip breaks the relation; cost per t-km is kept). Refill rules `none` and
`use_less` only: see the note on `catch_up` below.

Periodic deliveries failed here at first (e.g. `_one_to_one(4, "none", 12.0)` at interval 3:
1132.18 t exchanged both ways, secondary used 729.35 t against 707.84 t): the buffer's room
for cycle stock was the largest single delivery, so two halves landing the same day overflowed
where one whole did not. The room is now one delivery of each periodic contract, summed
(sim/agents.py cycle_stock_t), and the relation holds at intervals 3 and 7 too. Not committed
because it fails (reported with issue 22): refill `catch_up`, daily, `_one_to_one(16,
"catch_up", 8.0)`: the same flows but contract shortfall 230.44 t against 228.40 t (each half
keeps its own backlog).

Backup from surplus. A second supplier `sup2` (same outage law and variability as `sup`, its
own rate) is in both arms; in one arm it holds a backup contract for the buyer's ash. The
backup delivers only while the primary fails, from a supplier that has no other buyer, so it
takes nothing from anyone: the buyer's secondary input never falls (run by run, same seed).
The bigger-buffer relation (relation 5a) is
tests/test_buffer_policy.py::test_a_bigger_buffer_never_raises_virgin_use_or_unmet_demand.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_buffer_policy import _one_to_one

from tests.metamorphic.relations import assert_same, metrics, money_scale, physical_keys

FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**31 - 1)
PER_LINK = ("link_days_in_force", "link_days_possible")


def _daily(seed: int, refill: str, buffer_days: float, interval: int = 1) -> dict:
    raw = _one_to_one(seed, refill, 0.0)
    inp = raw["facilities"][1]["inputs"][0]
    inp["buffer_t"] = buffer_days * inp["demand_t_per_day"]
    raw["transport"] = {"cost_per_trip": 0.0}
    raw["contracts"][0]["delivery_interval_days"] = interval
    return raw


def split(raw: dict) -> dict:
    """c1 as two contracts c1a and c1b of half its volume and catch-up."""
    out = copy.deepcopy(raw)
    halves = []
    for cid in ("c1a", "c1b"):
        half = copy.deepcopy(raw["contracts"][0])
        half["id"] = cid
        half["volume_t_per_day"] /= 2.0
        if "catch_up_t_per_day" in half:
            half["catch_up_t_per_day"] /= 2.0
        halves.append(half)
    out["contracts"] = halves
    return out


def _splitting(seed: int, run_seed: int, refill: str, buffer_days: float, interval: int = 1) -> None:
    raw = _daily(seed, refill, buffer_days, interval)
    one, two = metrics(raw, run_seed), metrics(split(raw), run_seed)
    keys = [k for k in physical_keys(one) if k not in PER_LINK] + ["net_benefit", "penalties_paid",
                                                                  "transport_cost"]
    assert_same(one, two, keys, scale=money_scale(one) + 1e3, what="split")


def with_backup(raw: dict, seed: int, on: bool) -> dict:
    out = copy.deepcopy(raw)
    rng = np.random.default_rng([seed, 3])
    demand = out["facilities"][1]["inputs"][0]["demand_t_per_day"]
    second = copy.deepcopy(out["facilities"][0])
    second["id"] = "sup2"
    second["outputs"][0]["rate_t_per_day"] = float(rng.uniform(0.2, 1.5)) * demand
    out["facilities"].append(second)
    if on:
        out["contracts"].append({
            "id": "c2", "supplier": "sup2", "buyer": "buy", "material": "ash", "role": "backup",
            "volume_t_per_day": float(rng.uniform(0.2, 1.2)) * demand,
            "activation_lead_time_days": float(rng.uniform(0, 3)),
        })  # fmt: skip
    return out


def _backup(seed: int, run_seed: int, refill: str) -> None:
    raw = _one_to_one(seed, refill, 0.0)
    inp = raw["facilities"][1]["inputs"][0]
    inp["buffer_t"] = float(np.random.default_rng([seed, 4]).uniform(0, 5)) * inp["demand_t_per_day"]
    without = metrics(with_backup(raw, seed, False), run_seed)["input_from_secondary_t"]
    backed = metrics(with_backup(raw, seed, True), run_seed)["input_from_secondary_t"]
    assert backed >= without - 1e-9 * (1.0 + without), (without, backed)


@FAST
@given(SEEDS, st.integers(0, 1000), st.sampled_from(["none", "use_less"]), st.floats(0.0, 8.0),
       st.sampled_from([1, 3, 7]))
def test_two_half_contracts_give_the_flows_of_one(seed: int, run_seed: int, refill: str, days: float,
                                                  interval: int) -> None:
    _splitting(seed, run_seed, refill, days, interval)


@pytest.mark.slow
@SLOW
@given(SEEDS, st.integers(0, 1000), st.sampled_from(["none", "use_less"]), st.floats(0.0, 8.0),
       st.sampled_from([1, 3, 7]))
def test_two_half_contracts_give_the_flows_of_one_many(seed: int, run_seed: int, refill: str, days: float,
                                                       interval: int) -> None:
    _splitting(seed, run_seed, refill, days, interval)


@FAST
@given(SEEDS, st.integers(0, 1000), st.sampled_from(["none", "catch_up", "use_less"]))
def test_a_backup_from_surplus_never_lowers_secondary_received(seed: int, run_seed: int, refill: str) -> None:
    _backup(seed, run_seed, refill)


@pytest.mark.slow
@SLOW
@given(SEEDS, st.integers(0, 1000), st.sampled_from(["none", "catch_up", "use_less"]))
def test_a_backup_from_surplus_never_lowers_secondary_received_many(seed: int, run_seed: int, refill: str) -> None:
    _backup(seed, run_seed, refill)
