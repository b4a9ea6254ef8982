"""VALIDATION.md from the checks, calibrations and findings (analysis/validation/cli.py runs them).

Sections: "Checks" (closed forms and directions: the only rows "N of M pass" counts),
"Calibrations" (a model input tuned to the reference: listed, never counted), "Findings not
reproduced or not testable" (with their evidence), "Not checked, and why", "Where the model
does not match".
"""

from __future__ import annotations

from analysis.checks import Z_POWER, Z_TOL, Check
from analysis.validation.findings import Finding

DEFAULT_SOURCE = Check("", "", 0.0, 0.0, 0.0, True).tolerance_source

TITLES = {
    "O1": "O1 availability (alternating renewal): A = MTBF / (MTBF + MTTR)",
    "O2": "O2 buffer against exponential outages, on days: fill = 1 - lambda/(lambda+mu) e^{-mu (b+1)}",
    "O2d": "O2d buffer against Markov outages: fill = 1 - alpha/(alpha+beta) (1-beta)^k",
    "O5": "O5 redundant suppliers without a buffer (k-of-n, Poisson-binomial enumeration)",
    "O10": "O10 finite-refill buffer, on-off supplier at r = 1.25 d and 1.5 d (docs/oracle-fluid-buffer.md)",
    "O12": "O12 common-cause shock over two redundant suppliers, beta-factor model (docs/oracle-common-cause.md)",
    "money": "Money: penalty income against p x the expected shortfall, and the penalty ledger",
    "coal exit": "Kalundborg coal exit after the exit day (scenarios/kalundborg_coal_exit.toml; "
                 "analysis/real_cases.py)",
    "hub removal": "Hub removal per unit (scenarios/kalundborg_hub_removal.toml; analysis/real_cases.py)",
    "NISP": "NISP exchange distance (sim.synthetic region, analysis/nisp_distance.py)",
}

HEAD = ("| check | compares | simulated | 95 % CI | reference | tolerance (source) | detects (80 % power) "
        "| result | note |\n|---|---|---|---|---|---|---|---|---|")

RULE = (f"Rule: a closed form passes when |simulated - reference| <= {Z_TOL:g} SE (SE = sd / sqrt(R) over R "
        "independent replications with fixed seeds); a direction passes when the paired difference is more than "
        f"{Z_TOL:g} SE from zero on the stated side. A row states another tolerance when it has one (a ledger "
        f"identity: float rounding). *Detects* is the smallest deviation from the reference the row flags with "
        f"80 % power, ({Z_TOL:g} + {Z_POWER:.2f}) SE plus any fixed slack. "
        "tests/test_validation_broken.py breaks the model through fixtures and shows each group of checks fail.")


def _num(x: float) -> str:
    return f"{x:.5f}" if abs(x) < 1e3 else f"{x:,.0f}"


def render(c: Check) -> str:
    """One table row: the Check's fields, with what it compares and its tolerance's source."""
    lo, hi = c.ci
    ref = _num(c.reference) if isinstance(c.reference, float) else c.reference
    source = "4 SE" if c.tolerance_source == DEFAULT_SOURCE else c.tolerance_source
    if c.kind in ("calibration", "not reproduced"):
        verdict = c.kind
    else:
        verdict = "pass" if c.passed else "**FAIL**"
    return (f"| {c.name} | {c.compares} | {_num(c.simulated)} | [{_num(lo)}, {_num(hi)}] | {ref} | "
            f"{_num(c.tolerance)} ({source}) | {_num(c.detects)} | {verdict} | {c.note} |")


def _tables(checks: list[Check]) -> list[str]:
    lines: list[str] = []
    for g in dict.fromkeys(c.group for c in checks):
        lines += [f"### {TITLES.get(g, g)}", "", HEAD, *(render(c) for c in checks if c.group == g), ""]
    return lines


NOT_APPLICABLE = """\
- **O2 (continuous form)** is the note, not the check: the model steps in whole days and a day
  partly up refills the buffer, so an outage costs the buffer only its whole days down, and the
  continuous formula's unmet share lambda/(lambda+mu) e^{-mu b} is too high by the factor
  e^{mu}: its fill is too low by 0.037, 0.015 and 0.0045 at b = 0, 3 and 7 days (the O2 rows'
  note). The O2 check is the day-step closed form, derived in docs/validation-method.md.
- **O2d covers a regime no scenario uses**: it refills at 1,000 t/day against a demand of 4, so
  any up day fills the buffer. O10 covers the regime the shipped scenarios run in: a contract
  at most about 1.5 x use, so the buffer refills only from the surplus r - d and a long outage
  can leave it short for weeks after the supplier is back.
- **O10 (continuous form)** is the documented limit, not the check: whole-day steps put the
  fluid formula 0.0015-0.009 above the daily chain's shares (docs/oracle-fluid-buffer.md; the
  note column gives it); the check uses the exact daily chain (a finite Markov chain, solved
  exactly), which is the model the days implement.
- **O8 (make-to-stock preprocessing stage)**: the model has no preprocessing *queue*; dewatering
  is an instantaneous mass change at the source, so there is no M/M/1 stage to check.
- **O9 (Palm's theorem, random haulage times)**: transit times are deterministic
  (distance / speed), so there is nothing random for Palm's theorem to test.
- **Money beyond penalties** (take-or-pay, standby fees, holding costs) has no closed-form row:
  tests/test_metrics_by_hand.py and the metamorphic suite (tests/metamorphic/: price scaling,
  penalty as a transfer) check them by hand and by relation, not against a stochastic closed form.
"""

CAVEATS = [
    "- The published directions of the two Kalundborg cases are not checks here: Gyproc's supply held after "
    "the coal exit only because the adapted file's stockpile covers the lead time by its size (coal-era "
    "stockpile: fill 0.49 without the recycler backup, 0.71 with it), and closing the hub is worse than a "
    "random closure by construction (Asnaes carries most flows). The rows above test what can fail: the "
    "stock-cycle fill formula, the after-exit price identity and the per-unit mass balance "
    "(docs/findings.md, \"Real cases re-examined\").",
    "- Kalundborg's prices, outage rates and contract terms are private, so the scenario's money "
    "figures are estimates [E]; the coal-exit cost rise depends on them.",
    "- NISP: the synthetic median is set mainly by facility density (the region's size), since the "
    "cited margins give break-even distances far above 33 km; matching it is a calibration, not "
    "a prediction.",
]


def report(checks: list[Check], findings: list[Finding], timings: dict[str, float], fast: bool) -> str:
    counted = [c for c in checks if c.counted]
    passed = [c for c in counted if c.passed]
    calibrations = [c for c in checks if c.kind == "calibration"]
    others = [c for c in checks if not c.counted and c.kind != "calibration"]
    mode = "fast mode: fewer replications, wider derived tolerances" if fast else "full mode"
    lines = [
        "# Validation", "",
        f"Generated by `python -m analysis.validation{' --fast' if fast else ''}` ({mode}); "
        f"{sum(timings.values()):.0f} s in all. Do not edit by hand.", "",
        f"**{len(passed)} of {len(counted)} checks pass.** Not counted: {len(calibrations)} calibration(s), "
        f"and {len(findings) + len(others)} published finding(s) not reproduced or not testable (their own "
        "sections below).", "", RULE, "", "## Checks", "",
    ]
    lines += _tables(counted)
    lines += ["## Calibrations (not counted as passes)", "",
              "A model input was tuned to hit the reference, so agreement is not evidence that the model "
              "predicts it.", "", *_tables(calibrations)]
    lines += ["## Findings not reproduced or not testable", "",
              "Run here on a few paired replications (enough to place each one; the stored study gives the "
              "precise figure, with the command that makes it).", "",
              "| source | finding | measured here | stored figure and command | status |",
              "|---|---|---|---|---|", *(f.row() for f in findings), "", *_tables(others)]
    lines += ["## Not checked, and why", "", NOT_APPLICABLE]
    failed = [c for c in counted if not c.passed]
    lines += ["## Where the model does not match", ""]
    lines += [f"- {c.group}: {c.name}: simulated {c.simulated:.5g} vs {c.reference} (SE {c.se:.3g})."
              for c in failed] or ["- Every counted check above passes."]
    return "\n".join(lines + CAVEATS + [""])
