"""The array day (sim/arrayday.py) against the object core: the same runs to the last bit.

The object core is the reference. Both engines run the same network and seed, and every flow
table, the up-time and operating histories, every money entry in booking order, every
account's total, every settlement, the run's metrics and tables, and the state left in the
objects (stores, open periods, shipments on the road) must be equal, not close. The networks:
the tiny brewery-and-farm, synthetic regions (the generator's sector recipes, formed by the
linear program), the shipped synthetic scenario, and random networks of direct contracts that
vary every term the engine covers. Then the parts: the ring buffers against LotQueue, the sums
against Python's sum(), the engine choice, and the refusal of what it does not cover.

Beyond the material balance the engine leaves some steps to the object core's own code, which
it calls on the days they happen (status changes, notices, closures, backup calls, virgin
orders, market shifts): the shipped scenarios with backups, stockpiles, emergency supply,
critical inputs, quality specifications, scripted events and closures, and the random networks
of tests/helpers.py with the intermediary and the decisions taken out, check those too.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from helpers import random_direct_scenario, random_scenario

from sim.arrayday import AUTO_MIN_FACILITIES, ArrayDay, engine_problems, problems
from sim.model import SymbiosisModel
from sim.rings import Rings, Sums
from sim.scenario import Contract, Scenario, ScenarioError, load_scenario, parse_scenario
from sim.streams import LotQueue
from sim.synthetic import generate_region

ROOT = Path(__file__).parent.parent
TINY = Path(__file__).parent / "data" / "tiny.toml"


def _with_engine(sc: Scenario, engine: str) -> Scenario:
    return sc.model_copy(update={"policy": sc.policy.model_copy(update={"engine": engine})})


def _pair(
    sc: Scenario, seed: int, days: int | None = None, series: bool = False
) -> tuple[SymbiosisModel, SymbiosisModel]:
    objects = SymbiosisModel(_with_engine(sc, "objects"), rng=seed, horizon_days=days, collect_series=series)
    arrays = SymbiosisModel(_with_engine(sc, "arrays"), rng=seed, horizon_days=days, collect_series=series)
    assert (objects.engine, arrays.engine) == ("objects", "arrays")
    objects.run()
    arrays.run()
    return objects, arrays


def assert_same_run(a: SymbiosisModel, b: SymbiosisModel) -> None:
    """Everything a run leaves, equal to the bit (NaN equal to NaN in the metrics)."""
    for table in ("streams_flow", "inputs_flow", "contracts_flow", "hub_flow"):
        x, y = getattr(a, table), getattr(b, table)
        for name in x.names:
            assert np.array_equal(x[name], y[name]), f"{table}.{name} differs"
    assert np.array_equal(a.up_history, b.up_history)
    assert np.array_equal(a.operating_history, b.operating_history)
    assert a.money.accounts == b.money.accounts
    assert a.money.rows == b.money.rows  # booking order too
    assert a.money._sums == b.money._sums
    assert a.settlements == b.settlements
    assert a.penalties_to_date == b.penalties_to_date
    ra, rb = a.result(), b.result()
    assert ra.metrics.keys() == rb.metrics.keys()
    for k, v in ra.metrics.items():
        assert v == rb.metrics[k] or (math.isnan(v) and math.isnan(rb.metrics[k])), k
    assert ra.facilities.equals(rb.facilities)
    assert ra.contracts.equals(rb.contracts)
    assert ra.materials is not None and ra.materials.equals(rb.materials)
    assert ra.inputs is not None and ra.inputs.equals(rb.inputs)
    assert ra.episodes is not None and ra.episodes.equals(rb.episodes)
    for c, d in zip(a.contracts, b.contracts, strict=True):
        fields = ("status", "period", "in_transit_t", "period_start", "called", "ended_day", "end_day")
        assert [getattr(c, f) for f in fields] == [getattr(d, f) for f in fields], c.terms.id
    for s, t in zip(a.stream_states, b.stream_states, strict=True):
        assert (_lots(s.storage.lots), s.storage.total) == (_lots(t.storage.lots), t.storage.total)
    for i, j in zip(a.input_states, b.input_states, strict=True):
        fields = ("virgin_stock", "on_order", "shortage_since", "inbound_t")
        assert [getattr(i, f) for f in fields] == [getattr(j, f) for f in fields]
        for s, t in zip(i.substitutes, j.substitutes, strict=True):
            assert (_lots(s.lots.lots), s.lots.total) == (_lots(t.lots.lots), t.lots.total)
    road = lambda m: {d: [(c.index, _lots(ps)) for c, ps, _ in v] for d, v in m.dock.items()}  # noqa: E731
    assert road(a) == road(b)
    assert [(f.operating, f.up_fraction) for f in a.facilities] == [(f.operating, f.up_fraction) for f in b.facilities]


def _lots(lots) -> list:
    """Lots or pieces as (tonnes, born day, quality as a list or None)."""
    return [(q, float(born), None if quality is None else list(quality)) for q, born, quality in lots]


# --- whole runs ------------------------------------------------------------------------------


def test_tiny_network() -> None:
    assert_same_run(*_pair(load_scenario(TINY), seed=4, days=400))


@pytest.mark.parametrize(("n", "seed"), [(10, 1), (30, 2), (120, 3)])
def test_synthetic_regions(n: int, seed: int) -> None:
    assert_same_run(*_pair(generate_region(n, seed=seed, horizon_days=300), seed=seed))


def test_shipped_synthetic_scenario() -> None:
    assert_same_run(*_pair(load_scenario(ROOT / "scenarios" / "synthetic" / "region_40.toml"), seed=7, days=365))


@pytest.mark.parametrize("seed", range(16))
def test_random_direct_networks(seed: int) -> None:
    assert_same_run(*_pair(random_direct_scenario(seed, 300), seed=seed))


def with_pipes(sc: Scenario, seed: int) -> Scenario:
    """`sc` with every third contract a pipe: a cost per unit, and on every other one of those
    a capacity of 60 % of the contract's volume, which binds on every delivery."""
    contracts = list(sc.contracts)
    for j in range(0, len(contracts), 3):
        c = contracts[j]
        update: dict = {"mode": "pipe", "pipe_cost_per_t": 0.5 + (seed + j) % 4}
        if j % 2 == 0:
            update["pipe_capacity_t_per_day"] = 0.6 * c.volume_t_per_day
        contracts[j] = Contract.model_validate({**c.model_dump(), **update})
    return sc.model_copy(update={"contracts": contracts})


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_with_pipes(seed: int) -> None:
    """Pipes among trucks: per-unit cost, no transit time, and a capacity that binds (what it
    cannot carry stays at the source and counts short), equal in both engines."""
    a, b = _pair(with_pipes(random_direct_scenario(seed, 300), seed), seed=seed)
    assert_same_run(a, b)
    cf = a.contracts_flow
    capped = [c for c in a.contracts if math.isfinite(c.ship_cap_t)]
    assert capped
    for c in capped:
        assert (cf["shipped_t"][:, c.index] <= c.ship_cap_t).all()
    bound = [((cf["shipped_t"][:, c.index] == c.ship_cap_t) & (cf["due_t"][:, c.index] > c.ship_cap_t)).any()
             for c in capped]
    assert any(bound)  # a delivery the capacity cut, the rest counted short
    assert {c.lag_days for c in a.contracts if c.terms.mode == "pipe"} == {1}


COVERED = [p for p in sorted((ROOT / "scenarios").glob("*.toml")) if not problems(load_scenario(p))]


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_shipped_scenarios(path: Path) -> None:
    """Backups, stockpiles, emergency supply, critical inputs, the coal-exit and hub-removal
    events: every shipped scenario the engine covers."""
    for seed in (1, 2):
        assert_same_run(*_pair(load_scenario(path), seed=seed, days=500))


def covered_part(sc: Scenario) -> Scenario:
    """`sc` without what the array day does not cover: the intermediary and the agents'
    decisions."""
    contracts = [c.model_copy(update={"via_intermediary": False}) for c in sc.contracts]
    policy = sc.policy.model_copy(update={"adaptive": False, "intermediary": None})
    out = sc.model_copy(update={"contracts": contracts, "intermediary": None, "behaviour": None, "policy": policy})
    assert not problems(out)
    return out


@pytest.mark.parametrize("seed", range(20))
def test_random_networks_with_events_backups_stockpiles_and_quality(seed: int) -> None:
    """tests/helpers.py's random networks (backups with activation lead times, notices and
    outages as events, closure hazards, critical inputs, stockpiles, emergency supply,
    maintenance, buyers' quality limits that reject lots), intermediary and decisions taken
    out."""
    assert_same_run(*_pair(covered_part(random_scenario(seed, 400)), seed=seed))


def test_the_mechanisms_were_exercised() -> None:
    """The seeds above reach each mechanism the test's name promises, checked again here on
    the object core: rejected lots, called backups, ended contracts, virgin deliveries to a
    stockpile, emergency purchases, and a line slowed by a critical input."""
    seen: dict[str, set[int]] = {}
    for seed in (0, 3, 4, 5):
        m = SymbiosisModel(covered_part(random_scenario(seed, 400)), rng=seed, collect_series=False)
        m.run()
        happened = {
            "rejected": m.contracts_flow["rejected_t"].sum() > 0.0,
            "called": m.contracts_flow["called"].sum() > 0.0,
            "ended": any(c.status.name == "ENDED" for c in m.contracts),
            "stockpile": m.inputs_flow["virgin_received_t"].sum() > 0.0,
            "emergency": m.inputs_flow["from_emergency_t"].sum() > 0.0,
            "critical": bool((m.operating_history < m.up_history - 1e-12).any()),
        }
        for what, yes in happened.items():
            if yes:
                seen.setdefault(what, set()).add(seed)
    assert seen == {
        "rejected": {0, 4}, "called": {0, 5}, "ended": {3}, "stockpile": {4}, "emergency": {0, 4, 5}, "critical": {4, 5}
    }


def test_market_shifts_and_redundancy() -> None:
    """Prices that move during the run (contracts_market.toml without its agents), and a
    region with a backup source per input (policy.redundancy = 2)."""
    market = covered_part(load_scenario(ROOT / "scenarios" / "contracts_market.toml"))
    a, b = _pair(market, seed=3, days=600)
    assert len({s.day for s in a.market_shifts}) >= 2
    assert_same_run(a, b)
    region = generate_region(60, seed=3, horizon_days=300)
    region = region.model_copy(update={"policy": region.policy.model_copy(update={"redundancy": 2})})
    a, b = _pair(region, seed=3)
    assert a.contracts_flow["called"].sum() > 0  # backups were called
    assert_same_run(a, b)


def test_daily_series_equal() -> None:
    """With daily series the array day writes its state back to the objects each day, so the
    DataCollector reads what it reads on the object core."""
    a, b = _pair(random_direct_scenario(3, 120), seed=3, series=True)
    assert_same_run(a, b)
    sa, sb = a.result(series=True).series, b.result(series=True).series
    assert sa is not None and sb is not None and sa.equals(sb)
    assert a.datacollector.get_model_vars_dataframe().equals(b.datacollector.get_model_vars_dataframe())
    assert a.datacollector.get_agenttype_vars_dataframe(type(a.facilities[0])).equals(
        b.datacollector.get_agenttype_vars_dataframe(type(b.facilities[0]))
    )


@pytest.mark.parametrize("warmup", [0, 45])
def test_benefits_against_the_twin_are_the_same_on_both_engines(warmup: int) -> None:
    """The facility table (benefits against the simulated world without symbiosis, stock
    values at the start of day `warmup` and at the end) is the same on objects and arrays; the
    twin runs on the engine of its run, and the opening stocks after a warm-up are read from
    the array day's columns."""
    sc = random_direct_scenario(3, 200)
    sc = sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"warmup_days": warmup})})
    a, b = _pair(sc, seed=3)
    fa, fb = a.result().facilities, b.result().facilities
    assert (a._twin.engine, b._twin.engine) == ("objects", "arrays")
    cols = ["supply_cost", "buy_cost", "counterfactual_cost", "stock_value_change", "supplier_benefit",
            "buyer_benefit", "net_benefit"]
    assert fa[cols].equals(fb[cols])
    assert (fa["net_benefit"] != 0.0).any() and (fa["stock_value_change"] != 0.0).any()
    assert a.opening_stocks is not None and b.opening_stocks is not None
    for name in ("source", "in_transit", "buffer", "virgin"):
        assert np.array_equal(getattr(a.opening_stocks, name), getattr(b.opening_stocks, name)), name


def test_run_after_steps_continues_the_same_run() -> None:
    """run() loads the objects as the stepped days left them (lots, shipments on the road,
    open periods) and goes on from there."""
    sc = random_direct_scenario(5, 200)
    reference = SymbiosisModel(_with_engine(sc, "objects"), rng=5, collect_series=False)
    reference.run()
    stepped = SymbiosisModel(_with_engine(sc, "arrays"), rng=5, collect_series=False)
    for _ in range(37):
        stepped.step()  # the object core's day
    assert any(stepped.dock.values())
    stepped.run()
    assert_same_run(reference, stepped)


def test_the_comparison_can_fail() -> None:
    """A one-ulp change in one delivery's tonnes is caught."""
    sc = random_direct_scenario(1, 120)
    a, b = _pair(sc, seed=1)
    b.contracts_flow["accepted_t"][60, 0] = np.nextafter(b.contracts_flow["accepted_t"][60, 0], np.inf)
    with pytest.raises(AssertionError):
        assert_same_run(a, b)


# --- the parts ---------------------------------------------------------------------------------


def test_rings_do_what_lot_queues_do() -> None:
    """Random puts, takes (the shortcut, takes of less than 1e-12, takes of more than held),
    expiry and trims on 120 stores at once, against 120 LotQueues: equal lots, totals and pieces,
    through the vector steps (many stores) and the one-by-one steps (a few)."""
    rng = np.random.default_rng(0)
    n = 120
    rings, queues = Rings(n, width=2), [LotQueue() for _ in range(n)]
    for day in range(300):
        size = int(rng.choice([2, 5, 12, 40, 120]))
        stores = np.sort(rng.choice(n, size=size, replace=False))
        op = int(rng.integers(0, 4))
        if op == 0:
            qty = rng.uniform(0, 10, size) * (rng.random(size) < 0.9)
            rings.put(stores, qty, np.full(size, float(day)), np.full(size, day))  # quality row: the day
            for s, q in zip(stores.tolist(), qty.tolist(), strict=True):
                queues[s].put(q, float(day), np.array([day]))
        elif op == 1:
            scale = rng.choice([1e-13, 1.0, 5.0, 30.0], size)
            qty = rng.uniform(0, 1, size) * scale
            pos, pq, pb, pr, _ = rings.take(stores, qty)
            for j, (s, q) in enumerate(zip(stores.tolist(), qty.tolist(), strict=True)):
                got = list(zip(pq[pos == j].tolist(), pb[pos == j].tolist(), pr[pos == j].tolist(), strict=True))
                assert got == [(t, b, int(x[0])) for t, b, x in queues[s].take(q)]
        elif op == 2:
            shelf = rng.uniform(1, 20, size)
            spoiled = rings.expire(stores, shelf, day)
            assert spoiled.tolist() == [
                queues[s].expire(day, f) for s, f in zip(stores.tolist(), shelf.tolist(), strict=True)
            ]
        else:
            keep = rng.uniform(0, 40, size)
            removed = rings.trim_newest(stores, keep)
            assert removed.tolist() == [
                queues[s].trim_newest(k) for s, k in zip(stores.tolist(), keep.tolist(), strict=True)
            ]
        for s in range(n):
            assert rings.lots(s) == [(q, b, int(x[0])) for q, b, x in queues[s].lots]
            assert rings.total[s] == queues[s].total
    assert rings.width > 2  # the rings grew on the way


def test_sums_are_pythons_sum() -> None:
    """CPython sums floats with compensation (3.12 on): 0.1 + 0.2 + 0.3 one by one is not
    sum([0.1, 0.2, 0.3]). Sums gives sum() to the bit, also with cancellation."""
    rng = np.random.default_rng(1)
    terms = [rng.choice([-1.0, 1.0], 500) * 10.0 ** rng.uniform(-8, 8, 500) for _ in range(6)]
    terms.append(np.full(500, 0.1))
    sums = Sums(500)
    idx = np.arange(500)
    sums.first(idx, terms[0])
    for t in terms[1:]:
        sums.add(idx, t)
    expected = [sum(col) for col in zip(*[t.tolist() for t in terms], strict=True)]
    assert sums.result().tolist() == expected
    naive = terms[0].copy()
    for t in terms[1:]:
        naive = naive + t
    assert naive.tolist() != expected  # the check would notice one addition after another


def test_auto_picks_arrays_for_large_networks_only() -> None:
    small = generate_region(20, seed=0, horizon_days=60)
    large = generate_region(AUTO_MIN_FACILITIES, seed=0, horizon_days=60)
    below = generate_region(AUTO_MIN_FACILITIES - 1, seed=0, horizon_days=60)
    assert SymbiosisModel(small, rng=0, collect_series=False).engine == "objects"
    assert SymbiosisModel(below, rng=0, collect_series=False).engine == "objects"
    assert SymbiosisModel(large, rng=0, collect_series=False).engine == "arrays"
    assert SymbiosisModel(large, rng=0, collect_series=True).engine == "objects"  # series read objects
    assert SymbiosisModel(_with_engine(large, "objects"), rng=0, collect_series=False).engine == "objects"
    assert SymbiosisModel(_with_engine(small, "arrays"), rng=0, collect_series=True).engine == "arrays"
    hub = load_scenario(ROOT / "scenarios" / "redundancy_market.toml")  # agents decide: not covered
    assert problems(hub) and SymbiosisModel(hub, rng=0, collect_series=False).engine == "objects"


def test_every_uncovered_mechanism_is_named() -> None:
    """Each mechanism the array day does not cover is named, and a scenario that has them is
    refused with engine = "arrays", one line per mechanism, naming the field."""
    named = {what for seed in range(40) for what in problems(random_scenario(seed, 200))}
    assert named == {"an intermediary", "agents' decisions (policy.adaptive or [behaviour])"}
    assert problems(load_scenario(ROOT / "scenarios" / "contracts_market.toml")) == [
        "agents' decisions (policy.adaptive or [behaviour])"
    ]
    assert all(not problems(random_direct_scenario(seed, 60)) for seed in range(8))
    raw = tomllib.loads((ROOT / "scenarios" / "brewery_farms.toml").read_text(encoding="utf-8"))
    raw["policy"] = {**raw.get("policy", {}), "engine": "arrays", "intermediary": True, "adaptive": True}
    # parse_scenario knows no engine (sim.scenario imports nothing else from sim); the validate
    # command, a study's checks, simulate and the model refuse it through engine_problems.
    assert engine_problems(parse_scenario(raw, "<brewery_farms>"), "<brewery_farms>") == [
        f"<brewery_farms>: policy.engine: 'arrays' does not cover {what}; use 'auto' or 'objects'"
        for what in ("an intermediary", "agents' decisions (policy.adaptive or [behaviour])")
    ]
    raw["policy"] = {**raw["policy"], "intermediary": False, "adaptive": False}
    assert parse_scenario(raw, "<brewery_farms>").policy.engine == "arrays"


def test_model_refuses_arrays_on_a_network_they_do_not_cover() -> None:
    """A Scenario built past validation with engine = "arrays" on what the array day does not
    cover is refused by the model itself: bad input, one line per mechanism, naming the field."""
    sc = _with_engine(load_scenario(ROOT / "scenarios" / "contracts_market.toml"), "arrays")
    with pytest.raises(ScenarioError) as err:
        SymbiosisModel(sc, rng=0, horizon_days=5, collect_series=False)
    assert err.value.problems == [
        "<scenario>: policy.engine: 'arrays' does not cover agents' decisions (policy.adaptive or [behaviour]); "
        "use 'auto' or 'objects'"
    ]


def test_cli_refuses_arrays_where_not_covered_and_agrees_where_covered(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "run_experiments.py"), "simulate"]
    bad = subprocess.run(
        [*cmd, str(ROOT / "scenarios" / "contracts_market.toml"), "--set", 'policy.engine="arrays"'],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"{ROOT / 'scenarios' / 'contracts_market.toml'}: policy.engine: 'arrays' does not cover agents' decisions "
        "(policy.adaptive or [behaviour]); use 'auto' or 'objects'"
    ]
    region = str(ROOT / "scenarios" / "synthetic" / "region_40.toml")
    out = {
        engine: subprocess.run(
            [*cmd, region, "--set", f'policy.engine="{engine}"', "--json", "--out", str(tmp_path / engine)],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        ).stdout
        for engine in ("objects", "arrays")
    }
    assert out["objects"] == out["arrays"]
    for name in ("series.csv", "facilities.csv", "contracts.csv", "materials.csv", "inputs.csv", "episodes.csv"):
        assert (tmp_path / "objects" / name).read_bytes() == (tmp_path / "arrays" / name).read_bytes(), name


def test_the_engine_refuses_a_model_it_does_not_cover() -> None:
    """Made directly (as the benchmarks do), the array day still refuses a model with an
    intermediary or agents: it reads terms and caps once, and those two change them."""
    raw = tomllib.loads((ROOT / "scenarios" / "brewery_farms.toml").read_text(encoding="utf-8"))
    raw["policy"] = {**raw.get("policy", {}), "intermediary": True}
    with pytest.raises(ValueError, match="does not cover this model: an intermediary"):
        ArrayDay(SymbiosisModel(parse_scenario(raw, "<hub>"), rng=0, collect_series=False))
    agents = load_scenario(ROOT / "scenarios" / "contracts_market.toml")
    with pytest.raises(ValueError, match="agents' decisions"):
        ArrayDay(SymbiosisModel(agents, rng=0, collect_series=False))


def test_a_stream_with_more_than_a_thousand_contracts() -> None:
    """The day's payments and shipments keep the object core's order (stream by stream, each
    stream's contracts in turn) however many contracts a stream has: a key of stream x 1,024
    + rank once mixed the 1,025th contract of one stream with the next stream's first
    (found by review)."""
    contract = {"supplier": "s0", "buyer": "b0", "volume_t_per_day": 1.0, "price_per_t": 1.0}
    raw = {
        "scenario": {"name": "many contracts", "horizon_days": 3},
        "materials": [{"id": "ash"}, {"id": "slag"}, {"id": "stone", "virgin_price_per_t": 10.0}],
        "facilities": [
            {"id": "s0", "location": {"x_km": 0, "y_km": 0},
             "outputs": [{"material": "ash", "rate_t_per_day": 5000.0, "storage_t": 1e6},
                         {"material": "slag", "rate_t_per_day": 10.0, "storage_t": 100.0}]},
            {"id": "b0", "location": {"x_km": 10, "y_km": 0},
             "inputs": [{"material": "stone", "demand_t_per_day": 50.0, "buffer_t": 1e9,
                         "substitutes": [{"material": "ash"}, {"material": "slag"}]}]},
        ],
        "contracts": [{**contract, "id": f"a{k}", "material": "ash"} for k in range(1030)]
        + [{**contract, "id": "g0", "material": "slag"}],
    }
    assert_same_run(*_pair(parse_scenario(raw, "<many contracts>"), seed=1))


def holding_network(horizon: int = 200) -> dict:
    """Two suppliers and two buyers with a holding cost on every kind of store: source storage
    (one stream at its material's rate, one at its own, one opening full, one part-full, one
    spoiling), buffers of two substitutes at each material's rate and one buyer's override,
    and a virgin stockpile at the material's rate and at its own."""
    out = {"variability": {"dist": "gamma", "cv": 0.4}}
    return {
        "scenario": {"name": "holding", "horizon_days": horizon, "warmup_days": 10},
        "materials": [
            {"id": "ash", "disposal_cost_per_t": 12.0, "holding_cost_per_t_day": 0.3, "quality": {"cl": 0.05}},
            {"id": "slag", "disposal_cost_per_t": 8.0, "holding_cost_per_t_day": 0.7, "shelf_life_days": 6.0},
            {"id": "stone", "virgin_price_per_t": 40.0, "holding_cost_per_t_day": 0.05},
        ],
        "facilities": [
            {"id": "s0", "location": {"x_km": 0, "y_km": 0}, "outages": {"mtbf_days": 30.0, "mttr_days": 4.0},
             "outputs": [{**out, "material": "ash", "rate_t_per_day": 20.0, "storage_t": 80.0, "initial_t": 80.0},
                         {**out, "material": "slag", "rate_t_per_day": 9.0, "storage_t": 30.0, "initial_t": 12.5,
                          "holding_cost_per_t_day": 1.1}]},
            {"id": "s1", "location": {"x_km": 30, "y_km": 0},
             "outputs": [{**out, "material": "ash", "rate_t_per_day": 6.0, "storage_t": 40.0, "initial_t": 7.0,
                          "holding_cost_per_t_day": 0.0}]},
            {"id": "b0", "location": {"x_km": 10, "y_km": 5}, "outages": {"mtbf_days": 50.0, "mttr_days": 3.0},
             "inputs": [{"material": "stone", "demand_t_per_day": 25.0, "buffer_t": 60.0, "initial_buffer_t": 20.0,
                         "substitutes": [{"material": "ash"}, {"material": "slag", "ratio": 0.5}],
                         "virgin": "stockpile",
                         "stockpile": {"capacity_t": 200.0, "reorder_point_t": 50.0, "order_up_to_t": 150.0,
                                       "lead_time_days": 3.0}}]},
            {"id": "b1", "location": {"x_km": 20, "y_km": 5},
             "inputs": [{"material": "stone", "demand_t_per_day": 10.0, "buffer_t": 30.0,
                         "buffer_holding_cost_per_t_day": 0.2, "substitutes": [{"material": "ash"}],
                         "virgin": "stockpile",
                         "stockpile": {"capacity_t": 90.0, "reorder_point_t": 20.0, "order_up_to_t": 60.0,
                                       "initial_t": 35.0, "holding_cost_per_t_day": 0.4}}]},
        ],
        "contracts": [
            {"id": "a0", "supplier": "s0", "buyer": "b0", "material": "ash", "volume_t_per_day": 12.0,
             "price_per_t": 3.0, "penalty_per_t_short": 20.0, "settlement_days": 30},
            {"id": "g0", "supplier": "s0", "buyer": "b0", "material": "slag", "volume_t_per_day": 6.0},
            {"id": "a1", "supplier": "s0", "buyer": "b1", "material": "ash", "volume_t_per_day": 6.0,
             "delivery_interval_days": 3},
            {"id": "a2", "supplier": "s1", "buyer": "b1", "material": "ash", "volume_t_per_day": 5.0},
        ],
    }


@pytest.mark.parametrize("seed", range(4))
def test_holding_costs_on_every_store_and_opening_source_stock(seed: int) -> None:
    """Holding on source storage, buffers (each substitute at its own rate, or the buyer's
    override) and stockpiles, with opening source stock: the same entries, in the same order,
    on both engines."""
    a, b = _pair(parse_scenario(holding_network(), "<holding>"), seed=seed)
    assert_same_run(a, b)
    booked = {row[4] for row in a.money.rows}
    assert {"holding", "buffer_holding", "stockpile_holding"} <= booked
    assert a.streams_flow["shipped_t"][0, 0] > 0.0  # the opening stock ships on day 0


@pytest.mark.parametrize("allocation", ["pro_rata", "priority"])
def test_backups_served_from_surplus(allocation: str) -> None:
    """Issue 21: a called backup gets only what its supplier has left after its primaries and
    the source storage held for them (sim.contracts.allocate). The redundancy market with a
    backup per farm (decisions frozen, the network listed): the rule binds (backups short on
    days their supplier kept stock), and the array day follows it to the bit."""
    from sim.matching import apply_redundancy, form_network

    sc = load_scenario(ROOT / "scenarios" / "redundancy_market.toml")
    sc = sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"horizon_days": 365}),
                               "policy": sc.policy.model_copy(update={"adaptive": False, "allocation": allocation})})
    sc = apply_redundancy(form_network(sc), 2)
    sc = sc.model_copy(update={"formation": sc.formation.model_copy(update={"rule": "explicit"})})
    a, b = _pair(sc, seed=2)
    cf, stock = a.contracts_flow, a.streams_flow["stock_t"]
    backups = [c for c in a.contracts if c.is_backup]
    held = [
        d for c in backups
        for d in np.flatnonzero(cf["called"][:, c.index] * c.terms.volume_t_per_day
                                > cf["shipped_t"][:, c.index] + 1e-9)
        if stock[d, c.supplier_stream.index] > 1e-9
    ]
    assert held  # a called backup got less than its volume while its supplier kept stock for its primaries
    assert (cf["short_t"][:, [c.index for c in backups]] == 0.0).all()  # owed only what the surplus covers
    assert_same_run(a, b)


# --- issue 21: settlement and campaign terms, equal on the array day --------------------------


@pytest.mark.parametrize(
    ("over", "events"),
    [
        # take-or-pay on tonnes offered: a supplier down a whole period, short of rate, rejecting
        ({"contracts.c1.price_per_t": 5.0, "contracts.c1.take_or_pay": 1.0, "contracts.c1.penalty_per_t_short": 3.0,
          "contracts.c1.settlement_days": 5}, [{"day": 0, "kind": "outage", "facility": "sup", "duration_days": 5}]),
        ({"facilities.sup.outputs.ash.rate_t_per_day": 6.0, "contracts.c1.price_per_t": 5.0,
          "contracts.c1.take_or_pay": 0.8, "contracts.c1.settlement_days": 5}, []),
        ({"facilities.sup.outputs.ash.quality": {"cl": {"mean": 0.2, "sd": 0.0}},
          "contracts.c1.quality_spec": {"cl": {"max": 0.1}}, "contracts.c1.price_per_t": 5.0,
          "contracts.c1.take_or_pay": 0.8, "contracts.c1.settlement_days": 5}, []),
        # force majeure excuses (in columns), on and off
        ({"contracts.c1.penalty_per_t_short": 5.0, "contracts.c1.force_majeure": True},
         [{"day": 2.5, "kind": "outage", "facility": "sup", "duration_days": 3}]),
        ({"contracts.c1.penalty_per_t_short": 5.0}, [{"day": 2.5, "kind": "outage", "facility": "sup",
                                                      "duration_days": 3}]),
        # a gate fee with a minimum offtake, everything offered taken
        ({"contracts.c1.price_per_t": -4.0, "contracts.c1.min_offtake": 1.0, "contracts.c1.settlement_days": 5}, []),
    ],
    ids=["down-all-period", "short-rate", "rejected", "force-majeure", "no-force-majeure", "min-offtake"],
)
def test_settlement_on_tonnes_offered_is_the_same_on_arrays(over: dict, events: list) -> None:
    from tiny_net import build

    sc = build({**over, "scenario.horizon_days": 20}, horizon=20, events=events)
    assert_same_run(*_pair(sc, seed=0))


BUYER_OVERHAUL = {"maintenance": [{"start_day": 2, "duration_days": 2.5, "every_days": 9, "notice_days": 14}]}
SUPPLIER_OVERHAUL = {"maintenance": [{"start_day": 3.5, "duration_days": 3, "every_days": 8, "notice_days": 10}]}


@pytest.mark.parametrize(
    ("over", "events"),
    [
        # deliveries suspended for the buyer's announced maintenance, with take-or-pay
        ({"facilities.buy.outages": BUYER_OVERHAUL, "contracts.c1.suspend_for_buyer_maintenance": True,
          "contracts.c1.planned_outage_notice_days": 7, "contracts.c1.price_per_t": 5.0,
          "contracts.c1.take_or_pay": 1.0, "contracts.c1.settlement_days": 5}, []),
        # ... every other day, with a minimum offtake on a gate fee, and supplier storage
        ({"facilities.buy.outages": BUYER_OVERHAUL, "contracts.c1.suspend_for_buyer_maintenance": True,
          "contracts.c1.delivery_interval_days": 2, "contracts.c1.price_per_t": -3.0, "contracts.c1.min_offtake": 0.9,
          "facilities.sup.outputs.ash.storage_t": 15.0, "contracts.c1.settlement_days": 4}, []),
        # announced supplier maintenance excused (with a partial day), a breakdown beside it not
        ({"facilities.sup.outputs.ash.rate_t_per_day": 9.0, "facilities.sup.outputs.ash.storage_t": 5.0,
          "facilities.sup.outages": SUPPLIER_OVERHAUL, "contracts.c1.planned_outage_excused": True,
          "contracts.c1.planned_outage_notice_days": 7, "contracts.c1.penalty_per_t_short": 4.0},
         [{"day": 12.5, "kind": "outage", "facility": "sup", "duration_days": 2}]),
        # a volume that follows the output, cut by a named cause the contract excuses
        ({"contracts.c1.volume_basis": "share_of_output", "contracts.c1.output_share": 0.7,
          "contracts.c1.volume_t_per_day": 7.0, "contracts.c1.delivery_interval_days": 3,
          "contracts.c1.penalty_per_t_short": 2.0, "contracts.c1.force_majeure_causes": ["harvest"]},
         [{"day": 6, "kind": "stream_scale", "facility": "sup", "material": "ash", "factor": 0.5, "cause": "harvest"},
          {"day": 4.5, "kind": "outage", "facility": "sup", "duration_days": 2}]),
        # a fixed volume under a named cause, with force majeure too
        ({"contracts.c1.penalty_per_t_short": 2.0, "contracts.c1.force_majeure_causes": ["harvest"],
          "contracts.c1.force_majeure": True},
         [{"day": 6, "kind": "stream_scale", "facility": "sup", "material": "ash", "factor": 0.5, "cause": "harvest"},
          {"day": 4.5, "kind": "outage", "facility": "sup", "duration_days": 2}]),
    ],
    ids=["suspended", "suspended-interval-min-offtake", "planned-excused", "share-of-output-cause", "fixed-cause"],
)
def test_campaign_terms_are_the_same_on_arrays(over: dict, events: list) -> None:
    from tiny_net import build

    sc = build(over, horizon=20, events=events)
    assert not problems(sc)
    a, b = _pair(sc, seed=0)
    assert_same_run(a, b)
    assert any(s["suspended_t"] > 0.0 or s["excused_t"] > 0.0 for s in a.settlements)  # the rule fired


STONE = "facilities.buy.inputs.stone"
CUT = [{"day": 10, "kind": "stream_scale", "facility": "sup", "material": "ash", "factor": 0.0},
       {"day": 15, "kind": "stream_scale", "facility": "sup", "material": "ash", "factor": 1.0}]


@pytest.mark.parametrize(
    ("over", "events"),
    [
        # use_less: the buffer held back from after the outage, virgin from the market
        ({f"{STONE}.buffer_t": 20.0}, CUT),
        # ... with a planned rate, a max share, two substitutes and a virgin stockpile too short to replace it all
        ({f"{STONE}.buffer_t": 25.0, f"{STONE}.planned_secondary_t_per_day": 7.0, f"{STONE}.refill_share": 0.4,
          f"{STONE}.substitutes": [{"material": "ash", "max_share": 0.8, "ratio": 0.9},
                                   {"material": "slag", "max_share": 0.5, "ratio": 0.6}],
          f"{STONE}.virgin": "stockpile",
          f"{STONE}.stockpile": {"capacity_t": 30.0, "reorder_point_t": 3.0, "order_up_to_t": 12.0,
                                 "lead_time_days": 4.0}}, CUT),
        # refill none with a plan under the deliveries (overflow above target)
        ({f"{STONE}.buffer_t": 20.0, f"{STONE}.refill": "none", f"{STONE}.planned_secondary_t_per_day": 8.0}, CUT),
        # virgin none: nothing held back
        ({f"{STONE}.buffer_t": 20.0, f"{STONE}.virgin": "none", f"{STONE}.lost_margin_per_t": 3.0}, CUT),
        # a weekly contract: cycle stock above the target
        ({f"{STONE}.buffer_t": 15.0, "contracts.c1.delivery_interval_days": 7,
          "facilities.sup.outputs.ash.storage_t": 100.0}, CUT),
        # the contract ends: no plan, the stock on hand used
        ({f"{STONE}.buffer_t": 40.0, "contracts.c1.notice_days": 3},
         [{"day": 8, "kind": "notice", "contract": "c1", "party": "buyer"}]),
        # a perishable buffer: no hold-back of stock that would not be used before it spoils
        ({f"{STONE}.buffer_t": 20.0, "materials.ash.shelf_life_days": 4.0}, CUT),
    ],
    ids=["use-less", "use-less-plan-stockpile", "none", "virgin-none", "weekly", "no-plan", "perishable"],
)
def test_buffer_policies_are_the_same_on_arrays(over: dict, events: list) -> None:
    from tiny_net import build

    slag = [{"id": "slag"}] if "slag" in str(over) else []
    sc = build(over, horizon=40, events=events, extra_materials=slag)
    assert not problems(sc)
    a, b = _pair(sc, seed=0)
    assert_same_run(a, b)
    f = a.inputs_flow
    assert f["planned_t"].sum() > 0.0 or "notice" in str(events)


def test_catch_up_is_refused_on_arrays() -> None:
    from tiny_net import build

    sc = build({"contracts.c1.catch_up_t_per_day": 5.0})
    assert problems(sc) == ["contracts' catch-up terms (catch_up_t_per_day)"]
    assert engine_problems(_with_engine(sc, "arrays"), "f.toml") == [
        "f.toml: policy.engine: 'arrays' does not cover contracts' catch-up terms (catch_up_t_per_day); "
        "use 'auto' or 'objects'"
    ]


@pytest.mark.parametrize(
    "pattern",
    [
        {"kind": "seasonal", "monthly_factors": [1.5] * 6 + [0.5] * 6},
        {"kind": "seasonal", "amplitude": 0.8, "peak_day": 30.0},
        {"kind": "campaign", "on_days": 5, "off_days": 2},
    ],
    ids=["two-seasons", "sinusoid", "campaign"],
)
def test_seasonal_demand_is_the_same_on_arrays(pattern: dict) -> None:
    """An input's demand_pattern (issue 23): the requirement, the low season's buffer overflow
    and the high season's virgin purchases, with a second, critical input on a flat demand."""
    from tiny_net import build

    kiln = {"id": "kiln", "location": {"x_km": 3.0, "y_km": 4.0}, "outages": {"mtbf_days": 20.0, "mttr_days": 2.0},
            "inputs": [{"material": "stone", "demand_t_per_day": 4.0, "critical": True, "buffer_t": 8.0,
                        "demand_pattern": pattern, "substitutes": [{"material": "ash", "max_share": 0.5}]}]}
    extra = [{"id": "c2", "supplier": "sup", "buyer": "kiln", "material": "ash", "volume_t_per_day": 2.0}]
    sc = build({f"{STONE}.demand_pattern": pattern, f"{STONE}.buffer_t": 30.0,
                "facilities.sup.outputs.ash.rate_t_per_day": 12.0, "facilities.sup.outputs.ash.storage_t": 20.0,
                "facilities.sup.outages": {"mtbf_days": 30.0, "mttr_days": 3.0}},
               horizon=400, extra_facilities=[kiln], extra_contracts=extra)
    assert not problems(sc)
    for seed in (0, 1):
        a, b = _pair(sc, seed=seed)
        assert_same_run(a, b)
        assert a.inputs_flow["buffer_overflow_t"].sum() > 0.0
