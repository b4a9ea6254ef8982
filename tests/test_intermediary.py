"""The intermediary and redundancy (issue 5): each mechanism against its hand calculation, the
pooling effect and the k-out-of-n closed form (O5) within Monte Carlo error."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from pytest import approx
from tiny_net import build, run

from sim.model import SymbiosisModel
from sim.scenario import parse_scenario

HUB = {"location": {"x_km": 0.0, "y_km": 0.0}, "storage_t": 100.0}


def with_hub(hub: dict[str, Any] | None = None, **kw: Any):
    """The tiny network with an intermediary (at the facilities' site) routing every contract."""
    overrides = {"intermediary": {**HUB, **(hub or {})}, "policy.intermediary": True}
    overrides.update(kw.pop("overrides", {}))
    return build(overrides, **kw)


def paid(m: SymbiosisModel, category: str, payer: str, payee: str) -> float:
    money = m.money.frame()
    sel = (money["category"] == category) & (money["payer"] == payer) & (money["payee"] == payee)
    return float(money.loc[sel, "amount"].sum())


def test_routed_contract_pays_supplier_the_price_and_charges_buyer_price_plus_fee() -> None:
    # 10 t/day shipped from day 0 reach the pool on days 1..9 (9 x 10 t) and the buyer on
    # days 2..9 (8 x 10 t). The intermediary pays 5/t in, and charges 5/t + a 2/t fee out.
    m = run(with_hub({"fee_per_t": 2.0}, overrides={"contracts.c1.price_per_t": 5.0}))
    assert paid(m, "price", "intermediary", "sup") == approx(9 * 10 * 5.0)
    assert paid(m, "price", "buy", "intermediary") == approx(8 * 10 * 5.0)
    assert paid(m, "intermediary_fee", "buy", "intermediary") == approx(8 * 10 * 2.0)
    # Its profit counts its stock too (sim/stocks.py): the 10 t it shipped on day 9 are on
    # their way to the buyer at the end, still its own, worth the 5/t it paid for them.
    r = m.result().metrics
    assert r["intermediary_profit"] == approx(8 * 10 * 7.0 - 9 * 10 * 5.0 + 10 * 5.0)


def test_a_road_distance_to_the_intermediary_sets_its_leg() -> None:
    # The hub sits 3 km from both plants (circuity 1): the inbound leg takes the 600 km road
    # given for it (2 days at 500 km/day), the outbound one the straight line.
    m = run(with_hub({"location": {"x_km": 3.0, "y_km": 0.0}},
                     overrides={"transport.distances": [{"a": "sup", "b": "intermediary", "km": 600.0}]}))
    (c,) = m.contracts
    assert (c.km, c.lag_days) == (600.0, 2)
    assert (c.km_out, c.lag_out) == (approx(3.0), 1)


def test_reliable_suppliers_move_the_same_mass_bilaterally_and_through_the_intermediary() -> None:
    # No outages: the supplier ships the same tonnes; once both pipelines are full (day 2),
    # buyers receive the same 10 t a day; the difference is only what is in the pipeline.
    direct = run(build(horizon=30))
    pooled = run(with_hub(horizon=30))
    assert pooled.streams_flow["shipped_t"].sum() == approx(direct.streams_flow["shipped_t"].sum())
    assert pooled.inputs_flow["accepted_t"][2:, 0] == approx(direct.inputs_flow["accepted_t"][2:, 0])
    in_pipeline = pooled.hub.stock_t + sum(c.out_in_transit_t + c.in_transit_t for c in pooled.contracts)
    moved_direct = direct.inputs_flow["accepted_t"].sum() + direct.contracts[0].in_transit_t
    assert pooled.inputs_flow["accepted_t"].sum() + in_pipeline == approx(moved_direct)


def test_detected_off_spec_lots_go_back_at_the_suppliers_cost() -> None:
    # Every lot has cl = 0.10 against the contract's max 0.08; detection is certain, so all 9
    # inbound shipments (90 t) are rejected at the pool and disposed at 10/t by the supplier.
    sc = with_hub(
        {"detection_probability": 1.0},
        overrides={"facilities.sup.outputs.ash.quality": {"cl": {"mean": 0.10}},
                   "contracts.c1.quality_spec": {"cl": {"max": 0.08}}},
    )
    m = run(sc)
    assert m.contracts_flow["rejected_t"].sum() == approx(90.0)
    assert paid(m, "rejection_disposal", "sup", "disposal") == approx(900.0)
    assert m.inputs_flow["accepted_t"].sum() == 0.0


def test_undetected_off_spec_lots_are_rejected_at_the_buyers_gate_at_the_intermediarys_cost() -> None:
    # Detection 0: the lots pass the pool, the buyer's gate rejects the 8 x 10 t that arrive,
    # and the intermediary pays their disposal at its 4/t.
    sc = with_hub(
        {"detection_probability": 0.0, "disposal_cost_per_t": 4.0},
        overrides={"facilities.sup.outputs.ash.quality": {"cl": {"mean": 0.10}},
                   "contracts.c1.quality_spec": {"cl": {"max": 0.08}}},
    )
    m = run(sc)
    assert m.contracts_flow["rejected_t"].sum() == 0.0
    assert m.contracts_flow["out_rejected_t"].sum() == approx(80.0)
    assert paid(m, "rejection_disposal", "intermediary", "disposal") == approx(320.0)


def two_supplier_blend(blending: bool):
    # Two suppliers of 10 t/day, cl 0.04 and 0.10; the buyer (20 t/day) accepts cl <= 0.08.
    extra = [{"id": "sup2", "location": {"x_km": 0.0, "y_km": 0.0},
              "outputs": [{"material": "ash", "rate_t_per_day": 10.0, "quality": {"cl": {"mean": 0.10}}}]}]
    contract = {"id": "c2", "supplier": "sup2", "buyer": "buy", "material": "ash",
                "volume_t_per_day": 10.0, "distance_km": 0.0}
    overrides = {
        "facilities.sup.outputs.ash.quality": {"cl": {"mean": 0.04}},
        "facilities.buy.inputs.stone.demand_t_per_day": 20.0,
        "facilities.buy.inputs.stone.substitutes.ash.quality_limits": {"cl": {"max": 0.08}},
    }
    return run(with_hub({"blending": blending}, overrides=overrides, extra_facilities=extra,
                        extra_contracts=[contract]))


def test_blending_mixes_lots_to_meet_the_buyers_specification() -> None:
    # Mixed, every shipment has cl = 0.07 and passes; unmixed, the 0.10 lots are rejected
    # (8 days x 10 t).
    mixed, unmixed = two_supplier_blend(True), two_supplier_blend(False)
    assert mixed.contracts_flow["out_rejected_t"].sum() == 0.0
    assert mixed.inputs_flow["accepted_t"].sum() == approx(8 * 20.0)
    assert unmixed.contracts_flow["out_rejected_t"].sum() == approx(8 * 10.0)


def test_shipments_on_one_route_share_trucks_and_the_backhaul_discount() -> None:
    # One supplier, two buyers 10 km from the pool, each 10 t/day; supplier 10 km from it.
    # Inbound: 20 t on one route = 1 truck: (20 t x 10 km x 0.1 + 100) x (1 - 0.25) = 90 a day,
    # split 45 / 45; outbound: one truck per buyer: (10 x 10 x 0.1 + 100) x 0.75 = 82.5 each.
    extra = [{"id": "buy2", "location": {"x_km": 0.0, "y_km": 10.0},
              "inputs": [{"material": "stone", "demand_t_per_day": 10.0, "substitutes": [{"material": "ash"}]}]}]
    contract = {"id": "c2", "supplier": "sup", "buyer": "buy2", "material": "ash", "volume_t_per_day": 10.0}
    overrides = {
        "facilities.sup.outputs.ash.rate_t_per_day": 20.0,
        "facilities.sup.location": {"x_km": 10.0, "y_km": 0.0},
        "facilities.buy.location": {"x_km": -10.0, "y_km": 0.0},
        "transport.cost_per_tkm": 0.1,
        "transport.cost_per_trip": 100.0,
    }
    m = run(with_hub({"backhaul_discount": 0.25}, overrides=overrides, extra_facilities=extra,
                     extra_contracts=[contract], horizon=3))
    money = m.money.frame()
    day0 = money[(money["day"] == 0) & (money["category"] == "transport")]
    assert day0["amount"].tolist() == approx([45.0, 45.0])
    day1 = money[(money["day"] == 1) & (money["category"] == "transport")]
    assert sorted(day1["amount"].tolist()) == approx([45.0, 45.0, 82.5, 82.5])


@pytest.mark.parametrize(
    ("rule", "expected_buy", "expected_buy2"),
    [("pro_rata", 5.0, 5.0), ("penalty_exposure", 0.0, 10.0), ("criticality", 10.0, 0.0)],
)
def test_a_short_pool_is_reallocated_by_the_chosen_rule(rule: str, expected_buy: float, expected_buy2: float) -> None:
    # 10 t/day into the pool, two buyers each calling off 10: buy2's contract carries the
    # higher penalty, buy's input is critical.
    extra = [{"id": "buy2", "location": {"x_km": 0.0, "y_km": 0.0},
              "inputs": [{"material": "stone", "demand_t_per_day": 10.0, "substitutes": [{"material": "ash"}]}]}]
    contract = {"id": "c2", "supplier": "sup", "buyer": "buy2", "material": "ash", "volume_t_per_day": 10.0,
                "penalty_per_t_short": 20.0}
    overrides = {"facilities.buy.inputs.stone.critical": True, "contracts.c1.penalty_per_t_short": 5.0}
    m = run(with_hub({"reallocation": rule}, overrides=overrides, extra_facilities=extra,
                     extra_contracts=[contract]))
    shipped = m.contracts_flow["out_shipped_t"]
    assert shipped[5] == approx([expected_buy, expected_buy2])


def test_penalties_follow_the_leg_that_failed() -> None:
    # The supplier is down on days 3..4 (20 t short inbound); the pool is empty, so the
    # intermediary is 20 t short to the buyer a day later. 5/t each way, one settlement.
    sc = with_hub(
        overrides={"contracts.c1.penalty_per_t_short": 5.0, "contracts.c1.settlement_days": 10},
        events=[{"day": 3.0, "kind": "outage", "facility": "sup", "duration_days": 2.0}],
    )
    m = run(sc)
    assert paid(m, "penalty", "sup", "intermediary") == approx(100.0)
    assert paid(m, "penalty", "intermediary", "buy") == approx(100.0)


def test_the_intermediary_sources_emergency_virgin_material_for_members() -> None:
    # The buyer has no virgin source. Its pool supply starts on day 2 (two one-day legs), and
    # with the supplier down on days 3..4 the pool is empty for days 5 and 6: 10 t short on
    # days 0, 1, 5 and 6. The intermediary buys it at 50/t and sells at a 40 % premium (70/t).
    sc = with_hub(
        {"emergency_premium": 0.4},
        overrides={"facilities.buy.inputs.stone.virgin": "none"},
        events=[{"day": 3.0, "kind": "outage", "facility": "sup", "duration_days": 2.0}],
    )
    m = run(sc)
    assert m.inputs_flow["unmet_t"].sum() == 0.0
    assert m.inputs_flow["from_emergency_t"][:, 0] == approx([10, 10, 0, 0, 0, 10, 10, 0, 0, 0])
    assert paid(m, "emergency", "buy", "intermediary") == approx(40.0 * 70.0)
    assert paid(m, "emergency_purchase", "intermediary", "market") == approx(40.0 * 50.0)


# --- statistical: pooling and k-out-of-n -----------------------------------------------------


def pooling_network(pooled: bool) -> dict[str, Any]:
    """Two suppliers (12 t/day, independent outages) and two buyers (10 t/day, secondary only).
    Bilaterally each buyer holds a 30 t buffer; pooled, the buyers hold none and the
    intermediary holds the same 60 t for both."""
    def supplier(fid: str, y: float) -> dict[str, Any]:
        return {"id": fid, "location": {"x_km": 0.0, "y_km": y}, "outages": {"mtbf_days": 30.0, "mttr_days": 6.0},
                "outputs": [{"material": "ash", "rate_t_per_day": 12.0}]}

    def buyer(fid: str, y: float) -> dict[str, Any]:
        return {"id": fid, "location": {"x_km": 10.0, "y_km": y},
                "inputs": [{"material": "stone", "demand_t_per_day": 10.0, "buffer_t": 0.0 if pooled else 30.0,
                            "virgin": "none", "substitutes": [{"material": "ash"}]}]}

    raw: dict[str, Any] = {
        "scenario": {"name": "pooling", "horizon_days": 730},
        "materials": [{"id": "ash"}, {"id": "stone", "virgin_price_per_t": 30.0}],
        "facilities": [supplier("s1", 0.0), supplier("s2", 20.0), buyer("b1", 0.0), buyer("b2", 20.0)],
        "contracts": [
            {"id": f"c{k}", "supplier": f"s{k}", "buyer": f"b{k}", "material": "ash", "volume_t_per_day": 12.0}
            for k in (1, 2)
        ],
    }
    if pooled:
        raw["intermediary"] = {"location": {"x_km": 5.0, "y_km": 10.0}, "storage_t": 60.0}
        raw["policy"] = {"intermediary": True}
    return raw


@pytest.mark.slow
def test_pooling_through_the_intermediary_lowers_shortage_against_the_same_capacity() -> None:
    """Paired over 30 replications (common random numbers: the same outages in both)."""
    diffs = []
    for r in range(30):
        unmet = []
        for pooled in (False, True):
            m = SymbiosisModel(parse_scenario(pooling_network(pooled)), rng=np.random.SeedSequence(7, spawn_key=(r,)),
                               collect_series=False)
            m.run()
            unmet.append(m.result().metrics["input_unmet_t"])
        diffs.append(unmet[0] - unmet[1])
    d = np.asarray(diffs)
    se = d.std(ddof=1) / math.sqrt(len(d))
    assert d.mean() > 4 * se, f"pooled saves {d.mean():.1f} t (SE {se:.1f})"


def k_of_n_network(caps: list[float], mtbf: list[float], mttr: list[float], demand: float) -> dict[str, Any]:
    """n independent suppliers with whole-day Markov outages, each delivering its capacity
    when up; a buyer with no buffer and no virgin source."""
    facilities: list[dict[str, Any]] = [
        {"id": f"s{k}", "location": {"x_km": 0.0, "y_km": float(k)},
         "outages": {"mtbf_days": mtbf[k], "mttr_days": mttr[k], "failure": "geometric", "repair": "geometric"},
         "outputs": [{"material": "ash", "rate_t_per_day": caps[k]}]}
        for k in range(len(caps))
    ]
    facilities.append({"id": "b", "location": {"x_km": 1.0, "y_km": 0.0},
                       "inputs": [{"material": "stone", "demand_t_per_day": demand, "virgin": "none",
                                   "substitutes": [{"material": "ash"}]}]})
    return {
        "scenario": {"name": "k-of-n", "horizon_days": 3000, "warmup_days": 50},
        "materials": [{"id": "ash"}, {"id": "stone", "virgin_price_per_t": 1.0}],
        "facilities": facilities,
        "contracts": [{"id": f"c{k}", "supplier": f"s{k}", "buyer": "b", "material": "ash",
                       "volume_t_per_day": caps[k]} for k in range(len(caps))],
    }


def expected_shortfall(caps: list[float], avail: list[float], demand: float) -> float:
    """O5: E[(d - sum_i c_i 1{up_i})^+] by enumerating the up/down states."""
    total = 0.0
    for states in itertools.product((0, 1), repeat=len(caps)):
        p = math.prod(a if s else 1 - a for a, s in zip(avail, states, strict=True))
        total += p * max(0.0, demand - sum(c * s for c, s in zip(caps, states, strict=True)))
    return total


@pytest.mark.slow
def test_redundant_suppliers_match_the_k_out_of_n_shortfall() -> None:
    caps, mtbf, mttr, demand = [6.0, 5.0, 4.0], [20.0, 15.0, 10.0], [4.0, 5.0, 2.0], 10.0
    avail = [u / (u + r) for u, r in zip(mtbf, mttr, strict=True)]
    sc = parse_scenario(k_of_n_network(caps, mtbf, mttr, demand))
    fill = []
    for r in range(20):
        m = SymbiosisModel(sc, rng=np.random.SeedSequence(11, spawn_key=(r,)), collect_series=False)
        m.run()
        fill.append(m.result().metrics["fill_rate"])
    f = np.asarray(fill)
    expected = 1 - expected_shortfall(caps, avail, demand) / demand
    se = f.std(ddof=1) / math.sqrt(len(f))
    assert abs(f.mean() - expected) <= 4 * se, f"fill {f.mean():.5f} vs {expected:.5f} (SE {se:.5f})"
