"""Contract rules that hold up (issue 21, settlement and exit): take-or-pay on tonnes offered,
exit with and without cause, planned outages under notice, terms for seasonal and campaign
by-products, why a contract ended, and the smaller accounting items.

Every test runs the tiny network of ``tiny_net`` (supplier `sup` -> buyer `buy`, contract `c1`,
10 t/day over 0 km: shipped at the end of day d, landed on day d + 1; no storage at either end;
stone at 50/t, ash disposal 10/t) with only the rule under test changed, and checks a hand
calculation. Each rule fires on a case built to trigger it and stays silent on one built not to.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tiny_net import build, daily, days_array, entries, run, settlements

from sim.day.settlement import min_offtake_fee, take_or_pay_topup
from sim.engine import problems
from sim.outages import announced_down_share
from sim.scenario import Contract, Maintenance, ScenarioError

H = 10
EXACT = {"rel": 1e-12, "abs": 1e-9}
HUB = {"intermediary": {"location": {"x_km": 0, "y_km": 0}, "storage_t": 10.0}, "policy.intermediary": True}


def approx(x):
    return pytest.approx(x, **EXACT)


def terms(**kw: Any) -> Contract:
    return Contract(id="c", supplier="a", buyer="b", material="ash", volume_t_per_day=10.0, **kw)


def decide(behaviour: dict[str, Any] | None = None, **kw: Any):
    """The tiny network with decisions in force (no formation rounds)."""
    overrides = {"behaviour": {"formation_interval_days": 1000, **(behaviour or {})}}
    overrides.update(kw.pop("overrides", {}))
    return build(overrides, **kw)


# --- 1. take-or-pay on tonnes offered ---------------------------------------------------------


def test_take_or_pay_topup_runs_on_the_tonnes_offered():
    # committed 50, supplier short 10 -> offered 40; take-or-pay 0.8 x 40 = 32; taken 30:
    # 5 x (32 - 30) = 10. Short 0: offered 50, 5 x (40 - 30) = 50. Short 50: offered 0, nothing.
    t = terms(price_per_t=5.0, take_or_pay=0.8)
    assert take_or_pay_topup(30.0, 50.0, t, short_t=10.0) == approx(10.0)
    assert take_or_pay_topup(30.0, 50.0, t, short_t=0.0) == approx(50.0)
    assert take_or_pay_topup(0.0, 50.0, t, short_t=50.0) == 0.0


@pytest.mark.parametrize("via_hub", [False, True])
def test_a_supplier_down_all_period_owes_its_penalty_and_the_buyer_no_topup(via_hub):
    # Take-or-pay 1.0 at 5/t, penalty 3/t, 5-day periods; the supplier is down days 0..4.
    # Direct: period 0..4 committed 50, short 50 (offered 0): penalty 150, no top-up (the old
    # rule: 5 x 50 = 250 as well). Period 5..9: full supply, 40 t landed + 10 on the road.
    # Routed (the intermediary's outbound leg): the buyer calls off 10 t/day from day 1, the
    # pool is empty until day 6 (the inbound 10 t of day 5 lands there); every call-off short is
    # the seller's: no top-up either.
    over = {"contracts.c1.price_per_t": 5.0, "contracts.c1.take_or_pay": 1.0,
            "contracts.c1.penalty_per_t_short": 3.0, "contracts.c1.settlement_days": 5}
    sc = build({**over, **(HUB if via_hub else {})},
               events=[{"day": 0, "kind": "outage", "facility": "sup", "duration_days": 5}])
    m = run(sc)
    first = settlements(m)[0]
    assert (first["committed_t"], first["short_t"], first["penalty"]) == approx((50.0, 50.0, 150.0))
    assert entries(m, "take_or_pay").empty
    if not via_hub:
        assert daily(m, "penalty", "sup", "buy") == approx(days_array(H, {4: 150.0}))


BUYER_OVERHAUL = {"facilities.buy.outages": {"maintenance": [{"start_day": 2, "duration_days": 2, "notice_days": 14}]}}


@pytest.mark.parametrize("suspend", [True, False])
def test_a_buyer_that_takes_less_than_offered_owes_the_topup(suspend):
    # The buyer is down days 2-3 for an overhaul announced 14 days ahead; the contract suspends
    # deliveries for announced buyer maintenance (7 days' notice), take-or-pay 1.0 at 5/t,
    # 5-day periods. The deliveries that would land on days 2 and 3 (dispatched days 1, 2) are
    # held back: offered 50, shipped 30, short 0. Taken: landed day 1 and day 4 (20) plus day 4's
    # 10 t on the road = 30: top-up 5 x (50 - 30) = 100, and no penalty. Without the term every
    # delivery goes (and the 20 t are dumped at the buyer's gate): taken 50, nothing owed.
    over = {**BUYER_OVERHAUL, "contracts.c1.price_per_t": 5.0, "contracts.c1.take_or_pay": 1.0,
            "contracts.c1.penalty_per_t_short": 3.0, "contracts.c1.settlement_days": 5,
            "contracts.c1.suspend_for_buyer_maintenance": suspend, "contracts.c1.planned_outage_notice_days": 7}
    m = run(build(over))
    first = settlements(m)[0]
    if suspend:
        assert m.contracts_flow["shipped_t"][:5, 0] == approx(np.array([10.0, 0.0, 0.0, 10.0, 10.0]))
        assert (first["suspended_t"], first["short_t"], first["taken_t"]) == approx((20.0, 0.0, 20.0))
        assert daily(m, "take_or_pay", "buy", "sup") == approx(days_array(H, {4: 100.0}))
        assert m.inputs_flow["buffer_overflow_t"][:, 0].sum() == 0.0
    else:
        assert entries(m, "take_or_pay").empty
        assert m.inputs_flow["buffer_overflow_t"][:, 0] == approx(days_array(H, {2: 10.0, 3: 10.0}))
    assert entries(m, "penalty").empty


def test_deliveries_are_not_suspended_for_maintenance_announced_too_late():
    # The same overhaul announced 3 days ahead against the contract's 7: delivered as usual.
    over = {"facilities.buy.outages": {"maintenance": [{"start_day": 2, "duration_days": 2, "notice_days": 3}]},
            "contracts.c1.suspend_for_buyer_maintenance": True, "contracts.c1.planned_outage_notice_days": 7}
    m = run(build(over))
    assert m.contracts_flow["shipped_t"][:, 0] == approx(np.full(H, 10.0))


# --- 5. exit with and without cause -----------------------------------------------------------


EXIT = {"contracts.c1.price_per_t": 60.0, "contracts.c1.min_term_days": 20, "contracts.c1.settlement_days": 5,
        "contracts.c1.early_termination_fee": 1000.0}


def test_exit_for_cause_pays_no_fee():
    # Price 60 for stone at 50: the buyer loses 10/t. The supplier makes 6 of the 10 t due:
    # 20 t short of 50 with no tolerance, a breach. On day 4 the buyer (24 t taken, -240) leaves
    # for cause inside the 20-day term: no fee, although 1,000 would be due without cause.
    m = run(decide({"review_periods": 1, "exit_trust_threshold": 0.0},
                   overrides={**EXIT, "facilities.sup.outputs.ash.rate_t_per_day": 6.0}, horizon=30))
    assert [e[:3] for e in m.decisions.exits] == [(4, "c1", "buyer")]
    assert "for cause" in m.decisions.exits[0][3]
    assert entries(m, "termination_fee").empty
    assert m.result().contracts.loc[0, "end_reason"] == "exit_for_cause"


def test_exit_without_cause_pays_the_fee_in_its_own_period():
    # Full supply, price 60: on day 4 the buyer has lost 400 in 5 days (80/day); the 15 days to
    # the term end would cost 1,200 > 1,000, so it leaves without cause and pays the supplier
    # the 1,000 fee. The fee counts in the period just settled: the buyer -400 - 1,000 = -1,400;
    # the supplier 40 t x 60 + 40 t x 10 of disposal avoided + 1,000 = 3,800.
    m = run(decide({"review_periods": 1, "exit_trust_threshold": 0.0}, overrides=EXIT, horizon=30))
    assert [e[:3] for e in m.decisions.exits] == [(4, "c1", "buyer")]
    assert "for cause" not in m.decisions.exits[0][3]
    assert daily(m, "termination_fee", "buy", "sup").sum() == 1000.0
    assert m.contracts[0].benefit_history[0] == approx((3800.0, -1400.0))
    assert m.result().contracts.loc[0, "end_reason"] == "exit_without_cause"


def test_a_supplier_leaves_for_cause_when_the_buyer_takes_less_than_its_minimum_offtake():
    # A gate fee of 25/t (above the supplier's 10/t disposal) with a minimum offtake of 1.0: the
    # buyer's announced overhaul (days 2-3) holds 20 t back, so it took 30 of 50 offered: the
    # buyer is in breach. Period 0..4, the supplier: 20 t landed x -25 + 20 t refused x 10 + 20 t
    # of disposal avoided x 10 = -100. Without cause the loss to the term end (20/day x 15 days =
    # 300) is below the 1,000 fee, so it would stay; for cause it leaves on day 4, free.
    over = {**EXIT, **BUYER_OVERHAUL, "contracts.c1.price_per_t": -25.0, "contracts.c1.min_offtake": 1.0,
            "contracts.c1.suspend_for_buyer_maintenance": True}
    m = run(decide({"review_periods": 1, "exit_trust_threshold": 0.0}, overrides=over, horizon=30))
    assert m.contracts[0].benefit_history[0][0] == approx(-100.0)
    assert [e[:3] for e in m.decisions.exits] == [(4, "c1", "supplier")]
    assert entries(m, "termination_fee").empty
    assert m.result().contracts.loc[0, "end_reason"] == "exit_for_cause"


# --- 6. planned outages under notice ----------------------------------------------------------


SUPPLIER_OVERHAUL = {"maintenance": [{"start_day": 2, "duration_days": 3, "notice_days": 14}]}


@pytest.mark.parametrize(("how", "owed"), [("announced", 0.0), ("too_late", 150.0), ("breakdown", 150.0),
                                           ("term_off", 150.0)])
def test_an_announced_overhaul_with_notice_is_excused_an_unannounced_breakdown_is_not(how, owed):
    # The supplier is down days 2, 3, 4: 30 t short, penalty 5/t. The contract excuses planned
    # outages announced 7 days ahead (no force majeure). An overhaul announced 14 days ahead:
    # excused, nothing owed. Announced 3 days ahead, a scripted breakdown, or the term off:
    # 5 x 30 = 150.
    over: dict[str, Any] = {"contracts.c1.penalty_per_t_short": 5.0,
                            "contracts.c1.planned_outage_excused": how != "term_off",
                            "contracts.c1.planned_outage_notice_days": 7}
    events = []
    if how == "breakdown":
        events = [{"day": 2, "kind": "outage", "facility": "sup", "duration_days": 3}]
    else:
        notice = 3 if how == "too_late" else 14
        over["facilities.sup.outages"] = {"maintenance": [{**SUPPLIER_OVERHAUL["maintenance"][0],
                                                           "notice_days": notice}]}
    m = run(build(over, events=events))
    (s,) = settlements(m)
    assert (s["short_t"], s["excused_t"], s["penalty"]) == approx((30.0, 30.0 - owed / 5.0, owed))


def test_announced_down_share_counts_only_windows_with_enough_notice():
    # A 2-day window every 10 days from day 3, announced 5 days ahead: [3, 5), [13, 15) ...
    w = Maintenance(start_day=3, duration_days=2, every_days=10, notice_days=5)
    assert announced_down_share([w], 5.0, 0, 10) == approx(0.2)
    assert announced_down_share([w], 5.0, 14, 15) == approx(1.0)
    assert announced_down_share([w], 5.0, 4.5, 5.5) == approx(0.5)
    assert announced_down_share([w], 7.0, 0, 10) == 0.0


# --- 8. seasonal and campaign by-products -----------------------------------------------------


@pytest.mark.parametrize(("basis", "owed"), [("share_of_output", 0.0), ("fixed", 25.0)])
def test_a_volume_that_follows_the_suppliers_output(basis, owed):
    # The supplier's output falls from 10 to 4 t/day on day 5 (a campaign winding down). Half
    # its output is due: 5 t/day, then 2 t/day, all shipped: no shortfall. A fixed 5 t/day:
    # 1 t short a day on days 5..9, 5 t x 5 = 25.
    over: dict[str, Any] = {"contracts.c1.volume_t_per_day": 5.0, "contracts.c1.penalty_per_t_short": 5.0,
                            "contracts.c1.volume_basis": basis}
    if basis == "share_of_output":
        over["contracts.c1.output_share"] = 0.5
    m = run(build(over, events=[{"day": 5, "kind": "stream_scale", "facility": "sup", "material": "ash",
                                 "factor": 0.4}]))
    due = np.array([5.0] * 5 + ([2.0] * 5 if basis == "share_of_output" else [5.0] * 5))
    assert m.contracts_flow["due_t"][:, 0] == approx(due)
    assert m.contracts_flow["shipped_t"][:, 0] == approx(np.minimum(due, [10.0] * 5 + [4.0] * 5))
    assert settlements(m)[0]["penalty"] == approx(owed)


@pytest.mark.parametrize(("rate", "fee"), [(6.0, 120.0), (None, 200.0)])
def test_a_gate_fee_contract_charges_the_buyer_for_tonnes_refused_below_its_minimum_offtake(rate, fee):
    # Gate fee 4/t (price -4), minimum offtake 1.0, 5-day periods; the buyer's announced
    # overhaul holds back 20 t (as in the take-or-pay test): offered 50, taken 30, refused 20,
    # at 6/t = 120, or unset at the supplier's disposal cost 10/t = 200 (what it avoided).
    over = {**BUYER_OVERHAUL, "contracts.c1.price_per_t": -4.0, "contracts.c1.min_offtake": 1.0,
            "contracts.c1.refusal_cost_per_t": rate, "contracts.c1.settlement_days": 5,
            "contracts.c1.suspend_for_buyer_maintenance": True}
    m = run(build(over))
    assert daily(m, "min_offtake", "buy", "sup") == approx(days_array(H, {4: fee}))
    assert min_offtake_fee(30.0, 50.0, terms(price_per_t=-4.0, min_offtake=0.5), 0.0, 10.0) == 0.0  # 25 <= 30


def test_minimum_offtake_owes_nothing_when_everything_offered_is_taken():
    over = {"contracts.c1.price_per_t": -4.0, "contracts.c1.min_offtake": 1.0, "contracts.c1.settlement_days": 5}
    assert entries(run(build(over)), "min_offtake").empty


@pytest.mark.parametrize(("cause", "owed"), [("harvest", 0.0), ("strike", 200.0)])
def test_a_poor_harvest_excuses_the_shortfall_it_causes(cause, owed):
    # A poor harvest cuts the supplier's output to 60 % from day 0: 4 t short a day of the 10
    # due, 40 t over the 10-day period. The contract names "harvest" a force-majeure cause:
    # excused min(4, 10 x 0.4) = 4 a day, nothing owed. A cut for another cause: 5 x 40 = 200.
    over = {"contracts.c1.penalty_per_t_short": 5.0, "contracts.c1.force_majeure_causes": ["harvest"]}
    m = run(build(over, events=[{"day": 0, "kind": "stream_scale", "facility": "sup", "material": "ash",
                                 "factor": 0.6, "cause": cause}]))
    (s,) = settlements(m)
    assert (s["short_t"], s["penalty"]) == approx((40.0, owed))


def test_new_terms_are_checked():
    with pytest.raises(ScenarioError, match="output_share"):
        build({"contracts.c1.volume_basis": "share_of_output"})
    with pytest.raises(ScenarioError, match="min_offtake"):
        build({"contracts.c1.price_per_t": 5.0, "contracts.c1.min_offtake": 0.5})
    with pytest.raises(ScenarioError, match="cause"):
        build(events=[{"day": 0, "kind": "outage", "facility": "sup", "duration_days": 1, "cause": "harvest"}])
    assert problems(build({"contracts.c1.planned_outage_excused": True})) == []  # the array day runs them


# --- 9. why a contract ended; 10. end events, tonnes used -------------------------------------


@pytest.mark.parametrize(("event", "reason"), [
    ({"day": 3, "kind": "closure", "facility": "buy"}, "closure"),
    ({"day": 3, "kind": "notice", "contract": "c1", "party": "buyer"}, "notice"),
    (None, ""),
])
def test_contracts_table_says_why_a_contract_ended(event, reason):
    m = run(build(events=[event] if event else []))
    assert m.result().contracts.loc[0, "end_reason"] == reason


def test_a_decision_declining_a_renewal_ends_at_the_term_end():
    # Price 60, a 20-day term and a 1,500 fee: the buyer stays to the term end and leaves on
    # day 19, declining the renewal (test_behaviour's bound-party case).
    over = {**EXIT, "contracts.c1.early_termination_fee": 1500.0}
    m = run(decide({"review_periods": 1, "exit_trust_threshold": 0.0}, overrides=over, horizon=30))
    assert m.decisions.exits[0][0] == 19
    assert m.result().contracts.loc[0, "end_reason"] == "term_end"


def test_contracts_ended_counts_every_end_of_a_link_that_formed_again():
    # The link of test_behaviour's re-forming case: formed day 4, left day 9 (ended day 10),
    # formed again day 19 (in force from 20); a second outage (days 21-23) makes the buyer leave
    # again on day 24 (ended 25): two end events on one contract.
    sc = decide({"formation_interval_days": 5, "discovery_probability": 1.0, "exit_trust_threshold": 0.55,
                 "reform_after_days": 5.0},
                overrides={"formation.settlement_days": 5}, contracts=[], horizon=30,
                events=[{"day": 6.0, "kind": "outage", "facility": "sup", "duration_days": 3.0},
                        {"day": 21.0, "kind": "outage", "facility": "sup", "duration_days": 3.0}])
    m = run(sc)
    assert [e[0] for e in m.decisions.exits] == [9, 24]
    assert m.result().metrics["contracts_ended"] == 2.0


def test_a_buyers_period_benefit_counts_tonnes_used_not_dumped():
    # The buyer is down days 2-3 (unannounced) with no buffer: the 10 t landing each of those days
    # are dumped at its gate. Period 0..4: 40 t taken, 20 t used: 20 x 50 = 1,000 saved (the old
    # count: 2,000); period 5..9: 50 t taken and used, 2,500.
    m = run(decide({"review_periods": 2, "exit_trust_threshold": 0.0},
                   overrides={"contracts.c1.settlement_days": 5},
                   events=[{"day": 2, "kind": "outage", "facility": "buy", "duration_days": 2}]))
    assert m.inputs_flow["buffer_overflow_t"][:, 0] == approx(days_array(H, {2: 10.0, 3: 10.0}))
    assert [b for _, b in m.contracts[0].benefit_history] == approx([1000.0, 2500.0])


def test_validate_counts_no_campaign_gap_for_a_volume_that_follows_the_output():
    # docs/examples: the fixed-volume contracts leave a campaign gap; on a share of output none.
    from pathlib import Path

    from sim.implied import implied_lines
    from sim.scenario import load_scenario

    examples = Path(__file__).resolve().parents[1] / "docs" / "examples"
    gap = lambda name: [x for x in implied_lines(load_scenario(examples / name)) if "campaign gap" in x]  # noqa: E731
    assert len(gap("sugar_lime.toml")) == 1
    assert gap("sugar_lime_terms.toml") == []
