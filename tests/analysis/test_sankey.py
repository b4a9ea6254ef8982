"""Where every tonne went (issue 23, analysis/sankey.py): a diagram's flows are the run's
ledger totals per unit, both stages close, a design point's diagram is the mean of its runs,
and `simulate --out` draws one diagram per unit present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sankey import CLOSURE_TOL, closure, mean_flows, present_units, unit_flows
from run_experiments import main
from sim.model import SymbiosisModel
from sim.rng import as_seed_sequence
from sim.scenario import load_scenario
from sim.stocks import take_stocks

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = {"t": "t", "m3": "m3", "MWh": "mwh"}


def _run(name: str, seed: int = 7) -> SymbiosisModel:
    m = SymbiosisModel(load_scenario(ROOT / "scenarios" / f"{name}.toml"), rng=as_seed_sequence(seed))
    m.run()
    return m


@pytest.mark.parametrize(("name", "units"), [("kalundborg", ["t", "m3", "MWh"]), ("brewery_farms", ["t"])])
def test_the_flows_are_the_ledger_totals_per_unit_and_close(name: str, units: list[str]) -> None:
    m = _run(name)
    result = m.result()
    x, flows = result.metrics, unit_flows(result.materials)
    assert present_units(flows) == units
    unit_of = {mat.id: mat.unit for mat in m.spec.materials}
    w, sf, inf = m.warmup, m.streams_flow, m.inputs_flow
    end = take_stocks(m)
    for unit in units:
        s = SUFFIX[unit]
        v = flows[flows["unit"] == unit].set_index(["stage", "flow"])["value"]
        # the metrics of docs/metrics.md
        assert v[("supply", "generated")] == pytest.approx(x[f"waste_generated_{s}"], rel=1e-12)
        assert v[("supply", "exchanged")] == v[("buyer", "exchanged")]
        assert v[("supply", "exchanged")] == pytest.approx(x[f"waste_exchanged_{s}"], rel=1e-12)
        assert v[("supply", "rejected")] == pytest.approx(x[f"waste_rejected_{s}"], rel=1e-12, abs=1e-12)
        disposed = sum(v[k] for k in [("supply", "source_overflow"), ("supply", "source_spoiled"),
                                      ("supply", "rejected"), ("supply", "pool_disposed"),
                                      ("buyer", "buffer_overflow"), ("buyer", "buffer_spoiled")])
        assert disposed == pytest.approx(x[f"waste_disposed_{s}"], rel=1e-12)
        spoiled = v[("supply", "source_spoiled")] + v[("buyer", "buffer_spoiled")]
        assert spoiled == pytest.approx(x[f"waste_spoiled_{s}"], rel=1e-12, abs=1e-12)
        if unit == "t":
            available = v[("supply", "opening_supply")] + v[("supply", "generated")]
            assert available == pytest.approx(x["waste_available_t"], rel=1e-12)
        # and the ledger's daily arrays themselves
        streams = [k for k, st in enumerate(m.stream_states) if unit_of[st.spec.material] == unit]
        bufs = [i.index for i in m.input_states if i.substitutes and unit_of[i.substitutes[0].material] == unit]
        assert v[("supply", "source_overflow")] == pytest.approx(sf["overflow_t"][w:, streams].sum(), rel=1e-12)
        assert v[("buyer", "used")] == pytest.approx(inf["secondary_used_t"][w:, bufs].sum(), rel=1e-12)
        assert v[("buyer", "closing_buffer")] == pytest.approx(inf["buffer_t"][-1, bufs].sum(), rel=1e-12, abs=1e-9)
        road = sum(c.in_transit_t + c.out_in_transit_t for c in m.contracts if unit_of[c.terms.material] == unit)
        held = sf["stock_t"][-1, streams].sum() + road
        assert v[("supply", "closing_supply")] == pytest.approx(held, rel=1e-12, abs=1e-9)
        assert v[("supply", "closing_supply")] == pytest.approx(end.source[streams].sum() + road, rel=1e-12, abs=1e-9)
    assert max(closure(flows).values()) <= CLOSURE_TOL
    assert set(closure(flows)) == {(u, stage) for u in units for stage in ("supply", "buyer")}


def _table(unit: str, generated: float, exchanged: float, used: float, **more: float) -> dict:
    zero = dict.fromkeys(["opening_supply", "source_overflow", "source_spoiled", "rejected", "pool_disposed",
                          "closing_supply", "opening_buffer", "buffer_overflow", "buffer_spoiled", "closing_buffer"],
                         0.0)
    return {"unit": unit, **zero, "generated": generated, "exchanged": exchanged, "used": used, **more}


def test_a_design_points_flows_are_the_mean_of_its_runs_a_unit_missing_from_a_run_counting_zero() -> None:
    rows = [
        {"design_point": 1, "replication": 0, "material": "ash", **_table("t", 10.0, 8.0, 8.0, source_overflow=2.0)},
        {"design_point": 1, "replication": 0, "material": "slag", **_table("t", 4.0, 4.0, 3.0, closing_buffer=1.0)},
        {"design_point": 1, "replication": 1, "material": "ash", **_table("t", 20.0, 20.0, 20.0)},
        {"design_point": 1, "replication": 1, "material": "steam", **_table("MWh", 6.0, 5.0, 5.0,
                                                                          source_spoiled=1.0)},
        {"design_point": 2, "replication": 0, "material": "ash", **_table("t", 99.0, 99.0, 99.0)},
    ]
    flows = mean_flows(pd.DataFrame(rows), 1)
    v = flows.set_index(["unit", "stage", "flow"])["value"]
    assert v[("t", "supply", "generated")] == pytest.approx((10 + 4 + 20) / 2)
    assert v[("t", "supply", "source_overflow")] == pytest.approx(2 / 2)
    assert v[("t", "buyer", "used")] == pytest.approx((8 + 3 + 20) / 2)
    assert v[("t", "buyer", "closing_buffer")] == pytest.approx(1 / 2)
    assert v[("MWh", "supply", "generated")] == pytest.approx(6 / 2)  # 0 in replication 0
    assert v[("MWh", "supply", "source_spoiled")] == pytest.approx(1 / 2)
    assert max(closure(flows).values()) <= 1e-15
    assert present_units(flows) == ["t", "MWh"]
    assert mean_flows(pd.DataFrame(rows), 3).empty


def test_simulate_out_draws_one_diagram_per_unit_present(tmp_path: Path) -> None:
    for name, files in (("kalundborg", {"sankey_t.png", "sankey_m3.png", "sankey_mwh.png"}),
                        ("brewery_farms", {"sankey_t.png"})):
        out = tmp_path / name
        assert main(["simulate", str(ROOT / "scenarios" / f"{name}.toml"), "--days", "120", "--out", str(out)]) == 0
        drawn = {p.name for p in out.glob("sankey_*.png")}
        assert drawn == files
        assert all((out / f).stat().st_size > 0 for f in drawn)
        flows = pd.read_csv(out / "flows.csv")
        materials = pd.read_csv(out / "materials.csv")
        assert sorted(set(flows["unit"])) == sorted(set(materials["unit"]))
        for unit, rows in materials.groupby("unit"):
            generated = flows[(flows["unit"] == unit) & (flows["flow"] == "generated")]["value"].item()
            assert generated == pytest.approx(rows["generated"].sum(), rel=1e-12)
        assert np.isfinite(flows["value"]).all() and max(closure(flows).values()) <= CLOSURE_TOL
