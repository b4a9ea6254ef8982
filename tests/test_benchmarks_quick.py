"""Every benchmark script runs in --quick mode, so that none can rot. Their numbers are
printed (see the captured output with -s or -rA), never asserted (DESIGN.md section 9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "benchmarks").glob("bench_*.py"))
# Scripts whose quick mode takes well over 20 s on 2 shared cores.
SLOW = {"bench_runner.py"}


def test_the_benchmarks_are_found():
    expected = {
        "bench_ab.py", "bench_engines.py", "bench_locality.py",
        "bench_runner.py", "bench_scenarios.py", "bench_scaling.py", "bench_validate.py",
    }
    assert expected <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize(
    "script",
    [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.name in SLOW else []) for p in SCRIPTS],
)
def test_benchmark_runs_in_quick_mode(script):
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True,
                          cwd=ROOT, timeout=900)
    print(done.stdout)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "a benchmark printed no numbers"
