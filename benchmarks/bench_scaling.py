"""Time per simulated day against network size, with a fitted slope (DESIGN.md section 9).

    .venv/bin/python benchmarks/bench_scaling.py --quick    # 10, 30, 100 facilities; ~20 s
    .venv/bin/python benchmarks/bench_scaling.py            # 10, 30, 100, 300, 1000

Networks come from `sim.synthetic.generate_region(n)` when that module is present (the
contract network formed by the system-optimal rule), or else from replicating the two-plant
network of tests/data/tiny.toml n/2 times side by side (`--generator replicate` forces this:
facilities and contracts then grow exactly in proportion). For each size the model is built
once outside the timing, then run for 100 days (quick: 60); the time per day is the median over
repeats. The slope is the least-squares fit of log(time per day) on log(facilities): 1.0 is
linear, and the target (a 1,000-facility region no more than ~100x a 10-facility one) is a
slope of at most 1.0 over that range. Facility-days per second is facilities x days / time.

Then the network set-up for each size: the candidate exchanges (one per supplier-buyer pair
that fits, so about n^2), backups for `policy.redundancy = 2`, and the model's build, first and
again from the same scenario object (as a study's replications build it), and adaptive
(`policy.adaptive = true`: every candidate exchange no contract covers is a latent contract).

Then each larger network is timed again paired with the smallest, in alternation (one day of
the larger, then as many days of the smallest as make the same facility-plus-contract days),
by CPU time: on a shared host whose speed drifts from second to second, sizes timed one after
the other can be favoured or penalised by the drift, and the paired ratio of the cost per
facility-plus-contract day is the number to trust (1.0: the same cost per entity at both
sizes, i.e. linear).

Each network runs on the engine `policy.engine` gives it (`--engine`; by default `auto`, as a
study runs it: the object core for small networks, the array day from
sim.arrayday.AUTO_MIN_FACILITIES facilities on; both give the same results to the bit, and
bench_engines.py times one against the other). The `engine` column says which.

Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import copy
import gc
import importlib.util
import math
import platform
import statistics
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.arrayday import ArrayDay  # noqa: E402
from sim.model import SymbiosisModel  # noqa: E402
from sim.scenario import Scenario, parse_scenario  # noqa: E402

TEMPLATE = ROOT / "tests" / "data" / "tiny.toml"


def replicated(n_facilities: int, horizon_days: int) -> Scenario:
    """`n_facilities` plants: copies of the template's brewery-and-farm pair, 50 km apart, each
    copy's ids suffixed with its number (materials shared)."""
    template = tomllib.loads(TEMPLATE.read_text(encoding="utf-8"))
    per_copy = len(template["facilities"])
    copies = max(1, round(n_facilities / per_copy))
    raw: dict[str, Any] = {k: v for k, v in template.items() if k not in ("facilities", "contracts")}
    raw["scenario"] = {**template["scenario"], "horizon_days": horizon_days, "warmup_days": 0}
    raw["facilities"], raw["contracts"] = [], []
    for k in range(copies):
        offset = 50.0 * k
        for fac in template["facilities"]:
            f = copy.deepcopy(fac)
            f["id"] = f"{fac['id']}-{k}"
            f["location"] = {"x_km": fac["location"]["x_km"] + offset, "y_km": fac["location"]["y_km"]}
            raw["facilities"].append(f)
        for con in template["contracts"]:
            c = copy.deepcopy(con)
            c["id"], c["supplier"], c["buyer"] = f"{con['id']}-{k}", f"{con['supplier']}-{k}", f"{con['buyer']}-{k}"
            raw["contracts"].append(c)
    return parse_scenario(raw, f"<replicated x{copies}>")


def synthetic(n_facilities: int, horizon_days: int) -> Scenario:
    """The synthetic generator's region of `n_facilities` plants (seed 0)."""
    from sim.synthetic import generate_region  # type: ignore[import-not-found]

    return generate_region(n_facilities, seed=0, horizon_days=horizon_days)


def measure(sc: Scenario, days: int, repeats: int) -> float:
    """Median seconds per simulated day (model construction excluded)."""
    times = []
    for seed in range(repeats):
        model = SymbiosisModel(sc, rng=seed, horizon_days=days, collect_series=False)
        t0 = time.perf_counter()
        model.run()
        times.append((time.perf_counter() - t0) / days)
    return statistics.median(times)


def with_engine(sc: Scenario, engine: str) -> Scenario:
    """The scenario with `policy.engine` set (auto: as given)."""
    if engine == "auto":
        return sc
    return sc.model_copy(update={"policy": sc.policy.model_copy(update={"engine": engine})})


def engine_of(sc: Scenario, days: int) -> str:
    """The engine a run of `sc` takes (policy.engine; auto picks by size)."""
    return SymbiosisModel(sc, rng=0, horizon_days=days, collect_series=False).engine


def stepper(model: SymbiosisModel):
    """One simulated day of `model` on the engine it took, as run() would step it."""
    if model.engine != "arrays":
        return model._simulate_day
    return ArrayDay(model).day  # (the model is dropped at its horizon, never closed)


def paired(big: Scenario, small: Scenario, days: int, seconds: float) -> tuple[float, float, int]:
    """CPU seconds per (facility + contract)-day of `big` and of `small`, measured in
    alternation: one day of `big`, then as many days of `small` as make the same number of
    facility-plus-contract days, over and over for about `seconds` of `big`. On a shared host
    whose speed drifts from one second to the next, timing the sizes one after another can
    favour either; in alternation both see the same host. Returns (big, small, rounds)."""
    entities = [len(sc.facilities) + len(sc.contracts) for sc in (big, small)]
    k = max(1, round(entities[0] / entities[1]))
    seeds = [0, 0]
    models = [SymbiosisModel(sc, rng=0, horizon_days=days, collect_series=False) for sc in (big, small)]
    steps = [stepper(m) for m in models]
    spent = [0.0, 0.0]
    rounds = 0
    paused = gc.isenabled()
    gc.disable()  # as run() does
    try:
        while spent[0] < seconds or rounds < 20:
            rounds += 1
            for which, count in ((0, 1), (1, k)):
                for _ in range(count):
                    if models[which]._next_day >= days:  # a fresh run, built outside the timing
                        seeds[which] += 1
                        models[which] = SymbiosisModel(
                            (big, small)[which], rng=seeds[which], horizon_days=days, collect_series=False
                        )
                        steps[which] = stepper(models[which])
                    t0 = time.process_time()
                    steps[which]()  # the day itself, on the engine run() would take
                    spent[which] += time.process_time() - t0
    finally:
        if paused:
            gc.enable()
    return spent[0] / (rounds * entities[0]), spent[1] / (rounds * k * entities[1]), rounds


def setup_times(sc: Scenario, days: int) -> dict[str, float]:
    """Seconds to set a network up: its candidate exchanges (every supplier-buyer pair that
    fits), backups to two sources per input (`policy.redundancy = 2`), and the model's build,
    as listed, adaptive (with a latent contract per uncovered candidate), and with redundancy 2:
    the first build forms the backups, the next one, from the same scenario object (a study's
    next replication), reuses them."""
    from sim.matching import apply_redundancy, candidate_exchanges

    out: dict[str, float] = {}
    t0 = time.perf_counter()
    out["candidates"] = len(candidate_exchanges(sc))
    out["candidates_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    apply_redundancy(sc, 2)
    out["redundancy_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    SymbiosisModel(sc, rng=0, horizon_days=days, collect_series=False)
    out["build_s"] = time.perf_counter() - t0
    adaptive = sc.model_copy(update={"policy": sc.policy.model_copy(update={"adaptive": True})})
    t0 = time.perf_counter()
    out["latent"] = len(SymbiosisModel(adaptive, rng=0, horizon_days=days, collect_series=False).contracts)
    out["build_adaptive_s"] = time.perf_counter() - t0
    k2 = sc.model_copy(update={"policy": sc.policy.model_copy(update={"redundancy": 2})})
    for key in ("build_k2_first_s", "build_k2_again_s"):
        t0 = time.perf_counter()
        SymbiosisModel(k2, rng=0, horizon_days=days, collect_series=False)
        out[key] = time.perf_counter() - t0
    return out


def fit_slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, time each size, print the table and the fitted slope."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="sizes 10, 30, 100; fewer days and repeats")
    parser.add_argument("--generator", choices=["auto", "synthetic", "replicate"], default="auto",
                        help="where networks come from (auto: synthetic if sim/synthetic.py exists)")
    parser.add_argument("--engine", choices=["auto", "objects", "arrays"], default="auto",
                        help="policy.engine of every network (auto, the default: as a study gets it, objects for "
                             "small networks and arrays for large ones; see bench_engines.py)")
    args = parser.parse_args(argv)
    sizes = [10, 30, 100] if args.quick else [10, 30, 100, 300, 1000]
    days, repeats = (60, 2) if args.quick else (100, 3)
    use = args.generator
    if use == "auto":
        use = "synthetic" if importlib.util.find_spec("sim.synthetic") else "replicate"
    make = synthetic if use == "synthetic" else replicated

    print(f"machine: {platform.machine()}, Python {platform.python_version()}; networks: {use}; "
          f"{days} days x {repeats} repeats (median); policy.engine = {args.engine}")
    print(f"{'facilities':>10} {'contracts':>9} {'engine':>7} {'build s':>8} {'ms/day':>9} {'us/fac-day':>10} "
          f"{'us/(fac+contract)-day':>21} {'fac-days/s':>11}")
    xs, ys, es = [], [], []
    scenarios = []
    for n in sizes:
        t0 = time.perf_counter()
        sc = with_engine(make(n, days), args.engine)
        build = time.perf_counter() - t0
        scenarios.append(sc)
        per_day = measure(sc, days, repeats)
        nf, nc = len(sc.facilities), len(sc.contracts)
        xs.append(nf)
        ys.append(per_day)
        es.append(nf + nc)
        print(f"{nf:>10} {nc:>9} {engine_of(sc, days):>7} {build:>8.2f} {per_day * 1e3:>9.3f} "
              f"{per_day / nf * 1e6:>10.1f} {per_day / (nf + nc) * 1e6:>21.1f} {nf / per_day:>11,.0f}", flush=True)
    slope = fit_slope(xs, ys)
    print(f"fitted slope of log(time per day) on log(facilities): {slope:.2f} (1.0 = linear)")
    print(f"fitted slope of log(time per day) on log(facilities + contracts): {fit_slope(es, ys):.2f}")
    print(f"time per day, largest / smallest network: {ys[-1] / ys[0]:.1f}x for "
          f"{xs[-1] / xs[0]:.0f}x the facilities and {es[-1] / es[0]:.0f}x the facilities + contracts")

    print("\nnetwork set-up (seconds; candidates grow with supplier-buyer pairs, so ~n^2):")
    print(f"{'facilities':>10} {'candidates':>10} {'candidates s':>12} {'redundancy 2 s':>14} {'build s':>8} "
          f"{'build, redundancy 2: first':>26} {'again':>6} {'adaptive build s':>16} {'its contracts':>13}")
    cand_s = []
    for sc in scenarios:
        st = setup_times(sc, days)
        cand_s.append(st["candidates_s"])
        print(f"{len(sc.facilities):>10} {st['candidates']:>10,.0f} {st['candidates_s']:>12.3f} "
              f"{st['redundancy_s']:>14.3f} {st['build_s']:>8.3f} {st['build_k2_first_s']:>26.3f} "
              f"{st['build_k2_again_s']:>6.3f} {st['build_adaptive_s']:>16.3f} {st['latent']:>13,.0f}", flush=True)
    print(f"fitted slope of log(candidate time) on log(facilities): {fit_slope(xs, cand_s):.2f} (2.0 = per pair)")

    print(f"\npaired with the {xs[0]}-facility network, in alternation (CPU time; the robust numbers on a "
          "shared host):")
    print(f"{'facilities':>10} {'rounds':>7} {'us/(fac+contract)-day':>21} {'smallest':>9} {'ratio':>6} "
          f"{'time per day vs smallest':>24}")
    for sc in scenarios[1:]:
        big_us, small_us, rounds = paired(sc, scenarios[0], days, 1.0 if args.quick else 4.0)
        nf = len(sc.facilities)
        per_day_ratio = big_us * (nf + len(sc.contracts)) / (small_us * es[0])
        print(f"{nf:>10} {rounds:>7} {big_us * 1e6:>21.2f} {small_us * 1e6:>9.2f} {big_us / small_us:>6.2f} "
              f"{per_day_ratio:>23.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
