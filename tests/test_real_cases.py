"""Issue 7: shipped scenarios and studies validate, the synthetic generator gives valid regions,
and the fast validation report passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.scenario import load_scenario, parse_scenario
from sim.synthetic import generate_region, region_raw, to_toml

REPO = Path(__file__).resolve().parents[1]
ALL_SCENARIOS = sorted((REPO / "scenarios").rglob("*.toml"))
SCENARIOS = [p for p in ALL_SCENARIOS if "studies" not in p.parts]
STUDIES = sorted((REPO / "scenarios" / "studies").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS + STUDIES, ids=lambda p: str(p.relative_to(REPO / "scenarios")))
def test_every_shipped_scenario_and_study_validates(path: Path) -> None:
    r = subprocess.run([sys.executable, "run_experiments.py", "validate", str(path.relative_to(REPO))],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_kalundborg_and_coal_exit_are_shipped_with_the_exit_script() -> None:
    sc = load_scenario(REPO / "scenarios" / "kalundborg_coal_exit.toml")
    ends = {(e.facility, e.material) for e in sc.events if e.kind == "stream_end"}
    assert ends == {("asnaes", "fgd_gypsum"), ("asnaes", "fly_ash")}
    assert any(c.role == "backup" and c.buyer == "gyproc" for c in sc.contracts)
    assert {"asnaes", "refinery", "gyproc", "novo", "municipality", "soilrem", "farms", "cement"} <= {
        f.id for f in load_scenario(REPO / "scenarios" / "kalundborg.toml").facilities}


def _roundtrip(n: int) -> None:
    import tomllib

    sc = generate_region(n, seed=3)
    assert len(sc.facilities) == n and sc.contracts
    again = parse_scenario(tomllib.loads(to_toml(sc, n, 3)), "<roundtrip>")
    assert [c.id for c in again.contracts] == [c.id for c in sc.contracts]


@pytest.mark.parametrize("n", [10, 100])
def test_generator_gives_valid_regions(n: int) -> None:
    _roundtrip(n)


@pytest.mark.slow
def test_generator_gives_a_valid_region_of_1000_facilities() -> None:
    # slow for its size (generation and the TOML round trip); its time is in bench_scaling.py
    _roundtrip(1000)


def test_generator_is_deterministic_in_its_seed() -> None:
    assert region_raw(30, seed=5) == region_raw(30, seed=5)
    assert region_raw(30, seed=5) != region_raw(30, seed=6)
    assert generate_region(30, seed=5) == generate_region(30, seed=5)


def test_generator_rejects_unknown_sectors() -> None:
    with pytest.raises(ValueError, match="unknown sectors"):
        region_raw(10, sector_mix={"steelworks": 1.0})


@pytest.mark.slow
def test_fast_validation_passes(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "analysis.validation", "--fast", "--out", str(tmp_path / "V.md")],
                       cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr
