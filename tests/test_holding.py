"""Holding costs and opening stocks (issue 19 items 3 and 5), by hand on the tiny network.

Each day, after tidy-up, every store books its end-of-day stock x its rate per t and day to
its owner: "holding" on a supplier's source storage, "buffer_holding" on each substitute's
buffer in a buyer's input and "stockpile_holding" on a virgin stockpile. A rate is the
store's own override, else its material's `holding_cost_per_t_day`. Source storage may open
with `initial_t`, a lot made on day 0 (it keeps for the shelf life from day 0).
The tiny network (tests/tiny_net.py): `sup` makes 10 t/day of ash (disposal 10/t), `buy`
uses 10 t/day of stone (virgin 50/t) and takes ash 1:1; contract c1 ships 10 t/day, landing
the next day. The validation errors are tests/data/bad/37-40 (test_cli_validate.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from pytest import approx
from tiny_net import build, daily, raw_network, run

from sim.model import SymbiosisModel
from sim.scenario import parse_scenario

OUTAGE = {"kind": "outage", "facility": "sup"}
SRC = "facilities.sup.outputs.ash"
INPUT = "facilities.buy.inputs.stone"


# --- buffers ---------------------------------------------------------------------------------


def test_buffer_holding_is_the_end_of_day_buffer_times_the_material_rate() -> None:
    # Buffer 30 t, opening full; the buyer plans 10 t/day and (refill use_less) uses
    # max(7.5, stock - 30) of it while the buffer would end below 30. Day 0 (nothing lands):
    # 30 - 7.5 = 22.5. Days 1-2: 10 lands, 7.5 used: 25, 27.5. The supplier is down on days
    # 2-4, so nothing lands on days 3-5: 20, 12.5, 5. From day 6, 10 lands and 7.5 is used:
    # 7.5, 10, 12.5, 15. At 0.25 per t and day: 0.25 x that path, 39.375 over the period.
    m = run(build({f"{INPUT}.buffer_t": 30.0, "materials.ash.holding_cost_per_t_day": 0.25},
                  events=[{**OUTAGE, "day": 2.0, "duration_days": 3.0}]))
    path = np.array([22.5, 25.0, 27.5, 20.0, 12.5, 5.0, 7.5, 10.0, 12.5, 15.0])
    assert m.inputs_flow["buffer_t"][:, 0] == approx(path)
    assert daily(m, "buffer_holding", "buy") == approx(path * 0.25)
    assert daily(m, "buffer_holding").sum() == approx(39.375)
    assert len(m.money.frame().query("category == 'buffer_holding'")) == 10


def test_an_empty_buffer_books_no_holding() -> None:
    # refill none: the buyer uses its full plan of 10 t/day, so the opening 30 t fall to 20 on
    # day 0 (nothing lands), stay at 20, and the outage (nothing lands on days 3-5) empties it:
    # 10, then 0 from day 4. An empty store books no entry: 4 entries, 0.25 x 70 = 17.5.
    m = run(build({f"{INPUT}.buffer_t": 30.0, f"{INPUT}.refill": "none", "materials.ash.holding_cost_per_t_day": 0.25},
                  events=[{**OUTAGE, "day": 2.0, "duration_days": 3.0}]))
    path = np.array([20.0, 20.0, 20.0, 10.0, 0, 0, 0, 0, 0, 0])
    assert m.inputs_flow["buffer_t"][:, 0] == approx(path)
    assert daily(m, "buffer_holding").sum() == approx(17.5)
    assert len(m.money.frame().query("category == 'buffer_holding'")) == 4


def test_a_buyers_buffer_rate_overrides_the_material_and_reaches_its_net_benefit() -> None:
    # No outage: the buffer ends days 0-2 at 22.5, 25, 27.5 (see above) and from day 3 at its
    # 30 t target (37.5 on hand, 7.5 used; then 40, 10 used): 285 t-days at the buyer's own
    # 0.4: 114, all on the buy side. The world without symbiosis (the twin run) opens with the
    # same full 30 t buffer and, with no contract and so no plan, uses it up at 10 t a day: 20
    # and 10 t held at the end of days 0 and 1, 0.4 x 30 = 12 booked there too. So the buyer's
    # benefit is 114 - 12 = 102 lower than at rate 0 (holding is a cost of symbiosis only where
    # the twin does not hold).
    over = {f"{INPUT}.buffer_t": 30.0, "materials.ash.holding_cost_per_t_day": 0.25}
    m = run(build({**over, f"{INPUT}.buffer_holding_cost_per_t_day": 0.4}))
    free = run(build({**over, f"{INPUT}.buffer_holding_cost_per_t_day": 0.0}))
    path = np.array([22.5, 25.0, 27.5] + [30.0] * 7)
    assert daily(m, "buffer_holding", "buy") == approx(path * 0.4)
    assert daily(free, "buffer_holding").sum() == 0.0
    r, r0 = m.result(), free.result()
    buy, buy0 = (x.facilities.set_index("facility").loc["buy"] for x in (r, r0))
    assert buy["cost_buffer_holding"] == approx(114.0)
    assert buy0["buyer_benefit"] - buy["buyer_benefit"] == approx(114.0 - 0.4 * (20.0 + 10.0))
    assert r.metrics["holding_cost"] == approx(114.0) and r0.metrics["holding_cost"] == 0.0


# --- source storage --------------------------------------------------------------------------


def test_source_holding_on_a_stock_that_builds_up() -> None:
    # The contract takes 6 of the 10 t made each day: storage holds 4, 8, ... 40 t at the end
    # of days 0-9. At 0.5 per t and day on the stream (the material's 9.0 is overridden):
    # 2, 4, ... 20; 110 over the 10 days, a supply-side cost of the supplier.
    m = run(build({f"{SRC}.storage_t": 100.0, f"{SRC}.holding_cost_per_t_day": 0.5,
                   "materials.ash.holding_cost_per_t_day": 9.0, "contracts.c1.volume_t_per_day": 6.0}))
    stock = 4.0 * np.arange(1, 11)
    assert m.streams_flow["stock_t"][:, 0] == approx(stock)
    assert daily(m, "holding", "sup") == approx(stock * 0.5)
    sup = m.result().facilities.set_index("facility").loc["sup"]
    assert sup["cost_holding"] == approx(110.0)
    assert m.result().metrics["holding_cost"] == approx(110.0)


def test_opening_source_stock_is_made_on_day_0_and_spoils_and_overflows_by_the_rules() -> None:
    # No contract; storage 20 t opening full; ash keeps 2 days (usable on days b .. b + 1).
    # Day 0: 20 + 10 made = 30, the newest 10 overflow; 20 held (the opening lot).
    # Day 1: + 10; the opening lot, made on day 0, spoils (20 t); 10 held.
    # Days 2-3: each day's 10 t keep one more day, then spoil: 10 spoilt, 10 held.
    m = run(build({"materials.ash.shelf_life_days": 2.0, f"{SRC}.storage_t": 20.0, f"{SRC}.initial_t": 20.0,
                   f"{SRC}.holding_cost_per_t_day": 0.5}, contracts=[], horizon=4))
    sf = m.streams_flow
    assert sf["overflow_t"][:, 0] == approx([10.0, 0, 0, 0])
    assert sf["spoiled_t"][:, 0] == approx([0, 20.0, 10.0, 10.0])
    assert sf["stock_t"][:, 0] == approx([20.0, 10.0, 10.0, 10.0])
    assert daily(m, "disposal", "sup") == approx([100.0, 200.0, 100.0, 100.0])
    assert daily(m, "holding", "sup") == approx([10.0, 5.0, 5.0, 5.0])
    assert m.stream_states[0].stock_start == 20.0


def test_opening_source_stock_ships_while_the_supplier_is_down() -> None:
    # Down on days 0-1, the supplier makes nothing, but its 20 t of opening stock meet the
    # contract's 10 t on days 0 and 1 (landing on days 1 and 2); production resumes on day 2.
    m = run(build({f"{SRC}.storage_t": 20.0, f"{SRC}.initial_t": 20.0},
                  events=[{**OUTAGE, "day": 0.0, "duration_days": 2.0}], horizon=5))
    assert m.streams_flow["generated_t"][:, 0] == approx([0, 0, 10.0, 10.0, 10.0])
    assert m.contracts_flow["shipped_t"][:, 0] == approx(np.full(5, 10.0))
    assert m.contracts_flow["short_t"][:, 0].sum() == 0.0
    assert m.inputs_flow["accepted_t"][:, 0] == approx([0, 10.0, 10.0, 10.0, 10.0])


# --- stockpiles ------------------------------------------------------------------------------


def test_stockpile_holding_follows_the_virgin_stock_path() -> None:
    # No contract: 10 t/day from an (s, S) = (20, 50) stockpile opening at S = 50, lead 2 days.
    # End of day: 40, 30, 20 (order 30), 10, 30 (arrived on day 4), 20, 10 (ordered on day 5),
    # 30 (arrived on day 7). At stone's 0.1 per t and day: the stock / 10.
    m = run(build({f"{INPUT}.virgin": "stockpile", "materials.stone.holding_cost_per_t_day": 0.1,
                   f"{INPUT}.stockpile": {"capacity_t": 100.0, "reorder_point_t": 20.0, "order_up_to_t": 50.0,
                                          "lead_time_days": 2.0}}, contracts=[], horizon=8))
    stock = np.array([40.0, 30.0, 20.0, 10.0, 30.0, 20.0, 10.0, 30.0])
    assert m.inputs_flow["virgin_stock_t"][:, 0] == approx(stock)
    assert daily(m, "stockpile_holding", "buy") == approx(stock * 0.1)
    buy = m.result().facilities.set_index("facility").loc["buy"]
    assert buy["cost_stockpile_holding"] == approx(19.0)


def test_a_stockpiles_own_rate_overrides_the_material() -> None:
    m = run(build({f"{INPUT}.virgin": "stockpile", "materials.stone.holding_cost_per_t_day": 0.1,
                   f"{INPUT}.stockpile": {"capacity_t": 100.0, "reorder_point_t": 20.0, "order_up_to_t": 50.0,
                                          "holding_cost_per_t_day": 1.0}}, contracts=[], horizon=2))
    assert daily(m, "stockpile_holding", "buy") == approx([40.0, 30.0])


# --- the intermediary's pool -----------------------------------------------------------------


def test_the_pool_opens_with_its_declared_stock_and_holds_it_at_its_rate() -> None:
    # 30 t of ash in the pool on day 0; nothing from c1 reaches it before day 1, and no
    # call-off is made before then: 30 t held on day 0, at 0.1 per t and day: 3.
    m = with_pool(30.0, 0.1)
    assert m.hub is not None and m.hub.stock_start == 30.0
    assert m.hub_flow["stock_t"][0, 0] == 30.0
    assert daily(m, "holding", m.hub.hid)[0] == approx(3.0)


def with_pool(initial_t: float, rate: float) -> SymbiosisModel:
    """The tiny network over 3 days with c1 routed through a pool of 100 t opening with
    `initial_t` of ash, held at `rate`."""
    raw = raw_network(3)
    raw["contracts"][0]["via_intermediary"] = True
    raw["intermediary"] = {"location": {"x_km": 0.0, "y_km": 0.0}, "storage_t": 100.0,
                           "holding_cost_per_t_day": rate, "initial_t": {"ash": initial_t}}
    return run(parse_scenario(raw, "<pool>"))


# --- the supplier's storage decision ---------------------------------------------------------


@pytest.mark.parametrize(("rate", "adds"), [(4.9, True), (5.1, False)])
def test_a_supplier_adds_storage_when_the_penalty_exceeds_the_holding_its_storage_would_book(
    rate: float, adds: bool
) -> None:
    # Down on day 2: 10 t short in the first 5-day period, at 50 per t: 500 of penalty. The
    # step is 2 days of the 10 t/day contract, 20 t, held over the 5 days at the material's
    # rate: 100 x rate, so it pays below a rate of 5 and not above.
    sc = build({"behaviour": {"formation_interval_days": 1000, "exit_trust_threshold": 0.0},
                "contracts.c1.penalty_per_t_short": 50.0, "contracts.c1.settlement_days": 5,
                "materials.ash.holding_cost_per_t_day": rate},
               events=[{**OUTAGE, "day": 2.0, "duration_days": 1.0}])
    m = run(sc)
    assert m.settlements[0]["penalty"] == approx(500.0)
    assert m.stream_states[0].storage_cap == (20.0 if adds else 0.0)
    assert m.stream_states[0].holding_cost == rate  # the rate the ledger books
