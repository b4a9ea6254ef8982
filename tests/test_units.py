"""Units per material (issue 19, DESIGN.md sections 1 and 3a): tonnage metrics add up t only,
m3 and MWh have their own metrics and rows of the per-material table, and a file whose
quantities cannot be read in one unit is refused (exit 2, the field named)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import random_direct_scenario, random_scenario

from sim.model import SymbiosisModel
from sim.scenario import ScenarioError, parse_scenario
from sim.units import BALANCE_FLOWS, SUFFIX, TABLE_FLOWS, UNIT_METRICS

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "scenarios").glob("*.toml"))
H = 60  # days


def mixed_network(**input_override: object) -> dict:
    """A plant putting out ash (t), steam (MWh) and cooling water (m3) at fixed rates, never
    failing, to a neighbour whose three inputs each take one of them; a contract per stream."""
    inputs = [
        {"material": "stone", "demand_t_per_day": 8.0, "substitutes": [{"material": "ash"}]},
        {"material": "heat", "demand_t_per_day": 60.0, "substitutes": [{"material": "steam"}]},
        {"material": "cooling", "demand_t_per_day": 30.0, "substitutes": [{"material": "water"}]},
    ]
    inputs[0].update(input_override)
    return {
        "scenario": {"name": "mixed units", "horizon_days": H},
        "materials": [
            {"id": "ash", "disposal_cost_per_t": 10.0},
            {"id": "steam", "unit": "MWh", "state": "energy"},
            {"id": "water", "unit": "m3", "state": "liquid"},
            {"id": "stone", "virgin_price_per_t": 20.0},
            {"id": "heat", "unit": "MWh", "state": "energy", "virgin_price_per_t": 40.0},
            {"id": "cooling", "unit": "m3", "state": "liquid", "virgin_price_per_t": 1.0},
        ],
        "facilities": [
            {
                "id": "plant",
                "location": {"x_km": 0.0, "y_km": 0.0},
                "outputs": [
                    {"material": "ash", "rate_t_per_day": 10.0},
                    {"material": "steam", "rate_t_per_day": 100.0},
                    {"material": "water", "rate_t_per_day": 50.0},
                ],
            },
            {"id": "mill", "location": {"x_km": 2.0, "y_km": 0.0}, "inputs": inputs},
        ],
        "contracts": [
            {"id": "ash", "supplier": "plant", "buyer": "mill", "material": "ash", "volume_t_per_day": 6.0},
            {"id": "steam", "supplier": "plant", "buyer": "mill", "material": "steam", "volume_t_per_day": 50.0,
             "input": "heat", "mode": "pipe"},
            {"id": "water", "supplier": "plant", "buyer": "mill", "material": "water", "volume_t_per_day": 20.0},
        ],
    }


def run(raw: dict, seed: int = 1) -> SymbiosisModel:
    m = SymbiosisModel(parse_scenario(raw, "<mixed>"), rng=seed, collect_series=False)
    m.run()
    return m


def test_tonnage_metrics_hold_no_m3_or_mwh_and_other_units_have_their_own() -> None:
    m = run(mixed_network())
    r = m.result()
    x = r.metrics
    # Fixed rates, no outages: every day makes and needs the same.
    assert x["waste_generated_t"] == pytest.approx(10.0 * H, rel=1e-12)  # ash only, not 100 MWh + 50 m3 a day
    assert x["waste_generated_mwh"] == pytest.approx(100.0 * H, rel=1e-12)
    assert x["waste_generated_m3"] == pytest.approx(50.0 * H, rel=1e-12)
    assert x["input_required_t"] == pytest.approx(8.0 * H, rel=1e-12)
    assert x["input_required_mwh"] == pytest.approx(60.0 * H, rel=1e-12)
    assert x["input_required_m3"] == pytest.approx(30.0 * H, rel=1e-12)
    accepted = r.contracts.set_index("contract")["accepted_t"]
    assert accepted["ash"] > 0 and accepted["steam"] > 0 and accepted["water"] > 0
    assert x["waste_exchanged_t"] == pytest.approx(accepted["ash"], rel=1e-12)
    assert x["waste_exchanged_mwh"] == pytest.approx(accepted["steam"], rel=1e-12)
    assert x["waste_exchanged_m3"] == pytest.approx(accepted["water"], rel=1e-12)
    # Each delivery lands the day after it is shipped: H - 1 days of the contract volume.
    assert accepted["steam"] == pytest.approx(50.0 * (H - 1), rel=1e-12)
    assert x["diversion_rate"] == pytest.approx(accepted["ash"] / (10.0 * H), rel=1e-12)
    assert x["fill_rate"] == 1.0 and x["input_unmet_mwh"] == 0.0
    # The whole stream without a store: what is not shipped is disposed of, in its unit.
    assert x["waste_disposed_t"] == pytest.approx(10.0 * H - 6.0 * H, rel=1e-12)
    assert x["waste_disposed_mwh"] == pytest.approx(100.0 * H - 50.0 * H, rel=1e-12)
    ash = r.contracts.set_index("contract").loc["ash"]
    assert x["tkm"] == pytest.approx(ash["shipped_t"] * ash["distance_km"], rel=1e-12)  # not the steam's MWh-km
    fac = r.facilities.set_index("facility")
    assert fac.loc["plant", "waste_generated_t"] == pytest.approx(10.0 * H, rel=1e-12)
    assert fac.loc["mill", "input_required_t"] == pytest.approx(8.0 * H, rel=1e-12)


def test_unit_metrics_are_present_and_zero_without_such_materials() -> None:
    raw = mixed_network()
    raw["facilities"][0]["outputs"] = raw["facilities"][0]["outputs"][:1]
    raw["facilities"][1]["inputs"] = raw["facilities"][1]["inputs"][:1]
    raw["contracts"] = raw["contracts"][:1]
    x = run(raw).result().metrics
    for suffix in SUFFIX.values():
        for name in UNIT_METRICS:
            assert x[f"{name}_{suffix}"] == 0.0
    assert x["waste_generated_t"] == pytest.approx(10.0 * H, rel=1e-12)


def check_units(m: SymbiosisModel) -> None:
    """The per-material table adds up to the run metrics of each unit, each material's input
    requirement is met from its sources, each material's streams balance, and each unit's
    waste closes on both sides (supply and buyers' buffers, sim/units.py BALANCE_FLOWS)."""
    r = m.result()
    table, x = r.materials, r.metrics
    assert table is not None and list(table.columns) == ["material", "unit", *TABLE_FLOWS, *BALANCE_FLOWS]
    assert set(table["material"]) >= {mat.id for mat in m.spec.materials}
    for unit, suffix in {"t": "t", **SUFFIX}.items():
        rows = table[table["unit"] == unit]
        sums = {k: float(rows[k].sum()) for k in TABLE_FLOWS}
        for flow, metric in (
            ("generated", "waste_generated"), ("exchanged", "waste_exchanged"), ("disposed", "waste_disposed"),
            ("spoiled", "waste_spoiled"), ("rejected", "waste_rejected"), ("required", "input_required"),
            ("from_secondary", "input_from_secondary"), ("from_emergency", "input_from_emergency"),
            ("unmet", "input_unmet"),
        ):  # fmt: skip
            want = x[f"{metric}_{suffix}"]
            assert sums[flow] == pytest.approx(want, rel=1e-9, abs=1e-9), (unit, flow)
        virgin = sums["from_virgin"] + sums["from_emergency"]
        assert virgin == pytest.approx(x[f"input_from_virgin_{suffix}"], rel=1e-9, abs=1e-9)
        b = {k: float(rows[k].sum()) for k in BALANCE_FLOWS}
        supply_out = sums["exchanged"] + b["source_overflow"] + b["source_spoiled"] + sums["rejected"] \
            + b["pool_disposed"] + b["closing_supply"]
        assert b["opening_supply"] + sums["generated"] == pytest.approx(supply_out, rel=1e-9, abs=1e-9), unit
        buyer_out = b["used"] + b["buffer_overflow"] + b["buffer_spoiled"] + b["closing_buffer"]
        assert sums["exchanged"] + b["opening_buffer"] == pytest.approx(buyer_out, rel=1e-9, abs=1e-9), unit
        parts = supply_out - sums["exchanged"] - b["closing_supply"] + b["buffer_overflow"] + b["buffer_spoiled"]
        assert parts == pytest.approx(sums["disposed"], rel=1e-9, abs=1e-9), unit
    for row in table.itertuples():
        met = row.from_secondary + row.from_virgin + row.from_emergency + row.unmet
        assert met == pytest.approx(row.required, rel=1e-9, abs=1e-9), row.material
    sf, w = m.streams_flow, m.warmup
    for mat in m.spec.materials:
        streams = [s for s in m.stream_states if s.spec.material == mat.id]
        cols = [s.index for s in streams]
        out = sum(sf[k][w:, cols].sum() for k in ("shipped_t", "spoiled_t", "overflow_t"))
        out += sum(s.storage.total for s in streams)
        stock_before = sf["stock_t"][w - 1, cols].sum() if w else sum(s.stock_start for s in streams)  # opening stock
        generated = float(table.set_index("material").loc[mat.id, "generated"])
        assert generated + stock_before == pytest.approx(out, rel=1e-9, abs=1e-9), mat.id


def test_the_per_material_table_adds_up_on_the_mixed_network() -> None:
    m = run(mixed_network())
    check_units(m)
    table = m.result().materials.set_index("material")
    assert table.loc["steam", "unit"] == "MWh" and table.loc["water", "unit"] == "m3"
    assert table.loc["heat", "required"] == pytest.approx(60.0 * H, rel=1e-12)
    assert table.loc["steam", "generated"] == pytest.approx(100.0 * H, rel=1e-12)


MIXING = [s for s in range(40) if len({mat.unit for mat in random_scenario(s, 30).materials}) > 1][:6]
MIXING_DIRECT = [s for s in range(40) if len({mat.unit for mat in random_direct_scenario(s, 30).materials}) > 1][:4]


def test_the_generators_mix_units_on_some_seeds() -> None:
    assert len(MIXING) == 6 and len(MIXING_DIRECT) == 4


@pytest.mark.parametrize("seed", MIXING)
def test_invariants_hold_per_unit_on_random_scenarios_that_mix_units(seed: int) -> None:
    from test_invariants import check_all

    m = SymbiosisModel(random_scenario(seed, 200), rng=seed, collect_series=False)
    m.run()
    check_all(m)
    check_units(m)


@pytest.mark.parametrize("seed", MIXING_DIRECT)
def test_units_add_up_on_random_direct_networks_that_mix_units(seed: int) -> None:
    m = SymbiosisModel(random_direct_scenario(seed, 120), rng=seed, collect_series=False)
    m.run()
    check_units(m)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_units_add_up_on_shipped_scenarios(path: Path) -> None:
    from sim.scenario import load_scenario

    m = SymbiosisModel(load_scenario(path), rng=1, horizon_days=200, collect_series=False)
    m.run()
    check_units(m)


def test_units_add_up_through_the_intermediary() -> None:
    from sim.scenario import load_scenario

    sc = load_scenario(REPO / "scenarios" / "brewery_farms.toml", {"policy.intermediary": True})
    m = SymbiosisModel(sc, rng=2, horizon_days=200, collect_series=False)
    m.run()
    assert m.hub is not None and m.hub_flow["received_t"].sum() > 0
    check_units(m)


# --- files that cannot be read in one unit ---------------------------------------------------


def problems(raw: dict) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw, "f.toml")
    return err.value.problems


def test_a_substitute_in_another_unit_needs_its_ratio_written() -> None:
    raw = mixed_network()
    raw["facilities"][1]["inputs"][1]["substitutes"] = [{"material": "water"}]  # m3 for MWh, ratio unwritten
    raw["contracts"] = [c for c in raw["contracts"] if c["id"] != "steam"]
    raw["contracts"][-1]["input"] = "cooling"
    (line,) = problems(raw)
    assert line.startswith("f.toml: facilities.mill.inputs.heat.substitutes.water.ratio: ")
    assert "ratio is MWh of heat replaced per m3 of water; write it explicitly" in line
    raw["facilities"][1]["inputs"][1]["substitutes"] = [{"material": "water", "ratio": 1.0}]  # written: read
    parse_scenario(raw, "f.toml")


def test_a_buffer_of_substitutes_in_different_units_is_refused() -> None:
    raw = mixed_network(buffer_t=20.0, substitutes=[{"material": "ash"}, {"material": "steam", "ratio": 0.01}])
    (line,) = problems(raw)
    assert line.startswith("f.toml: facilities.mill.inputs.stone.substitutes: substitutes in different units")
    assert "its buffer (buffer_t = 20.0) sums them" in line and "keep its substitutes in one unit" in line


def test_a_pool_of_materials_in_different_units_is_refused() -> None:
    raw = mixed_network()
    raw["intermediary"] = {"location": {"x_km": 1.0, "y_km": 0.0}, "storage_t": 100.0}
    for c in raw["contracts"]:
        c["via_intermediary"] = c["id"] != "steam"  # a pipe is never routed
    (line,) = problems(raw)
    assert line.startswith("f.toml: intermediary.storage_t: the pool sums every material routed through it")
    assert "ash (t), water (m3)" in line


def write_toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "units.toml"
    path.write_text(body, encoding="utf-8")
    return path


BAD = """
[scenario]
name = "bad units"
horizon_days = 30
[[materials]]
id = "heat"
unit = "MWh"
[[materials]]
id = "water"
unit = "m3"
[[materials]]
id = "ash"
[[facilities]]
id = "b"
location = { x_km = 0.0, y_km = 0.0 }
[[facilities.inputs]]
material = "heat"
demand_t_per_day = 8.0
buffer_t = 5.0
substitutes = [ { material = "water" }, { material = "ash", ratio = 2.0 } ]
"""


def test_validate_refuses_unreadable_units_with_exit_2_and_the_fields(tmp_path: Path) -> None:
    path = write_toml(tmp_path, BAD)
    proc = subprocess.run(
        [sys.executable, "run_experiments.py", "validate", str(path)], cwd=REPO, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert f"{path}: facilities.b.inputs.heat.substitutes.water.ratio: 'water' is in m3 and 'heat' in MWh: " \
        "ratio is MWh of heat replaced per m3 of water; write it explicitly" in lines
    assert any(x.startswith(f"{path}: facilities.b.inputs.heat.substitutes: substitutes in different units "
                            "(water (m3), ash (t)) and its buffer (buffer_t = 5.0) sums them") for x in lines)


def test_implied_table_marks_units_other_than_t() -> None:
    from sim.implied import implied_lines

    lines = implied_lines(parse_scenario(mixed_network(), "<mixed>"))
    assert any(x.strip().startswith("plant.steam [MWh]") for x in lines)
    assert any(x.strip().startswith("water [m3]") for x in lines)
    assert any(x.strip().startswith("plant.ash ") for x in lines)


def analysis_module(name: str):
    """This tree's analysis/<name>.py, loaded by file: under pytest `analysis` is tests/analysis,
    and the editable install maps its submodules to the main checkout, not to this tree."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{name}_here", REPO / "analysis" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_metric_directions_know_the_new_exchange_metrics() -> None:
    higher_is_better = analysis_module("summary").higher_is_better
    assert all(higher_is_better(f"waste_exchanged_{s}") for s in SUFFIX.values())
    assert higher_is_better("material:steam:exchanged")
    assert not higher_is_better("waste_disposed_mwh")


def test_a_study_can_name_a_material_flow_as_an_outcome() -> None:
    from sim.experiment.outcomes import item_values, outcome_problems

    sc = parse_scenario(mixed_network(), "<mixed>")
    result = run(mixed_network()).result()
    got = item_values(result, ["material:steam:exchanged", "material:heat:required"])
    assert got == {"material:steam:exchanged": pytest.approx(50.0 * (H - 1), rel=1e-12),
                   "material:heat:required": pytest.approx(60.0 * H, rel=1e-12)}
    assert outcome_problems("s.toml", ["material:steam:exchanged"], sc) == []
    (line,) = outcome_problems("s.toml", ["material:stean:exchanged"], sc)
    assert line.startswith("s.toml: study.outcomes[0]: unknown material 'stean' (did you mean 'steam'?")


KALUNDBORG_UNITS = {"materials.steam.unit": "MWh", "materials.district_heat.unit": "MWh",
                    "materials.cooling_water.unit": "m3", "materials.water.unit": "m3"}


def test_kalundborg_with_its_units_declared_counts_no_m3_or_mwh_as_tonnes() -> None:
    from sim.scenario import load_scenario

    sc = load_scenario(REPO / "scenarios" / "kalundborg.toml", KALUNDBORG_UNITS)
    m = SymbiosisModel(sc, rng=1, horizon_days=200, collect_series=False)
    m.run()
    check_units(m)
    x, w, sf = m.result().metrics, m.warmup, m.streams_flow
    unit = {mat.id: mat.unit for mat in sc.materials}
    by_unit = {u: sum(sf["generated_t"][w:, s.index].sum() for s in m.stream_states if unit[s.spec.material] == u)
               for u in ("t", "m3", "MWh")}
    assert by_unit["m3"] > 0 and by_unit["MWh"] > 0
    assert x["waste_generated_t"] == pytest.approx(by_unit["t"], rel=1e-12)
    assert x["waste_generated_m3"] == pytest.approx(by_unit["m3"], rel=1e-12)
    assert x["waste_generated_mwh"] == pytest.approx(by_unit["MWh"], rel=1e-12)


def test_a_shortage_or_disruption_in_mwh_counts_in_the_study_summary(tmp_path: Path) -> None:
    import pandas as pd

    series_dir = tmp_path / "series"
    series_dir.mkdir()
    days = range(10)
    t_short = [0.0, 0.0, 1.0, 1.0] + [0.0] * 6  # two days short of a material in t
    mwh_short = [0.0] * 5 + [5.0] * 3 + [0.0] * 2  # three days short of steam
    for rep, (t, mwh) in enumerate([(t_short, [0.0] * 10), ([0.0] * 10, mwh_short)]):
        pd.DataFrame({"design_point": 0, "replication": rep, "day": days, "secondary_shortfall_t": t,
                      "secondary_shortfall_m3": 0.0, "secondary_shortfall_mwh": mwh}).to_parquet(
            series_dir / f"dp00000-r{rep:05d}.parquet")
    runs = pd.DataFrame({"design_point": [0, 0], "replication": [0, 1], "seed": [1, 2], "status": ["ok", "ok"],
                         "error": ["", ""], "wall_s": [0.1, 0.1], "input_unmet_t": [0.0, 0.0],
                         "input_unmet_m3": [0.0, 0.0], "input_unmet_mwh": [0.0, 3.0], "x": [1, 1]})
    table, _ = analysis_module("durations").disruption_durations(runs, ["x"], series_dir)
    assert table["duration_days"].tolist() == [2.0, 3.0]
    summary = analysis_module("summary").summarize(runs, ["x"])
    assert summary.loc[summary["metric"] == "any_shortage", "mean"].tolist() == [0.5]


def test_the_daily_series_totals_are_per_unit() -> None:
    from sim.metrics import daily_series

    m = run(mixed_network())
    series, x = daily_series(m), m.result().metrics
    for suffix in ("t", "m3", "mwh"):
        assert series[f"disposed_{suffix}"].sum() == pytest.approx(x[f"waste_disposed_{suffix}"], rel=1e-12)
        assert series[f"unmet_{suffix}"].sum() == x[f"input_unmet_{suffix}"] == 0.0
    assert series["disposed_t"].iloc[-1] == pytest.approx(10.0 - 6.0, rel=1e-12)  # ash only
    assert series["disposed_mwh"].iloc[-1] == pytest.approx(100.0 - 50.0, rel=1e-12)
