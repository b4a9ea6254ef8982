"""Wall time of validating a scenario file of 1k, 10k and 100k facilities (issue 26 item 1).

    .venv/bin/python benchmarks/bench_validate.py [--sizes 1000 10000 100000] [--timeout 300]

Each file is a network of brewery-farm pairs written by hand (one spent-grain output, one
feed input accepting it, one contract per pair: about 330 bytes a facility), so that the
file's size grows with the facilities and every cross-reference check has work to do. The
time is that of ``load_scenario`` (read the TOML, check the fields, check the references),
measured in a child process per size, so that a size over ``--timeout`` is stopped and
reported as such. Run from another checkout to measure its code:
``cd /tmp/base && /work/main/.venv/bin/python /work/main/benchmarks/bench_validate.py``
(the code measured is that of the current folder). Prints a table; numbers are reported,
never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAD = """\
[scenario]
name = "pairs"
horizon_days = 365

[[materials]]
id = "grain"
moisture = 0.8

[[materials]]
id = "feed"
virgin_price_per_t = 200.0
"""

PAIR = """
[[facilities]]
id = "brewery-{k}"
location = {{ x_km = {x}, y_km = 0.0 }}
outputs = [ {{ material = "grain", rate_t_per_day = 10.0 }} ]

[[facilities]]
id = "farm-{k}"
location = {{ x_km = {x}, y_km = 5.0 }}
inputs = [ {{ material = "feed", demand_t_per_day = 4.0, substitutes = [ {{ material = "grain", ratio = 0.25, \
max_share = 0.5 }} ] }} ]

[[contracts]]
id = "grain-{k}"
supplier = "brewery-{k}"
buyer = "farm-{k}"
material = "grain"
volume_t_per_day = 8.0
"""

CHILD = """\
import sys, time
sys.path.insert(0, {root!r})
from sim.scenario import load_scenario
t0 = time.perf_counter()
sc = load_scenario({path!r})
print(time.perf_counter() - t0, len(sc.facilities))
"""


def write_pairs(path: Path, facilities: int) -> None:
    """A valid scenario file of `facilities` facilities (brewery-farm pairs)."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEAD)
        for k in range(facilities // 2):
            fh.write(PAIR.format(k=k, x=float(k % 1000)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per size before it is stopped")
    parser.add_argument("--quick", action="store_true", help="1k and 10k facilities only (the tests' smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.sizes = [n for n in args.sizes if n <= 10_000] or [1000]
    root = os.getcwd()
    print(f"code: {root}; machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'facilities':>10} {'file MB':>8} {'validate s':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"pairs_{n}.toml"
            write_pairs(path, n)
            mb = path.stat().st_size / 2**20
            code = CHILD.format(root=root, path=str(path))
            t0 = time.perf_counter()
            try:
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     timeout=args.timeout, check=True).stdout.split()
                seconds = f"{float(out[0]):.2f}"
            except subprocess.TimeoutExpired:
                seconds = f"> {args.timeout:.0f} (stopped after {time.perf_counter() - t0:.0f} s)"
            print(f"{n:>10,} {mb:>8.1f} {seconds:>11}", flush=True)


if __name__ == "__main__":
    main()
