"""Scenario discovery returns the factor range that was built into a table, and the export
lines experiments up with outcomes."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from analysis.discovery import discover, export_for_ema, plot_discovery


def constructed() -> pd.DataFrame:
    """The target (y >= 0.5) holds only for 2 <= a <= 4 with c true; b is irrelevant."""
    rng = np.random.default_rng(1)
    rows = []
    for dp, (a, b, c) in enumerate(itertools.product(range(7), [0.0, 10.0, 20.0], [False, True])):
        inside = 2 <= a <= 4 and c
        for rep in range(10):
            # inside: 9 of 10 replications hit the target; outside: 3 of 10
            hit = rep < (9 if inside else 3)
            rows.append({"design_point": dp, "replication": rep, "a": a, "b": b, "c": c, "status": "ok",
                         "y": (1.0 if hit else 0.0) + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


def test_discovery_returns_the_constructed_box():
    found = discover(constructed(), ["a", "b", "c"], "y", at_least=0.5, min_share=0.8)
    box = found.box.set_index("factor")
    assert (box.at["a", "low"], box.at["a", "high"]) == (2, 4)
    assert not box.at["b", "restricts"]
    assert found.values["c"] == [True]
    assert found.coverage == 1.0 and found.density == 1.0


def test_pass_share_counts_replications_within_target():
    found = discover(constructed(), ["a", "b", "c"], "y", at_least=0.5, min_share=0.8)
    shares = found.points.set_index(["a", "c"])["share"]
    assert shares.loc[(3, True)].eq(0.9).all() and shares.loc[(0, False)].eq(0.3).all()


def test_peeling_drops_a_failing_level_inside_the_hull():
    runs = constructed()
    runs.loc[(runs["a"] == 3) & runs["c"], "y"] = 0.0  # a hole in the middle cannot be peeled
    found = discover(runs, ["a", "b", "c"], "y", at_least=0.5, min_share=0.8)
    assert found.coverage == 1.0 and 0 < found.density < 1


def test_export_rows_line_up(tmp_path):
    runs = constructed()
    runs.loc[0, "status"] = "failed"
    exp, out = export_for_ema(runs, ["a", "b", "c"], ["y"], tmp_path)
    x, y = pd.read_csv(exp), pd.read_csv(out)
    assert len(x) == len(y) == len(runs) - 1
    assert (x[["design_point", "replication"]] == y[["design_point", "replication"]]).all().all()
    assert list(x.columns) == ["design_point", "replication", "a", "b", "c"]


def test_plot_discovery_draws(tmp_path):
    import matplotlib.image as mpimg

    found = discover(constructed(), ["a", "b", "c"], "y", at_least=0.5)
    image = mpimg.imread(plot_discovery(found, ["a", "b", "c"], tmp_path / "d.png"))
    assert image.shape[0] > 100 and float(np.std(image[..., :3])) > 0.01
