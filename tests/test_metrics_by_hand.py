"""Every run metric of docs/metrics.md against a hand calculation on the tiny network.

The network (tests/tiny_net.py): `sup` makes 10 t/day of ash, `buy` needs 10 t/day of stone and
takes ash 1:1; contract `c1` carries 10 t/day. Each test below changes only what it shows and
works the metric out from the day-by-day story in its docstring.
"""

from __future__ import annotations

from pytest import approx
from test_units import mixed_network
from tiny_net import STONE_PRICE, build, raw_network, run

from sim.scenario import parse_scenario

H = 10
KM = 20.0
TKM, TRIP, TRUCK = 0.1, 15.0, 25.0
PRICE, PENALTY = 5.0, 2.0

#: Transport, price and penalty terms, and the supplier down on days 3 and 4.
STORY = {
    "scenario.warmup_days": 1,
    "transport.cost_per_tkm": TKM,
    "transport.cost_per_trip": TRIP,
    "transport.truck_capacity_t": TRUCK,
    "contracts.c1.distance_km": KM,
    "contracts.c1.price_per_t": PRICE,
    "contracts.c1.penalty_per_t_short": PENALTY,
    "contracts.c1.settlement_days": 5,
}
OUTAGE = [{"day": 3, "kind": "outage", "facility": "sup", "duration_days": 2}]


def story_metrics() -> dict[str, float]:
    return run(build(STORY, horizon=H, events=OUTAGE)).result().metrics


def test_supply_metrics_by_hand() -> None:
    """`sup` makes 10 t on days 0-2 and 5-9 and ships it at the end of the day; it lands the
    next day (0 km: a one-day lag). So `buy` has ash on days 1, 2, 3, 6, 7, 8, 9 and buys
    stone on days 0, 4, 5. The window is days 1-9 (warm-up 1): 90 t required, 70 from ash,
    20 virgin, none unmet; full supply is 10 t every day, so secondary fill is 70 / 90.
    `sup` is down 2 of the window's 9 days, `buy` never: availability (7/9 + 1) / 2."""
    m = story_metrics()
    assert m["input_required_t"] == approx(90.0)
    assert m["input_from_secondary_t"] == approx(70.0)
    assert m["input_from_virgin_t"] == approx(20.0)
    assert m["input_from_emergency_t"] == 0.0
    assert m["input_unmet_t"] == 0.0
    assert m["fill_rate"] == 1.0
    assert m["secondary_fill_rate"] == approx(70.0 / 90.0)
    assert m["production_loss_t"] == 0.0
    assert m["mean_availability"] == approx((7.0 / 9.0 + 1.0) / 2.0)


def test_unmet_demand_and_production_loss_by_hand() -> None:
    """Without a virgin source and with the input critical, the two days without ash (4, 5
    in the window) go unmet: 20 t of the 90 t required (the critical input is required at the
    up-fraction; its own shortfall is what stops the line). The line stops on those days, so
    `buy` (up all day) operates at 0 and its 10 t/day of demand is lost production: 20 t."""
    sc = build({**STORY, "facilities.buy.inputs.stone.virgin": "none",
                "facilities.buy.inputs.stone.critical": True}, horizon=H, events=OUTAGE)
    m = run(sc).result().metrics
    assert m["input_required_t"] == approx(90.0)
    assert m["input_unmet_t"] == approx(20.0)
    assert m["fill_rate"] == approx(1.0 - 20.0 / 90.0)
    assert m["production_loss_t"] == approx(20.0)


def test_disruption_metrics_by_hand() -> None:
    """In the window, ash is short of full supply on days 4 and 5 only: two days, one
    episode, the longest two days long. `buy`'s one input plans 10 t of ash a day and gets
    none on those days (short 10 > 0.1 x 10): the same two days per input, over 9 window days."""
    m = story_metrics()
    assert m["disruption_days"] == 2.0
    assert m["disruption_events"] == 1.0
    assert m["max_disruption_days"] == 2.0
    assert m["any_input_short_days"] == 2.0
    assert m["disruption_days_per_input_year"] == approx(365.0 * 2.0 / 9.0)
    assert m["production_disruption_days"] == 0.0  # stone from the market covers them


def two_outages(horizon: int = 20) -> dict:
    """The tiny network over 20 days (warm-up 1), `buy` with no virgin stone and a second
    input, 5 t/day of water from the market with no substitute; `sup` down on days 3-4 and
    from day 15 to past the horizon."""
    raw = raw_network(horizon)
    raw["scenario"]["warmup_days"] = 1
    raw["materials"].append({"id": "water", "virgin_price_per_t": 1.0})
    buy = raw["facilities"][1]
    buy["inputs"][0]["virgin"] = "none"
    buy["inputs"].append({"material": "water", "demand_t_per_day": 5.0})
    raw["events"] = [{"day": 3, "kind": "outage", "facility": "sup", "duration_days": 2},
                     {"day": 15, "kind": "outage", "facility": "sup", "duration_days": 10}]
    return raw


def test_per_input_disruptions_episodes_and_censoring_by_hand() -> None:
    """`sup` ships nothing on days 3, 4 and 15-19, so (one-day lag, no buffer) stone has no ash
    on days 4, 5 and 16-19 of the window 1-19: 6 disrupted days in two episodes, (4, 2 days)
    and (16, 4 days, still running on the last day: censored). Without virgin stone those days
    go unmet: 6 production-disrupted days. Water plans no secondary use: it is left out of the
    means over planned inputs, but counts in the production mean (0 days): (6 + 0) / 2 = 3.
    One planned input over 19 days: 365 x 6 / 19 disrupted days per input-year. Stone's
    window sums: planned 19 x 10, short 6 x 10, from ash 13 x 10, unmet 6 x 10; water's: 95 t
    virgin. Ratio parts: ash within plan 130 of 190 planned (the planned share is 1); waste
    available 120 made on days 1, 2, 5-14 plus day 0's 10 t on the road; `c1` in force on all
    19 link-days, none left."""
    r = run(parse_scenario(two_outages(), "two outages")).result()
    m = r.metrics
    assert (m["disruption_days"], m["disruption_events"], m["max_disruption_days"]) == (6.0, 2.0, 4.0)
    assert m["disruption_days_per_input_year"] == approx(365.0 * 6.0 / 19.0)
    assert m["production_disruption_days"] == 3.0
    assert m["any_input_short_days"] == 6.0
    assert (m["secondary_within_plan_t"], m["secondary_planned_t"]) == (approx(130.0), approx(190.0))
    assert m["secondary_fill_rate"] == approx(m["secondary_within_plan_t"] / m["secondary_planned_t"])
    assert m["waste_available_t"] == approx(130.0)
    assert m["diversion_rate"] == approx(m["waste_exchanged_t"] / m["waste_available_t"])
    assert (m["link_days_in_force"], m["link_days_possible"], m["link_exits"]) == (19.0, 19.0, 0.0)
    assert r.episodes is not None and r.episodes.to_dict("records") == [
        {"facility": "buy", "material": "stone", "start_day": 4, "length_days": 2, "censored": False},
        {"facility": "buy", "material": "stone", "start_day": 16, "length_days": 4, "censored": True},
    ]
    assert r.inputs is not None
    stone, water = r.inputs.to_dict("records")
    assert stone == {
        "facility": "buy", "material": "stone", "unit": "t", "critical": False, "buffer_t": 0.0,
        "planned_t": approx(190.0), "secondary_short_t": approx(60.0), "from_secondary_t": approx(130.0),
        "from_virgin_t": 0.0, "unmet_t": approx(60.0), "disruption_days": 6, "production_disruption_days": 6,
        "disruption_events": 2, "max_disruption_days": 4, "mean_buffer_t": 0.0, "window_days": 19, "planned": True,
    }  # fmt: skip
    assert (water["planned"], water["planned_t"], water["from_virgin_t"]) == (False, 0.0, approx(95.0))
    assert (water["disruption_days"], water["production_disruption_days"], water["disruption_events"]) == (0, 0, 0)


def test_the_threshold_is_a_lever() -> None:
    """`sup` makes 9.5 t/day against 10 t/day planned: every window day (1-9) is 0.5 t short,
    5% of plan. Not a disruption at the default 0.1; at 0.01 all 9 days are, in one episode
    censored at the horizon. The old any-input count sees all 9 whatever the threshold."""
    low = {**STORY, "facilities.sup.outputs.ash.rate_t_per_day": 9.5}
    default = run(build(low, horizon=H)).result()
    strict = run(build({**low, "policy.disruption_threshold": 0.01}, horizon=H)).result()
    assert (default.metrics["disruption_days"], default.metrics["disruption_events"]) == (0.0, 0.0)
    assert default.episodes is not None and default.episodes.empty
    assert (strict.metrics["disruption_days"], strict.metrics["disruption_events"]) == (9.0, 1.0)
    assert strict.episodes is not None
    assert strict.episodes[["start_day", "length_days", "censored"]].values.tolist() == [[1, 9, True]]
    assert default.metrics["any_input_short_days"] == strict.metrics["any_input_short_days"] == 9.0


def test_a_steam_input_is_disrupted_like_any_other() -> None:
    """Of the mill's three inputs (t, MWh, m3; tests/test_units.py) only heat has a contract
    (50 MWh/day of steam by pipe, one-day lag, no warm-up): it is the one planned input. The
    plant is down on days 10-12, so heat has no steam on days 0, 11, 12, 13: 4 days in two
    episodes, counted although heat is in MWh."""
    raw = mixed_network()
    raw["scenario"]["horizon_days"] = 20
    raw["contracts"] = [c for c in raw["contracts"] if c["id"] == "steam"]
    raw["events"] = [{"day": 10, "kind": "outage", "facility": "plant", "duration_days": 3}]
    r = run(parse_scenario(raw, "steam")).result()
    assert (r.metrics["disruption_days"], r.metrics["disruption_events"], r.metrics["max_disruption_days"]) == (
        4.0, 2.0, 3.0)  # fmt: skip
    assert r.inputs is not None
    assert r.inputs[["material", "unit", "planned", "disruption_days"]].values.tolist() == [
        ["stone", "t", False, 0], ["heat", "MWh", True, 4], ["cooling", "m3", False, 0]]  # fmt: skip
    assert r.inputs.loc[1, "planned_t"] == approx(20 * 50.0)


def test_waste_metrics_by_hand() -> None:
    """Generated in the window: days 1, 2, 5-9 = 70 t. Received by `buy` in the window: the
    lots landing on days 1, 2, 3, 6-9 = 70 t (day 9's shipment lands after the horizon).
    Nothing is disposed, spoiled or rejected. The waste the window could exchange is what it
    generated plus what existed when it opened: day 0's 10 t, on the road then. Diversion
    70 / (70 + 10)."""
    m = story_metrics()
    assert m["waste_generated_t"] == approx(70.0)
    assert m["waste_exchanged_t"] == approx(70.0)
    assert m["waste_disposed_t"] == 0.0
    assert m["waste_spoiled_t"] == 0.0
    assert m["waste_rejected_t"] == 0.0
    assert m["diversion_rate"] == approx(70.0 / 80.0)
    assert m["co2e_avoided_t"] == 0.0  # stone has no emission factor


def test_contract_metrics_by_hand() -> None:
    """`c1` is due 10 t a day; on days 3 and 4 `sup` ships nothing: 20 t short, the buyer's
    shortfall too (a direct contract). Nothing ends."""
    m = story_metrics()
    assert m["supplier_shortfall_t"] == approx(20.0)
    assert m["contract_shortfall_t"] == approx(20.0)
    assert m["contracts_ended"] == 0.0


def test_money_metrics_by_hand() -> None:
    """Shipments in the window: days 1, 2, 5-9, seven of 10 t over 20 km, each one truck:
    7 x (10 x 20 x 0.1 + 15) = 245 transport; 7 x 10 x 20 = 1,400 t-km. The first period
    (days 0-4) is 20 t short: a penalty of 2 x 20 = 40 when it settles on day 4. Stone bought
    in the window: days 4 and 5, 20 t x 50. No take-or-pay, backups, emergency, unmet or
    disposal."""
    m = story_metrics()
    assert m["transport_cost"] == approx(7 * (10 * KM * TKM + TRIP))
    assert m["tkm"] == approx(7 * 10 * KM)
    assert m["penalties_paid"] == approx(PENALTY * 20.0)
    assert m["virgin_cost"] == approx(20.0 * STONE_PRICE)
    for zero in ("take_or_pay_paid", "standby_fees_paid", "emergency_cost", "lost_margin", "disposal_cost"):
        assert m[zero] == 0.0, zero


def test_decision_metrics_without_agents() -> None:
    """A frozen network decides nothing: every decision count is 0 and trust stays 1."""
    m = story_metrics()
    for name in ("contracts_formed", "contracts_refused", "contract_exits", "adaptations", "renegotiations",
                 "cascade_closures"):
        assert m[name] == 0.0, name
    assert m["mean_trust"] == 1.0


def agents(behaviour: dict | None = None, **kw):
    """The tiny network with the agents deciding (formation rounds every 5 days when asked)."""
    overrides = {"behaviour": {"formation_interval_days": 1000, **(behaviour or {})}}
    overrides.update(kw.pop("overrides", {}))
    return build(overrides, **kw)


FORMING = {"formation_interval_days": 5, "discovery_probability": 1.0}


def test_decision_and_link_metrics_by_hand() -> None:
    """Formation rounds close days 4 and 9. Without a contract, the exchange forms on day 4
    and is in force on days 5-9: 1 formed, half of the 10 link-days in force; its one
    settlement (days 5-9, the horizon) delivers in full, so trust moves from 0.6 by 0.3 of the
    way to 1: 0.72. With a 100/t formation penalty and `sup` down on days 1-3, the supplier
    refuses at both rounds: 2 refused, nothing in force. With trust starting at 0.5 and
    learning at 1.0, a 3-day outage from day 2 leaves period 0-4 at 2/5 delivered: trust 0.4,
    below 0.6, so the buyer gives 2 days' notice on day 4 and `c1` ends on day 6 (in force days
    0-5): 1 exit, 1 contract ended, 6 of 10 link-days, 365 x 1 / 6 exits per link-year."""
    formed = run(agents(FORMING, contracts=[])).result().metrics
    assert (formed["contracts_formed"], formed["contracts_refused"]) == (1.0, 0.0)
    assert formed["link_share_in_force"] == approx(0.5)
    assert formed["mean_trust"] == approx(0.6 + 0.3 * (1.0 - 0.6))
    down = [{"day": 1.0, "kind": "outage", "facility": "sup", "duration_days": 3.0}]
    harsh = agents(FORMING, overrides={"formation.penalty_per_t_short": 100.0}, contracts=[], events=down)
    refused = run(harsh).result().metrics
    assert (refused["contracts_formed"], refused["contracts_refused"]) == (0.0, 2.0)
    assert refused["link_share_in_force"] == 0.0
    leaving = agents({"trust_initial": 0.5, "trust_learning_rate": 1.0, "exit_trust_threshold": 0.6},
                     overrides={"contracts.c1.settlement_days": 5, "contracts.c1.notice_days": 2},
                     events=[{"day": 2.0, "kind": "outage", "facility": "sup", "duration_days": 3.0}])
    left = run(leaving).result().metrics
    assert (left["contract_exits"], left["contracts_ended"]) == (1.0, 1.0)
    assert left["link_share_in_force"] == approx(0.6)
    assert left["exits_per_link_year"] == approx(365.0 / 6.0)
    for m in (formed, refused, left):
        assert (m["adaptations"], m["renegotiations"], m["cascade_closures"]) == (0.0, 0.0, 0.0)
