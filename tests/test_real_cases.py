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


# --- issue 22: the real cases re-examined (analysis/real_cases.py) ---------------------------


import sim.day.status as status  # noqa: E402
import sim.day.tidy_up as tidy_up  # noqa: E402
import sim.model as model_module  # noqa: E402
import sim.units as units  # noqa: E402
from analysis import real_cases as rc  # noqa: E402
from analysis.validation.page import render  # noqa: E402

CHECK_REPS = 4


def test_after_exit_window_equals_a_hand_sum_on_one_run() -> None:
    sc = load_scenario(rc.COAL_EXIT, rc.arms()["exit, coal-era stockpile, backup"])
    d = rc.exit_day(sc)
    assert d == 400
    m = rc.run_model(sc, 404, 0)
    w = rc.window(m, d)
    k = next(i.index for i in m.facility_by_id["gyproc"].inputs if i.spec.material == "gypsum")
    req = unmet = 0.0
    for day in range(d, sc.scenario.horizon_days):  # day by day, by hand
        req += m.inputs_flow["required_t"][day, k]
        unmet += m.inputs_flow["unmet_t"][day, k]
    assert w.fill == pytest.approx(1 - unmet / req, rel=1e-12)
    assert 0.6 < w.fill < 0.8  # the coal-era stockpile does not hold supply after the exit
    paid = sum(a for day, payer, _, a, _, _ in m.money.rows if day >= d and payer == "gyproc")
    got = sum(a for day, _, payee, a, _, _ in m.money.rows if day >= d and payee == "gyproc")
    stock = lambda day: 30.0 * (m.inputs_flow["virgin_stock_t"][day, k] + m.inputs_flow["buffer_t"][day, k])  # noqa: E731
    assert w.cost == pytest.approx(paid - got - (stock(sc.scenario.horizon_days - 1) - stock(d - 1)), rel=1e-12)


def test_window_from_the_warmup_is_the_facility_tables_buy_cost() -> None:
    m = rc.run_model(load_scenario(rc.COAL_EXIT), 404, 1)
    w = rc.window(m, m.warmup)
    g = m.result().facilities.set_index("facility").loc["gyproc"]
    assert w.cost == pytest.approx(g["buy_cost"], rel=1e-12)
    assert w.fill == pytest.approx(1 - g["input_unmet_t"] / g["input_required_t"], rel=1e-12)


def test_no_exit_arm_carries_the_coal_era_stockpile() -> None:
    sc = load_scenario(rc.COAL_EXIT, rc.arms()["no exit (coal era)"])
    sp = next(i for f in sc.facilities if f.id == "gyproc" for i in f.inputs).stockpile
    assert (sp.reorder_point_t, sp.order_up_to_t) == (2000.0, 12000.0) and not sc.events
    base = load_scenario(REPO / "scenarios" / "kalundborg.toml")
    assert sp == next(i for f in base.facilities if f.id == "gyproc" for i in f.inputs).stockpile


def test_renewal_formula_by_hand() -> None:
    sc = load_scenario(rc.COAL_EXIT, rc.arms()["exit, coal-era stockpile, no backup"])
    r = 450 * 150 / 152
    x = 2000 - r / 2
    ref, band = rc.renewal_fill(sc)
    assert ref == pytest.approx((12000 - x) / (12000 + 29 * r - 2 * x), rel=1e-12)
    assert 0 < band < 0.001


def test_coal_exit_and_hub_removal_checks_pass_on_the_model() -> None:
    checks = rc.coal_exit_checks(CHECK_REPS) + rc.hub_removal_checks(CHECK_REPS)
    assert [c.group for c in checks] == ["coal exit"] * 3 + ["hub removal"] * 3
    assert all(c.passed and c.kind == "closed form" and c.compares and c.tolerance_source for c in checks), [
        render(c) for c in checks if not c.passed]


@pytest.fixture
def leaky_stockpile(monkeypatch: pytest.MonkeyPatch) -> None:
    """A natural-gypsum delivery paid in full of which 10 % never reaches the store."""
    real = tidy_up.receive_virgin

    def leaky(fac, inp, qty):
        real(fac, inp, qty)
        inp.virgin_stock -= 0.1 * qty

    monkeypatch.setattr(tidy_up, "receive_virgin", leaky)


@pytest.fixture
def backup_never_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status, "activate", lambda m, b, generation: None)


@pytest.fixture
def closure_late_and_forgetting_its_purchases(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closure that ends the contracts the facility supplies one day late and never ends
    those it buys on (its water keeps coming)."""

    def broken(m, fid, day=None):
        def later():
            for c in m.contracts:
                if c.terms.supplier == fid and c.status is not status.Status.ENDED:
                    status.end(m, c, int(m.env.now), "closure")

        m.schedule(1.0, later)

    monkeypatch.setattr(model_module, "facility_closed", broken)


def test_a_leaking_stockpile_fails_every_coal_exit_check(leaky_stockpile: None) -> None:
    checks = rc.coal_exit_checks(CHECK_REPS)
    assert not any(c.passed for c in checks), [render(c) for c in checks]


def test_a_backup_never_called_fails_the_backup_row(backup_never_called: None) -> None:
    checks = {c.name: c for c in rc.coal_exit_checks(CHECK_REPS)}
    failed = [name for name, c in checks.items() if not c.passed]
    assert failed == [n for n in checks if n.endswith("coal-era stockpile, backup")]


@pytest.fixture
def steam_booked_in_tonnes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-unit accounting (sim/units.py) counts steam, a MWh material, among the tonnes."""
    real = units.column_keys

    def broken(model):
        keys = real(model)
        keys.unit["steam"] = "t"
        return keys

    monkeypatch.setattr(units, "column_keys", broken)


def test_steam_booked_in_tonnes_fails_the_t_and_mwh_hub_rows(steam_booked_in_tonnes: None) -> None:
    checks = {c.name.split()[0]: c for c in rc.hub_removal_checks(CHECK_REPS)}
    assert not checks["t"].passed and checks["t"].simulated > 0  # steam lost counted as t
    assert not checks["MWh"].passed and checks["MWh"].simulated < 0
    assert checks["m3"].passed


def test_a_broken_closure_fails_the_t_and_m3_hub_rows(closure_late_and_forgetting_its_purchases: None) -> None:
    # A closed Asnaes makes no steam or heat, so its MWh contracts carry nothing whether or not
    # they are ended: the MWh row is broken by steam_booked_in_tonnes instead.
    checks = {c.name.split()[0]: c for c in rc.hub_removal_checks(CHECK_REPS)}
    assert not checks["t"].passed and checks["t"].simulated < 0  # one day of trucked ash and gypsum
    assert not checks["m3"].passed and checks["m3"].simulated < 0  # the water kept flowing
