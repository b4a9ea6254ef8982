"""Each plot function draws a non-empty image from a small results table."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pandas as pd

from analysis import figures
from analysis.durations import disruption_durations, episode_lengths
from tests.analysis.conftest import FACTORS


def _non_empty_png(path) -> bool:
    image = mpimg.imread(path)
    return image.shape[0] > 100 and image.shape[1] > 100 and float(np.std(image[..., :3])) > 0.01


def test_effects_draws(runs, tmp_path):
    assert _non_empty_png(figures.plot_effects(runs, FACTORS, tmp_path / "e.png", currency="EUR"))


def test_heatmap_draws(runs, tmp_path):
    assert _non_empty_png(figures.plot_heatmap(runs, FACTORS, tmp_path / "h.png", "net_benefit"))


def test_tradeoff_draws(runs, tmp_path):
    assert _non_empty_png(figures.plot_tradeoff(runs, FACTORS, tmp_path / "t.png"))


def test_survival_draws(runs, tmp_path):
    durations, _ = disruption_durations(runs, FACTORS)
    assert _non_empty_png(figures.plot_survival(durations, tmp_path / "s.png", by=FACTORS[0]))


def test_party_benefits_draws(runs, tmp_path):
    assert _non_empty_png(figures.plot_party_benefits(runs, FACTORS, tmp_path / "p.png", reference=0))


def test_study_figures_picks_every_level_design_figure(runs, tmp_path):
    durations, source = disruption_durations(runs, FACTORS)
    made = figures.study_figures(runs, FACTORS, tmp_path, durations=durations, durations_source=source)
    assert set(made) == {"effects", "heatmap_net_benefit", "heatmap_secondary_fill_rate", "tradeoff",
                         "survival", "party_benefits"}
    assert all(_non_empty_png(p) for p in made.values())


def test_lines_that_coincide_are_one_cluster(runs):
    curves = figures.effect_curves(runs, "secondary_fill_rate", FACTORS[0], FACTORS[1:])
    clusters = figures.coinciding(curves)
    # the penalty does not change fill: 4 lines, 2 distinct (backup off / on)
    assert len(curves) == 4 and sorted(len(c) for c in clusters) == [2, 2]


def test_pareto_front_keeps_only_undominated_points():
    cost = np.array([1.0, 2.0, 3.0, 2.5])
    bad = np.array([3.0, 2.0, 1.0, 2.5])
    assert figures.pareto_front(cost, bad).tolist() == [0, 1, 2]


def test_survival_is_one_minus_ecdf():
    t, s = figures.survival(np.array([1.0, 2.0, 2.0, 5.0]))
    assert t.tolist() == [0.0, 1.0, 2.0, 5.0]
    assert s.tolist() == [1.0, 0.75, 0.25, 0.0]


def test_episode_lengths_are_maximal_runs_of_shortfall():
    assert episode_lengths(np.array([0, 1, 2, 0, 0, 3, 0, 1, 1, 1])).tolist() == [2.0, 1.0, 3.0]


def test_durations_come_from_series_when_stored(runs, tmp_path):
    series = tmp_path / "series"
    series.mkdir()
    pd.DataFrame({"day": range(6), "secondary_shortfall_t": [0, 1, 1, 0, 2, 0]}).to_parquet(
        series / "dp00000-r00000.parquet")
    table, source = disruption_durations(runs, FACTORS, series)
    assert sorted(table["duration_days"]) == [1.0, 2.0] and "series" in source


def test_effects_of_a_factor_that_is_not_a_number(runs, tmp_path):
    """A design whose only factor is text (an allocation rule) gets its levels as evenly
    spaced ticks; the report once failed converting 'priority' to a number (found by review)."""
    text = runs[runs["contracts.backup.enabled"]].copy()
    text["policy.allocation"] = np.where(text["policy.buffer_days"] > 0, "priority", "pro_rata")
    path = figures.plot_effects(text, ["policy.allocation"], tmp_path / "e.png")
    assert _non_empty_png(path)
    curves = figures.effect_curves(text, "fill_rate", "policy.allocation", [], {"priority": 0.0, "pro_rata": 1.0})
    assert curves[0]["x"].tolist() == [0.0, 1.0]
    expected = [text[text["policy.allocation"] == v]["fill_rate"].mean() for v in ("priority", "pro_rata")]
    assert np.allclose(curves[0]["mean"], expected)
