"""The daily story of one run shows the whole chain: the supply side beside the buyers'
buffers, the warm-up shaded, buffers named by what they hold and serve, money in the scenario's
currency, and no legend over the data."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import analysis.series_plot as series_plot
from sim.run import run_once
from sim.scenario import load_scenario
from tests.analysis.legend_checks import lines_under_legends, overlapping_legends

SUGAR_LIME = Path(__file__).parent / "data" / "sugar_lime.toml"
WARMUP = 365


@pytest.fixture(scope="module")
def sugar_run():
    """The sugar-lime case (a campaign source, a kiln and a farm, a year of warm-up) in DKK,
    so that the currency can only come from the scenario."""
    scenario = load_scenario(SUGAR_LIME, {"scenario.currency": "DKK"})
    assert scenario.scenario.warmup_days == WARMUP
    return scenario, run_once(scenario, 1, series=True)


@pytest.fixture(scope="module")
def drawn(sugar_run, tmp_path_factory):
    """The figure plot_run_series drew (kept open past its plt.close) and the PNG it wrote."""
    scenario, result = sugar_run
    kept = []
    original = series_plot.plt.close
    series_plot.plt.close = kept.append
    try:
        png = series_plot.plot_run_series(
            result.series,
            result.outages,
            "sugar lime",
            tmp_path_factory.mktemp("s") / "series.png",
            scenario=scenario,
        )
    finally:
        series_plot.plt.close = original
    yield kept[0], png
    original(kept[0])


def _x_extent(ax, patch) -> tuple[float, float]:
    verts = patch.get_transform().transform(patch.get_path().vertices)
    xs = ax.transData.inverted().transform(verts)[:, 0]
    return float(xs.min()), float(xs.max())


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_series_plot_shades_the_warm_up_on_every_panel(drawn):
    fig, png = drawn
    assert png.stat().st_size > 0
    for ax in fig.axes:
        spans = [_x_extent(ax, p) for p in ax.patches]
        assert any(np.allclose(span, (0.0, WARMUP)) for span in spans), ax.get_title(loc="left")
    assert any("warm-up" in text for text in _legend_texts(fig))


def test_buffers_are_named_by_secondary_material_and_input(drawn):
    fig, _ = drawn
    texts = _legend_texts(fig)
    assert "kiln: sugar_lime (for limestone)" in texts
    assert "farm: sugar_lime (for lime_fertiliser)" in texts
    assert not any("kiln/limestone" in text for text in texts)


def test_supply_side_production_and_storage_are_drawn(drawn, sugar_run):
    fig, _ = drawn
    series = sugar_run[1].series
    drawn_y = [np.asarray(line.get_ydata(), float) for ax in fig.axes for line in ax.lines]
    for column in ("generated_t:sugar_factory/sugar_lime", "source_stock_t:sugar_factory/sugar_lime"):
        assert any(len(y) == len(series) and np.array_equal(y, series[column].to_numpy(float)) for y in drawn_y)


def test_money_is_in_the_scenario_currency(drawn):
    fig, _ = drawn
    labels = [ax.get_ylabel() for ax in fig.axes] + [ax.get_title(loc="left") for ax in fig.axes]
    assert any("DKK" in text for text in labels)
    assert not any("currency" in text for text in labels)


def test_penalty_line_after_warm_up_ends_at_the_runs_metric(drawn, sugar_run):
    fig, _ = drawn
    result = sugar_run[1]
    cumulative = result.series["cumulative_penalties"].to_numpy(float)
    assert cumulative[WARMUP - 1] > 0  # the warm-up pays penalties: the uncorrected line would overstate
    ends = [float(line.get_ydata()[-1]) for ax in fig.axes for line in ax.lines if "after warm-up" in line.get_label()]
    assert ends == [pytest.approx(result.metrics["penalties_paid"])]


def test_series_plot_legends_cover_no_data(drawn):
    fig, _ = drawn
    assert lines_under_legends(fig) == []


def test_buffer_label_names_every_substitute_when_no_contract_names_one(sugar_run):
    scenario = sugar_run[0]
    loose = scenario.model_copy(update={"contracts": []})
    assert series_plot.buffer_label(loose, "kiln", "limestone") == "kiln: sugar_lime (for limestone)"
    assert series_plot.buffer_label(None, "kiln", "limestone") == "kiln: secondary for limestone"


def test_a_forty_plant_region_names_few_lines_and_its_legends_stay_apart(tmp_path, monkeypatch):
    """Beyond MAX_NAMED streams or buffers the rest are grey and counted in one entry, so the
    legends fit beside their panels: none covers data or another legend."""
    scenario = load_scenario(Path(__file__).parents[2] / "scenarios" / "synthetic" / "region_40.toml")
    result = run_once(scenario, 2, series=True)
    kept: list = []
    close = series_plot.plt.close
    monkeypatch.setattr(series_plot.plt, "close", kept.append)
    series_plot.plot_run_series(result.series, result.outages, "region", tmp_path / "s.png", scenario=scenario)
    monkeypatch.undo()
    fig = kept[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied": panels squeezed by their legends
        fig.canvas.draw()
    texts = _legend_texts(fig)
    assert any(text.endswith("other buffers (grey)") for text in texts)
    assert sum("(for " in text for text in texts) == series_plot.MAX_NAMED
    assert lines_under_legends(fig) == []
    assert overlapping_legends(fig) == []
    close(fig)
