"""Matching (issue 5, part 3): candidate exchanges, break-even distances, dewatering, network
formation by LP and greedy rules, redundancy, intermediary routing and the `match` command.

Random instances are small networks built from a seeded numpy generator; the LP is checked
against an exhaustive enumeration of the vertices of its own feasible polytope, with the
constraints written out here independently of sim.matching.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sim import network
from sim.logistics import Roads, dewatered_mass_t, road_km, straight_km
from sim.matching import (
    apply_redundancy,
    candidate_exchanges,
    contract_key,
    form_network,
    formed_price_per_t,
    solve_greedy,
    solve_system_optimal,
    total_value,
)
from sim.network import resolve_network
from sim.scenario import (
    Scenario,
    contract_input,
    cross_reference_problems,
    load_scenario,
    secondary_need_t_per_day,
)

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "scenarios").glob("*.toml"))


# --- random instances ------------------------------------------------------------------------


def random_raw(rng: np.random.Generator, n_sup: int, n_buy: int, n_sec: int = 2) -> dict[str, Any]:
    """Raw scenario data: `n_sup` suppliers of one secondary material each, `n_buy` buyers whose
    one input accepts one or two of the secondary materials."""
    sec = [f"w{k}" for k in range(n_sec)]
    materials: list[dict[str, Any]] = [
        {"id": m, "disposal_cost_per_t": float(rng.uniform(0, 60)), "moisture": 0.6} for m in sec
    ]
    materials += [{"id": f"v{k}", "virgin_price_per_t": float(rng.uniform(10, 200))} for k in range(2)]
    facilities: list[dict[str, Any]] = []
    for k in range(n_sup):
        out: dict[str, Any] = {"material": sec[k % n_sec], "rate_t_per_day": float(rng.uniform(1, 30))}
        if rng.random() < 0.3:
            out["preprocessing"] = {"target_moisture": 0.3, "cost_per_t": float(rng.uniform(0, 10))}
        facilities.append(
            {
                "id": f"s{k}",
                "location": {"x_km": float(rng.uniform(0, 100)), "y_km": float(rng.uniform(0, 100))},
                "outputs": [out],
            }
        )
    for k in range(n_buy):
        subs = list(rng.choice(sec, size=int(rng.integers(1, n_sec + 1)), replace=False))
        facilities.append(
            {
                "id": f"b{k}",
                "location": {"x_km": float(rng.uniform(0, 100)), "y_km": float(rng.uniform(0, 100))},
                "inputs": [
                    {
                        "material": f"v{k % 2}",
                        "demand_t_per_day": float(rng.uniform(1, 20)),
                        "substitutes": [
                            {
                                "material": str(m),
                                "ratio": float(rng.uniform(0.2, 1.5)),
                                "max_share": float(rng.uniform(0.2, 1.0)),
                                "processing_cost_per_t": float(rng.uniform(0, 20)),
                            }
                            for m in subs
                        ],
                    }
                ],
            }
        )
    return {
        "scenario": {"name": "random"},
        "transport": {
            "cost_per_tkm": float(rng.uniform(0.05, 1.0)),
            "cost_per_trip": float(rng.uniform(0, 50)),
            "truck_capacity_t": 25.0,
        },
        "materials": materials,
        "facilities": facilities,
    }


def random_scenario(seed: int, n_sup: int, n_buy: int) -> Scenario:
    return Scenario.model_validate(random_raw(np.random.default_rng(seed), n_sup, n_buy))


def lp_by_vertices(sc: Scenario) -> float:
    """The LP optimum by enumerating every vertex of the feasible polytope (constraints built
    here from the scenario, not from sim.matching)."""
    cands = [c for c in candidate_exchanges(sc) if c.net_value_per_t > 0]
    n = len(cands)
    if n == 0:
        return 0.0
    rows, rhs = [], []
    for f in sc.facilities:
        for o in f.outputs:
            rows.append([1.0 if (c.supplier, c.material) == (f.id, o.material) else 0.0 for c in cands])
            pre = o.preprocessing
            moisture = sc.material(o.material).moisture
            rhs.append(o.rate_t_per_day * (dewatered_mass_t(1, moisture, pre.target_moisture) if pre else 1))
        for i in f.inputs:
            mine = [(c.buyer, c.input) == (f.id, i.material) for c in cands]
            rows.append([c.ratio if m else 0.0 for c, m in zip(cands, mine, strict=True)])
            rhs.append(i.demand_t_per_day)
            for s in i.substitutes:
                rows.append([1.0 if m and c.material == s.material else 0.0 for c, m in zip(cands, mine, strict=True)])
                rhs.append(i.demand_t_per_day * s.max_share / s.ratio)
    a = np.vstack([np.array(rows), -np.eye(n)])
    b = np.concatenate([np.array(rhs), np.zeros(n)])
    value = np.array([c.net_value_per_t for c in cands])
    best = 0.0
    for active in itertools.combinations(range(len(b)), n):
        sub = a[list(active)]
        if abs(np.linalg.det(sub)) < 1e-12:
            continue
        x = np.linalg.solve(sub, b[list(active)])
        if np.all(a @ x <= b + 1e-7):
            best = max(best, float(value @ x))
    return best


def flow_value(flows: dict) -> float:
    return math.fsum(c.net_value_per_t * x for c, x in flows.items())


# --- break-even, components, dewatering ------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_break_even_distance_equals_the_formula_exactly(seed: int) -> None:
    sc = random_scenario(seed, 3, 3)
    tr = sc.transport
    for c in candidate_exchanges(sc):
        margin = c.avoided_disposal_per_t + c.avoided_procurement_per_t - c.processing_per_t - c.quality_assurance_per_t
        expected = (margin - tr.cost_per_trip / tr.truck_capacity_t) / tr.cost_per_tkm
        assert c.break_even_km == max(expected, 0.0)
        assert c.transport_per_t == tr.cost_per_tkm * c.distance_km + tr.cost_per_trip / tr.truck_capacity_t
        assert c.net_value_per_t == margin - c.transport_per_t
        if expected > 0:  # transport at the break-even distance is the margin
            at_be = tr.cost_per_tkm * c.break_even_km + tr.cost_per_trip / tr.truck_capacity_t
            assert math.isclose(at_be, margin, rel_tol=1e-12)
            assert (c.net_value_per_t > 0) == (c.distance_km < c.break_even_km)


def test_components_of_the_shipped_sludge_exchange_by_hand() -> None:
    sc = load_scenario(REPO / "scenarios" / "cement_fishery.toml")
    (c,) = candidate_exchanges(sc)
    f = 0.15 / 0.60  # 85 % -> 40 % moisture
    assert math.isclose(c.supply_t_per_day, 80 * f)
    assert math.isclose(c.max_take_t_per_day, 150 * 0.07 / 0.5)
    assert math.isclose(c.avoided_disposal_per_t, 70 / f)  # wet t not disposed per t of cake
    assert math.isclose(c.avoided_procurement_per_t, 22 * 0.5)
    assert math.isclose(c.processing_per_t, 5 + 5 / f)  # kiln's processing + the press per t of cake
    assert c.quality_assurance_per_t == 0.0
    assert math.isclose(c.distance_km, math.hypot(50, 20) * 1.3)  # about 70 km by road
    assert math.isclose(c.transport_per_t, 0.12 * c.distance_km + 20.0 / 25)
    assert c.category == "indirect"


@given(
    # Subnormal masses (below 2.2e-308 t) round to a neighbouring multiple of 5e-324, so the
    # relative bound cannot hold there; no plant ships them.
    wet=st.floats(0.0, 1e4, allow_subnormal=False),
    moisture=st.floats(0.01, 0.99),
    drop=st.floats(0.0, 1.0, exclude_max=True),
)
def test_dewatering_conserves_dry_matter(wet: float, moisture: float, drop: float) -> None:
    target = moisture * drop  # below the starting moisture
    after = dewatered_mass_t(wet, moisture, target)
    assert math.isclose(after * (1 - target), wet * (1 - moisture), rel_tol=1e-12, abs_tol=1e-12)
    assert after <= wet * (1 + 1e-12)


def test_dewatering_90_to_30_percent_as_in_the_design() -> None:
    assert math.isclose(dewatered_mass_t(1.0, 0.9, 0.3), 0.1 / 0.7)


def sludge_case(dewater: bool) -> Scenario:
    """Wet sludge (90 % water) 100 km from a buyer. The buyer's ratio is per t delivered, so a
    t of cake (1/f wet t) replaces 1/f times what a wet t replaces."""
    f = dewatered_mass_t(1.0, 0.9, 0.3)
    out: dict[str, Any] = {"material": "sludge", "rate_t_per_day": 10.0}
    if dewater:
        out["preprocessing"] = {"target_moisture": 0.3, "cost_per_t": 2.0}
    return Scenario.model_validate(
        {
            "scenario": {"name": "sludge"},
            "transport": {"cost_per_tkm": 0.2, "cost_per_trip": 0.0, "circuity": 1.0},
            "materials": [
                {"id": "sludge", "moisture": 0.9, "disposal_cost_per_t": 10.0},
                {"id": "clay", "virgin_price_per_t": 20.0},
            ],
            "facilities": [
                {"id": "src", "location": {"x_km": 0, "y_km": 0}, "outputs": [out]},
                {
                    "id": "kiln",
                    "location": {"x_km": 100, "y_km": 0},
                    "inputs": [
                        {
                            "material": "clay",
                            "demand_t_per_day": 10.0,
                            "substitutes": [{"material": "sludge", "ratio": 0.05 / f if dewater else 0.05}],
                        }
                    ],
                },
            ],
        }
    )


def test_preprocessing_turns_an_unviable_exchange_viable() -> None:
    (raw,) = candidate_exchanges(sludge_case(dewater=False))
    (cake,) = candidate_exchanges(sludge_case(dewater=True))
    # Raw: margin 10 + 1 = 11 per wet t, break-even 55 km < 100 km.
    assert math.isclose(raw.break_even_km, 55.0)
    assert raw.break_even_km < raw.distance_km and raw.net_value_per_t < 0
    # Cake: per t delivered 70 + 7 - 14 = 63, break-even 315 km > 100 km.
    assert math.isclose(cake.break_even_km, 315.0)
    assert cake.break_even_km > cake.distance_km and cake.net_value_per_t > 0
    # Same dry matter offered: 10 wet t/day either way.
    assert math.isclose(cake.supply_t_per_day * 0.7, raw.supply_t_per_day * 0.1)
    assert form_network(sludge_case(False), "system_optimal").contracts == []
    assert len(form_network(sludge_case(True), "system_optimal").contracts) == 1


def test_a_facility_never_supplies_itself() -> None:
    raw = random_raw(np.random.default_rng(3), 1, 1)
    raw["facilities"][1]["outputs"] = [{"material": "w0", "rate_t_per_day": 5.0}]
    raw["facilities"][1]["inputs"][0]["substitutes"] = [{"material": "w0"}]
    cands = candidate_exchanges(Scenario.model_validate(raw))
    assert all(c.supplier != c.buyer for c in cands)
    assert any(c.buyer == "b0" and c.supplier == "s0" for c in cands)


# --- formation -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(30))
def test_lp_optimum_is_never_below_greedy(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    sc = random_scenario(1000 + seed, int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    lp = flow_value(solve_system_optimal(sc))
    greedy = flow_value(solve_greedy(sc))
    assert lp >= greedy - 1e-7 * max(1.0, abs(lp))
    assert math.isclose(total_value(form_network(sc, "system_optimal")), lp, rel_tol=1e-12, abs_tol=1e-9)
    assert math.isclose(total_value(form_network(sc, "greedy")), greedy, rel_tol=1e-12, abs_tol=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_lp_optimum_equals_exhaustive_vertex_enumeration(seed: int) -> None:
    sc = random_scenario(2000 + seed, 2, 2)
    lp = flow_value(solve_system_optimal(sc))
    brute = lp_by_vertices(sc)
    assert math.isclose(lp, brute, rel_tol=1e-7, abs_tol=1e-7)


def test_greedy_is_strictly_worse_on_the_shipped_brewery() -> None:
    sc = load_scenario(REPO / "scenarios" / "brewery_farms.toml")
    lp, greedy = (total_value(form_network(sc, r)) for r in ("system_optimal", "greedy"))
    assert lp > greedy > 0


@pytest.mark.parametrize("rule", ["system_optimal", "greedy"])
def test_formation_returns_valid_scenarios_on_formation_terms(rule: str) -> None:
    scenarios = [load_scenario(p) for p in SHIPPED] + [random_scenario(3000 + s, 3, 4) for s in range(8)]
    for sc in scenarios:
        sc = sc.model_copy(
            update={
                "formation": sc.formation.model_copy(
                    update={"supplier_share": 0.3, "penalty_per_t_short": 7.0, "tolerance": 0.05, "settlement_days": 14}
                )
            }
        )
        formed = form_network(sc, rule)
        again = Scenario.model_validate(formed.model_dump())
        assert again == formed
        assert cross_reference_problems(again) == []
        by_key = {c.key: c for c in candidate_exchanges(sc)}
        for c in formed.contracts:
            cand = by_key[contract_key(formed, c)]
            assert c.id.startswith(f"{c.supplier}-{c.buyer}-{c.material}")
            assert c.volume_t_per_day > 0 and cand.net_value_per_t > 0
            assert (c.penalty_per_t_short, c.tolerance, c.settlement_days) == (7.0, 0.05, 14)
            assert c.transport_paid_by == "buyer" and c.role == "primary"
            # The supplier's gain per t delivered (price + avoided disposal - its preprocessing)
            # is its share of the net value.
            gain = c.price_per_t + cand.avoided_disposal_per_t - cand.preprocessing_per_t
            assert math.isclose(gain, 0.3 * cand.net_value_per_t, rel_tol=1e-9, abs_tol=1e-9)
            assert c.price_per_t == formed_price_per_t(sc, cand)


# --- redundancy ------------------------------------------------------------------------------


def sources(sc: Scenario) -> dict[tuple[str, str], list]:
    out: dict[tuple[str, str], list] = {}
    for c in sc.contracts:
        if c.enabled:
            out.setdefault((c.buyer, contract_input(sc, c).material), []).append(c)
    return out


@pytest.mark.parametrize("k", [1, 2, 3])
def test_redundancy_gives_each_input_min_k_candidates_sources(k: int) -> None:
    base = [load_scenario(p) for p in SHIPPED] + [random_scenario(4000 + s, 4, 3) for s in range(6)]
    scenarios = base + [form_network(sc, "system_optimal") for sc in base[3:]]
    for sc in scenarios:
        sc = sc.model_copy(
            update={
                "formation": sc.formation.model_copy(
                    update={"backup_standby_fee_per_day": 3.0, "backup_activation_lead_time_days": 2.0}
                )
            }
        )
        red = apply_redundancy(sc, k)
        assert Scenario.model_validate(red.model_dump()) == red
        assert cross_reference_problems(red) == []
        cands = candidate_exchanges(sc)
        have = sources(red)
        for f in sc.facilities:
            for i in f.inputs:
                if not i.substitutes:
                    continue
                streams = {c.stream for c in cands if (c.buyer, c.input) == (f.id, i.material)}
                assert len(have.get((f.id, i.material), [])) == min(k, len(streams)), (f.id, k)
        old = {c.id for c in sc.contracts}
        by_key = {c.key: c for c in cands}
        for c in red.contracts:
            if c.id in old:
                continue
            cand = by_key[contract_key(red, c)]
            assert c.role == "backup" and c.enabled
            assert (c.standby_fee_per_day, c.activation_lead_time_days) == (3.0, 2.0)
            assert c.price_per_t == formed_price_per_t(sc, cand)
            inp = contract_input(red, c)
            assert math.isclose(
                c.volume_t_per_day,
                min(secondary_need_t_per_day(inp), cand.supply_t_per_day, cand.max_take_t_per_day),
            )


def test_redundancy_keeps_the_best_primaries_and_disables_the_rest() -> None:
    sc = load_scenario(REPO / "scenarios" / "brewery_farms.toml")
    red = apply_redundancy(sc, 1)
    enabled = {c.id: c.enabled for c in red.contracts}
    # farm_south: its primary grain-south stays, the backup is switched off.
    assert enabled == {"grain-north": True, "grain-east": True, "grain-south": True, "grain-south-backup": False}
    red2 = apply_redundancy(sc, 2)
    added = [c for c in red2.contracts if c.id not in enabled]
    assert {(c.supplier, c.buyer) for c in added} == {("craft_brewery", "farm_north"), ("craft_brewery", "farm_east")}


# --- resolve_network -------------------------------------------------------------------------


def with_hub(sc: Scenario, enabled: bool = True, **policy: Any) -> Scenario:
    raw = sc.model_dump()
    raw["intermediary"] = {
        "id": "hub",
        "location": {"x_km": 5.0, "y_km": -10.0},
        "storage_t": 50.0,
        "test_cost_per_t": 1.5,
        "enabled": enabled,
    }
    raw["contracts"][0]["via_intermediary"] = True
    raw["policy"] = {**raw["policy"], **policy}
    return Scenario.model_validate(raw)


def test_resolve_network_routes_by_policy_intermediary() -> None:
    sc = load_scenario(REPO / "scenarios" / "brewery_farms.toml")
    listed = [c.via_intermediary for c in with_hub(sc).contracts]
    assert listed == [True, False, False, False]
    assert [c.via_intermediary for c in resolve_network(with_hub(sc)).contracts] == listed
    assert all(c.via_intermediary for c in resolve_network(with_hub(sc, intermediary=True)).contracts)
    assert not any(c.via_intermediary for c in resolve_network(with_hub(sc, intermediary=False)).contracts)
    # A disabled intermediary routes nothing, whatever the contracts list, until the
    # policy lever switches it on.
    off = with_hub(sc, enabled=False)
    assert not any(c.via_intermediary for c in resolve_network(off).contracts)
    switched_on = with_hub(sc, enabled=False, intermediary=True)
    assert all(c.via_intermediary for c in resolve_network(switched_on).contracts)
    absent = with_hub(sc).model_copy(update={"intermediary": None})
    assert not any(c.via_intermediary for c in resolve_network(absent).contracts)


def test_routed_exchanges_carry_the_intermediary_test_cost() -> None:
    sc = load_scenario(REPO / "scenarios" / "brewery_farms.toml")
    qa = {(c.supplier, c.buyer): c.quality_assurance_per_t for c in candidate_exchanges(with_hub(sc))}
    assert qa[("brewery", "farm_north")] == 1.5 and qa[("brewery", "farm_east")] == 0.0
    assert all(c.quality_assurance_per_t == 1.5 for c in candidate_exchanges(with_hub(sc, intermediary=True)))
    assert all(c.quality_assurance_per_t == 0.0 for c in candidate_exchanges(with_hub(sc, False, intermediary=True)))


def test_resolve_network_forms_adds_redundancy_then_applies_policy() -> None:
    sc = load_scenario(REPO / "scenarios" / "brewery_farms.toml")
    raw = sc.model_dump()
    raw["formation"]["rule"] = "greedy"
    raw["policy"].update(redundancy=2, penalty_per_t_short=9.0, buffer_days=2.0)
    sc2 = Scenario.model_validate(raw)
    net = resolve_network(sc2)
    assert net == resolve_network(Scenario.model_validate(raw))  # deterministic: formed again, the same
    assert {c.id for c in net.contracts if c.role == "primary"} == {c.id for c in form_network(sc2, "greedy").contracts}
    assert any(c.role == "backup" for c in net.contracts)
    assert all(c.penalty_per_t_short == 9.0 for c in net.contracts)
    north = next(i for i in net.facility("farm_north").inputs)
    assert math.isclose(north.buffer_t, 2.0 * secondary_need_t_per_day(north))
    assert cross_reference_problems(net) == []


def test_resolve_network_keeps_what_it_made_per_scenario_object() -> None:
    """A worker builds every replication of a design point from one scenario object: the
    network is formed once for it, and a different object (even an equal one) gets its own."""
    raw = load_scenario(REPO / "scenarios" / "brewery_farms.toml").model_dump()
    raw["formation"]["rule"] = "system_optimal"
    raw["policy"]["redundancy"] = 2
    sc = Scenario.model_validate(raw)
    net = resolve_network(sc)
    assert resolve_network(sc) is net
    twin = Scenario.model_validate(raw)
    assert resolve_network(twin) is not net and resolve_network(twin) == net
    # more scenario objects than are kept: the first is made again, to the same network
    others = [Scenario.model_validate(raw) for _ in range(network._KEEP + 1)]
    for other in others:
        resolve_network(other)
    again = resolve_network(sc)
    assert again is not net and again == net
    # an explicit network without redundancy is not kept (resolving it is quick)
    plain = load_scenario(REPO / "scenarios" / "brewery_farms.toml")
    assert plain.formation.rule == "explicit" and plain.policy.redundancy is None
    resolve_network(plain)
    assert all(kept is not plain for kept, _ in network._MADE.values())


def test_roads_explicit_distances_either_way_else_circuity_times_straight() -> None:
    raw = load_scenario(REPO / "scenarios" / "brewery_farms.toml").model_dump()
    ids = [f["id"] for f in raw["facilities"]]
    a, b, c = ids[:3]
    raw["transport"]["circuity"] = 1.3
    raw["transport"]["distances"] = [{"a": b, "b": a, "km": 99.0}, {"a": a, "b": b, "km": 7.0}]
    with pytest.raises(ValidationError, match=f"{a}-{b} given twice, 99.0 and 7.0 km"):
        Scenario.model_validate(raw)  # one road per pair: the two directions must agree
    raw["transport"]["distances"] = [{"a": b, "b": a, "km": 7.0}, {"a": a, "b": b, "km": 7.0}]
    sc = Scenario.model_validate(raw)
    roads = Roads(sc)
    loc = {f.id: f.location for f in sc.facilities}
    assert roads.km(a, b) == roads.km(b, a) == 7.0  # either direction
    assert roads.km(a, c) == straight_km(loc[a], loc[c]) * 1.3
    for x, y in itertools.product(ids, ids):
        assert roads.km(x, y) == road_km(sc, x, y)


# --- the match command -----------------------------------------------------------------------


def match(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run_experiments.py", "match", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_match_runs_on_every_shipped_scenario(path: Path, tmp_path: Path) -> None:
    proc = match(str(path.relative_to(REPO)), "--rule", "system_optimal", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "break-even km" in proc.stdout and "total net value" in proc.stdout
    assert (tmp_path / "candidates.csv").stat().st_size > 0
    assert (tmp_path / "network_map.png").stat().st_size > 0


def test_match_other_rules_and_a_bad_file() -> None:
    for rule in ("greedy", "explicit"):
        assert match("scenarios/brewery_farms.toml", "--rule", rule).returncode == 0
    proc = match("tests/data/bad/03_undefined_facility.toml")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.strip()
