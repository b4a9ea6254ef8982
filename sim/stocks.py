"""What the stores hold, and what it is worth: one rule in both worlds (DESIGN.md section 3a).

A party's cost over the window after the warm-up is what it paid less what it received, less
the change in value of its stocks (closing - opening). The stocks are valued by one rule, with
and without symbiosis (sim/twin.py), at the prices of the day they are valued on:

- a virgin stockpile: virgin stock x the input's virgin price of the day;
- a secondary buffer, per substitute: stock x the substitute's `ratio` x the input's virgin
  price of the day (the virgin material it replaces);
- source storage: stock x -(the stream's disposal cost of the day), a liability: the waste
  will have to go somewhere;
- material on the road belongs to the supplier until it lands (the price is paid at landing,
  sim/day/landing.py), so it is valued as the supplier's source stock; on the intermediary's
  outbound leg it is the intermediary's;
- the intermediary's pool (and its outbound shipments) at the contract price it paid: per
  material, the mean `price_per_t` of the routed contracts of that material (the pool mixes
  lots, so the price of each lot is not kept; with one price per material it is exact).
  That value belongs to its profit (`intermediary_profit`), not to a facility.

Virgin orders on their way are not stock: they are paid on arrival (sim/day/tidy_up.py). A
virgin price left unset counts 0. Opening stocks are taken at the start of day `warmup` (with
`warmup = 0`, the declared opening stocks), closing stocks at the end of the last simulated day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim.day.world import World


@dataclass(frozen=True)
class Stocks:
    """Quantities held at one moment, by store: source storage per stream, on the road per
    contract (inbound leg, the supplier's; outbound leg from the intermediary, its own), buffer
    per substitute store (inputs in order, then substitutes in order, as sim/arrayday.py
    flattens them), virgin stock per input, and the intermediary's pool per material."""

    source: np.ndarray
    in_transit: np.ndarray
    out_in_transit: np.ndarray
    buffer: np.ndarray
    virgin: np.ndarray
    pool: dict[str, float]


def take_stocks(m: World) -> Stocks:
    """What the model's objects hold now."""
    hub = m.hub
    return Stocks(
        source=np.array([s.storage.total for s in m.stream_states], dtype=float),
        in_transit=np.array([c.in_transit_t for c in m.contracts], dtype=float),
        out_in_transit=np.array([c.out_in_transit_t for c in m.contracts], dtype=float),
        buffer=np.array([s.lots.total for i in m.input_states for s in i.substitutes], dtype=float),
        virgin=np.array([i.virgin_stock for i in m.input_states], dtype=float),
        pool={mat: q.total for mat, q in hub.pool.items()} if hub is not None else {},
    )


def columns_stocks(day: Any) -> Stocks:
    """What the array day's columns (sim.arrayday.ArrayDay) hold now: the same numbers as
    :func:`take_stocks` after a sync (the array day runs no intermediary)."""
    return Stocks(
        source=day.src.total.astype(float).copy(),
        in_transit=day.in_transit.astype(float).copy(),
        out_in_transit=np.zeros(len(day.m.contracts)),
        buffer=day.buf.total.astype(float).copy(),
        virgin=np.array([i.virgin_stock for i in day.m.input_states], dtype=float),  # written back daily
        pool={},
    )


@dataclass(frozen=True)
class StockValues:
    """Stocks valued on one day: per facility (in file order) the supply side (source storage
    and its shipments on the road) and the buy side (buffers and stockpiles), and the
    intermediary's pool."""

    supply: np.ndarray
    buy: np.ndarray
    hub: float


def value_stocks(m: World, stocks: Stocks, day: int) -> StockValues:
    """The stocks at the prices of `day` (see the module docstring)."""
    virgin = np.nan_to_num(np.asarray(m.prices.virgin[day], dtype=float))
    disposal = np.nan_to_num(np.asarray(m.prices.disposal[day], dtype=float))
    source = stocks.source.copy()
    for c in m.contracts:
        source[c.supplier_stream.index] += stocks.in_transit[c.index]
    stream_value = -source * disposal
    ratio = np.array([s.ratio for i in m.input_states for s in i.substitutes], dtype=float)
    sub_input = np.array([i.index for i in m.input_states for _ in i.substitutes], dtype=np.int64)
    input_value = stocks.virgin * virgin
    np.add.at(input_value, sub_input, stocks.buffer * ratio * virgin[sub_input])
    supply = np.array([sum(stream_value[s.index] for s in f.streams) for f in m.facilities], dtype=float)
    buy = np.array([sum(input_value[i.index] for i in f.inputs) for f in m.facilities], dtype=float)
    return StockValues(supply=supply, buy=buy, hub=_pool_value(m, stocks))


def _pool_value(m: World, stocks: Stocks) -> float:
    """The intermediary's pool and outbound shipments at the contract prices it paid."""
    routed = [c for c in m.contracts if c.routed]
    value = sum(stocks.out_in_transit[c.index] * c.price_per_t for c in routed)
    for material, qty in stocks.pool.items():
        prices = [c.price_per_t for c in routed if c.terms.material == material]
        if prices and qty:
            value += qty * sum(prices) / len(prices)
    return float(value)
