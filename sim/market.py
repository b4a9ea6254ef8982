"""Market turbulence: virgin prices and disposal costs that shift at random times.

The `[market]` section (``Market`` in sim/scenario.py) says how often the market shifts and how
far. Everything random is drawn before the run starts, from keyed streams of its own
(``market/shifts`` for the times, ``market/virgin/<material>`` and ``market/disposal/<material>``
for the factors), so a market never moves the draws of outputs, outages or decisions, and the
k-th shift of a material draws the same factor whatever the shift interval (common random
numbers across a turbulence sweep: a shorter mean interval compresses the same shifts in time).

During a run, :func:`move_prices` is the SimPy process that applies each shift at its day, and
:class:`PricePaths` remembers what each input's virgin material and each stream's disposal cost
were on every day, so that benefits and the no-symbiosis counterfactual are valued at the prices
of the day the tonnes moved (:func:`priced_total`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.rng import stream as rng_stream
from sim.scenario import Market


@dataclass(frozen=True)
class Shift:
    """One shift of the market: from `day` on, each material's prices are its nominal ones
    times these factors."""

    day: int
    virgin: dict[str, float]
    disposal: dict[str, float]


def lognormal_factors(rng: np.random.Generator, cv: float, n: int) -> np.ndarray:
    """`n` lognormal factors with mean 1 and coefficient of variation `cv` (all 1 when cv = 0):
    sigma^2 = ln(1 + cv^2), mu = -sigma^2 / 2."""
    if cv == 0.0:
        return np.ones(n)
    s2 = math.log1p(cv * cv)
    return rng.lognormal(-s2 / 2.0, math.sqrt(s2), size=n)


def draw_shifts(
    seed: np.random.SeedSequence, spec: Market, materials: Sequence[str], horizon: int
) -> list[Shift]:
    """Every shift of a run inside the horizon, in time order.

    Shift k falls at time T_k = mean interval x (E_1 + ... + E_k) with E_i standard exponential
    draws, and takes effect from day ceil(T_k) (the first day that starts at or after it).
    """
    if spec.shift_interval_days is None:
        return []
    clock = rng_stream(seed, "market/shifts")
    days: list[int] = []
    t = 0.0
    while True:
        t += spec.shift_interval_days * float(clock.standard_exponential())
        day = math.ceil(t)
        if day >= horizon:
            break
        days.append(day)
    n = len(days)
    virgin = {m: lognormal_factors(rng_stream(seed, f"market/virgin/{m}"), spec.virgin_price_cv, n) for m in materials}
    disposal = {
        m: lognormal_factors(rng_stream(seed, f"market/disposal/{m}"), spec.disposal_cost_cv, n) for m in materials
    }
    return [
        Shift(day, {m: float(f[k]) for m, f in virgin.items()}, {m: float(f[k]) for m, f in disposal.items()})
        for k, day in enumerate(days)
    ]


def draw_ou_factors(
    seed: np.random.SeedSequence, spec: Market, materials: Sequence[str], horizon: int
) -> dict[str, np.ndarray]:
    """Each material's mean-reverting virgin-price factor exp(X(d)) for days 0 .. horizon - 1.

    X is an Ornstein-Uhlenbeck process on the log price with X(0) = 0 and long-run mean 0 (the
    nominal price), drawn exactly: X(d + 1) = X(d) e^(-theta) + sigma sqrt((1 - e^(-2 theta)) /
    (2 theta)) Z(d), Z standard normal from the stream ``market/ou/<material>``. So E X(d) = 0
    and Var X(d) = sigma^2 / (2 theta) (1 - e^(-2 theta d)), tending to the stationary sigma^2 / (2 theta)
    (theta = 0: a random walk, Var X(d) = sigma^2 d).
    """
    theta, sigma = spec.reversion_per_day, spec.volatility_per_sqrt_day
    decay = math.exp(-theta)
    step = sigma * math.sqrt(-math.expm1(-2.0 * theta) / (2.0 * theta)) if theta > 0.0 else sigma  # 0: a random walk
    out = {}
    for m in materials:
        z = rng_stream(seed, f"market/ou/{m}").standard_normal(max(0, horizon - 1))
        x = np.zeros(horizon)
        for d in range(1, horizon):
            x[d] = x[d - 1] * decay + step * z[d - 1]
        out[m] = np.exp(x)
    return out


def draw_market(
    seed: np.random.SeedSequence, spec: Market, materials: Sequence[str], horizon: int
) -> list[Shift]:
    """The market's moves: the shifts (:func:`draw_shifts`) and, with a mean-reverting path,
    a move on every day from day 1, whose virgin factors are the shift factor in force times
    the path's (:func:`draw_ou_factors`) and whose disposal factors are the shift's in force.
    Without a path, exactly the shifts (the same draws whatever the path: its stream is its own)."""
    shifts = draw_shifts(seed, spec, materials, horizon)
    if spec.volatility_per_sqrt_day <= 0.0:
        return shifts
    ou = draw_ou_factors(seed, spec, materials, horizon)
    at = {s.day: s for s in shifts}
    virgin = dict.fromkeys(materials, 1.0)
    disposal = dict.fromkeys(materials, 1.0)
    out = []
    for d in range(1, horizon):
        if d in at:
            virgin, disposal = at[d].virgin, at[d].disposal
        out.append(Shift(d, {m: virgin[m] * float(ou[m][d]) for m in materials}, dict(disposal)))
    return out


def move_prices(env: simpy.Environment, shifts: Sequence[Shift], apply: Callable[[Shift], None]) -> Generator:
    """The market: wait for each shift's day, then move the prices."""
    for shift in shifts:
        yield env.timeout(shift.day - env.now)
        apply(shift)


class PricePaths:
    """The price of each input's virgin material and each stream's disposal per t, day by day
    (days x inputs, days x streams). Constant at the nominal prices unless a shift moves them;
    a shift on day d rewrites the path from d on."""

    def __init__(self, virgin_nominal: Sequence[float], disposal_nominal: Sequence[float], horizon: int):
        self.virgin = np.tile(np.asarray(virgin_nominal, dtype=float), (horizon, 1))
        self.disposal = np.tile(np.asarray(disposal_nominal, dtype=float), (horizon, 1))

    def set_virgin(self, day: int, index: int, price: float) -> None:
        """Input `index` pays `price` per t of virgin material from `day` on."""
        self.virgin[day:, index] = price

    def set_disposal(self, day: int, index: int, cost: float) -> None:
        """Stream `index` pays `cost` per t disposed from `day` on."""
        self.disposal[day:, index] = cost


def priced_total(tonnes: np.ndarray, prices: np.ndarray, start: int = 0) -> float:
    """Sum over days from `start` of tonnes x that day's price, taken stretch by stretch of
    constant price as (tonnes of the stretch) x price: a price that never moved gives exactly
    sum(tonnes) x price, the arithmetic of a run without a market."""
    t, p = tonnes[start:], prices[start:]
    if p.size == 0:
        return 0.0
    cuts = [0, *(np.flatnonzero(p[1:] != p[:-1]) + 1).tolist(), p.size]
    return sum(float(t[a:b].sum()) * float(p[a]) for a, b in itertools.pairwise(cuts))


class NominalPrices:
    """The prices a market shift multiplies: each input's virgin price, each stream's and each
    buyer's store's disposal cost, as the run started."""

    def __init__(self, inputs: Sequence[Any], streams: Sequence[Any]):
        self.virgin = [i.virgin_price for i in inputs]
        self.disposal = [s.disposal_cost for s in streams]
        self.buffer_disposal = [[s.disposal_cost for s in i.substitutes] for i in inputs]

    def shift(self, shift: Shift, inputs: Sequence[Any], streams: Sequence[Any], paths: PricePaths) -> None:
        """From the shift's day on, every virgin price and disposal cost of the run states
        (sim.agents.InputState, StreamState) is its nominal value times its material's factor."""
        day = shift.day
        for inp in inputs:
            inp.virgin_price = self.virgin[inp.index] * shift.virgin[inp.spec.material]
            paths.set_virgin(day, inp.index, inp.virgin_price)
            for sub, nominal in zip(inp.substitutes, self.buffer_disposal[inp.index], strict=True):
                sub.disposal_cost = nominal * shift.disposal[sub.material]
        for st in streams:
            st.disposal_cost = self.disposal[st.index] * shift.disposal[st.spec.material]
            paths.set_disposal(day, st.index, st.disposal_cost)
