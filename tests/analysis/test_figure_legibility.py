"""Study figures stay readable: no legend over a line in effects.png, and the per-party figure
separates facilities and summarises every design point at 72 points."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis import figures
from tests.analysis.legend_checks import lines_under_legends

FACILITIES = ("sugar_factory", "kiln", "farm_a")
FACTORS_72 = ["policy.buffer_days", "contracts.*.penalty_per_t_short", "market.virgin_price_factor"]


@pytest.fixture
def kept_figure(monkeypatch):
    """The figures a plot function draws, kept open past its plt.close (closed at teardown)."""
    kept: list = []
    close = figures.plt.close
    monkeypatch.setattr(figures.plt, "close", kept.append)
    yield kept
    monkeypatch.undo()
    for fig in kept:
        close(fig)


def crowded_runs(replications: int = 4) -> pd.DataFrame:
    """Eight lines over eleven buffer levels, evenly spread over each panel's height: every
    spot inside a panel has a line, so a legend inside one covers data."""
    rows = []
    for dp, (buffer_days, level) in enumerate(itertools.product(range(11), range(8))):
        for rep in range(replications):
            value = level + 0.01 * rep
            rows.append(
                {
                    "design_point": dp,
                    "replication": rep,
                    "policy.buffer_days": buffer_days,
                    "market.level": level,
                    "secondary_fill_rate": value,
                    "disruption_days": value,
                    "penalties_paid": value,
                    "net_benefit": value,
                    "status": "ok",
                }
            )
    return pd.DataFrame(rows)


def runs_72(replications: int = 5, seed: int = 7) -> pd.DataFrame:
    """A 6 x 4 x 3 grid (72 design points) with each facility's net benefit as a column, the
    kiln gaining with the buffer, the farm losing with the penalty, the factory flat."""
    rng = np.random.default_rng(seed)
    rows = []
    grid = itertools.product([0, 2, 4, 6, 8, 10], [0.0, 10.0, 20.0, 40.0], [0.8, 1.0, 1.2])
    for dp, (buffer_days, penalty, price) in enumerate(grid):
        for rep in range(replications):
            kiln = 1000 * price + 50 * buffer_days + rng.normal(0, 20)
            farm = 300 - 5 * penalty + rng.normal(0, 10)
            factory = 200 + rng.normal(0, 5)
            rows.append(
                {
                    "design_point": dp,
                    "replication": rep,
                    "policy.buffer_days": buffer_days,
                    "contracts.*.penalty_per_t_short": penalty,
                    "market.virgin_price_factor": price,
                    "facility:sugar_factory:net_benefit": factory,
                    "facility:kiln:net_benefit": kiln,
                    "facility:farm_a:net_benefit": farm,
                    "supplier_benefit": factory,
                    "buyer_benefit": kiln + farm,
                    "intermediary_profit": 0.0,
                    "net_benefit": factory + kiln + farm,
                    "status": "ok",
                }
            )
    return pd.DataFrame(rows)


def test_effects_legends_cover_no_data(kept_figure, tmp_path):
    figures.plot_effects(crowded_runs(), ["policy.buffer_days", "market.level"], tmp_path / "effects.png")
    assert lines_under_legends(kept_figure[0]) == []


def _points_per_panel(fig) -> dict[str, list[np.ndarray]]:
    """Per panel title: the x data of each marker line drawn in it."""
    return {
        ax.get_title(): [
            np.asarray(line.get_xdata(), float) for line in ax.lines if line.get_marker() not in (None, "None", "")
        ]
        for ax in fig.axes
    }


def test_party_benefits_has_a_panel_per_facility_at_72_points(kept_figure, tmp_path):
    runs = runs_72()
    figures.plot_party_benefits(runs, FACTORS_72, tmp_path / "party_benefits.png", reference=0, currency="EUR")
    panels = _points_per_panel(kept_figure[0])
    assert set(FACILITIES) <= set(panels)
    for facility in FACILITIES:
        means = runs.groupby("design_point")[f"facility:{facility}:net_benefit"].mean().to_numpy()
        assert any(len(x) == 72 and np.allclose(x, means) for x in panels[facility]), facility


def test_party_benefits_without_facility_columns_keeps_one_summary_per_design_point(kept_figure, tmp_path):
    runs = runs_72().drop(columns=[f"facility:{f}:net_benefit" for f in FACILITIES])
    figures.plot_party_benefits(runs, FACTORS_72, tmp_path / "party_benefits.png")
    panels = _points_per_panel(kept_figure[0])
    means = runs.groupby("design_point")["buyer_benefit"].mean().to_numpy()
    assert any(len(x) == 72 and np.allclose(x, means) for x in panels["buyers"])
    assert "intermediary" not in panels  # zero in every run: named in the title instead
