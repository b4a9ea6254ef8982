"""The two engines of the day against each other: where the array day starts to pay.

    .venv/bin/python benchmarks/bench_engines.py            # 10 ... 1,000 facilities
    .venv/bin/python benchmarks/bench_engines.py --quick    # 10, 30, 100; a smoke test
    .venv/bin/python benchmarks/bench_engines.py --sizes 150 200 250 --rounds 100

`policy.engine` picks how a run computes its days: the object core (a Python object per lot,
shipment and open period; the reference) or the array day (sim/arrayday.py: columns over
whole facility sets, a fixed numpy cost per step and a small cost per entity). Both give the
same results to the bit (tests/test_arrayday.py); this script times them on the synthetic
region of each size (sim.synthetic.generate_region(n, seed=0), 100-day runs), in alternation:
each round runs a block of days (about 2,000 facility-plus-contract days) on one engine, then
on the other, the order swapped every round, by CPU time, so that both see the same host. A
model that reaches its horizon is replaced by a fresh one with the next seed (built outside
the timing), as a study's next replication would be.

Printed per size: the median CPU time per day of each engine, and arrays over objects per
round (median; mean with its standard error): below 1.00 the array day is faster. The
smallest size where it is faster is about where `auto` should switch (sim.arrayday.AUTO_MIN_FACILITIES,
shown at the end). Then DESIGN.md section 9's ratio as a study gets it with `auto`: the
largest network's day (its engine as `auto` picks it) over the 10-facility network's day
(objects), timed in alternation too.

Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_scaling import stepper, with_engine  # noqa: E402  (this folder: the script's own)

from sim.arrayday import AUTO_MIN_FACILITIES  # noqa: E402
from sim.model import SymbiosisModel  # noqa: E402
from sim.scenario import Scenario  # noqa: E402
from sim.synthetic import generate_region  # noqa: E402

HORIZON = 100


class Runner:
    """Days of one network on one engine, a fresh model (next seed) at each horizon."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        self.seed = 0
        self._new()

    def _new(self) -> None:
        model = SymbiosisModel(self.sc, rng=self.seed, horizon_days=HORIZON, collect_series=False)
        self.model = model
        self.engine = model.engine
        self.day: Callable[[], None] = stepper(model)

    def days(self, n: int) -> float:
        """CPU seconds for the next `n` days."""
        spent = 0.0
        for _ in range(n):
            if self.model._next_day >= HORIZON:
                self.seed += 1
                self._new()
            t0 = time.process_time()
            self.day()
            spent += time.process_time() - t0
        return spent


def alternate(a: Runner, b: Runner, blocks: tuple[int, int], rounds: int) -> tuple[list[float], list[float]]:
    """CPU seconds per day of `a` and of `b`, per round, blocks of days in alternation."""
    ta, tb = [], []
    for r in range(rounds):
        order = ((a, blocks[0], ta), (b, blocks[1], tb))
        for runner, n, out in order if r % 2 == 0 else order[::-1]:
            out.append(runner.days(n) / n)
    return ta, tb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", metavar="N",
        help="facilities (default 10 30 60 100 120 150 200 300 1000; quick 10 30 100)",
    )
    parser.add_argument("--rounds", type=int, metavar="K", help="timing rounds per size (default 60; quick 8)")
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds: a smoke test")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([10, 30, 100] if args.quick else [10, 30, 60, 100, 120, 150, 200, 300, 1000])
    rounds = args.rounds or (8 if args.quick else 60)
    if min(sizes) < 2 or rounds < 2:
        parser.error("--sizes must be 2 or more facilities and --rounds 2 or more")
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}; synthetic regions (seed 0), "
        f"{HORIZON}-day runs, {rounds} rounds, engines alternated, CPU time"
    )
    print(
        f"{'facilities':>10} {'fac+contracts':>13} {'objects ms/day':>14} {'arrays ms/day':>13} "
        f"{'arrays/objects median':>21} {'mean +- se':>15}"
    )
    paused = gc.isenabled()
    gc.disable()  # as SymbiosisModel.run() does
    regions: dict[int, Scenario] = {}
    faster: list[int] = []
    try:
        for n in sizes:
            sc = regions[n] = generate_region(n, seed=0, horizon_days=HORIZON)
            entities = len(sc.facilities) + len(sc.contracts)
            block = max(1, round(2000 / entities))
            objects, arrays = Runner(with_engine(sc, "objects")), Runner(with_engine(sc, "arrays"))
            t_obj, t_arr = alternate(objects, arrays, (block, block), rounds)
            ratios = [a / o for a, o in zip(t_arr, t_obj, strict=True)]
            median = statistics.median(ratios)
            if median < 1.0:
                faster.append(n)
            print(
                f"{len(sc.facilities):>10} {entities:>13} {statistics.median(t_obj) * 1e3:>14.3f} "
                f"{statistics.median(t_arr) * 1e3:>13.3f} {median:>21.3f} "
                f"{statistics.fmean(ratios):>8.3f} +- {statistics.stdev(ratios) / len(ratios) ** 0.5:.3f}",
                flush=True,
            )
        where = f"{min(faster)} facilities" if faster else "none of these sizes"
        print(f"array day faster from: {where} (auto switches at {AUTO_MIN_FACILITIES})")
        small, large = min(sizes), max(sizes)
        if large > small:
            big, little = Runner(regions[large]), Runner(regions[small])
            se = [len(regions[k].facilities) + len(regions[k].contracts) for k in (large, small)]
            k = max(1, round(se[0] / se[1]))  # the same facility-plus-contract days on each side
            t_big, t_small = alternate(big, little, (1, k), rounds * 4)
            day_ratio = statistics.median([b / s for b, s in zip(t_big, t_small, strict=True)])
            print(
                f"with auto: a {large}-facility day ({big.engine}) costs {day_ratio:.1f}x a {small}-facility day "
                f"({little.engine}), for {se[0] / se[1]:.0f}x the facilities + contracts "
                f"(DESIGN.md section 9: no more than ~{large // small}x)"
            )
    finally:
        if paused:
            gc.enable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
