"""Contract price indexation: a price that follows the virgin price of the material the
supplied material replaces, re-set on review days and held between them, within a floor and a
cap (the clause is :class:`sim.scenario.Indexation`, whose docstring gives the formula).

The rules are pure functions of numbers (tests call them with hand calculations);
:func:`sim.day.status.review_prices` is the step of the day that applies them: after the
market has moved today's prices (step 1) and before anything is paid (landing, step 4), each
indexed contract's index change I(r) - I(start) is read from the run's virgin price path
(``model.prices.virgin``, sim/market.py). Both engines call it (in step 3's contract status),
so they pay the same prices. Payments and the agents' value estimates read the price in
force through ``ContractState.price_per_t`` (landing, the intermediary's purchase,
take-or-pay, sim.behaviour.Decisions.supplier_accepts, sim.commitments buyer_cost_per_t).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def review_day(start_day: int, review_days: int, day: int) -> int:
    """The last review day on or before `day`: start_day + review_days x floor((day - start) /
    review_days) (start_day itself before the start)."""
    if day <= start_day:
        return start_day
    return start_day + review_days * ((day - start_day) // review_days)


def index_change(index: np.ndarray, start_day: int, review_days: int, day: int) -> float:
    """I(r) - I(start_day) on the index path `index` (one value per day), r the review day of `day`."""
    return float(index[review_day(start_day, review_days, day)]) - float(index[start_day])


def indexed_price_per_t(base: float, clause: Any, change: float) -> float:
    """The clause's price when the index has changed by `change` per t since the start:
    base + share x change, within [floor_per_t, cap_per_t]. No change gives `base` to the bit
    (when the band holds it)."""
    price = base + clause.share * change
    if clause.floor_per_t is not None and price < clause.floor_per_t:
        price = clause.floor_per_t
    if clause.cap_per_t is not None and price > clause.cap_per_t:
        price = clause.cap_per_t
    return price
