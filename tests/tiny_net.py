"""A tiny deterministic network for the per-term and per-mechanism tests.

One supplier (`sup`, 10 t/day of `ash`, fixed output, no storage) and one buyer (`buy`, 10 t/day
of `stone`, accepting `ash` 1:1 as a substitute, virgin from the market at 50/t), joined by one
contract `c1` of 10 t/day over 0 km (a one-day lag), price 0, free haulage, no penalties. Nothing
fails at random. Every test overrides only what it shows, by dotted path (items by id, streams,
inputs and substitutes by material), so the hand calculation in the test is the whole story.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from sim.model import SymbiosisModel
from sim.scenario import Scenario, parse_scenario

ASH_DISPOSAL = 10.0  # per t, the material default
STONE_PRICE = 50.0  # virgin price per t

BASE: dict[str, Any] = {
    "scenario": {"name": "tiny terms", "horizon_days": 10},
    "transport": {"cost_per_tkm": 0.0, "cost_per_trip": 0.0, "truck_capacity_t": 25.0,
                  "speed_km_per_day": 500.0, "circuity": 1.0},
    "materials": [
        {"id": "ash", "disposal_cost_per_t": ASH_DISPOSAL, "quality": {"cl": 0.05}},
        {"id": "stone", "virgin_price_per_t": STONE_PRICE},
    ],
    "facilities": [
        {"id": "sup", "location": {"x_km": 0.0, "y_km": 0.0},
         "outputs": [{"material": "ash", "rate_t_per_day": 10.0, "storage_t": 0.0}]},
        {"id": "buy", "location": {"x_km": 0.0, "y_km": 0.0},
         "inputs": [{"material": "stone", "demand_t_per_day": 10.0,
                     "substitutes": [{"material": "ash"}]}]},
    ],
    "contracts": [
        {"id": "c1", "supplier": "sup", "buyer": "buy", "material": "ash",
         "volume_t_per_day": 10.0, "distance_km": 0.0},
    ],
}


def raw_network(horizon: int = 10) -> dict[str, Any]:
    """A fresh copy of the base network as raw scenario data."""
    raw = copy.deepcopy(BASE)
    raw["scenario"]["horizon_days"] = horizon
    return raw


def build(
    overrides: Mapping[str, Any] | None = None,
    *,
    horizon: int = 10,
    events: Iterable[Mapping[str, Any]] = (),
    contracts: list[Mapping[str, Any]] | None = None,
    extra_contracts: Iterable[Mapping[str, Any]] = (),
    extra_facilities: Iterable[Mapping[str, Any]] = (),
    extra_materials: Iterable[Mapping[str, Any]] = (),
    policy: Mapping[str, Any] | None = None,
) -> Scenario:
    """The base network with changes; `contracts=[]` removes the contract."""
    raw = raw_network(horizon)
    if contracts is not None:
        raw["contracts"] = copy.deepcopy(list(contracts))
    raw["contracts"].extend(copy.deepcopy(list(extra_contracts)))
    raw["facilities"].extend(copy.deepcopy(list(extra_facilities)))
    raw["materials"].extend(copy.deepcopy(list(extra_materials)))
    raw["events"] = copy.deepcopy(list(events))
    if policy is not None:
        raw["policy"] = dict(policy)
    return parse_scenario(raw, "tiny", overrides=dict(overrides or {}))


def run(sc: Scenario, seed: int = 0, horizon: int | None = None) -> SymbiosisModel:
    """Run to the horizon and return the model (ledgers and flow tables inside)."""
    m = SymbiosisModel(sc, rng=seed, horizon_days=horizon, collect_series=False)
    m.run()
    return m


def entries(m: SymbiosisModel, category: str, payer: str | None = None,
            payee: str | None = None) -> pd.DataFrame:
    """Money entries of one category (optionally one payer / payee)."""
    f = m.money.frame()
    f = f[f["category"] == category]
    if payer is not None:
        f = f[f["payer"] == payer]
    if payee is not None:
        f = f[f["payee"] == payee]
    return f


def daily(m: SymbiosisModel, category: str, payer: str | None = None,
          payee: str | None = None) -> np.ndarray:
    """Money of one category per day of the horizon (zeros where nothing was booked)."""
    out = np.zeros(m.horizon)
    for day, amount in entries(m, category, payer, payee)[["day", "amount"]].itertuples(index=False):
        out[int(day)] += amount
    return out


def days_array(horizon: int, values: Mapping[int, float]) -> np.ndarray:
    """A per-day vector that is zero except on the given days."""
    out = np.zeros(horizon)
    for d, v in values.items():
        out[d] = v
    return out


def settlements(m: SymbiosisModel, contract: str = "c1") -> list[dict[str, Any]]:
    """The settlement rows of one contract, in order."""
    return [s for s in m.settlements if s["contract"] == contract]
