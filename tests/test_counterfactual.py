"""The world without symbiosis is simulated (sim/twin.py) and stocks are valued alike in both
worlds (sim/stocks.py): benefits are differences of two simulated costs.

Hand calculations on the tiny network of tests/tiny_net.py (ash 10/t to dispose, stone 50/t
virgin, 10 t/day each, one contract c1 of 10 t/day at price 0 landing the next day)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pytest import approx

from sim.metrics import compute
from sim.model import SymbiosisModel
from sim.scenario import parse_scenario, read_toml
from sim.twin import is_own_twin, twin_scenario
from tests.tiny_net import ASH_DISPOSAL, STONE_PRICE, build, run

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))


def without_symbiosis(raw: dict) -> dict[str, object]:
    """The --set overrides that switch every contract, formation and the intermediary off in a
    file (only the sections it has, so that no section is created)."""
    out: dict[str, object] = {"contracts.*.enabled": False}
    if "formation" in raw:
        out["formation.rule"] = "explicit"
    if "behaviour" in raw or raw.get("policy", {}).get("adaptive"):
        out["behaviour.discovery_probability"] = 0.0
    if "intermediary" in raw:
        out["policy.intermediary"] = False
    return out


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_with_every_contract_off_every_benefit_is_zero(path: Path) -> None:
    # The run is the world without symbiosis, so it is its own twin: every party's cost is the
    # same in both worlds, to the last bit.
    raw = read_toml(path)
    sc = parse_scenario(copy.deepcopy(raw), str(path), without_symbiosis(raw))
    m = SymbiosisModel(sc, rng=1, horizon_days=120, collect_series=False)
    m.run()
    r = m.result()
    fac = r.facilities
    for col in ("net_benefit", "supplier_benefit", "buyer_benefit"):
        scale = max(1.0, float(fac["counterfactual_cost"].abs().max()))
        assert fac[col].abs().max() <= 1e-9 * scale, (path.stem, col)
        assert r.metrics[col] == approx(0.0, abs=1e-9 * scale), (path.stem, col)
    assert r.metrics["net_benefit"] == approx(0.0, abs=1e-6)
    assert (fac["counterfactual_cost"] == fac["supply_cost"] + fac["buy_cost"]).all()


def test_a_drawn_down_buffer_is_valued_and_is_no_gain() -> None:
    # The buyer's 30 t buffer of ash (ratio 1) starts full; the supplier is down all 10 days,
    # so nothing is delivered. Days 0-2 the buffer covers the 10 t/day, days 3-9 the buyer buys
    # 70 t virgin: paid 70 x 50 = 3,500; its stock fell from 30 x 1 x 50 = 1,500 to 0, so its
    # cost is 3,500 + 1,500 = 5,000. Without symbiosis the same buffer (full, of the same
    # material) is drawn the same way: 5,000 too. Benefit 0 (it was +1,500, the drawdown of
    # free opening stock, before stocks were valued).
    sc = build(
        {"facilities.buy.inputs.stone.buffer_t": 30.0},
        events=[{"kind": "outage", "facility": "sup", "day": 0, "duration_days": 10}],
    )
    m = run(sc)
    fac = m.result().facilities.set_index("facility")
    assert fac.at["buy", "cost_virgin"] == approx(70 * STONE_PRICE)
    assert fac.at["buy", "buy_stock_value_change"] == approx(-30 * STONE_PRICE)
    assert fac.at["buy", "buy_cost"] == approx(100 * STONE_PRICE)
    assert fac.at["buy", "counterfactual_buy_cost"] == approx(100 * STONE_PRICE)
    assert fac.at["buy", "buyer_benefit"] == approx(0.0, abs=1e-9)
    assert fac.at["sup", "net_benefit"] == approx(0.0, abs=1e-9)


def test_a_buffer_is_valued_at_ratio_times_the_virgin_price() -> None:
    # Ratio 2: a t of ash replaces 2 t of stone. The 10 t buffer is worth 10 x 2 x 50 = 1,000;
    # with the supplier down it covers days 0-1 (10 t of stone a day from 5 t of ash), then
    # 80 t virgin: cost 4,000 + 1,000.
    sc = build(
        {"facilities.buy.inputs.stone.buffer_t": 10.0, "facilities.buy.inputs.stone.substitutes.ash.ratio": 2.0},
        events=[{"kind": "outage", "facility": "sup", "day": 0, "duration_days": 10}],
    )
    fac = run(sc).result().facilities.set_index("facility")
    assert fac.at["buy", "buy_stock_value_change"] == approx(-10 * 2 * STONE_PRICE)
    assert fac.at["buy", "buy_cost"] == approx(80 * STONE_PRICE + 10 * 2 * STONE_PRICE)
    assert fac.at["buy", "buyer_benefit"] == approx(0.0, abs=1e-9)


def test_closing_source_storage_is_a_liability() -> None:
    # No contract: the supplier's 50 t storage fills on days 0-4, then 10 t/day overflow to
    # disposal on days 5-9: paid 50 x 10 = 500. The 50 t left at the end will cost 500 to
    # dispose of: value -500, so its cost is 1,000, all 100 t generated. The run is its own
    # twin: benefit 0 (the closing stock was credited +500 before).
    sc = build({"facilities.sup.outputs.ash.storage_t": 50.0}, contracts=[])
    m = run(sc)
    assert is_own_twin(m)
    fac = m.result().facilities.set_index("facility")
    assert fac.at["sup", "cost_disposal"] == approx(50 * ASH_DISPOSAL)
    assert fac.at["sup", "supply_stock_value_change"] == approx(-50 * ASH_DISPOSAL)
    assert fac.at["sup", "supply_cost"] == approx(100 * ASH_DISPOSAL)
    assert fac.at["sup", "supplier_benefit"] == 0.0


def test_a_run_that_is_its_own_twin_gives_what_a_twin_run_gives() -> None:
    # Reusing the run as its twin is right only if running the twin changes nothing.
    sc = build({"facilities.sup.outputs.ash.storage_t": 50.0}, contracts=[])
    m = run(sc)
    twin = SymbiosisModel(twin_scenario(sc, m.engine), rng=0, collect_series=False)
    twin.run()
    reused, ran = compute(m, m).facilities, compute(m, twin).facilities
    assert reused.equals(ran)


def test_the_counterfactual_follows_the_stockpile_and_its_lead_time() -> None:
    # The buyer's stone comes from a stockpile: 20 t at the start, (s, S) = (10, 20), lead
    # time 3 days; a t unmet costs its lost margin 100. Ordered on day d, an order lands on
    # the morning of day d + 3.
    #
    # Without symbiosis (the twin): day 0 uses 10 (stock 10, order 10 -> day 3), day 1 uses
    # 10 (stock 0, order 10 -> day 4), day 2 is short 10; then every three days the same:
    # arrivals on days 3, 4, 6, 7, 9 (5 x 10 t x 50 = 2,500 paid), short on days 2, 5, 8
    # (30 t x 100 = 3,000), stock 20 -> 0 (-1,000 of value): cost 6,500. (An unlimited virgin
    # supply would have said 100 t x 50 = 5,000.)
    #
    # With the contract: day 0 uses 10 from the stockpile (order 10 -> day 3), days 1-9 the
    # delivered ash (landing from day 1); the order lands on day 3: paid 500, stock 20 -> 20.
    # Cost 500, buyer benefit 6,000.
    sc = build(
        {
            "facilities.buy.inputs.stone.virgin": "stockpile",
            "facilities.buy.inputs.stone.lost_margin_per_t": 100.0,
            "facilities.buy.inputs.stone.stockpile": {
                "capacity_t": 20.0, "reorder_point_t": 10.0, "order_up_to_t": 20.0, "lead_time_days": 3.0,
            },
        }
    )
    m = run(sc)
    fac = m.result().facilities.set_index("facility")
    assert fac.at["buy", "counterfactual_buy_cost"] == approx(2500.0 + 3000.0 + 1000.0)
    assert fac.at["buy", "buy_cost"] == approx(500.0)
    assert fac.at["buy", "buyer_benefit"] == approx(6000.0)
    # The supplier: without symbiosis 100 t disposed (1,000); with it nothing disposed but
    # day 9's 10 t still on the road, its own until it lands: valued -100. Benefit 900.
    assert fac.at["sup", "counterfactual_supply_cost"] == approx(100 * ASH_DISPOSAL)
    assert fac.at["sup", "supply_stock_value_change"] == approx(-10 * ASH_DISPOSAL)
    assert fac.at["sup", "supplier_benefit"] == approx(90 * ASH_DISPOSAL)


@pytest.mark.parametrize("seed", [1, 4])
def test_both_worlds_see_the_same_draws(seed: int) -> None:
    # Outputs, quality, outages and market shifts are drawn from keyed streams
    # (sim/rng.py), none keyed by a contract: the twin sees the draws of its run. The random
    # networks of tests/helpers.py have an intermediary and agents' decisions.
    import numpy as np
    from helpers import random_scenario

    from sim.twin import twin_of

    sc = random_scenario(seed, 200)
    m = SymbiosisModel(sc, rng=seed, collect_series=False)
    m.run()
    twin = twin_of(m, SymbiosisModel)
    assert twin is not m and not twin.live_contracts and twin.hub is None
    for s, t in zip(m.stream_states, twin.stream_states, strict=True):
        assert np.array_equal(s.base, t.base)
        assert (s.quality is None) == (t.quality is None)
        if s.quality is not None:
            assert np.array_equal(s.quality, t.quality)
    assert m.market_shifts == twin.market_shifts
    for f, g in zip(m.facilities, twin.facilities, strict=True):
        # An outage's start and length are drawn alike; only closures (cascades) can differ.
        if not f.up.closed and not g.up.closed:
            assert f.up.open_log(m.horizon) == g.up.open_log(twin.horizon)
