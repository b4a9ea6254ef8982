"""Each input and stream mechanism moves money or material exactly as its hand calculation says.

The tiny network of ``tiny_net``: supplier `sup` (10 t/day of ash) -> buyer `buy` (10 t/day of
stone, ash substitutes 1:1, virgin stone at 50/t from the market), contract `c1` of 10 t/day
with a one-day lag, 10 days. Each test changes only the mechanism it shows. Within a day the
buyer consumes before the supplier produces; what is shipped at the end of day d is used on
day d + 1; tidy-up (spoilage, overflow, reorder) closes the day.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from tiny_net import ASH_DISPOSAL, STONE_PRICE, build, daily, days_array, entries, run, settlements

from sim.ledger import DISPOSAL, LOST, MARKET, PROCESSING
from sim.rng import stream as rng_stream
from sim.scenario import ScenarioError, Variability
from sim.streams import noise_factors

H = 10
EXACT = {"rel": 1e-12, "abs": 1e-9}
INPUT = "facilities.buy.inputs.stone"
SUB = f"{INPUT}.substitutes.ash"
OUT = "facilities.sup.outputs.ash"


def approx(x):
    return pytest.approx(x, **EXACT)


def every_day_from(start: int, value: float, horizon: int = H) -> np.ndarray:
    return days_array(horizon, {d: value for d in range(start, horizon)})


# --- substitutes ------------------------------------------------------------------------------


def test_substitute_ratio_and_max_share_set_functional_tonnes():
    # ratio 0.5, max share 0.3: at most 0.3 x 10 = 3 functional t a day, from 3 / 0.5 = 6 t of ash
    # (exactly what the contract delivers, days 1..9); the other 7 t are virgin.
    sc = build({f"{SUB}.ratio": 0.5, f"{SUB}.max_share": 0.3, "contracts.c1.volume_t_per_day": 6.0})
    m = run(sc)
    f = m.inputs_flow
    assert f["secondary_used_t"][:, 0] == approx(every_day_from(1, 6.0))
    assert f["from_secondary_t"][:, 0] == approx(every_day_from(1, 3.0))
    assert f["from_virgin_t"][:, 0] == approx(days_array(H, {0: 10.0}) + every_day_from(1, 7.0))
    assert f["buffer_t"][:, 0] == approx(np.zeros(H))


def test_substitutes_fill_demand_in_listed_order_each_up_to_its_share():
    # Ash (ratio 1, share 0.3) first: 3 functional t from 3 t. Glass (ratio 2, share 0.5) next:
    # min(10 - 3, 5) = 5 functional t from 2.5 t. Virgin: 2 t. From day 1 (both arrive daily).
    glass = {"id": "glass"}
    sup2 = {"id": "sup2", "location": {"x_km": 0.0, "y_km": 0.0},
            "outputs": [{"material": "glass", "rate_t_per_day": 2.5}]}
    c2 = {"id": "c2", "supplier": "sup2", "buyer": "buy", "material": "glass", "volume_t_per_day": 2.5,
          "distance_km": 0.0}
    sc = build({"contracts.c1.volume_t_per_day": 3.0,
                f"{INPUT}.substitutes": [{"material": "ash", "max_share": 0.3},
                                         {"material": "glass", "ratio": 2.0, "max_share": 0.5}]},
               extra_materials=[glass], extra_facilities=[sup2], extra_contracts=[c2])
    m = run(sc)
    f = m.inputs_flow
    assert f["from_secondary_t"][:, 0] == approx(every_day_from(1, 8.0))
    assert f["secondary_used_t"][:, 0] == approx(every_day_from(1, 5.5))
    assert f["from_virgin_t"][:, 0] == approx(days_array(H, {0: 10.0}) + every_day_from(1, 2.0))
    assert f["buffer_overflow_t"][:, 0] == approx(np.zeros(H))


def test_secondary_processing_cost_per_tonne_of_secondary():
    # 6 t of ash used a day (days 1..9) at 2.5/t processing: 15 a day, paid by the buyer.
    sc = build({f"{SUB}.ratio": 0.5, f"{SUB}.max_share": 0.3, f"{SUB}.processing_cost_per_t": 2.5,
                "contracts.c1.volume_t_per_day": 6.0})
    m = run(sc)
    assert daily(m, "secondary_processing", "buy", PROCESSING) == approx(every_day_from(1, 15.0))


def test_virgin_market_purchase_at_virgin_price():
    # Same set-up: 10 t virgin on day 0, 7 t on days 1..9, at 50/t, paid to the market the same day.
    sc = build({f"{SUB}.ratio": 0.5, f"{SUB}.max_share": 0.3, "contracts.c1.volume_t_per_day": 6.0})
    m = run(sc)
    expected = days_array(H, {0: 10.0 * STONE_PRICE}) + every_day_from(1, 7.0 * STONE_PRICE)
    assert daily(m, "virgin", "buy", MARKET) == approx(expected)


# --- secondary buffer -------------------------------------------------------------------------


def buffer_outage(outage_days: float):
    """Buffer 30 t (full at the start), no virgin, lost margin 100/t, supplier down from day 3."""
    return build({f"{INPUT}.buffer_t": 30.0, f"{INPUT}.virgin": "none", f"{INPUT}.lost_margin_per_t": 100.0},
                 events=[{"day": 3, "kind": "outage", "facility": "sup", "duration_days": outage_days}])


def test_buffer_covers_outage_shorter_than_its_cover():
    # Day 0 uses 10 t of the opening 30 (nothing has arrived yet): from then on the buffer holds
    # 20 t at the end of each day, i.e. two days of cover. Supplier down on days 3, 4: no
    # arrivals on days 4, 5, which the buffer covers (20 -> 10 -> 0); day 6 gets day 5's output.
    m = run(buffer_outage(2.0))
    f = m.inputs_flow
    assert f["unmet_t"][:, 0] == approx(np.zeros(H))
    assert f["buffer_t"][:, 0] == approx(np.array([20, 20, 20, 20, 10, 0, 0, 0, 0, 0], dtype=float))
    assert entries(m, "lost_margin").empty


def test_buffer_does_not_cover_longer_outage():
    # Supplier down on days 3, 4, 5: no arrivals on days 4, 5, 6; the 20 t cover days 4 and 5,
    # day 6 is 10 t unmet at 100/t.
    m = run(buffer_outage(3.0))
    f = m.inputs_flow
    assert f["unmet_t"][:, 0] == approx(days_array(H, {6: 10.0}))
    assert daily(m, "lost_margin", "buy", LOST) == approx(days_array(H, {6: 1000.0}))


def test_initial_buffer_t_sets_opening_stock():
    # Opening buffer 4 t (of 30): day 0 uses those 4 t and buys 6 t virgin. The buffer is below
    # its 30 t target, so (refill use_less, share 0.25) from day 1 the buyer uses 7.5 of the
    # 10 t delivered and buys 2.5 t virgin: the buffer grows 2.5 t a day (still short of 30 on day 9).
    m = run(build({f"{INPUT}.buffer_t": 30.0, f"{INPUT}.initial_buffer_t": 4.0}))
    f = m.inputs_flow
    assert m.input_states[0].buffer_start == 4.0
    assert f["from_secondary_t"][:, 0] == approx(days_array(H, {0: 4.0}) + every_day_from(1, 7.5))
    assert f["from_virgin_t"][:, 0] == approx(days_array(H, {0: 6.0}) + every_day_from(1, 2.5))
    assert f["buffer_t"][:, 0] == approx(2.5 * np.arange(H))
    assert daily(m, "virgin", "buy", MARKET) == approx(f["from_virgin_t"][:, 0] * STONE_PRICE)


def test_buffer_overflow_disposed_at_buyer_cost():
    # Deliveries of 15 t/day against a plan of 10 (the demand; the max share caps the plan),
    # buffer cap 12 (opening 0). Day 1: 15 t land; below target, the buyer holds back up to
    # 0.25 x 10 (refill use_less): it uses max(7.5, 15 - 12) = 7.5, ending at 7.5. Day 2: 22.5 t,
    # 10.5 above target, so the full plan of 10: 12.5 left, 0.5 t overflow. From day 3: 27 - 10
    # = 17, 5 t a day overflow at 10/t.
    sc = build({f"{INPUT}.buffer_t": 12.0, f"{INPUT}.initial_buffer_t": 0.0,
                "contracts.c1.volume_t_per_day": 15.0, f"{OUT}.rate_t_per_day": 15.0})
    m = run(sc)
    f = m.inputs_flow
    overflow = days_array(H, {2: 0.5}) + every_day_from(3, 5.0)
    assert f["buffer_overflow_t"][:, 0] == approx(overflow)
    assert f["buffer_t"][:, 0] == approx(np.array([0, 7.5, 12, 12, 12, 12, 12, 12, 12, 12], dtype=float))
    assert daily(m, "buffer_disposal", "buy", DISPOSAL) == approx(overflow * ASH_DISPOSAL)


# --- virgin stockpile, emergency, unmet -------------------------------------------------------


def test_virgin_stockpile_reorders_up_to_S_after_lead_time():
    # No secondary supply. Stockpile s = 20, S = 50, opening 50, lead time 2, use 10 t/day.
    # End of day 2: stock 20 <= s -> order 30, in stock for day 4. End of day 5: 20 again ->
    # order 30 for day 7. End of day 8: order 30, due on day 10 (after the horizon).
    # Each order is paid on arrival: 30 x 50 = 1500 on days 4 and 7.
    sc = build({f"{INPUT}.virgin": "stockpile",
                f"{INPUT}.stockpile": {"capacity_t": 100.0, "reorder_point_t": 20.0, "order_up_to_t": 50.0,
                                       "lead_time_days": 2.0}},
               contracts=[])
    m = run(sc)
    f = m.inputs_flow
    assert f["virgin_received_t"][:, 0] == approx(days_array(H, {4: 30.0, 7: 30.0}))
    stock = np.array([40, 30, 20, 10, 30, 20, 10, 30, 20, 10], dtype=float)
    assert f["virgin_stock_t"][:, 0] == approx(stock)
    assert f["from_virgin_t"][:, 0] == approx(np.full(H, 10.0))
    assert f["unmet_t"][:, 0].sum() == 0.0
    assert m.input_states[0].on_order == approx(30.0)
    assert daily(m, "virgin", "buy", MARKET) == approx(days_array(H, {4: 1500.0, 7: 1500.0}))


def test_emergency_purchase_after_lead_time_at_premium():
    # No virgin supply, emergency at +50 % (75/t) two days into a shortage episode, lost margin 100/t.
    # Day 0 (nothing delivered yet): an episode begins, 10 t unmet. Supplier down days 3..6: no
    # arrivals days 4..7; an episode begins on day 4: unmet days 4, 5; emergency days 6, 7.
    sc = build({f"{INPUT}.virgin": "none", f"{INPUT}.lost_margin_per_t": 100.0,
                f"{INPUT}.emergency": {"premium": 0.5, "lead_time_days": 2.0}},
               events=[{"day": 3, "kind": "outage", "facility": "sup", "duration_days": 4}])
    m = run(sc)
    f = m.inputs_flow
    assert f["unmet_t"][:, 0] == approx(days_array(H, {0: 10.0, 4: 10.0, 5: 10.0}))
    assert f["from_emergency_t"][:, 0] == approx(days_array(H, {6: 10.0, 7: 10.0}))
    assert daily(m, "emergency", "buy", MARKET) == approx(days_array(H, {6: 750.0, 7: 750.0}))
    assert daily(m, "lost_margin", "buy", LOST) == approx(days_array(H, {0: 1000.0, 4: 1000.0, 5: 1000.0}))


def test_co2e_avoided_is_the_virgin_material_replaced_times_its_factor():
    # Ash replaces stone 1:1 from day 1 (10 t/day x 9 days); stone's 0.5 t CO2e per t makes
    # 45 t avoided. A factor on the waste, which no input consumes, is refused (it would be
    # credited nowhere).
    m = run(build({"materials.stone.co2e_t_per_t": 0.5}))
    assert m.result().metrics["co2e_avoided_t"] == approx(45.0)
    with pytest.raises(ScenarioError, match=r"materials\.ash\.co2e_t_per_t: credited only on a material an input"):
        build({"materials.stone.co2e_t_per_t": 0.5, "materials.ash.co2e_t_per_t": 3.0})


def test_unmet_demand_costs_lost_margin():
    # No supply at all: 10 t/day unmet at 120/t.
    m = run(build({f"{INPUT}.virgin": "none", f"{INPUT}.lost_margin_per_t": 120.0}, contracts=[]))
    assert m.inputs_flow["unmet_t"][:, 0] == approx(np.full(H, 10.0))
    assert daily(m, "lost_margin", "buy", LOST) == approx(np.full(H, 1200.0))


@pytest.mark.parametrize(
    "emergency",
    [None, {"premium": 0.5, "lead_time_days": 2.0}],
    ids=["short at the lost margin", "emergency after its lead time"],
)
def test_without_virgin_supply_the_counterfactual_goes_short_as_the_buyer_would(emergency):
    # No exchange at all, so the run is its own counterfactual and the buyer's benefit is 0:
    # with no virgin source the counterfactual is 10 t/day short at 100/t (not 10 t/day of
    # virgin stone at 50/t, which the buyer cannot buy), or, with an emergency purchase, short
    # for the first two days of each shortage episode and bought at 75/t after; the buyer's
    # own outage (days 4, 5) ends an episode in both.
    changes = {f"{INPUT}.virgin": "none", f"{INPUT}.lost_margin_per_t": 100.0}
    if emergency is not None:
        changes[f"{INPUT}.emergency"] = emergency
    m = run(build(changes, contracts=[], events=[{"day": 4, "kind": "outage", "facility": "buy",
                                                  "duration_days": 2}]))
    fac = m.result().facilities.set_index("facility")
    if emergency is None:
        want = 8 * 10 * 100.0  # 8 days up
    else:  # episodes days 0-3 and 6-9: short days 0, 1, 6, 7; emergency days 2, 3, 8, 9
        want = 4 * 10 * 100.0 + 4 * 10 * 75.0
    assert fac.at["buy", "counterfactual_cost"] == approx(want)
    assert fac.at["buy", "buy_cost"] == approx(want)
    assert fac.at["buy", "buyer_benefit"] == approx(0.0)


def test_without_virgin_supply_each_tonne_delivered_is_worth_the_lost_margin_it_avoids():
    # The contract's ash replaces stone 1:1 from day 1 (10 t/day) at 20/t (no haulage: 0 km):
    # against going short at 100/t the buyer gains 80 per t delivered; day 0's shortage is in
    # both the run and the counterfactual.
    m = run(build({f"{INPUT}.virgin": "none", f"{INPUT}.lost_margin_per_t": 100.0, "contracts.c1.price_per_t": 20.0}))
    fac = m.result().facilities.set_index("facility")
    assert m.inputs_flow["from_secondary_t"][:, 0] == approx(every_day_from(1, 10.0))
    assert entries(m, "transport").empty
    assert fac.at["buy", "counterfactual_cost"] == approx(H * 10 * 100.0)
    assert fac.at["buy", "buyer_benefit"] == approx((H - 1) * 10 * (100.0 - 20.0))


def test_critical_input_shortage_stops_line_and_output():
    # The buyer's stone is critical, no virgin; it also uses water (non-critical, market 2/t,
    # 5 t/day) and puts out 20 t/day of slag. The supplier makes 6 t/day: on days 1..9 4 of 10 t
    # are unmet, the line runs at 60 %: water 3 t, slag 12 t. Day 0 (nothing delivered) stops it.
    sc = build({f"{INPUT}.virgin": "none", f"{INPUT}.critical": True, f"{OUT}.rate_t_per_day": 6.0},
               extra_materials=[{"id": "water", "virgin_price_per_t": 2.0}, {"id": "slag"}])
    buyer = next(f for f in sc.facilities if f.id == "buy")
    water = buyer.inputs[0].model_copy(update={"material": "water", "demand_t_per_day": 5.0,
                                               "substitutes": [], "virgin": "market", "critical": False})
    slag = sc.facilities[0].outputs[0].model_copy(update={"material": "slag", "rate_t_per_day": 20.0})
    buyer = buyer.model_copy(update={"inputs": [*buyer.inputs, water], "outputs": [slag]})
    sc = sc.model_copy(update={"facilities": [sc.facilities[0], buyer]})
    m = run(sc)
    operating = days_array(H, {0: 0.0}) + every_day_from(1, 0.6)
    assert m.operating_history[:, 1] == approx(operating)
    assert m.inputs_flow["unmet_t"][:, 0] == approx(days_array(H, {0: 10.0}) + every_day_from(1, 4.0))
    assert m.inputs_flow["required_t"][:, 1] == approx(5.0 * operating)
    assert m.inputs_flow["from_virgin_t"][:, 1] == approx(5.0 * operating)
    slag_k = m.facility_by_id["buy"].streams[0].index
    assert m.streams_flow["generated_t"][:, slag_k] == approx(20.0 * operating)


def test_buyer_outage_prorates_consumption():
    # Buyer down [2.5, 3.5): it needs 5 t on days 2 and 3. Deliveries keep coming (10 t), the
    # unused 5 t do not fit the zero buffer and are disposed at the buyer's 10/t.
    m = run(build(events=[{"day": 2.5, "kind": "outage", "facility": "buy", "duration_days": 1.0}]))
    f = m.inputs_flow
    half = days_array(H, {2: 5.0, 3: 5.0})
    assert f["required_t"][:, 0] == approx(np.full(H, 10.0) - half)
    assert f["buffer_overflow_t"][:, 0] == approx(half)
    assert daily(m, "buffer_disposal", "buy", DISPOSAL) == approx(half * ASH_DISPOSAL)


def test_non_critical_shortage_leaves_line_running():
    # Same shortage on a non-critical input: operating level stays 1.
    m = run(build({f"{INPUT}.virgin": "none", f"{OUT}.rate_t_per_day": 6.0}))
    assert m.operating_history[:, 1] == approx(np.ones(H))


# --- source storage, shelf life, preprocessing ------------------------------------------------


def test_source_storage_overflow_goes_to_disposal():
    # No contract: 10 t/day into 25 t of storage. Day 2 overflows 5 t, days 3..9 10 t, at 10/t.
    m = run(build({f"{OUT}.storage_t": 25.0}, contracts=[]))
    sf = m.streams_flow
    overflow = days_array(H, {2: 5.0}) + every_day_from(3, 10.0)
    assert sf["overflow_t"][:, 0] == approx(overflow)
    assert sf["stock_t"][:, 0] == approx(np.array([10, 20, 25, 25, 25, 25, 25, 25, 25, 25], dtype=float))
    assert daily(m, "disposal", "sup", DISPOSAL) == approx(overflow * ASH_DISPOSAL)


def test_shelf_life_spoils_source_storage():
    # Shelf life 3 days: the lot made on day b is usable on days b..b+2 and spoils at the end of
    # day b + 2. No contract, ample storage: 10 t spoil each day from day 2, stock stays at 20 t.
    m = run(build({f"{OUT}.storage_t": 1000.0, f"{OUT}.shelf_life_days": 3.0}, contracts=[]))
    sf = m.streams_flow
    assert sf["spoiled_t"][:, 0] == approx(every_day_from(2, 10.0))
    assert sf["stock_t"][:, 0] == approx(np.array([10] + [20] * (H - 1), dtype=float))
    assert daily(m, "disposal", "sup", DISPOSAL) == approx(every_day_from(2, 100.0))


def test_shelf_life_spoils_buffer():
    # Ash keeps 3 days. Opening buffer 40 t (born day 0), demand 5 t/day, no contract: 5 t used on
    # days 0, 1, 2, the 25 t left spoil at the end of day 2 at the buyer's 10/t.
    sc = build({f"{INPUT}.buffer_t": 40.0, f"{INPUT}.demand_t_per_day": 5.0}, contracts=[])
    raw_ash = sc.materials[0].model_copy(update={"shelf_life_days": 3.0})
    sc = sc.model_copy(update={"materials": [raw_ash, *sc.materials[1:]]})
    m = run(sc)
    f = m.inputs_flow
    assert f["from_secondary_t"][:, 0] == approx(days_array(H, {0: 5.0, 1: 5.0, 2: 5.0}))
    assert f["buffer_spoiled_t"][:, 0] == approx(days_array(H, {2: 25.0}))
    assert daily(m, "buffer_disposal", "buy", DISPOSAL) == approx(days_array(H, {2: 250.0}))
    assert f["from_virgin_t"][:, 0] == approx(every_day_from(3, 5.0))


def test_dewatering_conserves_dry_matter_and_costs_per_wet_tonne():
    # Sludge at 90 % moisture dewatered to 30 %: 7 wet t/day -> 7 x 0.1 / 0.7 = 1 t/day, at 4 per
    # wet t = 28 a day, paid by the supplier.
    sludge = {"id": "sludge", "moisture": 0.9}
    sup = {"id": "wet", "location": {"x_km": 0.0, "y_km": 0.0},
           "outputs": [{"material": "sludge", "rate_t_per_day": 7.0, "storage_t": 1000.0,
                        "preprocessing": {"target_moisture": 0.3, "cost_per_t": 4.0}}]}
    m = run(build(contracts=[], extra_materials=[sludge], extra_facilities=[sup]))
    k = m.facility_by_id["wet"].streams[0].index
    assert m.streams_flow["generated_raw_t"][:, k] == approx(np.full(H, 7.0))
    assert m.streams_flow["generated_t"][:, k] == approx(np.full(H, 1.0))
    assert daily(m, "preprocessing", "wet", PROCESSING) == approx(np.full(H, 28.0))


# --- variability and patterns -----------------------------------------------------------------


def test_fixed_variability_gives_exact_rate():
    m = run(build(contracts=[]))
    assert m.streams_flow["generated_t"][:, 0] == approx(np.full(H, 10.0))


@pytest.mark.parametrize("dist", ["gamma", "lognormal", "truncnormal"])
def test_variability_draws_from_stream_key_with_mean_rate_and_cv(dist):
    # Output = rate x the stream's own factors of the law (mean 1, CV 0.3; truncnormal redraws
    # the 1 in 30,000 negative draws). Over 4000 days the mean is within 4 standard errors
    # (4 x 0.3 x 10 / sqrt(4000)) of 10 t/day, the CV near 0.3 (its standard error is about
    # 0.004, 0.005 for the heavier-tailed lognormal).
    days, seed = 4000, 11
    var = {"dist": dist, "cv": 0.3}
    m = run(build({f"{OUT}.variability": var}, contracts=[], horizon=days), seed=seed)
    out = m.streams_flow["generated_t"][:, 0]
    own = rng_stream(np.random.SeedSequence(seed), "output/sup/ash")
    factors = noise_factors(own, Variability(**var), days)
    assert out == approx(10.0 * factors)
    assert abs(out.mean() - 10.0) < 4 * 0.3 * 10.0 / math.sqrt(days)
    assert out.std(ddof=1) / out.mean() == pytest.approx(0.3, abs=0.02)


@pytest.mark.parametrize(
    ("pattern", "profile"),
    [
        # Output of 3 days at once on every third day.
        ({"kind": "batch", "every_days": 3}, [0, 0, 30, 0, 0, 30, 0, 0, 30, 0]),
        ({"kind": "batch", "every_days": 3, "phase_days": 1}, [30, 0, 0, 30, 0, 0, 30, 0, 0, 30]),
        # 2 days on, 3 off, 10 x 5 / 2 = 25 t on producing days.
        ({"kind": "campaign", "on_days": 2, "off_days": 3}, [25, 25, 0, 0, 0, 25, 25, 0, 0, 0]),
    ],
)
def test_batch_and_campaign_patterns_give_stated_profile(pattern, profile):
    m = run(build({f"{OUT}.pattern": pattern}, contracts=[]))
    assert m.streams_flow["generated_t"][:, 0] == approx(np.array(profile, dtype=float))


def test_seasonal_monthly_factors_normalised_to_mean_one():
    # Factors 1..12 (mean 6.5): January days 10 x 1 / 6.5, February 10 x 2 / 6.5, March 3/6.5.
    days = 62
    m = run(build({f"{OUT}.pattern": {"kind": "seasonal", "monthly_factors": list(range(1, 13))}},
                  contracts=[], horizon=days))
    expected = np.array([1.0] * 31 + [2.0] * 28 + [3.0] * 3) * 10.0 / 6.5
    assert m.streams_flow["generated_t"][:, 0] == approx(expected)


def test_seasonal_sinusoid_peaks_on_peak_day():
    # 10 x (1 + 0.4 cos(2 pi (d - 100) / 365)).
    days = 365
    m = run(build({f"{OUT}.pattern": {"kind": "seasonal", "amplitude": 0.4, "peak_day": 100.0}},
                  contracts=[], horizon=days))
    d = np.arange(days)
    expected = 10.0 * (1.0 + 0.4 * np.cos(2.0 * np.pi * (d - 100.0) / 365.0))
    out = m.streams_flow["generated_t"][:, 0]
    assert out == approx(expected)
    assert int(np.argmax(out)) == 100
    assert out.mean() == pytest.approx(10.0, rel=1e-9)


def test_maintenance_window_prorates_production():
    # Down [2.5, 3.5) and again every 5 days ([7.5, 8.5)): half a day's output on days 2, 3, 7, 8.
    m = run(build({"facilities.sup.outages": {"maintenance": [
        {"start_day": 2.5, "duration_days": 1.0, "every_days": 5.0}]}}, contracts=[]))
    half = np.isin(np.arange(H), [2, 3, 7, 8])
    assert m.up_history[:, 0] == approx(np.where(half, 0.5, 1.0))
    assert m.streams_flow["generated_t"][:, 0] == approx(np.where(half, 5.0, 10.0))


# --- policy levers ----------------------------------------------------------------------------


def test_policy_buffer_days_overrides_item_buffer():
    # ratio 0.5, max share 0.4: full secondary use = min(10, 0.4 x 10) / 0.5 = 8 t/day; 2 days of it
    # is a 16 t buffer, full at the start, replacing the item's 100 t (opening 3 t). No contract:
    # 8 t used (4 functional) on days 0 and 1, then virgin.
    sc = build({f"{INPUT}.buffer_t": 100.0, f"{INPUT}.initial_buffer_t": 3.0, f"{SUB}.ratio": 0.5,
                f"{SUB}.max_share": 0.4}, contracts=[], policy={"buffer_days": 2.0})
    m = run(sc)
    inp = m.input_states[0]
    assert (inp.buffer_cap, inp.buffer_start) == approx((16.0, 16.0))
    f = m.inputs_flow
    assert f["secondary_used_t"][:, 0] == approx(days_array(H, {0: 8.0, 1: 8.0}))
    assert f["from_virgin_t"][:, 0] == approx(days_array(H, {0: 6.0, 1: 6.0}) + every_day_from(2, 10.0))


def test_policy_penalty_per_t_short_overrides_contract():
    # The contract says 1/t, the policy 7/t; 2 t short a day for 10 days -> 7 x 20 = 140 at day 9.
    sc = build({"contracts.c1.penalty_per_t_short": 1.0, f"{OUT}.rate_t_per_day": 8.0},
               policy={"penalty_per_t_short": 7.0})
    m = run(sc)
    assert daily(m, "penalty", "sup", "buy") == approx(days_array(H, {9: 140.0}))


# --- scripted stream and closure events -------------------------------------------------------


def test_stream_scale_event_multiplies_output_from_its_day():
    m = run(build(contracts=[], events=[
        {"day": 4, "kind": "stream_scale", "facility": "sup", "material": "ash", "factor": 0.5}]))
    assert m.streams_flow["generated_t"][:, 0] == approx(np.array([10.0] * 4 + [5.0] * 6))


def test_stream_end_event_stops_output_and_shipments():
    # Output ends on day 6: shipments of days 0..5, the contract is short 10 t/day from day 6.
    m = run(build(events=[{"day": 6, "kind": "stream_end", "facility": "sup", "material": "ash"}]))
    assert m.streams_flow["generated_t"][:, 0] == approx(np.array([10.0] * 6 + [0.0] * 4))
    assert m.contracts_flow["short_t"][:, 0] == approx(every_day_from(6, 10.0))
    assert m.contracts_flow["excused_t"][:, 0] == approx(np.zeros(H))  # not an outage


def test_closure_event_ends_contracts_and_settles_on_closure_day():
    # The supplier closes on day 4: the contract ends that day (shipments of days 0..3, in force
    # days 0..3), settles once on day 4 with 40 t committed, and the supplier makes nothing after.
    m = run(build({"contracts.c1.settlement_days": 30},
                  events=[{"day": 4, "kind": "closure", "facility": "sup"}]))
    c = m.contracts[0]
    assert c.ended_day == 4
    assert m.contracts_flow["shipped_t"][:, 0] == approx(days_array(H, {d: 10.0 for d in range(4)}))
    assert m.contracts_flow["in_force"][:, 0] == approx(days_array(H, {d: 1.0 for d in range(4)}))
    assert [(s["end_day"], s["committed_t"]) for s in settlements(m)] == [(4, approx(40.0))]
    assert m.streams_flow["generated_t"][:, 0] == approx(np.array([10.0] * 4 + [0.0] * 6))
    assert m.up_history[:, 0] == approx(np.array([1.0] * 4 + [0.0] * 6))
