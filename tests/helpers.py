"""Scenario builders shared by the model tests (plain dicts, validated by parse_scenario)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from sim.scenario import Scenario, parse_scenario


def mix_units(seed: int, materials: list[dict[str, Any]], secondary: list[str]) -> None:
    """Half the seeds give the materials units other than t, where that is valid: the
    `secondary` materials (any input may accept several) share one unit, every other material
    draws its own, and every substitute's ratio is written. Drawn from a generator of its own,
    so the rest of the network is the same as without units."""
    rng = np.random.default_rng([seed, 19])
    if rng.random() < 0.5:
        return
    common = str(rng.choice(["t", "m3", "MWh"]))
    for m in materials:
        m["unit"] = common if m["id"] in secondary else str(rng.choice(["t", "m3", "MWh"]))


def energy_by_pipe(materials: list[dict[str, Any]], contracts: list[dict[str, Any]]) -> None:
    """A contract of a material in MWh becomes a direct pipe (energy does not go by truck;
    validation refuses it), with the pipe cost it already had or none."""
    energy = {m["id"] for m in materials if m.get("unit") == "MWh"}
    for c in contracts:
        if c["material"] in energy and c.get("mode") != "pipe":
            c["mode"] = "pipe"
            c.pop("via_intermediary", None)


def random_scenario(seed: int, horizon_days: int = 365) -> Scenario:
    """A random valid network: 1-3 suppliers, 1-3 buyers, random terms and mechanisms; half
    the seeds mix units (:func:`mix_units`).

    Built from a numpy Generator so that a failing seed reproduces exactly.
    """
    rng = np.random.default_rng(seed)
    n_sup, n_buy = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    mats = [
        {
            "id": "ash",
            "shelf_life_days": None,
            "disposal_cost_per_t": float(rng.uniform(0, 60)),
            "quality": {"cl": 0.05},
        },
        {
            "id": "sludge",
            "moisture": 0.8,
            "shelf_life_days": float(rng.integers(2, 10)),
            "disposal_cost_per_t": float(rng.uniform(0, 60)),
        },
        {"id": "stone", "virgin_price_per_t": float(rng.uniform(5, 200)), "co2e_t_per_t": 0.1},
    ]
    for m in mats:
        if m.get("shelf_life_days") is None:
            m.pop("shelf_life_days", None)
    facilities: list[dict[str, Any]] = []
    for k in range(n_sup):
        out = {
            "material": str(rng.choice(["ash", "sludge"])),
            "rate_t_per_day": float(rng.uniform(1, 30)),
            "variability": {
                "dist": str(rng.choice(["gamma", "lognormal", "truncnormal"])),
                "cv": float(rng.uniform(0.05, 0.6)),
            },
            "storage_t": float(rng.uniform(0, 100)),
        }
        pattern = rng.integers(0, 4)
        if pattern == 1:
            out["pattern"] = {"kind": "batch", "every_days": int(rng.integers(2, 8))}
        elif pattern == 2:
            out["pattern"] = {
                "kind": "campaign",
                "on_days": int(rng.integers(2, 30)),
                "off_days": int(rng.integers(0, 10)),
            }
        elif pattern == 3:
            out["pattern"] = {"kind": "seasonal", "amplitude": float(rng.uniform(0, 0.9))}
        if out["material"] == "ash":
            out["quality"] = {"cl": {"mean": 0.05, "sd": float(rng.uniform(0, 0.03))}}
        if out["material"] == "sludge" and rng.random() < 0.5:
            out["preprocessing"] = {
                "target_moisture": float(rng.uniform(0.3, 0.7)),
                "cost_per_t": float(rng.uniform(0, 10)),
            }
        law = str(rng.choice(["exponential", "weibull", "lognormal", "fixed"]))
        outages: dict[str, Any] = {
            "mtbf_days": float(rng.uniform(10, 200)),
            "mttr_days": float(rng.uniform(0.2, 15)),
            "repair": law,
        }
        if law == "weibull":
            outages["repair_shape"] = float(rng.uniform(0.5, 3))
        if law == "lognormal":
            outages["repair_cv"] = float(rng.uniform(0.2, 2))
        if rng.random() < 0.3:
            outages["maintenance"] = [
                {
                    "start_day": float(rng.uniform(0, 200)),
                    "duration_days": float(rng.uniform(1, 10)),
                    "every_days": 120.0,
                }
            ]
        if rng.random() < 0.2:
            outages["closure_hazard_per_year"] = float(rng.uniform(0, 1))
        facilities.append(
            {
                "id": f"s{k}",
                "location": {"x_km": float(rng.uniform(0, 80)), "y_km": float(rng.uniform(0, 80))},
                "outages": outages,
                "outputs": [out],
            }
        )
    for k in range(n_buy):
        demand = float(rng.uniform(1, 30))
        inp: dict[str, Any] = {
            "material": "stone",
            "demand_t_per_day": demand,
            "buffer_t": float(rng.uniform(0, 5 * demand)),
            "substitutes": [
                {
                    "material": "ash",
                    "ratio": float(rng.uniform(0.3, 1.2)),
                    "max_share": float(rng.uniform(0, 1)),
                    "processing_cost_per_t": float(rng.uniform(0, 5)),
                    "quality_limits": {"cl": {"max": float(rng.uniform(0.04, 0.2))}},
                },
                {
                    "material": "sludge",
                    "ratio": float(rng.uniform(0.1, 0.5)),
                    "max_share": float(rng.uniform(0, 1)),
                },
            ],
            "lost_margin_per_t": float(rng.uniform(0, 100)),
            "critical": bool(rng.random() < 0.4),
        }
        kind = rng.integers(0, 3)
        if kind == 1:
            s = float(rng.uniform(0, 5 * demand))
            inp["virgin"] = "stockpile"
            inp["stockpile"] = {
                "capacity_t": s + 10 * demand,
                "reorder_point_t": s,
                "order_up_to_t": s + float(rng.uniform(1, 10)) * demand,
                "lead_time_days": float(rng.uniform(0, 6)),
            }
        elif kind == 2:
            inp["virgin"] = "none"
        if kind and rng.random() < 0.6:
            inp["emergency"] = {
                "premium": float(rng.uniform(0, 1)),
                "lead_time_days": float(rng.uniform(0, 4)),
            }
        fac: dict[str, Any] = {
            "id": f"b{k}",
            "location": {"x_km": float(rng.uniform(0, 80)), "y_km": float(rng.uniform(0, 80))},
            "inputs": [inp],
        }
        if rng.random() < 0.5:
            fac["outages"] = {
                "mtbf_days": float(rng.uniform(20, 300)),
                "mttr_days": float(rng.uniform(0.5, 5)),
            }
        facilities.append(fac)
    contracts = []
    for k in range(int(rng.integers(1, 2 * (n_sup + n_buy)))):
        sup = facilities[int(rng.integers(0, n_sup))]
        buy = facilities[n_sup + int(rng.integers(0, n_buy))]
        c: dict[str, Any] = {
            "id": f"c{k}",
            "supplier": sup["id"],
            "buyer": buy["id"],
            "material": sup["outputs"][0]["material"],
            "volume_t_per_day": float(rng.uniform(0.5, 20)),
            "delivery_interval_days": int(rng.integers(1, 8)),
            "price_per_t": float(rng.uniform(-20, 40)),
            "transport_paid_by": str(rng.choice(["buyer", "supplier"])),
            "penalty_per_t_short": float(rng.uniform(0, 100)),
            "tolerance": float(rng.uniform(0, 0.3)),
            "force_majeure": bool(rng.random() < 0.5),
            "settlement_days": int(rng.integers(1, 90)),
            "start_day": int(rng.integers(0, 30)),
            "priority": int(rng.integers(0, 3)),
        }
        if rng.random() < 0.3:
            c["penalty_cap_per_period"] = float(rng.uniform(0, 500))
        if c["price_per_t"] > 0 and rng.random() < 0.4:
            c["take_or_pay"] = float(rng.uniform(0.5, 1))
        if rng.random() < 0.3:
            c["role"] = "backup"
            c["standby_fee_per_day"] = float(rng.uniform(0, 20))
            c["activation_lead_time_days"] = float(rng.uniform(0, 5))
        contracts.append(c)
    events = []
    if rng.random() < 0.3:
        events.append(
            {
                "day": float(rng.uniform(0, horizon_days - 1)),
                "kind": "notice",
                "contract": contracts[0]["id"],
                "party": "buyer",
            }
        )
    if rng.random() < 0.3:
        events.append(
            {
                "day": float(rng.uniform(0, horizon_days - 1)),
                "kind": "outage",
                "facility": "s0",
                "duration_days": float(rng.uniform(1, 30)),
            }
        )
    intermediary = None
    if rng.random() < 0.5:
        intermediary = {
            "location": {"x_km": float(rng.uniform(0, 80)), "y_km": float(rng.uniform(0, 80))},
            "storage_t": float(rng.uniform(0, 200)),
            "fee_per_t": float(rng.uniform(0, 10)),
            "holding_cost_per_t_day": float(rng.uniform(0, 1)),
            "test_cost_per_t": float(rng.uniform(0, 2)),
            "detection_probability": float(rng.uniform(0, 1)),
            "blending": bool(rng.random() < 0.5),
            "backhaul_discount": float(rng.uniform(0, 0.5)),
            "reallocation": str(rng.choice(["pro_rata", "penalty_exposure", "criticality"])),
            "disposal_cost_per_t": float(rng.uniform(0, 50)),
        }
        if rng.random() < 0.5:
            intermediary["emergency_premium"] = float(rng.uniform(0, 1))
            intermediary["emergency_lead_time_days"] = float(rng.uniform(0, 3))
        for c in contracts:
            c["via_intermediary"] = bool(rng.random() < 0.7)
    _some_pipes(seed, contracts)
    raw = {
        "scenario": {"name": f"random-{seed}", "horizon_days": horizon_days},
        "transport": {
            "cost_per_tkm": float(rng.uniform(0.05, 0.3)),
            "cost_per_trip": float(rng.uniform(0, 50)),
            "speed_km_per_day": float(rng.uniform(20, 500)),
        },
        "materials": mats,
        "facilities": facilities,
        "contracts": contracts,
        "events": events,
        "policy": {"allocation": str(rng.choice(["pro_rata", "priority"]))},
    }
    if intermediary is not None:
        raw["intermediary"] = intermediary
    mix_units(seed, mats, ["ash", "sludge"])
    energy_by_pipe(mats, contracts)
    if rng.random() < 0.5:
        raw["behaviour"] = {
            "trust_initial": float(rng.uniform(0.2, 1)),
            "trust_learning_rate": float(rng.uniform(0, 1)),
            "dispute_trust_loss": float(rng.uniform(0, 0.5)),
            "exit_trust_threshold": float(rng.uniform(0, 0.6)),
            "review_periods": int(rng.integers(1, 4)),
            "formation_interval_days": int(rng.integers(5, 90)),
            "discovery_probability": float(rng.uniform(0, 1)),
            "risk_aversion": float(rng.uniform(0, 3)),
            "buffer_step_days": float(rng.uniform(0, 5)),
            "buffer_budget_days": float(rng.uniform(0, 15)),
            "cascade_closure_days": float(rng.uniform(1, 20)) if rng.random() < 0.5 else None,
        }
        if raw["behaviour"]["cascade_closure_days"] is None:
            del raw["behaviour"]["cascade_closure_days"]
        for c in contracts:
            if rng.random() < 0.3:
                c["min_term_days"] = int(rng.integers(10, 120))
    add_stock_terms(raw, seed)
    return parse_scenario(copy.deepcopy(raw), f"random-{seed}")


def _some_pipes(seed: int, contracts: list[dict[str, Any]]) -> None:
    """Make about a quarter of the contracts pipes (a cost per unit, half of them with a
    capacity that may bind), direct ones only. Drawn from a generator of their own, so that
    the rest of a seed's network is what it was before contracts had modes."""
    rng = np.random.default_rng([seed, 19])
    for c in contracts:
        if rng.random() >= 0.25:
            continue
        c["mode"] = "pipe"
        c["pipe_cost_per_t"] = float(rng.uniform(0, 5))
        if rng.random() < 0.5:
            c["pipe_capacity_t_per_day"] = float(c["volume_t_per_day"] * rng.uniform(0.5, 1.5))
        c.pop("via_intermediary", None)


def add_stock_terms(raw: dict[str, Any], seed: int) -> None:
    """Holding costs (per material, overridden per store) and opening stocks of source storage
    and the intermediary's pool, drawn from a generator of their own so that the rest of a
    seed's network stays as it was before these terms existed."""
    rng = np.random.default_rng([seed, 19, 5])
    for m in raw["materials"]:
        if rng.random() < 0.5:
            m["holding_cost_per_t_day"] = float(rng.uniform(0, 2))
    for fac in raw["facilities"]:
        for out in fac.get("outputs", []):
            if rng.random() < 0.3:
                out["holding_cost_per_t_day"] = float(rng.uniform(0, 2)) * (rng.random() < 0.8)
            if rng.random() < 0.4:
                out["initial_t"] = float(rng.uniform(0, out.get("storage_t", 0.0)))
        for inp in fac.get("inputs", []):
            if rng.random() < 0.3:
                inp["buffer_holding_cost_per_t_day"] = float(rng.uniform(0, 2))
            if "stockpile" in inp and rng.random() < 0.5:
                inp["stockpile"]["holding_cost_per_t_day"] = float(rng.uniform(0, 1))
    hub = raw.get("intermediary")
    if hub is not None and raw["contracts"] and rng.random() < 0.5:
        material = raw["contracts"][int(rng.integers(0, len(raw["contracts"])))]["material"]
        hub["initial_t"] = {material: float(rng.uniform(0, hub["storage_t"]))}


def random_direct_scenario(seed: int, horizon_days: int = 240) -> Scenario:
    """A random network of direct contracts that the array day covers (sim/arrayday.py):
    6-14 suppliers with one or two streams, 6-14 buyers with one or two inputs of up to three
    substitutes, and many contracts per stream, so that both the engine's vector steps (more
    than SCALAR_MAX stores at once) and its one-by-one steps run. Every other term varies:
    shelf lives, storage, dewatering, patterns, outages and maintenance, gate fees, intervals,
    start days, settlement periods, penalties with tolerance, caps and force majeure,
    take-or-pay, priorities and the allocation rule, virgin market or none, warm-up, and on half
    the seeds units other than t (:func:`mix_units`)."""
    rng = np.random.default_rng(seed)
    u = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    wastes = ["ash", "slag", "grain", "sludge"]
    virgins = ["stone", "feed"]
    materials: list[dict[str, Any]] = []
    for w in wastes:
        m: dict[str, Any] = {"id": w, "disposal_cost_per_t": u(0, 60)}
        if rng.random() < 0.6:
            m["shelf_life_days"] = float(rng.integers(2, 12))
        if rng.random() < 0.4:
            m["moisture"] = u(0.3, 0.85)
        if rng.random() < 0.3:
            m["quality"] = {"cl": u(0.01, 0.1)}  # carried by lots; no contract tests it
        materials.append(m)
    materials += [{"id": v, "virgin_price_per_t": u(5, 200)} for v in virgins]
    facilities: list[dict[str, Any]] = []
    n_sup, n_buy = int(rng.integers(6, 15)), int(rng.integers(6, 15))
    for k in range(n_sup):
        outs = []
        for w in rng.choice(wastes, size=int(rng.integers(1, 3)), replace=False).tolist():
            out: dict[str, Any] = {
                "material": w,
                "rate_t_per_day": u(1, 40),
                "variability": {"dist": str(rng.choice(["gamma", "lognormal", "truncnormal"])), "cv": u(0.05, 0.6)},
                "storage_t": u(0, 120),
            }
            kind = int(rng.integers(0, 4))
            if kind == 1:
                out["pattern"] = {"kind": "batch", "every_days": int(rng.integers(2, 8))}
            elif kind == 2:
                out["pattern"] = {
                    "kind": "campaign",
                    "on_days": int(rng.integers(2, 30)),
                    "off_days": int(rng.integers(0, 10)),
                }
            elif kind == 3:
                out["pattern"] = {"kind": "seasonal", "amplitude": u(0, 0.9)}
            if rng.random() < 0.3:
                out["shelf_life_days"] = float(rng.integers(1, 15))
            if rng.random() < 0.3:
                out["disposal_cost_per_t"] = u(0, 80)
            if next(m for m in materials if m["id"] == w).get("moisture", 0.0) > 0.0 and rng.random() < 0.5:
                out["preprocessing"] = {"target_moisture": u(0.1, 0.3), "cost_per_t": u(0, 10)}
            outs.append(out)
        fac: dict[str, Any] = {"id": f"s{k}", "location": {"x_km": u(0, 150), "y_km": u(0, 150)}, "outputs": outs}
        if rng.random() < 0.8:
            outages: dict[str, Any] = {
                "mtbf_days": u(10, 150),
                "mttr_days": u(0.2, 10),
                "repair": str(rng.choice(["exponential", "weibull", "lognormal", "fixed"])),
            }
            if outages["repair"] == "weibull":
                outages["repair_shape"] = u(0.5, 3)
            if outages["repair"] == "lognormal":
                outages["repair_cv"] = u(0.2, 2)
            if rng.random() < 0.3:
                outages["maintenance"] = [{"start_day": u(0, 100), "duration_days": u(1, 10), "every_days": 90.0}]
            fac["outages"] = outages
        facilities.append(fac)
    for k in range(n_buy):
        inputs = []
        for v in rng.choice(virgins, size=int(rng.integers(1, 3)), replace=False).tolist():
            demand = u(1, 30)
            inp: dict[str, Any] = {
                "material": v,
                "demand_t_per_day": demand,
                "buffer_t": u(0, 6 * demand),
                "substitutes": [
                    {
                        "material": w,
                        "ratio": u(0.2, 1.5),
                        "max_share": u(0.05, 1),
                        "processing_cost_per_t": u(0, 5) * (rng.random() < 0.7),
                    }
                    for w in rng.choice(wastes, size=int(rng.integers(1, 4)), replace=False).tolist()
                ],
                "lost_margin_per_t": u(0, 100),
            }
            if rng.random() < 0.3:
                inp["initial_buffer_t"] = u(0, inp["buffer_t"])
            if rng.random() < 0.25:
                inp["virgin"] = "none"
            inputs.append(inp)
        fac = {"id": f"b{k}", "location": {"x_km": u(0, 150), "y_km": u(0, 150)}, "inputs": inputs}
        if rng.random() < 0.5:
            fac["outages"] = {"mtbf_days": u(20, 300), "mttr_days": u(0.5, 5)}
        facilities.append(fac)
    contracts = []
    for sup in facilities[:n_sup]:
        for out in sup["outputs"]:
            takers = [
                (buy, inp)
                for buy in facilities[n_sup:]
                for inp in buy["inputs"]
                if any(s["material"] == out["material"] for s in inp["substitutes"])
            ]
            for buy, inp in takers:
                if rng.random() > 0.7:
                    continue
                c: dict[str, Any] = {
                    "id": f"c{len(contracts)}",
                    "supplier": sup["id"],
                    "buyer": buy["id"],
                    "material": out["material"],
                    "input": inp["material"],
                    "volume_t_per_day": u(0.5, 12),
                    "delivery_interval_days": int(rng.choice([1, 1, 1, 2, 3, 7])),
                    "price_per_t": u(-25, 50),
                    "transport_paid_by": str(rng.choice(["buyer", "supplier"])),
                    "penalty_per_t_short": u(0, 100),
                    "tolerance": u(0, 0.3),
                    "force_majeure": bool(rng.random() < 0.5),
                    "settlement_days": int(rng.integers(1, 90)),
                    "start_day": int(rng.integers(0, 40)) * (rng.random() < 0.4),
                    "priority": int(rng.integers(0, 3)),
                }
                if rng.random() < 0.3:
                    c["penalty_cap_per_period"] = u(0, 500)
                if c["price_per_t"] > 0 and rng.random() < 0.4:
                    c["take_or_pay"] = u(0.5, 1)
                if rng.random() < 0.2:
                    c["distance_km"] = u(5, 900)
                contracts.append(c)
    raw = {
        "scenario": {
            "name": f"random direct {seed}",
            "horizon_days": horizon_days,
            "warmup_days": int(rng.integers(0, 30)),
        },
        "transport": {"cost_per_tkm": u(0.05, 0.2), "cost_per_trip": u(0, 80), "truck_capacity_t": u(5, 30)},
        "materials": materials,
        "facilities": facilities,
        "contracts": contracts,
        "policy": {"allocation": str(rng.choice(["pro_rata", "priority"]))},
    }
    mix_units(seed, materials, wastes)
    energy_by_pipe(materials, contracts)
    add_stock_terms(raw, seed)
    return parse_scenario(raw, f"<random direct {seed}>")


def child_processes(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc): a study's pool, a pool's workers."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out
