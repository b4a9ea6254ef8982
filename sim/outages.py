"""Failure, repair, planned maintenance, closure and scripted outages, as SimPy processes.

A facility is down while at least one *cause* is active (failure, maintenance, scripted
outage, closure). The processes only switch causes on and off at their own times; the model
turns the resulting state log into the up-fraction of each day.

The time to the next failure starts at recovery (alternating renewal process), which is right
for any up-time law (see the O1 note in the oracles reference).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from sim.rng import stream as rng_stream
from sim.scenario import LifeLaw, Maintenance, Outages


def draw_duration(
    rng: np.random.Generator, law: LifeLaw, mean: float, shape: float | None, cv: float | None
) -> float:
    """One duration with the given law and mean (Weibull by shape, lognormal by CV)."""
    if law == "fixed":
        return mean
    if law == "exponential":
        return float(rng.exponential(mean))
    if law == "geometric":
        return float(rng.geometric(1.0 / mean))
    if law == "weibull":
        assert shape is not None
        scale = mean / math.gamma(1.0 + 1.0 / shape)
        return float(scale * rng.weibull(shape))
    assert cv is not None
    sigma2 = math.log1p(cv * cv)
    return float(rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)))


class UpState:
    """A facility's up/down state over continuous time, with the log needed to pro-rate days."""

    def __init__(self, env: simpy.Environment, on_change: Callable[[bool], None] | None = None):
        self.env = env
        self.causes: dict[str, int] = {}
        self.closed = False
        self.closed_at: float | None = None
        self._down_since: float | None = None
        self._closed_down: list[tuple[float, float]] = []  # down intervals not yet pro-rated
        self.log: list[tuple[float, float, str]] = []  # (start, end, cause) of every outage
        self._cause_start: dict[str, list[float]] = {}
        # Called with the new state whenever it turns (down or back up): the model's backup
        # calls, and the array day's watch on the facilities whose day may be pro-rated.
        self.listeners: list[Callable[[bool], None]] = [] if on_change is None else [on_change]

    @property
    def up(self) -> bool:
        """True when no cause holds the facility down."""
        return not self.causes

    def start(self, cause: str, at: float | None = None) -> None:
        """A cause of downtime begins now (or at `at`, the model's clock between events)."""
        now = self.env.now if at is None else at
        was_up = self.up
        self.causes[cause] = self.causes.get(cause, 0) + 1
        self._cause_start.setdefault(cause, []).append(now)
        if was_up:
            self._down_since = now
            for listener in self.listeners:
                listener(False)

    def end(self, cause: str) -> None:
        """A cause of downtime ends now."""
        self.causes[cause] -= 1
        started = self._cause_start[cause].pop(0)
        self.log.append((started, self.env.now, cause))
        if self.causes[cause] == 0:
            del self.causes[cause]
        if self.up:
            assert self._down_since is not None
            self._closed_down.append((self._down_since, self.env.now))
            self._down_since = None
            for listener in self.listeners:
                listener(True)

    def close(self, at: float | None = None) -> None:
        """Permanent closure: down from now (or `at`) on."""
        if not self.closed:
            self.closed = True
            self.closed_at = self.env.now if at is None else at
            self.start("closure", at)

    @property
    def up_all_along(self) -> bool:
        """Up now, with no down-time left to pro-rate: the days from here on are whole days
        up until the state next turns."""
        return self._down_since is None and not self._closed_down

    def up_fraction(self, day: int) -> float:
        """Share of day [day, day + 1) spent up; call once per day, in order, after the
        clock has reached day + 1."""
        if self._down_since is None and not self._closed_down:
            return 1.0
        lo, hi = float(day), float(day + 1)
        down = 0.0
        for s, e in self._closed_down:
            down += max(0.0, min(e, hi) - max(s, lo))
        self._closed_down.clear()
        if self._down_since is not None:
            down += hi - max(self._down_since, lo)
        return min(1.0, max(0.0, 1.0 - down))

    def open_log(self, horizon: float) -> list[tuple[float, float, str]]:
        """Every outage as (start, end, cause), the ongoing ones cut at the horizon."""
        ongoing = [(t, horizon, cause) for cause, starts in self._cause_start.items() for t in starts]
        return sorted(self.log + ongoing)


def break_down(
    env: simpy.Environment, state: UpState, spec: Outages, rng: np.random.Generator
) -> Generator[Any, Any, None]:
    """Fail after a random up-time, get repaired after a random repair time, repeat."""
    assert spec.mtbf_days is not None
    while not state.closed:
        yield env.timeout(
            draw_duration(rng, spec.failure, spec.mtbf_days, spec.failure_shape, spec.failure_cv)
        )
        if state.closed:
            return
        state.start("failure")
        yield env.timeout(draw_duration(rng, spec.repair, spec.mttr_days, spec.repair_shape, spec.repair_cv))
        state.end("failure")


def maintain(env: simpy.Environment, state: UpState, window: Maintenance) -> Generator[Any, Any, None]:
    """Shut down for planned maintenance, once or every `every_days`."""
    yield env.timeout(window.start_day)
    while not state.closed:
        state.start("maintenance")
        yield env.timeout(window.duration_days)
        state.end("maintenance")
        if window.every_days is None:
            return
        yield env.timeout(window.every_days - window.duration_days)


def announced_down_share(windows: list[Maintenance], notice_days: float, lo: float, hi: float) -> float:
    """Share of [lo, hi) inside maintenance windows announced at least `notice_days` ahead
    (their `notice_days`): the planned down-time a contract's notice clause recognises. The
    windows are a schedule known in advance, so this is a pure function of the file."""
    down = 0.0
    for w in windows:
        if w.notice_days < notice_days:
            continue
        if w.every_days is None:
            starts = [w.start_day]
        else:
            first = max(0, math.floor((lo - w.start_day - w.duration_days) / w.every_days))
            last = math.floor((hi - w.start_day) / w.every_days)
            starts = [w.start_day + j * w.every_days for j in range(first, last + 1)]
        for s in starts:
            down += max(0.0, min(s + w.duration_days, hi) - max(s, lo))
    return min(1.0, down / (hi - lo)) if hi > lo else 0.0


def scripted_outage(
    env: simpy.Environment, state: UpState, day: float, duration_days: float
) -> Generator[Any, Any, None]:
    """A scripted outage: down at `day` for `duration_days`."""
    yield env.timeout(day)
    state.start("scripted")
    yield env.timeout(duration_days)
    state.end("scripted")


def close_at(
    env: simpy.Environment, state: UpState, delay: float, on_close: Callable[[], None]
) -> Generator[Any, Any, None]:
    """Close for good after `delay` (a scripted date or a draw from the closure hazard)."""
    yield env.timeout(delay)
    if not state.closed:
        state.close()
        on_close()


def closure_delay(rng: np.random.Generator, hazard_per_year: float) -> float:
    """Days until a permanent closure under a constant yearly hazard (inf if none)."""
    if hazard_per_year <= 0:
        return math.inf
    return float(rng.exponential(365.0 / hazard_per_year))


def start_outages(
    env: simpy.Environment, state: UpState, spec: Outages, seed: np.random.SeedSequence, fid: str,
    on_close: Callable[[], None],
) -> None:
    """Start a facility's outage processes: random failures and repairs, planned maintenance,
    and a permanent closure drawn from its hazard, each from its own keyed random stream."""
    if spec.mtbf_days is not None:
        env.process(break_down(env, state, spec, rng_stream(seed, f"outages/{fid}")))
    for window in spec.maintenance:
        env.process(maintain(env, state, window))
    delay = closure_delay(rng_stream(seed, f"closure/{fid}"), spec.closure_hazard_per_year)
    if math.isfinite(delay):
        env.process(close_at(env, state, delay, on_close))
