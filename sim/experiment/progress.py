"""Progress of a study, for the person waiting on it.

Before: the run budget. During: a tqdm bar with runs done, rate and ETA when stderr is a
terminal (``disable=None``), otherwise a log line every ~5 % of the runs or every 60 s, for
batch jobs whose output goes to a file. After: runs ok and failed, elapsed time, runs per
second. Only the coordinating process reports; workers never draw bars.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from tqdm import tqdm


@dataclass
class RunStats:
    """Counts and timing of one invocation."""

    ok: int = 0
    failed: int = 0
    elapsed_s: float = 0.0

    @property
    def done(self) -> int:
        """Runs finished in this invocation."""
        return self.ok + self.failed

    @property
    def runs_per_s(self) -> float:
        """Throughput of this invocation."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Progress:
    """Reports a study's progress; use as a context manager and call :meth:`advance`."""

    def __init__(self, todo: int, *, stream: TextIO | None = None, log_every_s: float = 60.0,
                 quiet: bool = False):
        self.todo = todo
        self.stream = stream or sys.stderr
        self.log_every_s = log_every_s
        self.quiet = quiet
        self.stats = RunStats()
        self._start = time.perf_counter()
        self._last_log = self._start
        self._next_fraction = 0.05
        self._bar: tqdm | None = None

    def __enter__(self) -> Progress:
        self._start = self._last_log = time.perf_counter()
        if not self.quiet:
            self._bar = tqdm(total=self.todo, disable=None, unit="run", file=self.stream,
                             dynamic_ncols=True, smoothing=0.1)
        return self

    def advance(self, ok: bool) -> None:
        """One more run finished."""
        if ok:
            self.stats.ok += 1
        else:
            self.stats.failed += 1
        if self._bar is not None and not self._bar.disable:
            self._bar.update(1)
            if self.stats.failed:
                self._bar.set_postfix(failed=self.stats.failed, refresh=False)
        elif not self.quiet:
            self._maybe_log()

    def _maybe_log(self) -> None:
        now = time.perf_counter()
        done = self.stats.done
        fraction = done / self.todo if self.todo else 1.0
        if fraction < self._next_fraction and now - self._last_log < self.log_every_s:
            return
        while self._next_fraction <= fraction:
            self._next_fraction += 0.05
        self._last_log = now
        elapsed = now - self._start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.todo - done) / rate if rate > 0 else float("nan")
        print(
            f"{done}/{self.todo} runs ({100 * fraction:.0f} %), {self.stats.failed} failed, "
            f"{rate:.1f} runs/s, elapsed {_clock(elapsed)}, ETA {_clock(eta)}",
            file=self.stream,
            flush=True,
        )

    def __exit__(self, *exc: object) -> None:
        self.stats.elapsed_s = time.perf_counter() - self._start
        if self._bar is not None:
            self._bar.close()


def budget_line(name: str, points: int, replications: int, stored: int, todo: int, failed_before: int,
                shard: str | None) -> str:
    """The run budget, printed before any work."""
    total = points * replications
    parts = [f"study '{name}': {points} design points x {replications} replications = {total} runs"]
    parts.append(f"{stored} already stored")
    if failed_before:
        parts.append(f"{failed_before} failed before (re-run)")
    if shard:
        parts.append(f"shard {shard}")
    parts.append(f"{todo} to run")
    return "; ".join(parts)


def stats_line(stats: RunStats) -> str:
    """The closing statistics."""
    return (f"{stats.done} runs: {stats.ok} ok, {stats.failed} failed, elapsed {_clock(stats.elapsed_s)}, "
            f"{stats.runs_per_s:.1f} runs/s")


def _clock(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
