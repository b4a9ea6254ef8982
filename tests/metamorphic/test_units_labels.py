"""Metamorphic relations on units and labels.

Unit change. The schema knows three units (t, m3, MWh; docs/reference.md, `unit`), not kg, so
the nearest honest version is tested: the waste material (ash) of a one-supplier, one-buyer
network (tests/test_buffer_policy.py `_one_to_one`) is written in thousandths of its unit,
i.e. every ash quantity x 1000 (output rate, source storage, contract volume, catch-up term)
and every ash money rate / 1000 (disposal cost, contract price, penalty per t short), with the
substitute's ratio / 1000 (stone units replaced per ash unit). It shows: every ash metric
(generated, available, exchanged, disposed, rejected, spoiled, shortfalls, t-km) x 1000, and
every other metric (stone inputs, fill rates, disruption days, all money) unchanged, run by
run (rel 1e-9). Transport costs are set to 0 in both arms: cost_per_tkm and the truck
capacity are global per t of any material, so a material in kg would need its own rate.

Relabelling. Outage and variability draws are keyed by facility id (sim/rng.py), so renaming a
facility changes its draws and is not a relation. Tested, with decisions off:
- renaming every contract (and the events naming them) changes no metric;
- reversing the order of the materials in the file changes no metric.
Not committed because it fails (a model behaviour to look at, reported with the issue):
reversing the order of the facilities or of the contracts in the file changes results, with
allocation pro_rata and no intermediary too: random_scenario(4, 90) static, run seed 7,
contracts reversed: waste exchanged 775.195 t against 776.216 t; random_scenario(5, 90),
facilities reversed: any_input_short_days 66 against 69.
"""

from __future__ import annotations

import copy

import pytest
from helpers import random_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_buffer_policy import _one_to_one

from tests.metamorphic.relations import (
    MONEY_METRICS,
    SHIPPED,
    assert_same,
    metrics,
    money_scale,
    physical_keys,
    raw_of,
    shipped_raw,
    static,
)

FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**31 - 1)
K = 1000.0
ASH_METRICS = ("waste_generated_t", "waste_available_t", "waste_exchanged_t", "waste_disposed_t",
               "waste_rejected_t", "waste_spoiled_t", "contract_shortfall_t", "supplier_shortfall_t", "tkm")


def _priced(seed: int, refill: str) -> dict:
    raw = _one_to_one(seed, refill, 0.0)
    raw["transport"] = {"cost_per_trip": 0.0, "cost_per_tkm": 0.0}
    raw["materials"][0]["disposal_cost_per_t"] = 10.0
    raw["contracts"][0]["price_per_t"] = 3.0
    raw["contracts"][0]["penalty_per_t_short"] = 7.0
    return raw


def in_thousandths(raw: dict) -> dict:
    """The ash of a `_one_to_one` network in thousandths of its unit."""
    out = copy.deepcopy(raw)
    out["materials"][0]["disposal_cost_per_t"] /= K
    stream = out["facilities"][0]["outputs"][0]
    stream["rate_t_per_day"] *= K
    stream["storage_t"] *= K
    out["facilities"][1]["inputs"][0]["substitutes"][0]["ratio"] /= K
    c = out["contracts"][0]
    c["volume_t_per_day"] *= K
    c["price_per_t"] /= K
    c["penalty_per_t_short"] /= K
    if "catch_up_t_per_day" in c:
        c["catch_up_t_per_day"] *= K
    return out


def _unit_change(seed: int, run_seed: int, refill: str) -> None:
    raw = _priced(seed, refill)
    a, b = metrics(raw, run_seed), metrics(in_thousandths(raw), run_seed)
    assert_same({k: a[k] * K for k in ASH_METRICS}, b, list(ASH_METRICS), scale=K * (1.0 + a["waste_generated_t"]),
                what="ash x 1000")
    rest = [k for k in physical_keys(a) if k not in ASH_METRICS] + list(MONEY_METRICS)
    assert_same(a, b, rest, scale=money_scale(a) + 1e3, what="everything else")


def renamed_contracts(raw: dict) -> dict:
    out = copy.deepcopy(raw)
    for c in out.get("contracts", []):
        c["id"] = "z" + c["id"]
    for e in out.get("events", []):
        if "contract" in e:
            e["contract"] = "z" + e["contract"]
    return out


def materials_reversed(raw: dict) -> dict:
    out = copy.deepcopy(raw)
    out["materials"].reverse()
    return out


def _relabel(raw: dict, run_seed: int, horizon: int | None = None) -> None:
    raw = static(raw)
    base = metrics(raw, run_seed, horizon)
    for change in (renamed_contracts, materials_reversed):
        assert_same(base, metrics(change(raw), run_seed, horizon), list(base), scale=money_scale(base),
                    what=change.__name__)


@FAST
@given(SEEDS, st.integers(0, 1000), st.sampled_from(["none", "catch_up", "use_less"]))
def test_ash_in_thousandths_changes_nothing_beyond_the_unit(seed: int, run_seed: int, refill: str) -> None:
    _unit_change(seed, run_seed, refill)


@pytest.mark.slow
@SLOW
@given(SEEDS, st.integers(0, 1000), st.sampled_from(["none", "catch_up", "use_less"]))
def test_ash_in_thousandths_changes_nothing_beyond_the_unit_many(seed: int, run_seed: int, refill: str) -> None:
    _unit_change(seed, run_seed, refill)


@FAST
@given(SEEDS, st.integers(0, 1000))
def test_renaming_contracts_and_reordering_materials_change_nothing(seed: int, run_seed: int) -> None:
    _relabel(raw_of(random_scenario(seed, 90)), run_seed)


@pytest.mark.slow
@SLOW
@given(SEEDS, st.integers(0, 1000))
def test_renaming_contracts_and_reordering_materials_change_nothing_many(seed: int, run_seed: int) -> None:
    _relabel(raw_of(random_scenario(seed, 200)), run_seed)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_renaming_contracts_and_reordering_materials_on_shipped_scenarios(path) -> None:
    _relabel(shipped_raw(path), 3, horizon=120)
