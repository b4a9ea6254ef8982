"""The day visits each facility once, putting the lots accepted at its gate this morning into its
buffers and doing its consumption, production, dispatch and tidy-up together (sim/model.py,
step 5). That is only allowed because nothing one facility does in those steps reaches
another's state before the next day. The check: the same run with the steps done phase by
phase (every buyer's lots into its buffers, then every facility's consumption, then every
facility's production, and so on) books the same flows, money and settlements to the last bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import random_scenario

import sim.model
from sim.day.dispatch import dispatch_rows, dispatch_streams, hub_ships
from sim.day.landing import unload
from sim.day.settlement import settle_day
from sim.model import SymbiosisModel
from sim.scenario import Scenario, load_scenario

SCENARIOS = sorted(p for p in (Path(__file__).parent.parent / "scenarios").glob("*.toml"))


def _phase_by_phase_day(m: SymbiosisModel) -> None:
    """One day with each step run over all facilities before the next step starts."""
    day = m._next_day
    m._start_day(day)  # clock, up-time, contract status, deliveries: as the model's day
    for fac in m.facilities:  # every buyer's accepted lots into its buffers before anyone's turn
        unload(m, fac.landed, day)
    for k, fac in enumerate(m.facilities):
        fac.consume(day)
        m.operating_history[day, k] = fac.operating
    for fac in m.facilities:
        fac.produce(day)
    rows = dispatch_rows(m, day)
    hub_routes: dict = {}
    for fac in m.facilities:
        dispatch_streams(m, fac.streams, day, rows, hub_routes)
    if m.hub is not None:
        hub_ships(m, day, hub_routes)
    for fac in m.facilities:
        fac.tidy_up(day)
    if m.hub is not None:
        m.hub.tidy_up(day)
    if m.decisions is not None:
        m.decisions.end_of_day(day)
    settle_day(m, day)


def _assert_same_run(sc: Scenario, seed: int, days: int) -> None:
    blocked = SymbiosisModel(sc, rng=seed, horizon_days=days, collect_series=False)
    blocked.run()
    phased = SymbiosisModel(sc, rng=seed, horizon_days=days, collect_series=False)
    for _ in range(days):
        _phase_by_phase_day(phased)
    for table in ("streams_flow", "inputs_flow", "contracts_flow", "hub_flow"):
        a, b = getattr(blocked, table), getattr(phased, table)
        for name in a.names:
            assert np.array_equal(a[name], b[name]), f"{table}.{name} differs"
    assert np.array_equal(blocked.up_history, phased.up_history)
    assert np.array_equal(blocked.operating_history, phased.operating_history)
    assert blocked.money.totals == phased.money.totals
    assert sorted(blocked.money.rows) == sorted(phased.money.rows)
    assert blocked.settlements == phased.settlements
    assert [(c.in_transit_t, c.out_in_transit_t) for c in blocked.contracts] == [
        (c.in_transit_t, c.out_in_transit_t) for c in phased.contracts
    ]
    assert [i.inbound_t for i in blocked.input_states] == [i.inbound_t for i in phased.input_states]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_same_facility_by_facility_as_phase_by_phase(path: Path) -> None:
    _assert_same_run(load_scenario(path), seed=3, days=400)


@pytest.mark.parametrize("seed", range(12))
def test_random_networks_same_facility_by_facility_as_phase_by_phase(seed: int) -> None:
    _assert_same_run(random_scenario(seed, 400), seed=seed, days=400)


def test_the_check_can_fail() -> None:
    """The comparison notices a change of order that does matter: with tidy-up before
    consumption, buffers are trimmed before they are drawn on, so less spoils and overflows."""
    sc = load_scenario(SCENARIOS[0])
    blocked = SymbiosisModel(sc, rng=0, horizon_days=200, collect_series=False)
    blocked.run()
    swapped = SymbiosisModel(sc, rng=0, horizon_days=200, collect_series=False)
    for fac in swapped.facilities:
        consume, tidy_up = fac.consume, fac.tidy_up
        fac.consume = lambda day, consume=consume, tidy_up=tidy_up: (tidy_up(day), consume(day))
        fac.tidy_up = lambda day: None
    swapped.run()
    assert not np.array_equal(blocked.inputs_flow["buffer_t"], swapped.inputs_flow["buffer_t"])


def test_lots_put_in_after_consumption_would_change_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the lots go in matters: a buyer drawing on its buffers before this morning's lots
    are in them uses less secondary material than it has."""
    sc = load_scenario(SCENARIOS[0])
    blocked = SymbiosisModel(sc, rng=0, horizon_days=200, collect_series=False)
    blocked.run()
    late = SymbiosisModel(sc, rng=0, horizon_days=200, collect_series=False)
    held: dict = {}

    def hold(m: SymbiosisModel, landed: list, day: int) -> None:
        held[id(landed)] = list(landed)
        landed.clear()

    monkeypatch.setattr(sim.model, "unload", hold)  # the model's day unloads through sim.day.landing.unload
    for fac in late.facilities:

        def consume_then_unload(day: int, fac=fac, consume=fac.consume) -> None:
            consume(day)
            unload(late, held.pop(id(fac.landed), []), day)

        fac.consume = consume_then_unload
    late.run()
    assert blocked.inputs_flow["accepted_t"].sum() > 0.0
    assert not np.array_equal(blocked.inputs_flow["from_secondary_t"], late.inputs_flow["from_secondary_t"])
