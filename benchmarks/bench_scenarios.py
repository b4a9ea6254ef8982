"""Wall time of one simulated year of each shipped scenario (median over repeats).

    python benchmarks/bench_scenarios.py [--quick]

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
    print(f"{'scenario':<20} {'facilities':>10} {'simulate ms':>12} {'metrics ms':>11} {'total ms':>9}")
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        sc = load_scenario(path, {"scenario.horizon_days": 365, "scenario.warmup_days": 0})
        sim_t, res_t = [], []
        for seed in range(repeats):
            t0 = time.perf_counter()
            m = SymbiosisModel(sc, rng=seed, collect_series=False)
            m.run()
            t1 = time.perf_counter()
            m.result()
            t2 = time.perf_counter()
            sim_t.append(t1 - t0)
            res_t.append(t2 - t1)
        s, r = statistics.median(sim_t) * 1e3, statistics.median(res_t) * 1e3
        print(f"{path.stem:<20} {len(sc.facilities):>10} {s:>12.1f} {r:>11.1f} {s + r:>9.1f}")


if __name__ == "__main__":
    main()
