"""Synthetic regions: many facilities from sector recipes, for scaling studies and calibration.

:func:`generate_region` places `n_facilities` plants of a sector mix in a geography, gives each
the outputs and inputs of its sector recipe (rates, disposal costs and prices drawn in the ranges
of the data reference, tags [S]/[E] below), and forms the contract network with
:func:`sim.matching.form_network` (`system_optimal`: the linear program over every candidate
exchange). Everything is drawn from one ``numpy.random.Generator`` seeded by `seed`, in a fixed
order, so the same arguments give the same region.

    python -m sim.synthetic 100 --seed 7 --out region.toml

writes the region as a scenario file (formation `explicit`, with the formed contracts listed,
so the file runs as it is; `policy.redundancy` and `policy.intermediary` still work on it).

Sources of the ranges (evidence tags as in the scenario files):
  coal-ash disposal $3-50/t [S] ACAA via http://www.smartash.info/?q=node/54 ;
  cement-quality fly ash $40-60/t [S] ACAA; crude gypsum $7.5-12/t f.o.b. [S] USGS MCS;
  crushed stone about $14/t [S/E] USGS 2022; brewer's spent grain 80-85 % moisture, 7-10 days
  shelf life [S] biomket.com / Ben-Hamed et al. 2011; UK landfill tax GBP 126.15/t standard,
  GBP 4.05/t inert (2025) [S]; sludge gate fee GBP 60-150/t [S, porvoo blog]; road freight
  EUR 1.10-1.90 per truck-km, i.e. EUR 0.09-0.15 per t-km delivered [S/E]
  https://co3.io/news/road-freight-cost-per-km-europe ; NISP median synergy distance 33 km
  (Jensen et al. 2011, RCR 55(7):703-712) [S], the calibration target of
  analysis/nisp_distance.py.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.matching import _unique_id, candidate_exchanges, formed_contract, solve_system_optimal
from sim.scenario import Scenario, parse_scenario

# --- materials: (virgin price range, disposal cost range, moisture, shelf life), EUR per t ------
# Ranges are drawn once per region (a material's market price) or per stream (disposal route).
MATERIALS: dict[str, dict[str, Any]] = {
    "fly_ash": {"disposal": (3.0, 46.0)},  # [S] $3-50/t (ACAA) at 0.92 EUR/USD
    "fgd_gypsum": {"disposal": (3.0, 46.0), "moisture": 0.10},  # [S] as coal ash; [M] 10 % moisture
    # [E] gate fee; [S] 80-85 % moisture, 7-10 days shelf life
    "spent_grain": {"disposal": (20.0, 70.0), "moisture": 0.80, "shelf_life_days": 7.0},
    # [S] UK landfill tax GBP 126/t is the top; [E] AD gate fees below
    "food_residue": {"disposal": (60.0, 150.0), "moisture": 0.75, "shelf_life_days": 5.0},
    # [E] paper-mill lime mud to landfill
    "lime_sludge": {"disposal": (20.0, 80.0), "moisture": 0.45, "shelf_life_days": 60.0},
    "pozzolan": {"virgin": (37.0, 55.0)},  # [S] cement-quality fly ash $40-60/t
    "gypsum": {"virgin": (20.0, 35.0)},  # [E] crude gypsum $7.5-12/t f.o.b. [S] + freight
    "feed": {"virgin": (150.0, 300.0)},  # [E] compound feed, dry basis
    "limestone": {"virgin": (13.0, 22.0)},  # [S/E] crushed stone about $14/t + high-calcium premium
}

# --- sector recipes --------------------------------------------------------------------------
# outputs: material -> rate range t/day; inputs: material -> (demand range t/day, substitutes
# [(material, ratio, max_share, processing cost per t)]); outages: (mtbf range, mttr range) days.
SECTORS: dict[str, dict[str, Any]] = {
    "power": {
        "outputs": {"fly_ash": (100.0, 600.0), "fgd_gypsum": (50.0, 400.0)},  # [E] 50 t/h ash at Asnaes [S] is the top
        "inputs": {},
        "outages": ((60.0, 180.0), (2.0, 5.0)),  # [E]
    },
    "cement": {
        "outputs": {},
        "inputs": {
            "pozzolan": ((300.0, 1500.0), [("fly_ash", 1.0, 0.5, 0.0)]),  # [E] up to half the SCM as ash
            # [S] 0-50 % lime sludge gave OPC clinker; [E] 10 % here
            "limestone": ((100.0, 300.0), [("lime_sludge", 0.5, 0.1, 5.0)]),
        },
        "outages": ((30.0, 60.0), (1.0, 3.0)),  # [E] kiln stops about 8 times a year [M]
    },
    "plasterboard": {
        "outputs": {},
        "inputs": {"gypsum": ((150.0, 500.0), [("fgd_gypsum", 1.0, 1.0, 2.0)])},  # [S] plants run 100 % on FGD
        "outages": ((100.0, 200.0), (1.0, 3.0)),  # [E]
    },
    "brewery": {
        "outputs": {"spent_grain": (5.0, 60.0)},  # [S] 20-22 kg BSG per hL; 5-60 t/day = 0.1-1 M hL/yr [E]
        "inputs": {},
        "outages": ((90.0, 200.0), (1.0, 4.0)),  # [E]
    },
    "food": {
        "outputs": {"food_residue": (5.0, 40.0)},  # [E]
        "inputs": {},
        "outages": ((60.0, 150.0), (1.0, 3.0)),  # [E]
    },
    "paper": {
        "outputs": {"lime_sludge": (20.0, 100.0)},  # [E] lime mud of a kraft mill
        "inputs": {},
        "outages": ((60.0, 150.0), (2.0, 5.0)),  # [E]
    },
    "farm": {
        "outputs": {},
        "inputs": {
            "feed": ((2.0, 15.0), [("spent_grain", 0.22, 0.3, 0.0), ("food_residue", 0.2, 0.2, 3.0)]),  # [E] DM basis
        },
        "outages": None,  # farms do not break down in this model
    },
}

DEFAULT_MIX: dict[str, float] = {
    "power": 0.05,
    "cement": 0.04,
    "plasterboard": 0.04,
    "brewery": 0.14,
    "food": 0.14,
    "paper": 0.05,
    "farm": 0.54,
}

DEFAULT_GEOGRAPHY: dict[str, Any] = {
    "kind": "clustered",  # "uniform" or "clustered" (industrial areas, Jensen 2016 [S])
    "size_km": 175.0,  # side of the square region; calibrated [E] so the median exchange is about 33 km (NISP)
    "clusters": 6,  # industrial areas (clustered only)
    "cluster_sd_km": 12.0,  # spread of an area (clustered only)
    "rural_share": 1.0,  # farms spread over the whole region, not in the areas
}

TRANSPORT_TKM = (0.09, 0.15)  # [S/E] EUR 1.10-1.90 per truck-km x 2 / 25 t


def _u(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(*lo_hi))


def _r(x: float, nd: int = 2) -> float:
    return round(x, nd)


def _geography(geography: str | Mapping[str, Any] | None) -> dict[str, Any]:
    geo = dict(DEFAULT_GEOGRAPHY)
    if isinstance(geography, str):
        geo["kind"] = geography
    elif geography is not None:
        unknown = set(geography) - set(geo)
        if unknown:
            raise ValueError(f"unknown geography keys {sorted(unknown)} (allowed: {sorted(geo)})")
        geo.update(geography)
    if geo["kind"] not in ("uniform", "clustered"):
        raise ValueError(f"geography kind must be 'uniform' or 'clustered' (given {geo['kind']!r})")
    return geo


def region_raw(
    n_facilities: int,
    sector_mix: Mapping[str, float] | None = None,
    geography: str | Mapping[str, Any] | None = None,
    seed: int = 0,
    horizon_days: int = 365,
) -> dict[str, Any]:
    """The raw scenario data (as read from TOML) of a region, before network formation.

    The draws come in a fixed order (sectors, cluster centres, material prices, then each
    facility in turn, then the haulage rate), so that the same arguments give the same region.
    """
    if n_facilities < 2:
        raise ValueError(f"a region needs at least 2 facilities (given {n_facilities})")
    mix = dict(DEFAULT_MIX if sector_mix is None else sector_mix)
    unknown = set(mix) - set(SECTORS)
    if unknown:
        raise ValueError(f"unknown sectors {sorted(unknown)} (known: {', '.join(SECTORS)})")
    geo = _geography(geography)
    rng = np.random.default_rng(seed)
    sectors = _draw_sectors(n_facilities, mix, rng)
    place = _placer(geo, rng)
    materials = _draw_materials(rng)
    facilities = [_draw_facility(k, str(sector), place(str(sector)), rng) for k, sector in enumerate(sectors)]
    return {
        "scenario": {
            "name": f"Synthetic region, {n_facilities} facilities (seed {seed})",
            "description": f"sim.synthetic.generate_region({n_facilities}, seed={seed}); geography {geo['kind']}, "
            f"{geo['size_km']:g} km square",
            "horizon_days": horizon_days,
        },
        "transport": {
            "cost_per_tkm": _r(_u(rng, TRANSPORT_TKM), 3),
            "cost_per_trip": 20.0,  # [E] half an hour of loading and tipping
            "truck_capacity_t": 25.0,  # [E]
            "circuity": 1.3,  # [E] road / straight-line distance
        },
        "materials": materials,
        "facilities": facilities,
        **_region_terms(float(geo["size_km"])),
    }


def _draw_sectors(n_facilities: int, mix: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    """Each facility's sector, drawn by the mix's weights; every sector of the mix appears at
    least once when there is room."""
    names = sorted(mix)
    p = np.array([mix[s] for s in names], dtype=float)
    if p.sum() <= 0 or (p < 0).any():
        raise ValueError("sector_mix weights must be non-negative with a positive sum")
    sectors = rng.choice(names, size=n_facilities, p=p / p.sum())
    for k, s in enumerate(s for s in names if mix[s] > 0):
        if k < n_facilities and s not in sectors:
            sectors[k] = s
    return sectors


def _placer(geo: Mapping[str, Any], rng: np.random.Generator) -> Callable[[str], tuple[float, float]]:
    """Where a facility of a sector stands: uniform over the square, or around one of the
    cluster centres drawn here (farms rural by `rural_share`)."""
    size = float(geo["size_km"])
    centres = rng.uniform(0.15 * size, 0.85 * size, size=(int(geo["clusters"]), 2))

    def place(sector: str) -> tuple[float, float]:
        rural = sector == "farm" and rng.random() < geo["rural_share"]
        if geo["kind"] == "uniform" or rural:
            x, y = rng.uniform(0, size, size=2)
        else:
            c = centres[rng.integers(len(centres))]
            x, y = np.clip(c + rng.normal(0, geo["cluster_sd_km"], size=2), 0, size)
        return _r(float(x), 3), _r(float(y), 3)

    return place


def _draw_materials(rng: np.random.Generator) -> list[dict[str, Any]]:
    """The region's materials, with a virgin market price drawn for each bought material."""
    materials = []
    for mid, spec in MATERIALS.items():
        m: dict[str, Any] = {"id": mid}
        if "virgin" in spec:
            m["virgin_price_per_t"] = _r(_u(rng, spec["virgin"]))
        if "disposal" in spec:
            m["disposal_cost_per_t"] = _r(sum(spec["disposal"]) / 2)
        if spec.get("moisture"):
            m["moisture"] = spec["moisture"]
            m["state"] = "sludge" if spec["moisture"] >= 0.5 else "solid"
        if "shelf_life_days" in spec:
            m["shelf_life_days"] = spec["shelf_life_days"]
        materials.append(m)
    return materials


def _draw_facility(k: int, sector: str, xy: tuple[float, float], rng: np.random.Generator) -> dict[str, Any]:
    """Facility number `k` of a sector at `xy`: its outages, outputs and inputs by the recipe."""
    recipe = SECTORS[sector]
    x, y = xy
    fac: dict[str, Any] = {"id": f"{sector}_{k:04d}", "sector": sector, "location": {"x_km": x, "y_km": y}}
    if recipe["outages"] is not None:
        mtbf, mttr = recipe["outages"]
        fac["outages"] = {"mtbf_days": _r(_u(rng, mtbf), 1), "mttr_days": _r(_u(rng, mttr), 1)}
    outs = [_draw_output(mat, rate, rng) for mat, rate in recipe["outputs"].items()]
    if outs:
        fac["outputs"] = outs
    ins = [_draw_input(mat, demand, subs, rng) for mat, (demand, subs) in recipe["inputs"].items()]
    if ins:
        fac["inputs"] = ins
    return fac


def _draw_output(mat: str, rate: tuple[float, float], rng: np.random.Generator) -> dict[str, Any]:
    """An output stream of `mat`: its rate and disposal cost drawn, three days of storage."""
    r = _r(_u(rng, rate), 1)
    o: dict[str, Any] = {
        "material": mat,
        "rate_t_per_day": r,
        "variability": {"dist": "gamma", "cv": 0.2},  # [E]
        "storage_t": _r(3 * r, 1),  # [E] three days at source
        "disposal_cost_per_t": _r(_u(rng, MATERIALS[mat]["disposal"])),
    }
    if "shelf_life_days" in MATERIALS[mat]:
        o["shelf_life_days"] = MATERIALS[mat]["shelf_life_days"]
    return o


def _draw_input(
    mat: str, demand: tuple[float, float], subs: list[tuple[str, float, float, float]], rng: np.random.Generator
) -> dict[str, Any]:
    """An input of `mat`: its demand drawn, bought on the market, with the recipe's substitutes
    and a buffer of three days of secondary use."""
    d = _r(_u(rng, demand), 1)
    need = sum(min(1.0, share) * d / ratio for _, ratio, share, _ in subs[:1])
    return {
        "material": mat,
        "demand_t_per_day": d,
        "buffer_t": _r(3 * need, 1),  # [E] three days of secondary use
        "virgin": "market",
        "substitutes": [
            {"material": s, "ratio": ratio, "max_share": share, "processing_cost_per_t": cost}
            for s, ratio, share, cost in subs
        ],
    }


def _region_terms(size: float) -> dict[str, Any]:
    """The intermediary (off unless policy.intermediary = true) and the formation terms of
    every synthetic region (no draws)."""
    return {
        "intermediary": {
            "enabled": False,
            "location": {"x_km": _r(size / 2, 3), "y_km": _r(size / 2, 3)},
            "storage_t": 2000.0,  # [E]
            "fee_per_t": 2.0,  # [E]
            "holding_cost_per_t_day": 0.05,  # [E]
            "backhaul_discount": 0.3,  # [E] Aalborg backhaul roughly halves c_tkm [S]; a third of loads find one
        },
        "formation": {
            "rule": "system_optimal",
            "supplier_share": 0.5,  # [E] an even split of the exchange's value
            "penalty_per_t_short": 10.0,  # [E]
            "tolerance": 0.1,  # [E]
            "backup_standby_fee_per_day": 5.0,  # [E]
            "backup_activation_lead_time_days": 2.0,  # [E]
        },
    }


def generate_region(
    n_facilities: int,
    sector_mix: Mapping[str, float] | None = None,
    geography: str | Mapping[str, Any] | None = None,
    seed: int = 0,
    horizon_days: int = 365,
    max_partners: int | None = 25,
) -> Scenario:
    """A validated scenario of `n_facilities` plants with the contract network formed by the
    system-optimal linear program (formation rule set back to `explicit`, so the listed
    contracts are the network).

    `sector_mix` maps sector names (see SECTORS) to weights; `geography` is "uniform",
    "clustered" or a dict of DEFAULT_GEOGRAPHY keys; `seed` seeds numpy's default_rng.
    `max_partners` keeps, for each output stream, only its best candidate buyers by net value
    per t before the linear program (None: all, as sim.matching.form_network does); with 25 the
    optimum is the same in practice (a stream is never split over more than a few buyers) and
    1,000 facilities form in seconds instead of a minute.
    """
    sc = parse_scenario(region_raw(n_facilities, sector_mix, geography, seed, horizon_days), "<synthetic>")
    cands = [c for c in candidate_exchanges(sc) if c.net_value_per_t > 0]
    if max_partners is not None:
        by_stream: dict[tuple[str, str], list] = {}
        for c in cands:
            by_stream.setdefault(c.stream, []).append(c)
        keep = set()
        for group in by_stream.values():
            keep.update(sorted(group, key=lambda c: -c.net_value_per_t)[:max_partners])
        cands = [c for c in cands if c in keep]
    flows = solve_system_optimal(sc, cands)
    taken: set[str] = set()
    contracts = [formed_contract(sc, c, flows[c], _unique_id(c.contract_id, taken)) for c in cands if c in flows]
    formation = sc.formation.model_copy(update={"rule": "explicit"})
    return sc.model_copy(update={"contracts": contracts, "formation": formation})


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else value
    return value


HEADER = """# {name}
# Generated by `python -m sim.synthetic {n} --seed {seed}` (sim/synthetic.py): facilities from sector
# recipes, rates, prices and disposal costs drawn in the ranges cited there, contracts formed by
# the system-optimal linear program (sim/matching.py). Evidence tags: every number is [E] drawn
# from a range that is [S] or [E] in sim/synthetic.py; nothing here describes a real plant.
# Sources of the ranges: ACAA coal-ash disposal http://www.smartash.info/?q=node/54 ; road freight
# https://co3.io/news/road-freight-cost-per-km-europe ; NISP median synergy distance 33 km
# (Jensen et al. 2011, Resour. Conserv. Recycl. 55(7):703-712).
"""


def to_toml(sc: Scenario, n: int | None = None, seed: int | None = None) -> str:
    """The scenario as a TOML document with a comment header."""
    import tomli_w

    data = _clean(sc.model_dump(mode="python", exclude_defaults=True))
    head = HEADER.format(name=sc.scenario.name, n=n if n is not None else len(sc.facilities), seed=seed)
    return head + "\n" + tomli_w.dumps(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.synthetic", description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of facilities")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--geography", choices=["uniform", "clustered"], default="clustered")
    ap.add_argument("--size-km", type=float, default=DEFAULT_GEOGRAPHY["size_km"])
    ap.add_argument("--horizon", type=int, default=365, help="horizon in days")
    ap.add_argument("--out", type=Path, help="TOML file to write (default: stdout)")
    a = ap.parse_args(argv)
    sc = generate_region(a.n, None, {"kind": a.geography, "size_km": a.size_km}, a.seed, a.horizon)
    text = to_toml(sc, a.n, a.seed)
    if a.out is None:
        sys.stdout.write(text)
    else:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text, encoding="utf-8")
        print(f"{a.out}: {len(sc.facilities)} facilities, {len(sc.contracts)} contracts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
