"""Stochastic waste output: day-to-day variability, batch / campaign / seasonal patterns and
per-lot quality draws.

All draws for the whole horizon are made up front from the stream's own generators, so they
do not depend on anything the network does (common random numbers: changing a buyer's buffer
cannot shift a supplier's output or quality draws).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from sim.scenario import Pattern, QualityDraw, Variability

# Cumulative day-of-year at which each month starts (non-leap year).
_MONTH_STARTS = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30])


def noise_factors(rng: np.random.Generator, var: Variability, days: int) -> np.ndarray:
    """Multiplicative daily output factors with mean 1 and coefficient of variation `cv`.

    gamma: shape 1/cv^2; lognormal: sigma^2 = ln(1 + cv^2); truncnormal: normal(1, cv)
    redrawn while negative (mean slightly above 1 for cv > 0.4).
    """
    if var.dist == "fixed":
        return np.ones(days)
    cv = var.cv
    if var.dist == "gamma":
        k = 1.0 / (cv * cv)
        return rng.gamma(k, 1.0 / k, size=days)
    if var.dist == "lognormal":
        s2 = math.log1p(cv * cv)
        return rng.lognormal(-s2 / 2.0, math.sqrt(s2), size=days)
    out = rng.normal(1.0, cv, size=days)
    bad = out < 0
    while bad.any():
        out[bad] = rng.normal(1.0, cv, size=int(bad.sum()))
        bad = out < 0
    return out


def pattern_factors(pat: Pattern, days: int) -> np.ndarray:
    """Deterministic production profile with long-run mean 1 (whole cycles)."""
    d = np.arange(days)
    if pat.kind == "continuous":
        return np.ones(days)
    if pat.kind == "batch":
        k = pat.every_days
        assert k is not None
        return np.where((d - pat.phase_days) % k == k - 1, float(k), 0.0)
    if pat.kind == "campaign":
        on, off = pat.on_days, pat.off_days
        assert on is not None and off is not None
        return np.where((d - pat.phase_days) % (on + off) < on, (on + off) / on, 0.0)
    doy = (d - pat.phase_days) % 365
    if pat.monthly_factors is not None:
        f = np.asarray(pat.monthly_factors, dtype=float)
        month = np.searchsorted(_MONTH_STARTS, doy, side="right") - 1
        return f[month] / f.mean()
    assert pat.amplitude is not None
    return 1.0 + pat.amplitude * np.cos(2.0 * np.pi * (doy - pat.peak_day) / 365.0)


def quality_draws(
    rng: np.random.Generator,
    props: list[str],
    spec: dict[str, QualityDraw],
    defaults: dict[str, float],
    days: int,
) -> np.ndarray:
    """Quality of each day's lot: shape (days, len(props)). A property without a draw keeps
    the material's nominal value."""
    out = np.empty((days, len(props)))
    for j, name in enumerate(props):
        q = spec.get(name)
        if q is None or q.sd == 0.0:
            out[:, j] = q.mean if q is not None else defaults[name]
        else:
            out[:, j] = np.maximum(0.0, rng.normal(q.mean, q.sd, size=days))
    return out


Lot = tuple[float, float, "np.ndarray | None"]


class LotQueue:
    """Material held in lots, first in first out. A lot is ``(tonnes, born_day, quality_row)``.

    Used for source storage and for buyers' secondary buffers, so that shelf life and quality
    travel with the material. A lot is a tuple (one object, its fields inside it), replaced
    when part of it is taken: a list would be two objects, and in a large network every object
    the day touches is one more cache miss.
    """

    __slots__ = ("lots", "total")

    def __init__(self) -> None:
        self.lots: deque[Lot] = deque()
        self.total = 0.0

    def put(self, qty: float, born_day: float, quality: np.ndarray | None) -> None:
        """Add a lot."""
        if qty > 0.0:
            self.lots.append((qty, born_day, quality))
            self.total += qty

    def take(self, qty: float) -> list[tuple[float, float, np.ndarray | None]]:
        """Remove up to `qty` t, oldest first; returns the pieces taken."""
        lots = self.lots
        if lots and qty < lots[0][0] - 1e-12 and qty <= self.total:  # the oldest lot covers it
            left, born, quality = lots[0]
            lots[0] = (left - qty, born, quality)
            self.total -= qty
            return [(qty, born, quality)]
        pieces = []
        want = min(qty, self.total)
        while want > 1e-12 and lots:
            left, born, quality = lots[0]
            q = min(left, want)
            pieces.append((q, born, quality))
            left -= q
            want -= q
            self.total -= q
            if left <= 1e-12:
                self.total -= left
                lots.popleft()
            else:
                lots[0] = (left, born, quality)
        if not self.lots:
            self.total = 0.0
        return pieces

    def mix_quality(self) -> None:
        """Mix the pile: every lot takes the mass-weighted mean quality of all lots (the
        amounts of each property are conserved; the age order is kept)."""
        lots = [lot for lot in self.lots if lot[2] is not None]
        mass = sum(lot[0] for lot in lots)
        if len(lots) < 2 or mass <= 0.0:
            return
        mean = sum(lot[0] * lot[2] for lot in lots) / mass
        self.lots = deque((q, born, mean if quality is not None else None) for q, born, quality in self.lots)

    def expire(self, day: int, shelf_life_days: float | None) -> float:
        """Remove lots that reach their shelf life at the end of `day`; returns tonnes spoiled.
        A lot born on day b is usable on days b .. b + shelf_life - 1."""
        if shelf_life_days is None:
            return 0.0
        spoiled = 0.0
        while self.lots and day + 1 - self.lots[0][1] >= shelf_life_days:
            spoiled += self.lots.popleft()[0]
        self.total -= spoiled
        if not self.lots:
            self.total = 0.0
        return spoiled

    def trim_newest(self, keep_t: float) -> float:
        """Remove the newest material above `keep_t`; returns tonnes removed."""
        excess = self.total - keep_t
        removed = 0.0
        while excess > 1e-12 and self.lots:
            left, born, quality = self.lots[-1]
            q = min(left, excess)
            left -= q
            excess -= q
            removed += q
            if left <= 1e-12:
                self.lots.pop()
            else:
                self.lots[-1] = (left, born, quality)
        self.total -= removed
        if not self.lots:
            self.total = 0.0
        return removed
