"""Why a large network's day costs more per facility-plus-contract than a small one's.

    .venv/bin/python benchmarks/bench_locality.py            # 1,000 against 10; K up to 16; ~1 min
    .venv/bin/python benchmarks/bench_locality.py --quick    # 100 against 10; K up to 4; ~5 s

The model's work per facility-plus-contract day is the same at every size (callgrind counts
45-48 thousand instructions at 10 and at 1,000 facilities, benchmarks/RESULTS.md), yet a
1,000-facility day costs 1.2-1.3x as much per entity as a 10-facility one (`bench_scaling.py`).
This script shows where, and separates the two usual suspects. Everything is CPU time per
(facility + contract)-day, the sizes or set-ups stepped in alternation so that both see the
same host (as `bench_scaling.py` pairs them), medians over rounds; numbers are printed, never
asserted.

1. **Per step of the day**, the large synthetic region against the 10-facility one: a copy
   of the model's day with a clock read between its steps (wall time: a CPU clock is a
   system call, too slow to read that often), checked first against the model's own day,
   flow by flow and money entry by money entry. The clocks' own cost, the same per step at
   both sizes, is in every number; read the ratios and the differences (large - small, the
   excess per entity-day). The steps with a ratio well above 1 are those whose objects are cold
   when touched: a shipment, made at its supplier's turn yesterday, lands at its buyer's.
2. **Memory or pattern.** Ten-facility regions only, each small enough that its whole day
   fits the L2 cache: one network stepped day after day, against K networks stepped in turn,
   (a) K copies of the same network and seed, which do the same work on K times the memory,
   and (b) K different networks (seeds 0..K-1), which add a K-times longer pattern of work for
   the branch predictors. If (a) climbs with K, the cost is memory; what (b) adds on top is
   the pattern.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.day.dispatch import dispatch_rows, dispatch_streams, hub_ships  # noqa: E402
from sim.day.landing import land_due  # noqa: E402
from sim.day.landing import unload as unload_landed  # noqa: E402
from sim.day.settlement import settle_day  # noqa: E402
from sim.model import SymbiosisModel  # noqa: E402
from sim.scenario import Scenario  # noqa: E402
from sim.synthetic import generate_region  # noqa: E402

STEPS = ("clock and up-time", "contract status", "deliveries land", "buyer unloads", "consumption", "production",
         "dispatch", "tidy-up", "intermediary and decisions", "settlement")


def entities(model: SymbiosisModel) -> int:
    """Facilities plus contracts: what the cost per day should be linear in."""
    return len(model.facilities) + len(model.contracts)


def timed_day(m: SymbiosisModel, spent: dict[str, float]) -> None:
    """`SymbiosisModel._simulate_day` step by step, each step's wall time added to `spent`.

    A copy of the model's day with clocks between the steps (wrapping each step in a timing
    function instead would add a cold closure per facility and move the cost it measures).
    `same_as_the_model` checks that the copy still does what the model's day does."""
    pc = time.perf_counter  # a CPU clock is a system call, too slow to read around every step
    day = m._next_day
    t0 = pc()
    m._next_day = day + 1
    m.today = day
    m._advance_clock(day + 1)
    for k, fac in enumerate(m.facilities):
        fac.up_fraction = fac.up.up_fraction(day)
        m.up_history[day, k] = fac.up_fraction
    t1 = pc()
    m.update_contract_status(day)
    t2 = pc()
    land_due(m, day)
    t3 = pc()
    rows = dispatch_rows(m, day)
    hub_routes: dict = {}
    operating = m.operating_history[day]
    tidy_now = m.hub is None
    unload = consume = produce = dispatch = tidy = 0.0
    for k, fac in enumerate(m.facilities):
        a = pc()
        if fac.landed:
            unload_landed(m, fac.landed, day)
        b = pc()
        fac.consume(day)
        operating[k] = fac.operating
        c = d = e = pc()
        if fac.streams:
            fac.produce(day)
            d = pc()
            dispatch_streams(m, fac.streams, day, rows, hub_routes)
            e = pc()
        if tidy_now:
            fac.tidy_up(day)
        f = pc()
        unload, consume, produce, dispatch, tidy = (
            unload + b - a, consume + c - b, produce + d - c, dispatch + e - d, tidy + f - e
        )
    t4 = pc()
    if m.hub is not None:
        hub_ships(m, day, hub_routes)
        for fac in m.facilities:
            fac.tidy_up(day)
        m.hub.tidy_up(day)
    if m.decisions is not None:
        m.decisions.end_of_day(day)
    t5 = pc()
    settle_day(m, day)
    if day == m.horizon - 1:
        m.running = False
    t6 = pc()
    loop = t4 - t3
    for step, took in zip(
        STEPS,
        (t1 - t0, t2 - t1, t3 - t2, unload, consume, produce, dispatch, tidy + loop - (unload + consume + produce
         + dispatch + tidy), t5 - t4, t6 - t5),
        strict=True,
    ):
        spent[step] += took


def same_as_the_model(sc: Scenario, days: int) -> None:
    """Exit if `timed_day` no longer does what the model's own day does (every flow and
    money entry compared): the model's day changed, and the copy above must follow it."""
    own, copy = (SymbiosisModel(sc, rng=0, horizon_days=days, collect_series=False) for _ in range(2))
    own.run()
    spent = dict.fromkeys(STEPS, 0.0)
    for _ in range(days):
        timed_day(copy, spent)
    differ = [name for name in ("contracts_flow", "streams_flow", "inputs_flow")
              if any(not np.array_equal(getattr(own, name)[f], getattr(copy, name)[f]) for f in getattr(own, name))]
    differ += [name for name in ("up_history", "operating_history")
               if not np.array_equal(getattr(own, name), getattr(copy, name))]
    if own.money.rows != copy.money.rows:
        differ.append("money")
    if differ:
        sys.exit(f"bench_locality: its copy of the day differs from SymbiosisModel._simulate_day "
                 f"({', '.join(differ)}); bring timed_day up to date")


class StepTimer:
    """Days of one network, timed by step; a fresh run (built outside the timing) at the horizon."""

    def __init__(self, sc: Scenario, days: int):
        self.sc, self.days, self.seed = sc, days, 0
        self.spent = dict.fromkeys(STEPS, 0.0)
        self.model = SymbiosisModel(sc, rng=0, horizon_days=days, collect_series=False)

    def day(self) -> float:
        """One day; its wall seconds."""
        if self.model._next_day >= self.days:
            self.seed += 1
            self.model = SymbiosisModel(self.sc, rng=self.seed, horizon_days=self.days, collect_series=False)
        before = sum(self.spent.values())
        timed_day(self.model, self.spent)
        return sum(self.spent.values()) - before


def by_step(big: Scenario, small: Scenario, days: int, seconds: float) -> None:
    """Part 1: the day's steps at both sizes, in alternation (one day of the large network,
    then as many of the small one as make the same facility-plus-contract days)."""
    for sc in (small, big):
        same_as_the_model(sc, 30)
    timers = [StepTimer(big, days), StepTimer(small, days)]
    ent = [entities(t.model) for t in timers]
    k = max(1, round(ent[0] / ent[1]))
    for t in timers:  # warm up, uncounted: the first days fill empty stores
        for _ in range(10):
            t.day()
        t.spent = dict.fromkeys(t.spent, 0.0)
    rounds, big_spent = 0, 0.0
    while big_spent < seconds or rounds < 10:
        rounds += 1
        big_spent += timers[0].day()
        for _ in range(k):
            timers[1].day()
    per = [{step: s / (rounds * n * e) * 1e9 for step, s in t.spent.items()} for t, n, e in
           zip(timers, (1, k), ent, strict=True)]
    total = [sum(p.values()) for p in per]
    print(f"\n1. The day's steps, {len(big.facilities)} facilities against {len(small.facilities)} "
          f"({ent[0]} and {ent[1]} facilities + contracts; {rounds} rounds):")
    print(f"{'step':>26} {'ns/entity-day, large':>21} {'small':>7} {'ratio':>6} {'large - small':>14}")
    for step in per[0]:
        b, s = per[0][step], per[1][step]
        print(f"{step:>26} {b:>21.0f} {s:>7.0f} {b / s if s else float('nan'):>6.2f} {b - s:>14.0f}")
    print(f"{'whole day':>26} {total[0]:>21.0f} {total[1]:>7.0f} {total[0] / total[1]:>6.2f} "
          f"{total[0] - total[1]:>14.0f}")


def in_turn(copies: int, rounds: int, days: int) -> tuple[float, float]:
    """Part 2 for one K: CPU time per entity-day of K copies of one 10-facility network, and of
    K different ones, each stepped in turn, over that of one network stepped K days running
    (medians over rounds of the per-round ratios)."""
    one_sc = generate_region(10, seed=0, horizon_days=days)
    set_ups = {
        "one": [one_sc],
        "copies": [one_sc] * copies,
        "different": [one_sc, *(generate_region(10, seed=s, horizon_days=days) for s in range(1, copies))],
    }
    models = {name: [SymbiosisModel(sc, rng=0, horizon_days=days, collect_series=False) for sc in scs]
              for name, scs in set_ups.items()}
    seeds = dict.fromkeys(models, 0)

    def step(name: str, i: int) -> tuple[float, int]:
        m = models[name][i]
        if m._next_day >= days:
            seeds[name] += 1
            m = models[name][i] = SymbiosisModel(m.spec, rng=seeds[name], horizon_days=days, collect_series=False)
        t0 = time.process_time()
        m._simulate_day()
        return time.process_time() - t0, entities(m)

    ratios: dict[str, list[float]] = {"copies": [], "different": []}
    for _ in range(rounds):
        cost = {}
        for name in ("one", "copies", "different"):
            spent, ent = 0.0, 0
            for j in range(copies):
                dt, e = step(name, 0 if name == "one" else j)
                spent, ent = spent + dt, ent + e
            cost[name] = spent / ent
        for name in ratios:
            ratios[name].append(cost[name] / cost["one"])
    return statistics.median(ratios["copies"]), statistics.median(ratios["different"])


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run both parts, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 against 10 facilities, K up to 4, fewer rounds")
    parser.add_argument("--size", type=int, default=None, help="the large region's facilities (default 1000)")
    args = parser.parse_args(argv)
    if args.size is not None and args.size <= 10:
        parser.error(f"--size {args.size}: the large region needs more than the small one's 10 facilities")
    size = args.size or (100 if args.quick else 1000)
    days = 100
    ks = [2, 4] if args.quick else [2, 4, 8, 16]
    rounds = 200 if args.quick else 2000
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; CPU time per "
          "(facility + contract)-day; the cyclic GC paused, as SymbiosisModel.run() does")
    paused = gc.isenabled()
    gc.disable()
    try:
        by_step(generate_region(size, seed=0, horizon_days=days), generate_region(10, seed=0, horizon_days=days),
                days, 1.0 if args.quick else 5.0)
        print(f"\n2. Ten-facility regions stepped in turn, cost per entity-day against one stepped alone "
              f"({rounds} rounds, medians):")
        print(f"{'K':>3} {'K copies (same work, K x memory)':>33} {'K different (and a longer pattern)':>35}")
        for k in ks:
            same, different = in_turn(k, rounds, days)
            print(f"{k:>3} {same:>33.3f} {different:>35.3f}", flush=True)
    finally:
        if paused:
            gc.enable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
