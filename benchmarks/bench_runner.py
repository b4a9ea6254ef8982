"""Benchmark the experiment runner (DESIGN.md section 9).

    .venv/bin/python benchmarks/bench_runner.py --quick     # about a minute on 2 cores
    .venv/bin/python benchmarks/bench_runner.py             # the full sizes

Measures, each variant in a fresh Python process so that peak memory (ru_maxrss of the
coordinating process) is not polluted by the others:

1. our runner vs ``mesa.batch_run`` on the same model, scenario, design points and seeds,
   both in one process: runs per second and peak memory;
2. our runner with 1 vs 2 worker processes: runs per second;
3. memory at 1,000 vs 10,000 runs (quick: 200 vs 2,000), ours (rows stream to part files)
   against ``mesa.batch_run`` (rows held in memory);
4. the host's own ceiling for 2 processes: two CPU-bound pure-Python tasks in 2 processes
   against one after the other (on a shared VM this is often well short of 2x, and drifts).

Prints a table; writes nothing but temporary results folders.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "tests" / "data" / "tiny.toml"
BUFFER_DAYS = [0, 3]


def _study_file(folder: Path, replications: int, horizon_days: int) -> Path:
    path = folder / "bench.toml"
    path.write_text(
        f'[study]\nname = "bench"\nscenario = "{SCENARIO}"\nreplications = {replications}\n'
        f"seed = 1\nhorizon_days = {horizon_days}\n[design]\nkind = \"grid\"\n"
        f'[design.factors]\n"policy.buffer_days" = {BUFFER_DAYS}\n'
    )
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def variant_ours(runs: int, horizon_days: int, workers: int) -> dict[str, float]:
    """Our runner, `runs` runs in total over the design points. Also records the peak memory
    reached while the runs execute, before the final consolidation of runs.parquet (which
    holds the results table itself, as any summary must)."""
    import sim.model  # noqa: F401  (imported before timing, as in the batch_run variant)
    from sim.experiment.runner import run_study
    from sim.experiment.store import ResultStore
    from sim.experiment.study import load_study

    before: dict[str, float] = {}
    consolidate = ResultStore.consolidate

    def timed_consolidate(self: ResultStore, *args: object, **kwargs: object) -> object:
        before["peak_mb"] = _peak_mb()
        return consolidate(self, *args, **kwargs)

    ResultStore.consolidate = timed_consolidate  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        study = load_study(_study_file(Path(tmp), runs // len(BUFFER_DAYS), horizon_days))
        start = time.perf_counter()
        result = run_study(study, Path(tmp) / "out", workers=workers, quiet=True, flush_every=200)
        elapsed = time.perf_counter() - start
    return {"runs": len(result.runs), "seconds": elapsed, "peak_mb": _peak_mb(),
            "exec_peak_mb": before.get("peak_mb", float("nan"))}


def variant_batch_run(runs: int, horizon_days: int) -> dict[str, float]:
    """mesa.batch_run on the same model (SymbiosisModel), design points and run seeds."""
    import mesa

    from sim.model import SymbiosisModel
    from sim.rng import run_seed
    from sim.scenario import load_scenario

    scenarios = {b: load_scenario(SCENARIO, {"policy.buffer_days": b}) for b in BUFFER_DAYS}

    class BenchModel(SymbiosisModel):
        """SymbiosisModel with the keyword parameters batch_run sweeps; on the last day it
        computes the run metrics (as our runner does) and collects its DataCollector once,
        which is what batch_run reports."""

        def __init__(self, buffer_days: int = 0, rng: object = None):
            super().__init__(scenarios[buffer_days], rng=rng, horizon_days=horizon_days,
                             collect_series=False)

        def step(self) -> None:
            super().step()
            if not self.running:
                self.final = self.result()
                self.datacollector.collect(self)

    reps = runs // len(BUFFER_DAYS)
    start = time.perf_counter()
    rows = mesa.batch_run(BenchModel, {"buffer_days": BUFFER_DAYS}, number_processes=1,
                          rng=[run_seed(1, k) for k in range(reps)], max_steps=horizon_days + 1,
                          data_collection_period=-1, display_progress=False)
    elapsed = time.perf_counter() - start
    finished = len({(r["RunId"]) for r in rows})
    return {"runs": finished, "seconds": elapsed, "peak_mb": _peak_mb(), "exec_peak_mb": float("nan")}


def _spin(n: int) -> float:
    """Pure-Python CPU work (no memory to speak of); returns its CPU seconds."""
    t0 = time.process_time()
    s = 0
    for i in range(n):
        s += i * i % 7
    return time.process_time() - t0


def host_parallel_ceiling(n: int = 8_000_000) -> float:
    """How much faster two CPU-bound tasks finish in 2 processes than one after the other, on
    this host now: the most 2 workers can give (a shared VM's two vCPUs often give less than
    2x, and it varies from minute to minute)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver")) as pool:
        list(pool.map(_spin, [1000, 1000]))  # the workers are up
        t0 = time.perf_counter()
        _spin(n)
        _spin(n)
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(_spin, [n, n]))
        parallel = time.perf_counter() - t0
    return serial / parallel


def _measure(args: list[str]) -> dict[str, float]:
    """Run one variant in a fresh interpreter and read its JSON result."""
    done = subprocess.run([sys.executable, __file__, "--variant", *args], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    """Parse arguments; run all variants (or one, when called by ourselves) and print a table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--variant", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        kind, runs, horizon, *rest = args.variant
        if kind == "ours":
            out = variant_ours(int(runs), int(horizon), int(rest[0]))
        else:
            out = variant_batch_run(int(runs), int(horizon))
        print(json.dumps(out))
        return 0

    compare_runs, horizon = (40, 60) if args.quick else (800, 365)
    small, large = (200, 2000) if args.quick else (1000, 10000)
    memory_horizon = 5
    table = [
        ("ours, 1 process", "ours", compare_runs, horizon, 1),
        ("mesa.batch_run, 1 process", "batch", compare_runs, horizon, 0),
        ("ours, 2 workers", "ours", compare_runs, horizon, 2),
        (f"ours, 2 workers, {small} runs (horizon {memory_horizon} d)", "ours", small, memory_horizon, 2),
        (f"ours, 2 workers, {large} runs (horizon {memory_horizon} d)", "ours", large, memory_horizon, 2),
        (f"ours, 1 process, {small} runs (horizon {memory_horizon} d)", "ours", small, memory_horizon, 1),
        (f"ours, 1 process, {large} runs (horizon {memory_horizon} d)", "ours", large, memory_horizon, 1),
        (f"mesa.batch_run, {small} runs (horizon {memory_horizon} d)", "batch", small, memory_horizon, 0),
        (f"mesa.batch_run, {large} runs (horizon {memory_horizon} d)", "batch", large, memory_horizon, 0),
    ]
    print(f"{'variant':<48} {'runs':>6} {'seconds':>8} {'runs/s':>8} {'peak MB':>8} {'exec MB':>8}")
    rate: dict[str, float] = {}
    for label, kind, runs, hz, workers in table:
        m = _measure([kind, str(runs), str(hz), str(workers)])
        rate[label] = m["runs"] / m["seconds"]
        print(f"{label:<48} {m['runs']:>6} {m['seconds']:>8.2f} {rate[label]:>8.1f} "
              f"{m['peak_mb']:>8.1f} {m['exec_peak_mb']:>8.1f}", flush=True)
    print("peak MB: maximum resident memory of the coordinating process (workers not included);")
    print("exec MB: the same, reached before runs.parquet is consolidated (ours only).")
    ceiling = host_parallel_ceiling(2_000_000 if args.quick else 8_000_000)
    two_long = rate["ours, 2 workers"] / rate["ours, 1 process"]
    two_many = rate[table[4][0]] / rate[table[6][0]]
    print(f"2 workers / 1 process: {two_long:.2f}x at {compare_runs} runs of {horizon} days, "
          f"{two_many:.2f}x at {large} runs of {memory_horizon} days;")
    print(f"host ceiling now: two CPU-bound pure-Python tasks run {ceiling:.2f}x as fast in 2 processes "
          "as one after the other")
    return 0


if __name__ == "__main__":
    sys.exit(main())
