"""Issue 22: the validation page counts only closed forms and directions, lists calibrations
apart, and lists the published findings it does not reproduce or cannot test."""

from __future__ import annotations

import re
from pathlib import Path

from analysis.checks import Check
from analysis.validation.findings import Finding, stored_only
from analysis.validation.page import render, report

REPO = Path(__file__).resolve().parents[1]


def _checks() -> list[Check]:
    return [
        Check("O1", "a closed form that passes", 0.80, 0.001, 0.80, True, compares="x against y"),
        Check("O1", "a closed form that fails", 0.70, 0.001, 0.80, False, compares="x against y"),
        Check("NISP", "a calibration that agrees", 33.0, 1.0, 33.0, True, kind="calibration", slack=5.0),
        Check("NISP", "a calibration that does not", 90.0, 1.0, 33.0, False, kind="calibration"),
        Check("case", "a finding not reproduced", 0.0, 1.0, "> 0", False, kind="not reproduced"),
    ]


def test_a_calibration_is_never_counted_as_a_pass() -> None:
    checks = _checks()
    assert [c.counted for c in checks] == [True, True, False, False, False]
    page = report(checks, stored_only(), {"x": 1.0}, fast=True)
    assert "**1 of 2 checks pass.**" in page
    checks_part = page.split("## Checks")[1].split("## Calibrations")[0]
    calibrations = page.split("## Calibrations")[1].split("## Findings")[0]
    assert "calibration that agrees" not in checks_part and "calibration that agrees" in calibrations
    rows = [line for line in calibrations.splitlines() if line.startswith("| a calibration")]
    assert len(rows) == 2 and all("| calibration |" in r and "| pass |" not in r for r in rows)
    findings = page.split("## Findings not reproduced or not testable")[1].split("## Not checked")[0]
    assert "a finding not reproduced" in findings and "| not reproduced |" in findings
    assert "a closed form that fails" in page.split("## Where the model does not match")[1]


def test_every_row_states_what_it_compares_its_tolerance_source_and_power() -> None:
    c = Check("money", "ledger identity", 1.0, 0.0, 1.0, True, compares="penalties against p x short",
              tolerance_source="1e-9: float rounding", slack=1e-9)
    row = render(c)
    assert "penalties against p x short" in row and "(1e-9: float rounding)" in row
    default = render(_checks()[0])
    assert "(4 SE)" in default
    assert f"{(4 + 0.8416) * 0.001:.5f}" in default  # detects: (4 + z_0.80) SE


def test_the_page_lists_each_finding_given() -> None:
    f = Finding("Someone 2020", "a claim", "measured", "stored, `cmd`", "**not reproduced**")
    page = report([], [f, *stored_only()], {}, fast=False)
    section = page.split("## Findings not reproduced or not testable")[1].split("## Not checked")[0]
    assert "| Someone 2020 | a claim | measured | stored, `cmd` | **not reproduced** |" in section
    assert "shares benefits fairly" in section


def test_the_shipped_page_lists_the_findings_not_reproduced() -> None:
    page = (REPO / "VALIDATION.md").read_text(encoding="utf-8")
    section = page.split("## Findings not reproduced or not testable")[1].split("## Not checked")[0]
    assert re.search(r"Albino.*especially under low uncertainty.*not reproduced", section)
    assert re.search(r"Fraccascia.*more waste is exchanged", section)
    assert "python run_experiments.py run scenarios/studies/redundancy_finding.toml" in section
    head = page.split("## Checks")[0]
    n, m = map(int, re.search(r"\*\*(\d+) of (\d+) checks pass\.\*\*", head).groups())
    rows = page.split("## Checks")[1].split("## Calibrations")[0]
    table = [line for line in rows.splitlines() if line.startswith("| ") and not line.startswith("| check |")]
    assert m == len(table) and n == sum("| pass |" in line for line in table)
    assert "NISP" not in rows and "NISP" in page.split("## Calibrations")[1].split("## Findings")[0]
