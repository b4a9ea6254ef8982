"""Agent decisions (issue 6): each rule fires on a situation built to trigger it and stays
silent on one built not to; frozen decisions reproduce the static model exactly; and two
sweep-level effects (what remains of penalties and participation once suppliers commit within
capacity, issue 21; the intermediary and exits)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pytest import approx
from tiny_net import build, daily, days_array, run, settlements

from sim.contracts import Status
from sim.model import SymbiosisModel
from sim.scenario import Scenario, ScenarioError, parse_scenario

OUTAGE = {"day": 2.0, "kind": "outage", "facility": "sup"}


def decide(behaviour: dict[str, Any] | None = None, **kw: Any):
    """The tiny network with decisions in force."""
    overrides = {"behaviour": {"formation_interval_days": 1000, **(behaviour or {})}}
    overrides.update(kw.pop("overrides", {}))
    return build(overrides, **kw)


# --- trust -----------------------------------------------------------------------------------


def test_trust_moves_toward_delivery_performance_and_drops_on_a_dispute() -> None:
    # Supplier down days 2-6: of 50 t committed in the first 5-day period, 10 arrive (days 0, 1
    # shipped), 30 t short at settlement... performance = 1 - short / committed.
    sc = decide({"trust_initial": 0.8, "trust_learning_rate": 0.5, "dispute_trust_loss": 0.1,
                 "exit_trust_threshold": 0.0},
                overrides={"contracts.c1.settlement_days": 5, "contracts.c1.penalty_per_t_short": 1.0},
                events=[{**OUTAGE, "duration_days": 3.0}])
    m = run(sc)
    first = m.settlements[0]
    performance = 1 - first["short_t"] / first["committed_t"]
    expected = 0.8 + 0.5 * (performance - 0.8) - 0.1
    second = 1 - m.settlements[1]["short_t"] / m.settlements[1]["committed_t"]
    assert first["penalty"] > 0 and m.settlements[1]["penalty"] == 0
    assert m.contracts[0].trust == approx(expected + 0.5 * (second - expected))


def test_disputes_through_the_intermediary_cost_less_trust() -> None:
    behaviour = {"trust_initial": 0.8, "trust_learning_rate": 0.0, "dispute_trust_loss": 0.2,
                 "intermediary_dispute_factor": 0.25, "exit_trust_threshold": 0.0}
    base = {"contracts.c1.settlement_days": 10, "contracts.c1.penalty_per_t_short": 1.0}
    events = [{**OUTAGE, "duration_days": 3.0}]
    direct = run(decide(behaviour, overrides=base, events=events))
    routed = run(decide(behaviour, overrides={**base, "intermediary": {"location": {"x_km": 0, "y_km": 0},
                                                                        "storage_t": 10.0},
                                               "policy.intermediary": True}, events=events))
    assert direct.contracts[0].trust == approx(0.8 - 0.2)
    assert routed.contracts[0].trust == approx(0.8 - 0.2 * 0.25)


# --- exit ------------------------------------------------------------------------------------


def test_buyer_gives_notice_when_trust_falls_below_its_threshold() -> None:
    sc = decide({"trust_initial": 0.5, "trust_learning_rate": 1.0, "exit_trust_threshold": 0.6},
                overrides={"contracts.c1.settlement_days": 5, "contracts.c1.notice_days": 2},
                events=[{**OUTAGE, "duration_days": 3.0}])
    m = run(sc)
    assert m.decisions.exits and m.decisions.exits[0][:3] == (4, "c1", "buyer")
    assert m.contracts[0].status is Status.ENDED and m.contracts[0].ended_day == 6


def test_nobody_leaves_a_reliable_and_profitable_contract() -> None:
    m = run(decide({"exit_trust_threshold": 0.5}, overrides={"contracts.c1.settlement_days": 2}))
    assert m.decisions.exits == [] and m.contracts[0].status is Status.ACTIVE


def test_buyer_leaves_a_contract_that_costs_more_than_it_saves() -> None:
    # The buyer pays 60/t for ash that replaces stone at 50/t: -10 per t, every period.
    sc = decide({"review_periods": 2, "exit_trust_threshold": 0.0},
                overrides={"contracts.c1.settlement_days": 2, "contracts.c1.price_per_t": 60.0})
    m = run(sc)
    assert m.decisions.exits[0][1:3] == ("c1", "buyer")
    assert "negative benefit" in m.decisions.exits[0][3]


@pytest.mark.parametrize("take_or_pay", [1.0, 0.0])
def test_take_or_pay_does_not_drive_out_a_buyer_whose_supplier_falls_short(take_or_pay: float) -> None:
    # The supplier makes 6 t/day of the 10 due, at 45/t. Period 0..4: 24 t taken (days 1-4),
    # saving the buyer 24 x 50 = 1200. It pays 24 x 45 = 1080; take-or-pay runs on the 30 t
    # offered (50 committed less 20 short), all taken (24 + 6 on the road): no top-up, +120
    # either way, and it stays. (Before issue 21 take-or-pay 1.0 charged 45 x 20 = 900 for
    # tonnes never made, -780, and the buyer left.)
    sc = decide({"review_periods": 1, "exit_trust_threshold": 0.0},
                overrides={"facilities.sup.outputs.ash.rate_t_per_day": 6.0, "contracts.c1.price_per_t": 45.0,
                           "contracts.c1.take_or_pay": take_or_pay, "contracts.c1.settlement_days": 5})
    m = run(sc)
    assert m.contracts[0].benefit_history[0][1] == approx(120.0)
    assert m.decisions.exits == []


@pytest.mark.parametrize(("fee", "exit_day", "fee_paid"), [(0.0, 4, 0.0), (1000.0, 4, 1000.0), (1500.0, 19, 0.0)])
def test_a_bound_party_leaves_early_only_when_its_loss_to_the_term_end_exceeds_the_fee(
    fee: float, exit_day: int, fee_paid: float
) -> None:
    # Price 60 for stone at 50: the buyer loses 10/t. Term 0..19, 5-day periods, no notice.
    # Day 4: 40 t taken, -400 over 5 days = -80/day; in force through day 4, the 15 days to
    # the term end would cost 1200: above a 1000 fee (it leaves and pays it), below 1500.
    # With 1500 it stays (day 9: 100/day x 10 = 1000; day 14: 500) and leaves at the term
    # end, day 19, for free.
    sc = decide({"review_periods": 1, "exit_trust_threshold": 0.0},
                overrides={"contracts.c1.price_per_t": 60.0, "contracts.c1.min_term_days": 20,
                           "contracts.c1.settlement_days": 5, "contracts.c1.early_termination_fee": fee},
                horizon=30)
    m = run(sc)
    assert [e[:3] for e in m.decisions.exits] == [(exit_day, "c1", "buyer")]
    assert m.contracts[0].ended_day == exit_day + 1
    assert daily(m, "termination_fee", "buy", "sup").sum() == fee_paid


@pytest.mark.parametrize(("term", "leaves"), [(20, False), (0, True)])
def test_at_a_term_end_the_parties_judge_the_whole_term(term: int, leaves: bool) -> None:
    # Price 40 for stone at 50, take-or-pay 1.0, 5-day periods. The buyer gains 400 in days 0-4
    # (40 t taken and paid for, 10 t on the road: no top-up), then 500 and 500; the buyer is
    # down on days 17-18 for an announced overhaul, and the contract suspends the deliveries
    # that would land then, so in days 15-19 it takes 30 t of the 50 offered (saving 1500) but
    # pays for 50 (2000): -500. Judged period by period it leaves on day 19; bound by a 20-day term that ends on
    # day 19 it judges the term, +900, and renews.
    sc = decide({"review_periods": 1, "exit_trust_threshold": 0.0, "renegotiate": []},
                overrides={"contracts.c1.price_per_t": 40.0, "contracts.c1.take_or_pay": 1.0,
                           "contracts.c1.settlement_days": 5, "contracts.c1.min_term_days": term,
                           "contracts.c1.suspend_for_buyer_maintenance": True,
                           "facilities.buy.outages": {"maintenance": [{"start_day": 17, "duration_days": 2}]}},
                horizon=25)
    m = run(sc)
    assert [b for _, b in m.contracts[0].benefit_history[:4]] == approx([400.0, 500.0, 500.0, -500.0])
    assert [e[:3] for e in m.decisions.exits] == ([(19, "c1", "buyer")] if leaves else [])


def test_supplier_leaves_when_penalties_outweigh_what_the_exchange_saves_it() -> None:
    # Free ash saves the supplier 10/t of disposal; a 100/t penalty on the outage days costs more.
    sc = decide({"review_periods": 1, "exit_trust_threshold": 0.0},
                overrides={"contracts.c1.settlement_days": 5, "contracts.c1.penalty_per_t_short": 100.0},
                events=[{**OUTAGE, "duration_days": 3.0}])
    m = run(sc)
    assert ("c1", "supplier") in [(e[1], e[2]) for e in m.decisions.exits]


# --- renegotiation ---------------------------------------------------------------------------


def test_volume_is_cut_to_what_was_shipped_at_the_end_of_the_minimum_term() -> None:
    # The supplier makes 6 t/day against 10 contracted; the 5-day term ends on day 4: cut to
    # what it made, 6 (also what it shipped).
    sc = decide({"exit_trust_threshold": 0.0, "renegotiate": ["volume"]},
                overrides={"facilities.sup.outputs.ash.rate_t_per_day": 6.0, "contracts.c1.min_term_days": 5,
                           "contracts.c1.settlement_days": 5})
    m = run(sc)
    assert m.contracts[0].terms.volume_t_per_day == approx(6.0)
    assert m.contracts_flow["due_t"][5:, 0] == approx(np.full(5, 6.0))


def test_volume_stays_when_the_supplier_delivered_in_full() -> None:
    m = run(decide({"renegotiate": ["volume"]},
                   overrides={"contracts.c1.min_term_days": 5, "contracts.c1.settlement_days": 5}))
    assert m.contracts[0].terms.volume_t_per_day == 10.0


def term_of_five(price: float, renegotiate: list[str], **behaviour: Any):
    """c1 at `price`, one 5-day term of one 5-day settlement period; a party leaves on one
    period's negative benefit unless a renegotiation starts its review afresh."""
    return decide({"review_periods": 1, "exit_trust_threshold": 0.0, "renegotiate": renegotiate, **behaviour},
                  overrides={"contracts.c1.price_per_t": price, "contracts.c1.min_term_days": 5,
                             "contracts.c1.settlement_days": 5})


def test_price_moves_to_the_fair_share_when_one_party_loses_on_a_joint_gain() -> None:
    # Price 55 for ash that saves the buyer 50/t of stone and the supplier 10/t of disposal.
    # Term 0..4: 40 t taken (days 1-4). Supplier 40 x (55 + 10) = 2600, buyer 40 x (50 - 55)
    # = -200, joint 2400 > 0. Fair (share 0.5): price 55 + (0.5 x 2400 - 2600) / 40 = 20.
    m = run(term_of_five(55.0, ["volume", "price"]))
    assert m.decisions.adaptations == [(4, "c1", "price_per_t", approx(20.0))]
    assert m.contracts[0].benefit_history[0] == approx((50 * 30.0, 50 * 30.0))  # days 5-9 (50 t) at 20: fair
    assert daily(m, "price", "buy", "sup")[5:] == approx(np.full(5, 10 * 20.0))
    assert m.decisions.exits == []  # the review started afresh on the new price
    assert m.result().metrics["renegotiations"] == 1.0


def test_price_stays_and_the_loser_leaves_without_price_renegotiation() -> None:
    m = run(term_of_five(55.0, ["volume"]))
    assert m.contracts[0].terms.price_per_t == 55.0
    assert m.decisions.exits[0][:3] == (4, "c1", "buyer")


@pytest.mark.parametrize(("behaviour", "overrides", "price"), [
    ({"fair_share": 0.25}, {}, 55.0 + (0.25 * 2400 - 2600) / 40),  # = 5
    ({}, {"formation.supplier_share": 0.75}, 55.0 + (0.75 * 2400 - 2600) / 40),  # = 35: the default share
])
def test_the_fair_share_comes_from_behaviour_or_formation(behaviour: dict, overrides: dict, price: float) -> None:
    sc = decide({"review_periods": 1, "exit_trust_threshold": 0.0, "renegotiate": ["price"], **behaviour},
                overrides={"contracts.c1.price_per_t": 55.0, "contracts.c1.min_term_days": 5,
                           "contracts.c1.settlement_days": 5, **overrides})
    assert run(sc).contracts[0].terms.price_per_t == approx(price)


@pytest.mark.parametrize("case", ["both gain", "joint loss"])
def test_price_stays_when_both_gain_or_the_exchange_loses_jointly(case: str) -> None:
    # Both gain at price 20 (30/t each); at 70/t of processing the buyer's ash costs it more than
    # stone (joint 10 + 50 - 70 < 0): no price shares a loss fairly, and the buyer leaves.
    extra = {} if case == "both gain" else {"facilities.buy.inputs.stone.substitutes.ash.processing_cost_per_t": 70.0}
    sc = decide({"review_periods": 1, "exit_trust_threshold": 0.0, "renegotiate": ["price"]},
                overrides={"contracts.c1.price_per_t": 20.0, "contracts.c1.min_term_days": 5,
                           "contracts.c1.settlement_days": 5, **extra})
    m = run(sc)
    assert m.contracts[0].terms.price_per_t == 20.0 and m.decisions.adaptations == []
    assert (m.decisions.exits != []) is (case == "joint loss")


def outage_term(penalty: float, renegotiate: list[str]):
    """c1 with a penalty, one 5-day term; the supplier is down on days 2-4."""
    return decide({"review_periods": 1, "exit_trust_threshold": 0.0, "renegotiate": renegotiate},
                  overrides={"contracts.c1.penalty_per_t_short": penalty, "contracts.c1.min_term_days": 5,
                             "contracts.c1.settlement_days": 5,
                             # no source buffer: the term is the story
                             "facilities.sup.outputs.ash.holding_cost_per_t_day": 1e6},
                  events=[{**OUTAGE, "duration_days": 3.0}])


def test_penalty_is_cut_to_what_the_supplier_could_pay_without_a_loss() -> None:
    # Term 0..4: shipped days 0-1 (20 t, taken by day 2), 30 t short. Before penalties the
    # supplier gained 20 x 10 = 200 of disposal; 30 x 100 = 3000 of penalties turned it into
    # -2800. The highest penalty it could have paid: 200 / 30 per t short.
    m = run(outage_term(100.0, ["penalty"]))
    assert settlements(m)[0]["penalty"] == approx(3000.0) and settlements(m)[0]["taken_t"] == approx(20.0)
    assert m.decisions.adaptations == [(4, "c1", "penalty_per_t_short", approx(200.0 / 30.0))]
    assert m.decisions.exits == []  # the review started afresh on the new penalty


def test_penalty_stays_when_the_supplier_gains_despite_it_and_the_supplier_leaves_without_the_rule() -> None:
    mild = run(outage_term(1.0, ["penalty"]))  # 200 - 30 > 0: no loss, no cut
    assert mild.contracts[0].terms.penalty_per_t_short == 1.0 and mild.decisions.adaptations == []
    harsh = run(outage_term(100.0, []))  # the same loss with no renegotiation: the supplier leaves
    assert harsh.contracts[0].terms.penalty_per_t_short == 100.0
    assert harsh.decisions.exits[0][:3] == (4, "c1", "supplier")


def test_price_is_judged_on_the_term_as_it_would_have_been_on_the_cut_penalty() -> None:
    # After the cut, the term would have left the supplier 200 - 30 x 200/30 = 0 and the buyer
    # 20 x 50 + 200 = 1200 (it receives 200 of penalties, not 3000): nobody loses, price stays.
    m = run(outage_term(100.0, ["penalty", "price"]))
    assert [a[2] for a in m.decisions.adaptations] == ["penalty_per_t_short"]


def test_renegotiate_names_each_term_once() -> None:
    with pytest.raises(ScenarioError, match="name each term once"):
        decide({"renegotiate": ["price", "price"]})


@pytest.mark.parametrize(("warmup", "share", "per_link_year"), [(0, 5 / 10, 365 / 5), (2, 3 / 8, 365 / 3)])
def test_link_metrics_count_days_in_force_and_exits_per_link_year(warmup: int, share: float,
                                                                  per_link_year: float) -> None:
    # The buyer leaves on day 4 (price 60 > stone's 50): c1 is in force on days 0-4 of 10. After
    # a 2-day warm-up: 3 link-days of 8, and the exit (day 4) falls inside the window.
    sc = decide({"review_periods": 1, "exit_trust_threshold": 0.0},
                overrides={"contracts.c1.price_per_t": 60.0, "contracts.c1.settlement_days": 5,
                           "scenario.warmup_days": warmup})
    metrics = run(sc).result().metrics
    assert metrics["link_share_in_force"] == approx(share)
    assert metrics["exits_per_link_year"] == approx(per_link_year)


def test_link_metrics_of_a_frozen_network() -> None:
    metrics = run(build()).result().metrics
    assert metrics["link_share_in_force"] == 1.0 and metrics["exits_per_link_year"] == 0.0


# --- formation -------------------------------------------------------------------------------


def test_a_candidate_exchange_forms_when_both_parties_gain() -> None:
    m = run(decide({"formation_interval_days": 5, "discovery_probability": 1.0}, contracts=[]))
    assert m.decisions.formed == [(4, "formed-sup-buy-ash")]
    assert m.inputs_flow["accepted_t"][:, 0] == approx([0, 0, 0, 0, 0, 0, 10, 10, 10, 10])


def test_an_unreliable_supplier_refuses_a_penalty_it_expects_to_pay() -> None:
    # Down 3 of the first 5 days: availability 0.4, so a 100/t penalty costs it 60/t expected,
    # more than the 10/t of disposal it saves (price 0 on the formation terms' even split
    # minus avoided disposal would be negative; the formation price is what it is).
    kw = {"formation_interval_days": 5, "discovery_probability": 1.0}
    events = [{"day": 1.0, "kind": "outage", "facility": "sup", "duration_days": 3.0}]
    harsh = run(decide(kw, overrides={"formation.penalty_per_t_short": 100.0}, contracts=[], events=events))
    mild = run(decide(kw, overrides={"formation.penalty_per_t_short": 1.0}, contracts=[], events=events))
    assert harsh.decisions.formed == [] and harsh.decisions.refused[0][2] == "supplier"
    assert mild.decisions.formed != []


def test_a_buyer_with_no_fallback_refuses_an_unreliable_supplier() -> None:
    # No virgin source, no buffer, a 500/t lost margin: the shortage risk outweighs the saving.
    kw = {"formation_interval_days": 5, "discovery_probability": 1.0}
    events = [{"day": 1.0, "kind": "outage", "facility": "sup", "duration_days": 3.0}]
    risky = {"facilities.buy.inputs.stone.virgin": "none", "facilities.buy.inputs.stone.lost_margin_per_t": 500.0}
    m = run(decide(kw, overrides=risky, contracts=[], events=events))
    assert m.decisions.formed == [] and m.decisions.refused[0][2] == "buyer"
    safe = run(decide(kw, contracts=[], events=events))  # virgin from the market: no risk
    assert safe.decisions.formed != []


@pytest.mark.parametrize("wait", [None, 5.0])
def test_a_link_that_a_party_left_forms_again_after_the_wait(wait: float | None) -> None:
    # Formed on day 4 (starts day 5, 5-day periods); the supplier is down days 6-8, so
    # performance in days 5-9 is 0.4 and trust 0.6 + 0.3 x (0.4 - 0.6) = 0.54 < 0.55: the buyer
    # leaves on day 9 (ended day 10). Five days later, at the round of day 19, the link is a
    # known candidate again: formed, in force from day 20, trust back to 0.6 and moving on
    # from there (two full periods: 0.6 -> 0.72 -> 0.804).
    sc = decide({"formation_interval_days": 5, "discovery_probability": 1.0, "exit_trust_threshold": 0.55,
                 "reform_after_days": wait},
                overrides={"formation.settlement_days": 5}, contracts=[], horizon=30,
                events=[{"day": 6.0, "kind": "outage", "facility": "sup", "duration_days": 3.0}])
    m = run(sc)
    cid = "formed-sup-buy-ash"
    assert m.decisions.exits[0][:3] == (9, cid, "buyer")
    in_force = m.contracts_flow["in_force"][:, 0]
    if wait is None:
        assert m.decisions.formed == [(4, cid)] and in_force[10:].sum() == 0.0
    else:
        assert m.decisions.formed == [(4, cid), (19, cid)]
        assert in_force == approx(days_array(30, {d: 1.0 for d in [*range(5, 10), *range(20, 30)]}))
        assert m.contracts[0].trust == approx(0.804)
        assert len(m.input_states[0].substitutes[0].primaries) == 1  # listed once, not per formation


@pytest.mark.parametrize("bound", [False, True])
def test_formed_links_carry_the_formation_term_notice_and_fee(bound: bool) -> None:
    # Formed on day 4, in force from day 5; the buyer loses trust on day 9 (as above). Bound by
    # a 20-day term with 2 days' notice and a 100 fee, it stays in force to day 10; it leaves
    # for the supplier's breach (30 t short of 50, no tolerance), so it pays no fee (issue 21;
    # before, it paid the supplier that failed it); unbound, it is gone on day 10.
    terms = {"formation.min_term_days": 20, "formation.notice_days": 2, "formation.early_termination_fee": 100.0}
    sc = decide({"formation_interval_days": 5, "discovery_probability": 1.0, "exit_trust_threshold": 0.55},
                overrides={"formation.settlement_days": 5, **(terms if bound else {})}, contracts=[], horizon=20,
                events=[{"day": 6.0, "kind": "outage", "facility": "sup", "duration_days": 3.0}])
    m = run(sc)
    assert m.decisions.exits[0][:3] == (9, "formed-sup-buy-ash", "buyer")
    assert m.contracts[0].ended_day == (11 if bound else 10)
    assert m.contracts[0].terms.early_termination_fee == (100.0 if bound else 0.0)
    assert "for cause" in m.decisions.exits[0][3]
    assert daily(m, "termination_fee").sum() == 0.0


def test_nothing_forms_before_anyone_learns_of_the_exchange() -> None:
    m = run(decide({"formation_interval_days": 5, "discovery_probability": 0.0}, contracts=[]))
    assert m.decisions.formed == [] and m.inputs_flow["accepted_t"].sum() == 0.0


# --- adaptation ------------------------------------------------------------------------------


def test_a_buyer_hurt_by_a_disruption_raises_its_buffer_within_budget() -> None:
    # Virgin none: the outage leaves demand unmet; after it the buffer grows by 2 days x 10 t.
    sc = decide({"buffer_step_days": 2.0, "buffer_budget_days": 3.0, "exit_trust_threshold": 0.0},
                overrides={"facilities.buy.inputs.stone.virgin": "none"}, horizon=30,
                events=[{**OUTAGE, "duration_days": 2.0}, {"day": 12.0, "kind": "outage", "facility": "sup",
                                                          "duration_days": 2.0}])
    m = run(sc)
    caps = [a[3] for a in m.decisions.adaptations if a[2] == "buffer_t:stone"]
    assert caps == approx([20.0, 30.0])  # 2 days, then the last 1 day of the 3-day budget


def test_a_buyer_that_was_never_short_keeps_its_buffer() -> None:
    m = run(decide(events=[{**OUTAGE, "duration_days": 2.0}]))  # the market covers the gap
    assert m.input_states[0].buffer_cap == 0.0 and m.decisions.adaptations == []


def test_a_supplier_keeps_a_source_buffer_when_penalties_exceed_its_holding_cost() -> None:
    base = {"contracts.c1.penalty_per_t_short": 50.0, "contracts.c1.settlement_days": 5}
    events = [{**OUTAGE, "duration_days": 1.0}]
    rate = "facilities.sup.outputs.ash.holding_cost_per_t_day"
    cheap = run(decide({"exit_trust_threshold": 0.0}, overrides={**base, rate: 0.1}, events=events))
    dear = run(decide({"exit_trust_threshold": 0.0}, overrides={**base, rate: 50.0}, events=events))
    assert cheap.stream_states[0].storage_cap == approx(20.0)  # 2 days x 10 t/day
    assert dear.stream_states[0].storage_cap == 0.0


# --- cascades --------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "closes"), [(2.0, True), (5.0, False)])
def test_a_buyer_that_loses_a_critical_input_for_too_long_closes(limit: float, closes: bool) -> None:
    # Virgin none, critical: the 3-day outage leaves the line without input on days 3, 4, 5.
    sc = decide({"cascade_closure_days": limit, "exit_trust_threshold": 0.0},
                overrides={"facilities.buy.inputs.stone.virgin": "none", "facilities.buy.inputs.stone.critical": True},
                events=[{**OUTAGE, "duration_days": 3.0}])
    m = run(sc)
    assert m.facility_by_id["buy"].up.closed is closes
    assert (m.contracts[0].status is Status.ENDED) is closes
    assert m.result().metrics["cascade_closures"] == float(closes)


# --- frozen network --------------------------------------------------------------------------


def test_policy_adaptive_false_equals_the_static_model_exactly() -> None:
    events = [{**OUTAGE, "duration_days": 3.0}]
    static = run(build(events=events, horizon=40), seed=3).result()
    frozen = run(decide({"discovery_probability": 1.0, "formation_interval_days": 5}, events=events, horizon=40,
                        overrides={"policy.adaptive": False}), seed=3).result()
    assert frozen.metrics == static.metrics
    assert frozen.contracts.equals(static.contracts)


# --- sweeps ----------------------------------------------------------------------------------


def market(penalty: float, routed: bool = False) -> dict[str, Any]:
    """Four suppliers of differing reliability and four buyers with no fallback, no contracts:
    the network forms (or not) through the agents' decisions."""
    mtbf = [400.0, 100.0, 40.0, 15.0]
    facilities: list[dict[str, Any]] = [
        {"id": f"s{k}", "location": {"x_km": 0.0, "y_km": 5.0 * k},
         "outages": {"mtbf_days": mtbf[k], "mttr_days": 5.0},
         "outputs": [{"material": "ash", "rate_t_per_day": 10.0}]}
        for k in range(4)
    ] + [
        {"id": f"b{k}", "location": {"x_km": 5.0, "y_km": 5.0 * k},
         "inputs": [{"material": "stone", "demand_t_per_day": 10.0, "buffer_t": 20.0, "virgin": "stockpile",
                     "stockpile": {"capacity_t": 60, "reorder_point_t": 20, "order_up_to_t": 60,
                                   "lead_time_days": 3},
                     "lost_margin_per_t": 80.0, "substitutes": [{"material": "ash"}]}]}
        for k in range(4)
    ]
    raw: dict[str, Any] = {
        "scenario": {"name": "market", "horizon_days": 720},
        "materials": [{"id": "ash", "disposal_cost_per_t": 30.0}, {"id": "stone", "virgin_price_per_t": 40.0}],
        "facilities": facilities,
        "formation": {"penalty_per_t_short": penalty, "settlement_days": 30},
        # The first formation round (day 119) comes after every supplier has shown its record.
        "behaviour": {"formation_interval_days": 120, "discovery_probability": 0.8, "exit_trust_threshold": 0.55,
                      "dispute_trust_loss": 0.15},
    }
    if routed:
        raw["intermediary"] = {"location": {"x_km": 2.5, "y_km": 7.5}, "storage_t": 0.0}
        raw["policy"] = {"intermediary": True}
    return raw


def sweep(raw: dict[str, Any], reps: int = 16) -> list[SymbiosisModel]:
    sc = parse_scenario(raw)
    out = []
    for r in range(reps):
        m = SymbiosisModel(sc, rng=np.random.SeedSequence(99, spawn_key=(r,)), collect_series=False)
        m.run()
        out.append(m)
    return out


def paired_mean_and_se(a: list[float], b: list[float]) -> tuple[float, float]:
    d = np.asarray(a) - np.asarray(b)
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def formed_fill_rate(m: SymbiosisModel) -> float:
    """Delivered over due on the contracts that formed (ratio of sums)."""
    cf = m.contracts_flow
    ks = [c.index for c in m.contracts if not c.latent]
    due = cf["due_t"][:, ks].sum()
    return float(cf["accepted_t"][:, ks].sum() / due) if due > 0 else float("nan")


@pytest.mark.slow
def test_within_capacity_the_penalty_barely_changes_participation_or_fill() -> None:
    """What remains of "higher penalties form fewer contracts that deliver better" (issue 21).
    Before suppliers were held to their expected output, a 10 t/day stream held up to four
    10 t/day contracts at penalty 5: penalty 5 vs 150 formed 7.75 +- 0.52 more contracts (12
    seeds) whose fill was 0.32 lower (0.62 vs 0.94). Within capacity, formed contracts deliver
    at both penalties and the penalty's effects are small: about 1.2 contracts and 0.01 of
    fill (16 seeds). This asserts what holds: each effect, 4 SE up, stays under a bound the
    old finding exceeded by far (3 contracts; 0.05 of fill), and fill is high at penalty 5."""
    low, high = sweep(market(5.0)), sweep(market(150.0))
    formed = paired_mean_and_se([m.result().metrics["contracts_formed"] for m in low],
                                [m.result().metrics["contracts_formed"] for m in high])
    assert formed[0] + 4 * formed[1] < 3.0, f"low - high penalty: {formed[0]:.2f} contracts (SE {formed[1]:.2f})"
    pairs = [(formed_fill_rate(a), formed_fill_rate(b)) for a, b in zip(low, high, strict=True)]
    pairs = [(a, b) for a, b in pairs if not (math.isnan(a) or math.isnan(b))]
    fill = paired_mean_and_se([b for _, b in pairs], [a for a, _ in pairs])
    assert fill[0] + 4 * fill[1] < 0.05, f"high - low penalty fill rate: {fill[0]:.4f} (SE {fill[1]:.4f})"
    assert np.mean([a for a, _ in pairs]) > 0.9  # formed contracts deliver even at penalty 5


@pytest.mark.slow
def test_an_intermediary_lowers_exits_under_the_same_outages() -> None:
    direct, routed = sweep(market(150.0)), sweep(market(150.0, routed=True))
    exits = paired_mean_and_se([m.result().metrics["contract_exits"] for m in direct],
                               [m.result().metrics["contract_exits"] for m in routed])
    assert exits[0] > 4 * exits[1], f"bilateral - intermediated exits: {exits[0]:.2f} (SE {exits[1]:.2f})"


def test_latent_contracts_are_the_uncovered_candidates_and_only_they_are_latent() -> None:
    """An adaptive model adds every candidate exchange the scenario does not cover as a latent
    contract: those, and only those, are latent, and none of them counts as a primary yet."""
    from pathlib import Path

    from sim.behaviour import FORMED_PREFIX
    from sim.matching import candidate_exchanges
    from sim.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "brewery_farms.toml")
    kept = [c for c in sc.contracts if c.buyer != "farm_east"]
    sc = sc.model_copy(update={"contracts": kept, "policy": sc.policy.model_copy(update={"adaptive": True})})
    m = SymbiosisModel(sc, rng=0, horizon_days=30, collect_series=False)
    covered = {(c.supplier, c.material, c.buyer) for c in kept}
    uncovered = {
        (x.supplier, x.material, x.buyer)
        for x in candidate_exchanges(m.spec)
        if (x.supplier, x.material, x.buyer) not in covered and x.net_value_per_t > 0.0
    }
    assert uncovered  # farm_east's exchange at least
    latent = [c for c in m.contracts if c.latent]
    assert {(c.terms.supplier, c.terms.material, c.terms.buyer) for c in latent} == uncovered
    assert all(c.terms.id.startswith(FORMED_PREFIX) for c in latent)
    assert {c.terms.id for c in m.contracts if not c.latent} == {c.id for c in m.spec.contracts if c.enabled}
    assert not any(c.latent for inp in m.input_states for s in inp.substitutes for c in s.primaries)


def _step_checking_live_lists(m: SymbiosisModel) -> None:
    """Run `m` a day at a time; after each day the lists the day's loops go over (the model's
    and each stream's) hold exactly the contracts not latent, in contract order."""
    while m.running:
        m.step()
        assert m.live_contracts == [c for c in m.contracts if not c.latent]
        for st in m.stream_states:
            assert st.live == [c for c in st.contracts if not c.latent]
        if m.hub is not None:
            assert m.hub.live == [c for c in m.hub.contracts if not c.latent]


@pytest.mark.parametrize("via_hub", [False, True])
def test_the_day_goes_over_exactly_the_contracts_not_latent_through_formation_and_reforming(via_hub: bool) -> None:
    # the link of test_a_link_that_a_party_left_forms_again_after_the_wait: formed, left, formed
    # again; routed through an intermediary, or not
    sc = decide({"formation_interval_days": 5, "discovery_probability": 1.0, "exit_trust_threshold": 0.55,
                 "reform_after_days": 5.0},
                overrides={"formation.settlement_days": 5}, contracts=[], horizon=30,
                events=[{"day": 6.0, "kind": "outage", "facility": "sup", "duration_days": 3.0}])
    if via_hub:
        raw = sc.model_dump()
        raw["intermediary"] = {"id": "hub", "location": {"x_km": 0.5, "y_km": 0.0}, "storage_t": 100.0}
        raw["policy"] = {**raw["policy"], "intermediary": True}
        sc = Scenario.model_validate(raw)
    m = SymbiosisModel(sc, rng=0, collect_series=False)
    assert all(c.routed == via_hub for c in m.contracts)
    _step_checking_live_lists(m)  # latent again and formed again in the round of day 19
    assert [day for day, _ in m.decisions.formed] == [4, 19]
    # a shipped market with several links formed among listed ones
    from pathlib import Path

    from sim.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "contracts_market.toml")
    sc = sc.model_copy(update={"policy": sc.policy.model_copy(update={"adaptive": True})})
    m = SymbiosisModel(sc, rng=1, horizon_days=730, collect_series=False)
    _step_checking_live_lists(m)
    assert len(m.decisions.formed) > 1


def test_a_link_reopened_as_a_candidate_settles_what_landed_after_it_ended_at_the_horizon() -> None:
    # The link of test_a_link_that_a_party_left_forms_again_after_the_wait, 3 days' haul away
    # (speed 1 km/day over 3 km), every lot off the buyer's spec, a 1,000/t penalty. Formed on
    # day 4, left on day 9 (ended day 10); the 10 t shipped on day 9 lands on day 12, after the
    # end, and is rejected: 10 t short in a period that is still open when the link is reopened
    # as a candidate (day 19) and refused at 1,000/t. The buyer closes on day 22. At the horizon
    # that open period settles: 10 t x 1,000 = 10,000 of penalty, on top of the 40,000 of the
    # first period (40 t short of 50).
    sc = decide({"formation_interval_days": 5, "discovery_probability": 1.0, "exit_trust_threshold": 0.55,
                 "reform_after_days": 5.0},
                overrides={"formation.settlement_days": 5, "formation.penalty_per_t_short": 1000.0,
                           "transport.speed_km_per_day": 1.0, "facilities.buy.location.x_km": 3.0,
                           "facilities.buy.inputs.stone.substitutes.ash.quality_limits": {"cl": {"max": 0.01}}},
                contracts=[], horizon=30,
                events=[{"day": 6.0, "kind": "outage", "facility": "sup", "duration_days": 3.0},
                        {"day": 22.0, "kind": "closure", "facility": "buy"}])
    m = run(sc)
    c = m.contracts[0]
    assert c.lag_days == 3 and c.latent and c.status is Status.ENDED
    assert [(s["start_day"], s["end_day"], s["penalty"]) for s in m.settlements] == [
        (5, 9, 40000.0), (10, 10, 0.0), (11, 29, 10000.0)
    ]
    assert m.result().metrics["penalties_paid"] == 50000.0


def _step_checking_full_supply(m: SymbiosisModel) -> int:
    """Run `m` a day at a time; after each day what every buyer's store remembers of its
    primaries' full supply (read by consumption each day) is what they would deliver now.
    Returns how many store-days had it remembered."""
    remembered = 0
    while m.running:
        m.step()
        for inp in m.input_states:
            for s in inp.substitutes:
                if s.full_supply is not None:
                    remembered += 1
                    assert s.full_supply == s.full_supply_t_per_day(), (m.today, s.material)
    return remembered


@pytest.mark.parametrize("case", ["starts later", "volume cut", "left and formed again", "notice", "closure", "market"])
def test_what_a_store_remembers_of_full_supply_follows_every_status_and_terms_change(case: str) -> None:
    # Each case fails if the model forgets to tell the store of the change it makes (a contract
    # that starts, a volume renegotiated, a contract that ends). Notice, and a link formed or
    # reopened while pending, tell it too, though they leave the full supply as it was.
    if case == "starts later":  # a listed contract in force from day 5: no decisions at all
        sc = build({"contracts.c1.start_day": 5})
    elif case == "volume cut":  # the terms change: 10 -> 6 t/day at the end of the minimum term
        sc = decide({"exit_trust_threshold": 0.0, "renegotiate": ["volume"]},
                    overrides={"facilities.sup.outputs.ash.rate_t_per_day": 6.0, "contracts.c1.min_term_days": 5,
                               "contracts.c1.settlement_days": 5})
    elif case == "left and formed again":  # pending, active, notice, ended, pending, active
        sc = decide({"formation_interval_days": 5, "discovery_probability": 1.0, "exit_trust_threshold": 0.55,
                     "reform_after_days": 5.0},
                    overrides={"formation.settlement_days": 5}, contracts=[], horizon=30,
                    events=[{"day": 6.0, "kind": "outage", "facility": "sup", "duration_days": 3.0}])
    elif case == "notice":  # the buyer gives notice on day 4; the contract ends on day 6
        sc = decide({"trust_initial": 0.5, "trust_learning_rate": 1.0, "exit_trust_threshold": 0.6},
                    overrides={"contracts.c1.settlement_days": 5, "contracts.c1.notice_days": 2},
                    events=[{**OUTAGE, "duration_days": 3.0}])
    elif case == "closure":  # the buyer closes: its contract ends
        sc = decide({"cascade_closure_days": 2.0, "exit_trust_threshold": 0.0},
                    overrides={"facilities.buy.inputs.stone.virgin": "none",
                               "facilities.buy.inputs.stone.critical": True},
                    events=[{**OUTAGE, "duration_days": 3.0}])
    else:  # a shipped market, adaptive: links form, renegotiate and end
        from pathlib import Path

        from sim.scenario import load_scenario

        sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "contracts_market.toml")
        sc = sc.model_copy(update={"policy": sc.policy.model_copy(update={"adaptive": True})})
    m = SymbiosisModel(sc, rng=1, horizon_days=min(sc.scenario.horizon_days, 730), collect_series=False)
    assert _step_checking_full_supply(m) > 0
    # the case did change what it says
    if case == "starts later":
        assert m.inputs_flow["secondary_full_t"][:, 0].tolist() == [0.0] * 5 + [10.0] * 5
    elif case == "volume cut":
        assert m.contracts[0].terms.volume_t_per_day == approx(6.0)
    elif case == "left and formed again":
        assert [day for day, _ in m.decisions.formed] == [4, 19]
    elif case == "notice":
        assert m.decisions.exits[0][:3] == (4, "c1", "buyer") and m.contracts[0].status is Status.ENDED
    elif case == "closure":
        assert m.facility_by_id["buy"].up.closed and m.contracts[0].status is Status.ENDED
    else:
        assert len(m.decisions.formed) > 1 and m.decisions.exits
