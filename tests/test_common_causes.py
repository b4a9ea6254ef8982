"""Common-cause shocks (issue 23, `[[common_causes]]`, sim/common_causes.py).

- a hand case: a fixed-law shock over two suppliers, down on days it is known to be on;
- common random numbers: adding a shock leaves every other draw and every facility's own
  outages unchanged, run by run;
- the set given as a region; enabled = false and rate_scale; the study factor's path;
- the array day equals the object core with a shock on.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from sim.model import SymbiosisModel
from sim.scenario import apply_override, common_cause_members, parse_scenario


def two_suppliers(common: list[dict[str, Any]] | None = None, own: bool = True) -> dict[str, Any]:
    """Two suppliers of waste (each with its own random outages when `own`) and a buyer with
    a contract from each; a third facility far away, out of any region around the suppliers."""
    out = {"mtbf_days": 15.0, "mttr_days": 3.0} if own else {}
    raw: dict[str, Any] = {
        "scenario": {"name": "two suppliers", "horizon_days": 80},
        "materials": [{"id": "waste"}, {"id": "raw", "virgin_price_per_t": 10.0}],
        "facilities": [
            {"id": "s1", "location": {"x_km": 0, "y_km": 0}, "outages": out,
             "outputs": [{"material": "waste", "rate_t_per_day": 5.0, "variability": {"dist": "gamma", "cv": 0.3}}]},
            {"id": "s2", "location": {"x_km": 3, "y_km": 4}, "outages": out,
             "outputs": [{"material": "waste", "rate_t_per_day": 5.0, "variability": {"dist": "gamma", "cv": 0.3}}]},
            {"id": "buy", "location": {"x_km": 40, "y_km": 0}, "outages": out,
             "inputs": [{"material": "raw", "demand_t_per_day": 6.0,
                         "substitutes": [{"material": "waste", "max_share": 1.0}]}]},
        ],
        "contracts": [
            {"id": "c1", "supplier": "s1", "buyer": "buy", "material": "waste", "volume_t_per_day": 3.0},
            {"id": "c2", "supplier": "s2", "buyer": "buy", "material": "waste", "volume_t_per_day": 3.0},
        ],
    }
    if common is not None:
        raw["common_causes"] = copy.deepcopy(common)
    return raw


FIXED = {"id": "flood", "facilities": ["s1", "s2"], "mtbf_days": 10.0, "mttr_days": 3.0,
         "failure": "fixed", "repair": "fixed"}


def run(raw: dict[str, Any], seed: int = 7, engine: str = "objects") -> SymbiosisModel:
    raw = copy.deepcopy(raw)
    raw.setdefault("policy", {})["engine"] = engine
    m = SymbiosisModel(parse_scenario(raw), rng=seed)
    m.run()
    return m


def test_fixed_shock_takes_both_suppliers_down_on_known_days() -> None:
    # Up 10 days, down 3, up 10, ...: down on [10, 13), [23, 26), [36, 39), [49, 52), [62, 65), [75, 78).
    m = run(two_suppliers([FIXED], own=False))
    down_days = [d for start in range(10, 80, 13) for d in range(start, min(start + 3, 80))]
    expected = np.ones(80)
    expected[down_days] = 0.0
    ids = [f.fid for f in m.facilities]
    for fid in ("s1", "s2"):
        assert np.array_equal(m.up_history[:, ids.index(fid)], expected), fid
    assert np.array_equal(m.up_history[:, ids.index("buy")], np.ones(80))
    log = m.outage_log()
    assert set(log["cause"]) == {"common:flood"}
    assert sorted(log.loc[log["facility"] == "s1", "start"]) == [10.0, 23.0, 36.0, 49.0, 62.0, 75.0]
    # Nothing generated on a down day (the stream's output stops with its facility).
    gen = m.streams_flow["generated_t"]
    assert np.all(gen[down_days] == 0.0) and np.all(np.delete(gen, down_days, axis=0) > 0.0)


def test_shock_combines_with_own_outages_down_if_either() -> None:
    m = run(two_suppliers([FIXED]))
    log = m.outage_log()
    ids = [f.fid for f in m.facilities]
    for fid in ("s1", "s2"):
        own = log[(log["facility"] == fid) & (log["cause"] == "failure")]
        up = m.up_history[:, ids.index(fid)]
        for d in range(80):
            shock_on = (d - 10) % 13 < 3 and d >= 10
            own_down = float(((own["start"] < d + 1) & (own["end"] > d)).any()) > 0
            assert (up[d] == 0.0) == shock_on or own_down, (fid, d)
            if shock_on:
                assert up[d] == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_adding_a_shock_moves_no_other_draw(seed: int) -> None:
    random_shock = {"id": "grid", "facilities": ["s1", "s2", "buy"], "mtbf_days": 12.0, "mttr_days": 2.0}
    without = run(two_suppliers(), seed=seed)
    with_ = run(two_suppliers([random_shock]), seed=seed)
    log_a, log_b = without.outage_log(), with_.outage_log()
    own_b = log_b[log_b["cause"] != "common:grid"].reset_index(drop=True)
    assert len(log_b) > len(own_b) > 0, "the shock happened and the own outages are there"
    # The own outages are drawn as before, run by run: their times do not depend on the shock.
    assert log_a.equals(own_b)
    for a, b in zip(without.stream_states, with_.stream_states, strict=True):
        assert np.array_equal(a.base, b.base)
        assert (a.quality is None and b.quality is None) or np.array_equal(a.quality, b.quality)


def test_region_takes_the_facilities_within_its_radius() -> None:
    region = {"id": "flood", "region": {"x_km": 0, "y_km": 0, "radius_km": 5.0}, "mtbf_days": 10.0}
    sc = parse_scenario(two_suppliers([region]))
    assert common_cause_members(sc.common_causes[0], sc.facilities) == ["s1", "s2"]  # s2 at 5 km: on the circle
    narrow = copy.deepcopy(region)
    narrow["region"]["radius_km"] = 4.99
    sc = parse_scenario(two_suppliers([narrow]))
    assert common_cause_members(sc.common_causes[0], sc.facilities) == ["s1"]


def test_disabled_shock_is_the_run_without_it_and_rate_scale_scales_the_rate() -> None:
    raw = two_suppliers([{**FIXED, "enabled": True}])
    apply_override(raw, "common_causes.flood.enabled", False)  # the study factor's path
    off, none = run(raw), run(two_suppliers())
    assert np.array_equal(off.up_history, none.up_history)
    assert np.array_equal(off.streams_flow["generated_t"], none.streams_flow["generated_t"])
    raw = two_suppliers([FIXED], own=False)
    apply_override(raw, "common_causes.flood.rate_scale", 2.0)  # up 5 days, down 3
    log = run(raw).outage_log()
    assert sorted(log.loc[log["facility"] == "s1", "start"])[:3] == [5.0, 13.0, 21.0]


@pytest.mark.parametrize("seed", range(3))
def test_arrays_engine_equals_objects_with_a_shock(seed: int) -> None:
    from test_arrayday import assert_same_run

    random_shock = {"id": "grid", "facilities": ["s1", "s2"], "mtbf_days": 12.0, "mttr_days": 2.5,
                    "failure": "weibull", "failure_shape": 1.5}
    raw = two_suppliers([random_shock])
    objects, arrays = run(raw, seed, "objects"), run(raw, seed, "arrays")
    assert (objects.engine, arrays.engine) == ("objects", "arrays")
    assert_same_run(objects, arrays)


def test_series_plot_shows_common_outages_hatched_and_named(tmp_path) -> None:
    import analysis.series_plot as series_plot
    from sim.run import run_once

    sc = parse_scenario(two_suppliers([FIXED]))
    result = run_once(sc, 3, series=True)
    assert (result.outages["cause"] == "common:flood").sum() == 2 * 6
    kept: list[Any] = []
    original = series_plot.plt.close
    series_plot.plt.close = kept.append
    try:
        series_plot.plot_run_series(result.series, result.outages, "two", tmp_path / "s.png", scenario=sc)
    finally:
        series_plot.plt.close = original
    ax = kept[0].axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "common:flood (common cause)" in labels and "failure" in labels
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 2  # one bar set per supplier the shock took down
    original(kept[0])
