"""Wall time of one simulated year of each shipped scenario (median over repeats).

    .venv/bin/python benchmarks/bench_scenarios.py [--quick]

Per scenario: the time to build the model (network resolution, agents), to simulate 365 days
(no warm-up, no daily series) and to compute the run metrics, and the throughput in
facility-days per second of simulation (facilities x 365 / simulate time). The whole run, as
the experiment runner does it, is build + simulate + metrics.

Prints a table; numbers are reported, never asserted.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.model import SymbiosisModel  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 15")
    args = parser.parse_args()
    repeats = 3 if args.quick else 15
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'scenario':<22} {'facilities':>10} {'contracts':>9} {'build ms':>9} {'simulate ms':>12} "
          f"{'metrics ms':>11} {'total ms':>9} {'fac-days/s':>11}")
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        # The file's own horizon stays (events may lie beyond a year); the model stops at 365.
        sc = load_scenario(path, {"scenario.warmup_days": 0})
        build_t, sim_t, res_t = [], [], []
        for seed in range(repeats):
            t0 = time.perf_counter()
            m = SymbiosisModel(sc, rng=seed, horizon_days=365, collect_series=False)
            t1 = time.perf_counter()
            m.run()
            t2 = time.perf_counter()
            m.result()
            t3 = time.perf_counter()
            build_t.append(t1 - t0)
            sim_t.append(t2 - t1)
            res_t.append(t3 - t2)
        b, s, r = (statistics.median(t) * 1e3 for t in (build_t, sim_t, res_t))
        rate = len(sc.facilities) * 365 / (s / 1e3)
        print(f"{path.stem:<22} {len(sc.facilities):>10} {len(sc.contracts):>9} {b:>9.1f} {s:>12.1f} "
              f"{r:>11.1f} {b + s + r:>9.1f} {rate:>11,.0f}", flush=True)


if __name__ == "__main__":
    main()
