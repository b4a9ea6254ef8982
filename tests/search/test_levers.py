"""Each lever of the contract designer's vocabulary sets what it names, and nothing else; the
candidates are the grid of the levers' levels; uncertainties are never levers."""

from __future__ import annotations

import copy

import pytest

from sim.experiment.search import load_search
from sim.scenario import parse_scenario
from sim.scenario.load import secondary_need_t_per_day

from .conftest import GOALS, search_text


def _candidate_scenarios(path):
    search = load_search(path)
    return search, [parse_scenario(copy.deepcopy(search.scenario_raw), str(search.scenario_path), o)
                    for o in search.candidate_overrides]


def _others_equal(a, b, skip_contract=None, skip_facility=None):
    """Every contract and facility but the named one is the same in both scenarios."""
    for x, y in zip(a.contracts, b.contracts, strict=True):
        if x.id != skip_contract:
            assert x == y, x.id
    for x, y in zip(a.facilities, b.facilities, strict=True):
        if x.id != skip_facility:
            assert x == y, x.id


CONTRACT_LEVERS = [
    ("penalty_per_t_short", "grain-south", [5.0, 60.0], "penalty_per_t_short"),
    ("tolerance", "grain-north", [0.0, 0.3], "tolerance"),
    ("take_or_pay", "grain-north", [0.0, 0.5], "take_or_pay"),
    ("backup", "grain-south-backup", [True, False], "enabled"),
    ("standby_fee", "grain-south-backup", [0.0, 7.5], "standby_fee_per_day"),
    ("intermediary", "grain-east", [False, True], "via_intermediary"),
]


@pytest.mark.parametrize(("kind", "contract", "levels", "field"), CONTRACT_LEVERS)
def test_a_contract_lever_sets_its_contracts_field_and_nothing_else(write_search, kind, contract, levels, field):
    lever = f'[levers.x]\nkind = "{kind}"\ncontract = "{contract}"\nlevels = {str(levels).lower()}\n'
    search, (low, high) = _candidate_scenarios(write_search(levers=lever, uncertainties=""))
    assert [c["x"] for c in search.candidates] == levels
    for scenario, level in ((low, levels[0]), (high, levels[1])):
        assert getattr(next(c for c in scenario.contracts if c.id == contract), field) == level
    _others_equal(low, high, skip_contract=contract)
    if kind == "intermediary":  # membership switches the intermediary on while a contract is a member
        assert (low.intermediary.enabled, high.intermediary.enabled) == (False, True)


def test_buffer_days_of_an_input_sets_its_buffer_in_tonnes_of_its_secondary_use(write_search):
    lever = ('[levers.b]\nkind = "buffer_days"\ninput = "farm_south.feed"\n'
             "range = { low = 2.0, high = 6.0, steps = 3 }\n")
    search, scenarios = _candidate_scenarios(write_search(levers=lever, uncertainties=""))
    assert [c["b"] for c in search.candidates] == [2.0, 4.0, 6.0]
    # by hand: 2.7 t/day of feed, 40 % from grain at 0.23 t feed per t grain: 2.7 * 0.4 / 0.23 t grain a day
    need = 2.7 * 0.4 / 0.23
    spec = search.scenario.facility("farm_south").inputs[0]
    assert secondary_need_t_per_day(spec) == pytest.approx(need)
    for days, scenario in zip([2.0, 4.0, 6.0], scenarios, strict=True):
        inp = scenario.facility("farm_south").inputs[0]
        assert inp.buffer_t == pytest.approx(days * need)
        assert inp.initial_buffer_t == pytest.approx(days * need)
    _others_equal(scenarios[0], scenarios[2], skip_facility="farm_south")


def test_refill_rule_of_an_input(write_search):
    lever = '[levers.r]\nkind = "refill"\ninput = "farm_east.feed"\nlevels = ["use_less", "none"]\n'
    _, (a, b) = _candidate_scenarios(write_search(levers=lever, uncertainties=""))
    assert (a.facility("farm_east").inputs[0].refill, b.facility("farm_east").inputs[0].refill) == ("use_less", "none")
    _others_equal(a, b, skip_facility="farm_east")


@pytest.mark.parametrize(("kind", "levels", "attribute"), [
    ("redundancy", [1, 2], "redundancy"),
    ("buffer_days", [3.0, 5.0], "buffer_days"),
    ("penalty_per_t_short", [0.0, 25.0], "penalty_per_t_short"),
    ("intermediary", [False, True], "intermediary"),
])
def test_a_network_wide_lever_sets_the_policy(write_search, kind, levels, attribute):
    lever = f'[levers.n]\nkind = "{kind}"\nlevels = {str(levels).lower()}\n'
    _, scenarios = _candidate_scenarios(write_search(levers=lever, uncertainties=""))
    assert [getattr(s.policy, attribute) for s in scenarios] == levels


def test_network_wide_tolerance_sets_every_contract(write_search):
    lever = '[levers.t]\nkind = "tolerance"\nlevels = [0.05, 0.2]\n'
    _, (a, b) = _candidate_scenarios(write_search(levers=lever, uncertainties=""))
    assert {c.tolerance for c in a.contracts} == {0.05} and {c.tolerance for c in b.contracts} == {0.2}


def test_the_candidates_are_the_grid_of_the_levels_and_never_hold_an_uncertainty(write_search):
    search = load_search(write_search())
    assert search.candidates == [
        {"south_buffer": 1.0, "south_backup": True}, {"south_buffer": 1.0, "south_backup": False},
        {"south_buffer": 4.0, "south_backup": True}, {"south_buffer": 4.0, "south_backup": False},
    ]
    path = "facilities.brewery.outputs.spent_grain.rate_t_per_day"
    assert all(path not in o for o in search.candidate_overrides)
    assert search.strata == [{"grain": 20.0}, {"grain": 23.0}]
    assert search.stratum_overrides == [{path: 20.0}, {path: 23.0}]


def test_goals_are_checked_once_for_all_metrics(write_search):
    goals = GOALS + '\n[[constraints]]\nmetric = "net_benefit"\nop = ">="\nthreshold = 0.0\n'
    search = load_search(write_search(goals=goals))
    assert search.metrics == ["net_benefit", "input:farm_south.feed:secondary_short_t"]
    assert search_text()  # the helper writes a complete file
