"""Run every check, calibration and finding, and write VALIDATION.md."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from analysis import real_cases
from analysis.checks import Check
from analysis.validation import cases, findings, oracles
from analysis.validation.cases import REPO
from analysis.validation.findings import Finding
from analysis.validation.page import report


def run_all(fast: bool) -> tuple[list[Check], list[Finding], dict[str, float]]:
    """Every row of the page, and the seconds each group took."""
    reps = 10 if fast else 40
    horizon = 2000 if fast else 4000
    found = 4 if fast else 12  # paired replications of each published finding
    checks: list[Check] = []
    found_rows: list[Finding] = []
    timings: dict[str, float] = {}
    steps = [
        ("O1", lambda: oracles.o1(reps, horizon)),
        ("O2", lambda: oracles.o2(reps, horizon)),
        ("O2d", lambda: oracles.o2d(reps, horizon)),
        ("O5", lambda: oracles.o5(reps, horizon)),
        ("O10", lambda: oracles.o10(reps, horizon)),
        ("O12", lambda: oracles.o12(reps, horizon)),
        ("money", lambda: oracles.money(reps, horizon)),
        ("coal exit", lambda: real_cases.coal_exit_checks(4 if fast else 10)),
        ("hub removal", lambda: real_cases.hub_removal_checks(3 if fast else 8)),
        ("NISP", lambda: cases.nisp_distance(3 if fast else 8)),
        ("Albino", lambda: findings.albino_low_uncertainty(found)),
        ("Fraccascia", lambda: findings.fraccascia_redundancy(found)),
        ("stored", findings.stored_only),
    ]
    for name, fn in steps:
        t0 = time.perf_counter()
        rows = fn()
        (found_rows if rows and isinstance(rows[0], Finding) else checks).extend(rows)
        timings[name] = time.perf_counter() - t0
        print(f"{name}: {timings[name]:.1f} s", file=sys.stderr)
    return checks, found_rows, timings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.validation",
                                 description="Validation report: the model against closed forms and published "
                                             "findings -> VALIDATION.md.")
    ap.add_argument("--fast", action="store_true", help="fewer replications (CI); exit 1 on a failed check")
    ap.add_argument("--out", type=Path, default=REPO / "VALIDATION.md")
    a = ap.parse_args(argv)
    checks, found_rows, timings = run_all(a.fast)
    a.out.write_text(report(checks, found_rows, timings, a.fast), encoding="utf-8")
    counted = [c for c in checks if c.counted]
    failed = [c for c in counted if not c.passed]
    for c in failed:
        print(f"FAIL {c.group}: {c.name}: {c.simulated:.5f} vs {c.reference} (SE {c.se:.5f})", file=sys.stderr)
    print(f"{a.out}: {len(counted) - len(failed)}/{len(counted)} checks pass "
          f"(not counted: {len(checks) - len(counted)} calibration(s) and other rows, {len(found_rows)} "
          "finding(s))", file=sys.stderr)
    return 1 if failed else 0
