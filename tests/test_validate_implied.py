"""`run_experiments.py validate` shows what a scenario file implies (issue 25 item 3): a
campaign stream's rate on its producing days, contracts against the supplier's expected
output, buffers and stores in days of use, over-committed and unused items flagged;
`--quiet` keeps the single ok line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sim.implied import availability
from sim.scenario import Facility, Location, Maintenance, Outages

REPO = Path(__file__).resolve().parents[1]
SUGAR = REPO / "tests" / "analysis" / "data" / "sugar_lime.toml"


def validate(path: Path, *flags: str) -> list[str]:
    """stdout lines of a validate that succeeds."""
    proc = subprocess.run([sys.executable, "run_experiments.py", "validate", *flags, str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def sugar_variant(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    text = SUGAR.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "sugar.toml"
    path.write_text(text, encoding="utf-8")
    return path


def row(lines: list[str], first: str, containing: str = "") -> list[str]:
    """The cells of the first table row starting with `first` (and holding `containing`)."""
    return next(line.split() for line in lines if line.strip().startswith(first + " ") and containing in line)


def test_validate_prints_the_on_day_rate_of_a_campaign_stream(tmp_path: Path) -> None:
    # the trap: 500 t/day as a long-run mean over a 120-day campaign is 1,521 t/day
    path = sugar_variant(tmp_path, ("rate_t_per_day = 60.0", "rate_t_per_day = 500.0"))
    cells = row(validate(path), "sugar_factory.sugar_lime")
    mean, producing, days, per_year = cells[-7:-3]
    assert (mean, producing, days, per_year) == ("500.0", f"{500 * 365 / 120:,.0f}", "120", f"{500 * 365:,}")


def test_validate_flags_contracts_above_the_suppliers_expected_output(tmp_path: Path) -> None:
    # 20 + 38 = 58 t/day is below the mean of 60 but above 60 x 60/63 = 57.1 expected
    path = sugar_variant(tmp_path, ("volume_t_per_day = 8.0", "volume_t_per_day = 38.0"))
    lines = validate(path)
    expected = 60.0 * 60.0 / 63.0
    assert (f"  ! over-committed: sugar_factory.sugar_lime: primary contracts take 58.0 t/d, expected output "
            f"{expected:.1f} t/d (mean 60.0 x availability {60 / 63:.3f}); lower the volumes or add a supplier"
            ) in lines
    assert row(lines, "lime-to-farm")[-1] == f"{38 / expected:.0%}"


def test_validate_gives_buffers_and_stores_in_days_of_use() -> None:
    lines = validate(SUGAR)
    assert row(lines, "kiln.limestone")[-1] == f"{1500 / (50 * 0.4):.1f}"
    assert row(lines, "sugar_factory.sugar_lime", "source store")[-1] == f"{3000 / 28:.1f}"


def test_a_continuous_stream_within_its_output_flags_nothing(tmp_path: Path) -> None:
    path = sugar_variant(tmp_path, ('pattern = { kind = "campaign", on_days = 120, off_days = 245, phase_days = 250 }',
                                    ""))
    assert "Flags: none (nothing over-committed or unused)" in validate(path)


def test_a_campaign_whose_idle_days_outlast_the_store_is_flagged_with_the_shortfall() -> None:
    # 245 idle days x (20 + 8) t/d contracted = 6,860 t against a 3,000 t store
    flags = [line for line in validate(SUGAR) if line.startswith("  ! campaign gap: sugar_factory.sugar_lime: ")]
    assert len(flags) == 1 and f"= {245 * 28:,} t against 3,000 t of source store" in flags[0]
    assert f"contracts fall about {245 * 28 - 3000:,} t short each off season" in flags[0]


def test_validate_flags_a_stream_no_contract_takes(tmp_path: Path) -> None:
    path = sugar_variant(tmp_path, ('id = "lime-to-farm"', 'id = "lime-to-farm"\nenabled = false'))
    lines = validate(path)
    assert ("  ! never used: farm.lime_fertiliser: accepts sugar_lime but no contract supplies it") in lines


def test_quiet_prints_only_the_ok_line() -> None:
    assert validate(SUGAR, "--quiet") == [
        f"{SUGAR}: ok (scenario 'sugar lime to a kiln and a farm': 3 facilities, 2 contracts, 730 days)"
    ]


def test_availability_is_mtbf_over_cycle_times_days_outside_maintenance() -> None:
    fac = Facility(id="f", location=Location(x_km=0.0, y_km=0.0), outages=Outages(
        mtbf_days=60.0, mttr_days=3.0, maintenance=[Maintenance(start_day=5.0, duration_days=10.0, every_days=100.0)]))
    assert availability(fac, 365) == 60.0 / 63.0 * 0.9
    assert availability(Facility(id="g", location=Location(x_km=0.0, y_km=0.0)), 365) == 1.0


def test_the_worked_example_shows_what_validate_prints_today() -> None:
    doc = (REPO / "docs" / "example-seasonal-byproduct.md").read_text(encoding="utf-8")
    command = "$ run_experiments.py validate docs/examples/sugar_lime.toml\n"
    shown = doc.split(command, 1)[1].split("```", 1)[0].splitlines()
    proc = subprocess.run([sys.executable, "run_experiments.py", "validate", "docs/examples/sugar_lime.toml"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.splitlines() == shown
    study = subprocess.run([sys.executable, "run_experiments.py", "validate", "docs/examples/sugar_lime_study.toml"],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
    assert study.returncode == 0, study.stderr


TWO_SEASONS_TOML = """
[scenario]
name = "two seasons"
horizon_days = 365

[[materials]]
id = "ash"

[[materials]]
id = "stone"
virgin_price_per_t = 50.0

[[facilities]]
id = "sup"
location = { x_km = 0.0, y_km = 0.0 }
outputs = [ { material = "ash", rate_t_per_day = 10.0 } ]

[[facilities]]
id = "buy"
location = { x_km = 0.0, y_km = 0.0 }

[[facilities.inputs]]
material = "stone"
demand_t_per_day = 10.0
buffer_t = 50.0
substitutes = [ { material = "ash" } ]
PATTERN

[[contracts]]
id = "c1"
supplier = "sup"
buyer = "buy"
material = "ash"
volume_t_per_day = 10.0
"""


def test_a_flat_contract_against_a_low_season_is_flagged_with_the_surplus(tmp_path: Path) -> None:
    """Demand 1.5 x 10 t/day from January to June, 0.5 x 10 from July to December, against a
    flat 10 t/day: 184 days x 5 t/day = 920 t a year arrive above the day's use."""
    path = tmp_path / "seasons.toml"
    path.write_text(TWO_SEASONS_TOML.replace(
        "PATTERN", 'demand_pattern = { kind = "seasonal", monthly_factors = [1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 0.5, 0.5, '
        '0.5, 0.5, 0.5, 0.5] }'), encoding="utf-8")
    flags = [line for line in validate(path) if line.startswith("  ! seasonal surplus: buy.stone: ")]
    assert flags == ["  ! seasonal surplus: buy.stone: 10.0 t/d contracted against a use of 5.0 to 15.0 t/d under "
                     "its demand_pattern: about 920 t a year arrives above the day's use; what its 50.0 t buffer "
                     "cannot carry to days of higher use overflows at the buyer's cost"]
    flat = tmp_path / "flat.toml"
    flat.write_text(TWO_SEASONS_TOML.replace("PATTERN", 'demand_pattern = { kind = "seasonal", amplitude = 0.0 }'),
                    encoding="utf-8")
    assert "Flags: none (nothing over-committed or unused)" in validate(flat)
