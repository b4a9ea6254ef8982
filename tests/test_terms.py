"""Each contract term moves money or material exactly as its hand calculation says.

Every test runs the tiny network of ``tiny_net`` (supplier `sup` -> buyer `buy`, contract `c1`,
10 t/day, 0 km, 10 days) with only the term under test changed. Timing used throughout (the
day order of ``sim/model.py``): a shipment dispatched at the end of day d with a lag of L days
is received (and paid for) on day d + L; the shipment of the last day is still in transit at
the horizon; a period settles at the end of its last day.
"""

from __future__ import annotations

import numpy as np
import pytest
from tiny_net import ASH_DISPOSAL, build, daily, days_array, entries, run, settlements

from sim.ledger import DISPOSAL, HAULIER

H = 10
EXACT = {"rel": 1e-12, "abs": 1e-9}


def approx(x):
    return pytest.approx(x, **EXACT)


# --- volume, interval, price ------------------------------------------------------------------


def test_shipments_every_interval_carry_interval_times_volume():
    # volume 4 t/day every 3 days: due and shipped on days 2, 5, 8 (end of each interval), 12 t each.
    sc = build({"contracts.c1.volume_t_per_day": 4.0, "contracts.c1.delivery_interval_days": 3,
                "facilities.sup.outputs.ash.storage_t": 100.0})
    m = run(sc)
    expected = days_array(H, {2: 12.0, 5: 12.0, 8: 12.0})
    cf = m.contracts_flow
    assert cf["due_t"][:, 0] == approx(expected)
    assert cf["shipped_t"][:, 0] == approx(expected)
    assert m.streams_flow["shipped_t"][:, 0] == approx(expected)
    # Received the next day (lag 1): days 3, 6, 9.
    assert cf["accepted_t"][:, 0] == approx(days_array(H, {3: 12.0, 6: 12.0, 9: 12.0}))
    # Source storage: 10 t/day produced, 12 t leave every third day.
    stock = np.cumsum(np.full(H, 10.0)) - np.cumsum(expected)
    assert m.streams_flow["stock_t"][:, 0] == approx(stock)


def test_buyer_pays_price_per_accepted_tonne():
    # 10 t accepted on each of days 1..9 at 7/t: 70 a day from buy to sup, nothing on day 0.
    m = run(build({"contracts.c1.price_per_t": 7.0}))
    assert daily(m, "price", "buy", "sup") == approx(days_array(H, {d: 70.0 for d in range(1, H)}))
    assert entries(m, "price", "sup", "buy").empty


def test_negative_price_is_gate_fee_paid_by_supplier():
    # price -4/t: the supplier pays the buyer 40 for each 10 t lot accepted (days 1..9).
    m = run(build({"contracts.c1.price_per_t": -4.0}))
    assert daily(m, "price", "sup", "buy") == approx(days_array(H, {d: 40.0 for d in range(1, H)}))
    assert entries(m, "price", "buy", "sup").empty
    assert (entries(m, "price")["amount"] > 0).all()


# --- transport --------------------------------------------------------------------------------


@pytest.mark.parametrize("paid_by", ["buyer", "supplier"])
def test_haulage_per_tkm_and_per_trip_paid_by_named_party(paid_by):
    # 10 t over 30 km at 0.1/t-km = 30, plus ceil(10 / 4) = 3 trips at 15 = 45: 75 per shipment,
    # one shipment per day (days 0..9), all booked on the dispatch day.
    sc = build({"contracts.c1.transport_paid_by": paid_by, "contracts.c1.distance_km": 30.0,
                "transport.cost_per_tkm": 0.1, "transport.cost_per_trip": 15.0,
                "transport.truck_capacity_t": 4.0})
    m = run(sc)
    payer, other = ("buy", "sup") if paid_by == "buyer" else ("sup", "buy")
    assert daily(m, "transport", payer, HAULIER) == approx(np.full(H, 75.0))
    assert entries(m, "transport", other).empty


def test_full_truckloads_are_not_rounded_up():
    # 8 t on 4 t trucks is exactly 2 trips: 2 x 15 = 30 per day (no t-km cost).
    sc = build({"contracts.c1.volume_t_per_day": 8.0, "transport.cost_per_trip": 15.0,
                "transport.truck_capacity_t": 4.0})
    m = run(sc)
    assert daily(m, "transport", "buy", HAULIER) == approx(np.full(H, 30.0))


def test_distance_from_coordinates_times_circuity():
    # No explicit distance: sup at (0, 0), buy at (30, 40): 50 km straight x circuity 1.2 = 60 km;
    # 10 t x 60 km x 0.1 = 60 a shipment.
    sc = build({"contracts.c1.distance_km": None, "facilities.buy.location": {"x_km": 30.0, "y_km": 40.0},
                "transport.circuity": 1.2, "transport.cost_per_tkm": 0.1})
    m = run(sc)
    assert m.contracts[0].km == approx(60.0)
    assert daily(m, "transport", "buy", HAULIER) == approx(np.full(H, 60.0))


@pytest.mark.parametrize(("km", "speed", "lag"), [(0.0, 500.0, 1), (200.0, 100.0, 2), (250.0, 100.0, 3)])
def test_delivery_lag_is_ceil_of_distance_over_speed_at_least_one(km, speed, lag):
    # lag = max(1, ceil(km / speed)); shipped at the end of day d, received on day d + lag.
    sc = build({"contracts.c1.distance_km": km, "transport.speed_km_per_day": speed})
    m = run(sc)
    assert m.contracts[0].lag_days == lag
    expected = days_array(H, {d: 10.0 for d in range(lag, H)})
    assert m.contracts_flow["accepted_t"][:, 0] == approx(expected)
    assert m.contracts[0].in_transit_t == approx(10.0 * lag)
    # Until the first arrival the buyer buys virgin stone.
    assert m.inputs_flow["from_virgin_t"][:, 0] == approx(days_array(H, {d: 10.0 for d in range(lag)}))


# --- quality ----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["contract", "buyer"])
def test_off_spec_lots_rejected_disposed_by_supplier_and_short(where):
    # Every lot has cl = 0.2 (sd 0) against a limit of 0.1: all 10 t lots received on days 1..9
    # are rejected, disposed at the supplier's 10/t, count as short and are not paid for.
    # Penalty 3/t on the period (days 0..9): short = 90 t -> 270.
    limit = {"cl": {"max": 0.1}}
    key = ("contracts.c1.quality_spec" if where == "contract"
           else "facilities.buy.inputs.stone.substitutes.ash.quality_limits")
    sc = build({"facilities.sup.outputs.ash.quality": {"cl": {"mean": 0.2, "sd": 0.0}}, key: limit,
                "contracts.c1.price_per_t": 5.0, "contracts.c1.penalty_per_t_short": 3.0})
    m = run(sc)
    arrivals = days_array(H, {d: 10.0 for d in range(1, H)})
    cf = m.contracts_flow
    assert cf["rejected_t"][:, 0] == approx(arrivals)
    assert cf["accepted_t"][:, 0] == approx(np.zeros(H))
    assert cf["short_t"][:, 0] == approx(arrivals)
    assert m.streams_flow["rejected_t"][:, 0] == approx(arrivals)
    assert daily(m, "rejection_disposal", "sup", DISPOSAL) == approx(arrivals * ASH_DISPOSAL)
    assert entries(m, "price").empty
    assert m.inputs_flow["from_virgin_t"][:, 0] == approx(np.full(H, 10.0))
    (s,) = settlements(m)
    assert s["short_t"] == approx(90.0)
    assert s["penalty"] == approx(270.0)
    assert daily(m, "penalty", "sup", "buy") == approx(days_array(H, {9: 270.0}))


def test_in_spec_lots_accepted_at_the_limit():
    # cl exactly at the max limit is in spec: everything is accepted.
    sc = build({"facilities.sup.outputs.ash.quality": {"cl": {"mean": 0.1, "sd": 0.0}},
                "contracts.c1.quality_spec": {"cl": {"max": 0.1}}})
    m = run(sc)
    assert m.contracts_flow["accepted_t"][:, 0] == approx(days_array(H, {d: 10.0 for d in range(1, H)}))
    assert m.contracts_flow["rejected_t"][:, 0].sum() == 0.0


# --- penalties --------------------------------------------------------------------------------


def short_supplier(**terms):
    """The supplier makes 8 t/day against 10 t due: 2 t short every day."""
    over = {"facilities.sup.outputs.ash.rate_t_per_day": 8.0}
    over.update({f"contracts.c1.{k}": v for k, v in terms.items()})
    return build(over)


def test_penalty_respects_tolerance_band():
    # Periods of 5 days: committed 50, short 10, tolerance 10 % x 50 = 5 -> 3 x (10 - 5) = 15,
    # paid by the supplier to the buyer at the end of days 4 and 9.
    m = run(short_supplier(penalty_per_t_short=3.0, tolerance=0.1, settlement_days=5))
    assert [s["penalty"] for s in settlements(m)] == approx([15.0, 15.0])
    assert daily(m, "penalty", "sup", "buy") == approx(days_array(H, {4: 15.0, 9: 15.0}))
    assert m.penalties_to_date == approx(30.0)


def test_no_penalty_inside_tolerance_band():
    # Short 10 of 50 with a 20 % band (10 t): nothing owed.
    m = run(short_supplier(penalty_per_t_short=3.0, tolerance=0.2, settlement_days=5))
    assert entries(m, "penalty").empty


def test_penalty_cap_limits_each_period():
    # Uncapped 3 x 10 = 30 per 5-day period, capped at 20 per period.
    m = run(short_supplier(penalty_per_t_short=3.0, penalty_cap_per_period=20.0, settlement_days=5))
    assert daily(m, "penalty", "sup", "buy") == approx(days_array(H, {4: 20.0, 9: 20.0}))


@pytest.mark.parametrize(("force_majeure", "owed"), [(True, 0.0), (False, 150.0)])
def test_force_majeure_excuses_shortfall_during_supplier_outage(force_majeure, owed):
    # Supplier down on days 2, 3, 4 (scripted outage from day 2 for 3 days), no storage: nothing
    # shipped those days, 30 t short, all of it in the outage. Penalty 5/t: 0 under force
    # majeure (30 t excused), 150 without (nothing excused: excused_t is what the terms excuse).
    sc = build({"contracts.c1.penalty_per_t_short": 5.0, "contracts.c1.force_majeure": force_majeure},
               events=[{"day": 2, "kind": "outage", "facility": "sup", "duration_days": 3}])
    m = run(sc)
    down = days_array(H, {2: 10.0, 3: 10.0, 4: 10.0})
    excused = down if force_majeure else 0.0 * down
    assert m.contracts_flow["short_t"][:, 0] == approx(down)
    assert m.contracts_flow["excused_t"][:, 0] == approx(excused)
    (s,) = settlements(m)
    assert (s["short_t"], s["excused_t"], s["penalty"]) == approx((30.0, excused.sum(), owed))
    assert daily(m, "penalty", "sup", "buy").sum() == approx(owed)


def test_force_majeure_excuses_only_the_down_share_of_a_partial_outage_day():
    # Supplier down [2.5, 3.5): up half of days 2 and 3, makes 5 t each; rate is 8 t/day the rest
    # of the time (2 t short daily, not excused). Day 2 and 3: short 10 - 4 = 6, excused
    # min(6, 10 x 0.5) = 5. Period short = 8 x 2 + 6 x 2 = 28, excused 10 -> 5 x 18 = 90.
    sc = build({"facilities.sup.outputs.ash.rate_t_per_day": 8.0, "contracts.c1.penalty_per_t_short": 5.0,
                "contracts.c1.force_majeure": True},
               events=[{"day": 2.5, "kind": "outage", "facility": "sup", "duration_days": 1.0}])
    m = run(sc)
    assert m.up_history[:, 0] == approx(np.where(np.isin(np.arange(H), [2, 3]), 0.5, 1.0))
    assert m.contracts_flow["excused_t"][:, 0] == approx(days_array(H, {2: 5.0, 3: 5.0}))
    (s,) = settlements(m)
    assert (s["short_t"], s["excused_t"], s["penalty"]) == approx((28.0, 10.0, 90.0))


# --- take-or-pay ------------------------------------------------------------------------------


def test_take_or_pay_never_charges_tonnes_the_supplier_did_not_make():
    # Supplier makes 6 t/day of the 10 due; price 5, take-or-pay 0.8, 5-day periods.
    # Period 0..4: committed 50, short 20, offered 30; taken = days 1..4 arrivals = 24, plus
    # the 6 t shipped on day 4 and still on the road = 30 >= 0.8 x 30: no top-up (the old
    # rule charged 5 x (0.8 x 50 - 30) = 50 for tonnes never made). Period 5..9 likewise.
    sc = build({"facilities.sup.outputs.ash.rate_t_per_day": 6.0, "contracts.c1.price_per_t": 5.0,
                "contracts.c1.take_or_pay": 0.8, "contracts.c1.settlement_days": 5})
    m = run(sc)
    assert [s["taken_t"] for s in settlements(m)] == approx([24.0, 30.0])
    assert [s["short_t"] for s in settlements(m)] == approx([20.0, 20.0])
    assert entries(m, "take_or_pay").empty
    assert daily(m, "price", "buy", "sup") == approx(days_array(H, {d: 30.0 for d in range(1, H)}))


def test_take_or_pay_charges_nothing_for_rejected_deliveries():
    # All lots rejected at the gate: rejected tonnes are the supplier's shortfall (offered =
    # committed - short). Period 0..4: committed 50, short 40 (days 1..4 rejections), offered
    # 10, taken 0 + 10 on the road: no top-up (the old rule charged 150). Period 5..9: short 50,
    # offered 0: no top-up (the old rule charged 200).
    sc = build({"facilities.sup.outputs.ash.quality": {"cl": {"mean": 0.2, "sd": 0.0}},
                "contracts.c1.quality_spec": {"cl": {"max": 0.1}}, "contracts.c1.price_per_t": 5.0,
                "contracts.c1.take_or_pay": 0.8, "contracts.c1.settlement_days": 5})
    m = run(sc)
    assert [s["short_t"] for s in settlements(m)] == approx([40.0, 50.0])
    assert entries(m, "take_or_pay").empty


@pytest.mark.parametrize("km", [0.0, 1200.0])
def test_take_or_pay_owes_nothing_for_full_supply_still_on_the_road(km):
    # Full supply at any distance (lag 1 or 3 days): what is on the road when a period closes
    # counts as taken, so nothing is topped up, and every tonne is paid once, at the price.
    sc = build({"contracts.c1.price_per_t": 5.0, "contracts.c1.take_or_pay": 1.0,
                "contracts.c1.settlement_days": 5, "contracts.c1.distance_km": km})
    m = run(sc)
    assert m.contracts[0].lag_days == (1 if km == 0.0 else 3)
    assert entries(m, "take_or_pay").empty
    landed = m.contracts_flow["accepted_t"][:, 0].sum()
    assert daily(m, "price", "buy", "sup").sum() == approx(5.0 * landed)


def test_take_or_pay_owes_nothing_when_buyer_takes_enough():
    # Full supply: taken 40 and 50 against 0.8 x 50 = 40: no top-up.
    sc = build({"contracts.c1.price_per_t": 5.0, "contracts.c1.take_or_pay": 0.8,
                "contracts.c1.settlement_days": 5})
    m = run(sc)
    assert [s["taken_t"] for s in settlements(m)] == approx([40.0, 50.0])
    assert entries(m, "take_or_pay").empty


# --- settlement periods, start day ------------------------------------------------------------


def test_settlement_days_sets_period_count_and_end_days():
    # 4-day periods from day 0: ends on days 3 and 7, and the horizon (day 9) closes the last.
    m = run(build({"contracts.c1.settlement_days": 4}))
    rows = settlements(m)
    assert [(s["start_day"], s["end_day"]) for s in rows] == [(0, 3), (4, 7), (8, 9)]
    assert [s["committed_t"] for s in rows] == approx([40.0, 40.0, 20.0])


def test_start_day_delays_shipments_and_anchors_periods():
    # start_day 3, interval 2, volume 5: due on days 4, 6, 8 (10 t each); periods of 4 days from
    # day 3 end on day 6, then the horizon (day 9).
    sc = build({"contracts.c1.start_day": 3, "contracts.c1.delivery_interval_days": 2,
                "contracts.c1.volume_t_per_day": 5.0, "contracts.c1.settlement_days": 4,
                "facilities.sup.outputs.ash.storage_t": 100.0})
    m = run(sc)
    assert m.contracts_flow["shipped_t"][:, 0] == approx(days_array(H, {4: 10.0, 6: 10.0, 8: 10.0}))
    assert m.contracts_flow["in_force"][:, 0] == approx(days_array(H, {d: 1.0 for d in range(3, H)}))
    rows = settlements(m)
    assert [(s["start_day"], s["end_day"]) for s in rows] == [(3, 6), (7, 9)]
    assert [s["committed_t"] for s in rows] == approx([20.0, 10.0])


# --- backup contracts -------------------------------------------------------------------------


def outage(day: float, days: float) -> dict:
    return {"day": day, "kind": "outage", "facility": "sup", "duration_days": days}


def backup_network(lead: float, fee: float, events: list[dict], settlement_days: int = 1, **c1_terms):
    """`sup2` (10 t/day of ash, no storage) backs `c1` up through `c2` (price 2/t)."""
    sup2 = {"id": "sup2", "location": {"x_km": 0.0, "y_km": 0.0},
            "outputs": [{"material": "ash", "rate_t_per_day": 10.0, "storage_t": 0.0}]}
    c2 = {"id": "c2", "supplier": "sup2", "buyer": "buy", "material": "ash", "role": "backup",
          "volume_t_per_day": 10.0, "distance_km": 0.0, "price_per_t": 2.0,
          "standby_fee_per_day": fee, "activation_lead_time_days": lead, "settlement_days": settlement_days}
    return build({f"contracts.c1.{k}": v for k, v in c1_terms.items()},
                 extra_facilities=[sup2], extra_contracts=[c2], events=events)


def test_backup_delivers_only_while_primary_down_after_lead_time():
    # Primary supplier down [3, 7). The backup is called 2 days after the failure (day 5) and
    # released when the primary recovers (day 7): it ships on days 5 and 6, received days 6, 7,
    # paid at 2/t. The buyer is short of secondary on days 4 and 5 only.
    m = run(backup_network(lead=2.0, fee=3.0, events=[outage(3.0, 4.0)]))
    cf = m.contracts_flow
    assert cf["called"][:, 1] == approx(days_array(H, {5: 1.0, 6: 1.0}))
    assert cf["shipped_t"][:, 1] == approx(days_array(H, {5: 10.0, 6: 10.0}))
    assert cf["accepted_t"][:, 1] == approx(days_array(H, {6: 10.0, 7: 10.0}))
    assert daily(m, "price", "buy", "sup2") == approx(days_array(H, {6: 20.0, 7: 20.0}))
    assert m.contracts_flow["shipped_t"][:, 0] == approx(
        np.where(np.isin(np.arange(H), [3, 4, 5, 6]), 0.0, 10.0))
    assert m.inputs_flow["from_virgin_t"][:, 0] == approx(days_array(H, {0: 10.0, 4: 10.0, 5: 10.0}))


def test_backup_standby_fee_paid_every_day_in_force():
    # Daily settlement: the buyer pays the backup supplier 3 for every day the contract is in
    # force (days 0..9), called or not.
    m = run(backup_network(lead=2.0, fee=3.0, events=[outage(3.0, 4.0)]))
    assert daily(m, "standby_fee", "buy", "sup2") == approx(np.full(H, 3.0))
    assert [s["standby_days"] for s in settlements(m, "c2")] == approx([1.0] * H)


def test_backup_standby_fee_accrues_daily_and_settles_per_period():
    # 5-day periods: 5 days x 3 = 15 at the end of days 4 and 9.
    m = run(backup_network(lead=2.0, fee=3.0, events=[outage(3.0, 4.0)], settlement_days=5))
    assert daily(m, "standby_fee", "buy", "sup2") == approx(days_array(H, {4: 15.0, 9: 15.0}))


def test_backup_lead_time_counts_from_the_current_failure():
    # Primary supplier down [3, 4) and again [4.5, 8). The first failure is over before its 2-day
    # lead time ends; the second calls the backup at 4.5 + 2 = 6.5, i.e. from day 6, until the
    # recovery at day 8: called on days 6 and 7 only (not from day 5, the first failure's date).
    m = run(backup_network(lead=2.0, fee=0.0, events=[outage(3.0, 1.0), outage(4.5, 3.5)]))
    assert m.contracts_flow["called"][:, 1] == approx(days_array(H, {6: 1.0, 7: 1.0}))
    assert m.contracts_flow["shipped_t"][:, 1] == approx(days_array(H, {6: 10.0, 7: 10.0}))


def test_backup_called_when_primary_ends_by_notice():
    # The primary c1 ends on day 3 (buyer's notice on day 2, 1 day's notice); an ended primary
    # is a failing one, so the backup (lead 1 day) is called and ships 10 t/day for the rest of
    # the run: at the latest from day 3 + 1 + 1 = 5, never before the primary ends.
    notice = {"day": 2, "kind": "notice", "contract": "c1", "party": "buyer"}
    sc = backup_network(lead=1.0, fee=0.0, events=[notice], notice_days=1)
    m = run(sc)
    assert m.contracts[0].ended_day == 3
    backup = m.contracts_flow["shipped_t"][:, 1]
    assert backup[:3] == approx(np.zeros(3))
    assert backup[5:] == approx(np.full(H - 5, 10.0))


def test_backup_not_called_when_outage_shorter_than_lead_time():
    # Primary down [3, 4.5): recovered before the 2-day activation lead time runs out.
    m = run(backup_network(lead=2.0, fee=0.0, events=[outage(3.0, 1.5)]))
    assert m.contracts_flow["called"][:, 1].sum() == 0.0
    assert m.contracts_flow["shipped_t"][:, 1].sum() == 0.0
    assert entries(m, "price", "buy", "sup2").empty


# --- notice, minimum term, early termination --------------------------------------------------


@pytest.mark.parametrize(("min_term", "fee_paid"), [(10, 100.0), (5, 0.0)])
def test_notice_ends_contract_and_fee_only_before_min_term(min_term, fee_paid):
    # The buyer gives notice on day 2 with 3 days' notice: the contract ends on day 5, having
    # shipped on days 0..4. Ending on day 5 is before a 10-day minimum term (fee 100, buyer to
    # supplier, on day 2) but not before a 5-day one (no fee). The period settles on day 5.
    sc = build({"contracts.c1.notice_days": 3, "contracts.c1.min_term_days": min_term,
                "contracts.c1.early_termination_fee": 100.0},
               events=[{"day": 2, "kind": "notice", "contract": "c1", "party": "buyer"}])
    m = run(sc)
    assert m.contracts_flow["shipped_t"][:, 0] == approx(days_array(H, {d: 10.0 for d in range(5)}))
    assert m.contracts_flow["in_force"][:, 0] == approx(days_array(H, {d: 1.0 for d in range(5)}))
    assert m.contracts[0].ended_day == 5
    assert daily(m, "termination_fee", "buy", "sup") == approx(days_array(H, {2: fee_paid}))
    assert [(s["end_day"], s["committed_t"]) for s in settlements(m)] == [(5, approx(50.0))]


def test_notice_before_start_day_does_not_bring_deliveries_forward():
    # Contract starts on day 5; the buyer gives 10 days' notice on day 1 (ends day 11, after the
    # horizon). Obligations still begin on day 5: shipments and days in force 5..9, one period
    # from day 5 to the horizon.
    sc = build({"contracts.c1.start_day": 5, "contracts.c1.notice_days": 10},
               events=[{"day": 1, "kind": "notice", "contract": "c1", "party": "buyer"}])
    m = run(sc)
    assert m.contracts_flow["shipped_t"][:, 0] == approx(every_day(5, 10.0))
    assert m.contracts_flow["in_force"][:, 0] == approx(every_day(5, 1.0))
    assert [(s["start_day"], s["end_day"]) for s in settlements(m)] == [(5, 9)]


def every_day(start: int, value: float) -> np.ndarray:
    return days_array(H, {d: value for d in range(start, H)})


@pytest.mark.parametrize(("notice_day", "fee_paid"), [(7, 40.0), (9, 0.0)])
def test_minimum_terms_run_back_to_back_and_the_fee_applies_in_every_term(notice_day, fee_paid):
    # 5-day terms: days 0-4, then 5-9. One day's notice on day 7 ends the contract on day 8,
    # inside the second term (fee); on day 9 it ends on day 10, when the second term is done.
    sc = build({"contracts.c1.notice_days": 1, "contracts.c1.min_term_days": 5,
                "contracts.c1.early_termination_fee": 40.0},
               events=[{"day": notice_day, "kind": "notice", "contract": "c1", "party": "buyer"}])
    m = run(sc)
    assert daily(m, "termination_fee", "buy", "sup").sum() == fee_paid


def test_supplier_notice_fee_paid_by_supplier():
    sc = build({"contracts.c1.notice_days": 1, "contracts.c1.min_term_days": 30,
                "contracts.c1.early_termination_fee": 40.0},
               events=[{"day": 6, "kind": "notice", "contract": "c1", "party": "supplier"}])
    m = run(sc)
    assert daily(m, "termination_fee", "sup", "buy") == approx(days_array(H, {6: 40.0}))
    assert m.contracts[0].ended_day == 7


# --- allocation of a short supplier -----------------------------------------------------------


def two_buyers(rule: str, c2_priority: int = 1):
    """`sup` makes 9 t/day for c1 (to buy, priority 0) and c2 (to buy2, priority 1), 6 t/day each."""
    buy2 = {"id": "buy2", "location": {"x_km": 0.0, "y_km": 0.0},
            "inputs": [{"material": "stone", "demand_t_per_day": 6.0, "substitutes": [{"material": "ash"}]}]}
    c2 = {"id": "c2", "supplier": "sup", "buyer": "buy2", "material": "ash", "volume_t_per_day": 6.0,
          "distance_km": 0.0, "priority": c2_priority}
    return build({"facilities.sup.outputs.ash.rate_t_per_day": 9.0, "contracts.c1.volume_t_per_day": 6.0},
                 extra_facilities=[buy2], extra_contracts=[c2], policy={"allocation": rule})


@pytest.mark.parametrize(("rule", "c1_t", "c2_t"), [("priority", 3.0, 6.0), ("pro_rata", 4.5, 4.5)])
def test_short_supplier_allocates_by_policy_rule(rule, c1_t, c2_t):
    # 9 t for 12 t due: priority serves c2 (priority 1) in full, c1 gets the 3 t left;
    # pro rata gives each 9 x 6 / 12 = 4.5 t.
    m = run(two_buyers(rule))
    cf = m.contracts_flow
    assert cf["shipped_t"][:, 0] == approx(np.full(H, c1_t))
    assert cf["shipped_t"][:, 1] == approx(np.full(H, c2_t))
    assert cf["short_t"][:, 0] == approx(np.full(H, 6.0 - c1_t))
    assert cf["short_t"][:, 1] == approx(np.full(H, 6.0 - c2_t))


def test_priority_ties_are_served_in_contract_order():
    # Equal priorities: c1 (listed first) gets its 6 t, c2 the 3 t left.
    m = run(two_buyers("priority", c2_priority=0))
    assert m.contracts_flow["shipped_t"][:, 0] == approx(np.full(H, 6.0))
    assert m.contracts_flow["shipped_t"][:, 1] == approx(np.full(H, 3.0))


def test_an_ended_stream_calls_the_backup_of_its_buyers() -> None:
    # The supplier's stream ends on day 3; the backup (lead time 1 day) is called from day 4 and
    # delivers 10 t/day from then on, arriving a day later.
    backup_supplier = {"id": "sup2", "location": {"x_km": 0.0, "y_km": 0.0},
                       "outputs": [{"material": "ash", "rate_t_per_day": 10.0}]}
    backup = {"id": "b1", "supplier": "sup2", "buyer": "buy", "material": "ash", "volume_t_per_day": 10.0,
              "role": "backup", "activation_lead_time_days": 1.0, "distance_km": 0.0}
    sc = build(extra_facilities=[backup_supplier], extra_contracts=[backup],
               events=[{"day": 3.0, "kind": "stream_end", "facility": "sup", "material": "ash"}])
    m = run(sc)
    assert m.contracts_flow["called"][:, 1] == approx([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    assert m.contracts_flow["shipped_t"][:, 1] == approx([0, 0, 0, 0, 10, 10, 10, 10, 10, 10])
