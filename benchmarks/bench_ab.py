"""This checkout's simulated day against another commit's, in one process, days alternated.

    .venv/bin/python benchmarks/bench_ab.py --against main~3         # 10 and 1,000 facilities
    .venv/bin/python benchmarks/bench_ab.py --against 2c03442 --sizes 10 300 1000
    .venv/bin/python benchmarks/bench_ab.py --quick                  # HEAD against itself, 10 and 30
    .venv/bin/python benchmarks/bench_ab.py --engine arrays --sizes 300 1000   # a change to the array day

The way to report a change's "before and after" on a host whose speed drifts. Two versions
timed one after the other can differ by 30 % with the same code; here the other commit's `sim`
package is taken out of git (`git archive`) into a temporary folder under another name
(`sim_ref`), both versions build the same network (the synthetic region of `--sizes`
facilities, seed 0, made by this checkout and read by each version's own scenario schema), and
each timing round runs a block of days of one version, then of the other (the order swapped
every round), by CPU time. Both see the same host within a second. What it prints per size:
the median CPU time per day of each, and this checkout's time over the reference's per round
(median, and mean with its standard error): 1.00 is no change, 0.95 is 5 % faster.

The standard error understates the spread from one run of the script to the next: a commit
against itself came out at 0.997-1.005 at 10 facilities and 1.001-1.005 at 1,000, but a pair
of commits can move by 2-3 % between runs (where each version's objects land in memory, and
so which of them collide in the caches, differs from run to run). Run it twice or three
times, and read a difference under about 3 % as none.

Time a change at a small and a large network both: a change can lower the large network's
cost per facility-plus-contract day against the small one's by slowing the small one (the
2026-11-27 sessions did this twice before this script caught it, benchmarks/RESULTS.md), and
simulated cache misses (callgrind) can fall while time does not.

Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import platform
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REF_PACKAGE = "sim_ref"
# `from sim.x import`, `from sim import`, `import sim.x`, `import sim` (alone or in a list)
_IMPORTS = re.compile(r"^(\s*)(from|import)(\s+)sim(?=[.\s,]|$)", re.MULTILINE)
_IMPORT_LIST = re.compile(r"^(\s*import\s+.*,\s*)sim(?=[.\s,]|$)", re.MULTILINE)


def extract_reference(ref: str, into: Path) -> str:
    """Put commit `ref`'s `sim` package into `into` as package `sim_ref`; returns the commit."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                                capture_output=True, text=True, check=True).stdout.strip()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "sim"],
                                 capture_output=True, check=True).stdout
    except FileNotFoundError:
        _fail("bench_ab.py needs git, and this checkout's history")
    except subprocess.CalledProcessError as err:
        detail = err.stderr.decode() if isinstance(err.stderr, bytes) else err.stderr
        _fail(f"--against {ref}: no such commit with a sim/ folder in this checkout's history ({detail.strip()}); "
              "a shallow clone has only its last commits (git fetch --unshallow)")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    package = into / REF_PACKAGE
    (into / "sim").rename(package)
    for path in package.rglob("*.py"):
        text = _IMPORTS.sub(rf"\1\2\3{REF_PACKAGE}", path.read_text(encoding="utf-8"))
        text = _IMPORT_LIST.sub(rf"\1{REF_PACKAGE}", text)
        path.write_text(text, encoding="utf-8")
    return commit


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _check_unmixed() -> None:
    """Fail if the reference package uses anything of this checkout's `sim` (an import the
    renaming missed, e.g. one made from a string)."""
    for name, module in list(sys.modules.items()):
        if name != REF_PACKAGE and not name.startswith(f"{REF_PACKAGE}."):
            continue
        for value in vars(module).values():
            origin = getattr(value, "__module__", None) or getattr(value, "__name__", "")
            if isinstance(origin, str) and (origin == "sim" or origin.startswith("sim.")):
                _fail(f"the reference's {name} uses this checkout's {origin}: an import was not renamed")


def _model_class(package: str) -> Any:
    return importlib.import_module(f"{package}.model").SymbiosisModel


def _stepper(package: str, model: Any, engine: str) -> Any:
    """One day of `model` on `engine`: the object core's day, or the array day of the
    version's own sim/arrayday.py."""
    if engine == "objects":
        return model._simulate_day
    try:
        array_day = importlib.import_module(f"{package}.arrayday").ArrayDay
    except ModuleNotFoundError:
        _fail(f"{package} has no array day (sim/arrayday.py): compare --engine arrays against a commit that has one")
    return array_day(model).day


def compare(size: int, rounds: int, horizon: int, engine: str = "objects") -> dict[str, float]:
    """Alternate blocks of days of both versions on the `size`-facility region."""
    from sim.synthetic import generate_region

    scenario = generate_region(size, seed=0, horizon_days=horizon)
    ref_schema = importlib.import_module(f"{REF_PACKAGE}.scenario")
    raw = scenario.model_dump()
    # a policy lever newer than the reference (as `engine`) is left out (the region leaves it at
    # its default)
    raw["policy"] = {k: v for k, v in raw["policy"].items() if k in ref_schema.Policy.model_fields}
    # so are the newer fields of materials, inputs and contracts left at their defaults (issue 20's buffer policy)
    known = lambda cls, d: {k: v for k, v in d.items() if k in getattr(ref_schema, cls).model_fields}  # noqa: E731
    raw["materials"] = [known("Material", m) for m in raw["materials"]]
    raw["contracts"] = [known("Contract", c) for c in raw["contracts"]]
    for f in raw["facilities"]:
        f["inputs"] = [known("InputSpec", i) for i in f["inputs"]]
    ref_scenario = ref_schema.Scenario.model_validate(raw)
    versions = {
        "this": (_model_class("sim"), scenario),
        "ref": (_model_class(REF_PACKAGE), ref_scenario),
    }
    models = {name: cls(sc, rng=0, horizon_days=horizon, collect_series=False) for name, (cls, sc) in versions.items()}
    package = {"this": "sim", "ref": REF_PACKAGE}
    days = {name: _stepper(package[name], model, engine) for name, model in models.items()}
    _check_unmixed()
    seeds = dict.fromkeys(versions, 0)
    entities = len(models["this"].facilities) + len(models["this"].contracts)
    block = max(1, round(2000 / entities))  # about 2,000 facility-plus-contract days a block
    times: dict[str, list[float]] = {name: [] for name in versions}
    clock = time.process_time
    for r in range(rounds):
        for name in ("this", "ref") if r % 2 == 0 else ("ref", "this"):
            spent = 0.0
            for _ in range(block):
                model = models[name]
                if model._next_day >= horizon:  # a fresh run, as a study's next replication
                    seeds[name] += 1
                    cls, sc = versions[name]
                    model = models[name] = cls(sc, rng=seeds[name], horizon_days=horizon, collect_series=False)
                    days[name] = _stepper(package[name], model, engine)
                start = clock()
                days[name]()
                spent += clock() - start
            times[name].append(spent / block)
    ratios = [a / b for a, b in zip(times["this"], times["ref"], strict=True)]
    return {
        "entities": entities,
        "this_ms": statistics.median(times["this"]) * 1e3,
        "ref_ms": statistics.median(times["ref"]) * 1e3,
        "median": statistics.median(ratios),
        "mean": statistics.fmean(ratios),
        "se": statistics.stdev(ratios) / len(ratios) ** 0.5,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Sizes are facilities of sim.synthetic.generate_region(n, seed=0). Numbers are printed, never asserted.",
    )
    parser.add_argument("--against", default="HEAD", metavar="REF",
                        help="the commit to compare with (default HEAD: the working tree's changes)")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="N", help="facilities (default: 10 1000)")
    parser.add_argument("--rounds", type=int, metavar="K",
                        help="timing rounds per size, each a block of days of both (default 200; quick 20)")
    parser.add_argument("--quick", action="store_true", help="10 and 30 facilities, 20 rounds (a smoke test)")
    parser.add_argument("--engine", choices=["objects", "arrays"], default="objects",
                        help="which day to time in both versions: the object core (default) or the array day "
                             "(sim/arrayday.py, for a change to it; the reference commit must have one)")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([10, 30] if args.quick else [10, 1000])
    rounds = args.rounds or (20 if args.quick else 200)
    if min(sizes) < 2 or rounds < 2:
        parser.error("--sizes must be 2 or more facilities and --rounds 2 or more")
    with tempfile.TemporaryDirectory(prefix="bench_ab_") as tmp:
        commit = extract_reference(args.against, Path(tmp))
        sys.path.insert(0, tmp)
        print(f"machine: {platform.machine()}, Python {platform.python_version()}; "
              f"this checkout against {args.against} ({commit[:12]}); {args.engine} day; {rounds} rounds, "
              "days alternated")
        print(f"{'facilities':>10} {'fac+contracts':>13} {'this ms/day':>11} {'ref ms/day':>10} "
              f"{'this/ref median':>15} {'mean +- se':>14}")
        gc.disable()  # as SymbiosisModel.run() does
        try:
            for size in sizes:
                res = compare(size, rounds, horizon=100, engine=args.engine)
                print(f"{size:>10} {res['entities']:>13} {res['this_ms']:>11.3f} {res['ref_ms']:>10.3f} "
                      f"{res['median']:>15.3f} {res['mean']:>7.3f} +- {res['se']:.3f}", flush=True)
        except AttributeError as err:  # a commit older than the day's entry point
            _fail(f"{args.against}'s model cannot be stepped a day at a time as this one can ({err})")
        finally:
            gc.enable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
