"""Daily series of a real small study: stored with the run's keys as columns, read back as one
table, and the disruption durations read from them agree with the run metrics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.durations import disruption_durations, read_series
from sim.experiment import load_study, run_study

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def study_out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("series-study")
    study = folder / "grid.toml"
    study.write_text(f"""
[study]
name = "series-grid"
scenario = "{(DATA / 'tiny.toml').as_posix()}"
replications = 4
seed = 20261126
series = true
# one input and no threshold: the per-input disruptions (issue 20) are the days the series
# shows a shortfall, which is what analysis.durations reads
overrides = {{ "policy.disruption_threshold" = 0.0 }}
[design]
kind = "grid"
[design.factors]
"policy.buffer_days" = [0, 3]
""", encoding="utf-8")
    out = folder / "out"
    run_study(load_study(study), out, workers=1, quiet=True)
    return out


def test_series_folder_reads_as_one_table_keyed_like_the_runs(study_out):
    runs = pd.read_parquet(study_out / "runs.parquet")
    series = pd.read_parquet(study_out / "series")
    assert list(series.columns[:3]) == ["design_point", "replication", "day"]
    days = series.groupby(["design_point", "replication"])["day"].agg(["count", "min"])
    assert sorted(days.index) == sorted(zip(runs["design_point"], runs["replication"], strict=True))
    assert days["count"].nunique() == 1 and days["min"].eq(0).all()
    # the key columns join the runs table: each run's unmet days sum to its metric
    unmet = series.groupby(["design_point", "replication"])["unmet_t"].sum()
    metric = runs.set_index(["design_point", "replication"])["input_unmet_t"]
    assert unmet.sort_index().to_numpy() == pytest.approx(metric.sort_index().to_numpy(), rel=1e-9, abs=1e-9)


def test_durations_from_stored_series_match_each_runs_disruption_metrics(study_out):
    runs = pd.read_parquet(study_out / "runs.parquet")
    table, source = disruption_durations(runs, ["policy.buffer_days"], study_out / "series")
    assert source == f"every episode, from the daily series of {len(runs)} runs"
    per_run = table.groupby(["design_point", "replication"])["duration_days"].agg(["count", "max", "sum"])
    expected = runs.set_index(["design_point", "replication"])
    expected = expected[expected["disruption_events"] > 0]
    assert len(expected) > 0  # the tiny network has disruptions to count
    per_run = per_run.reindex(expected.index)
    assert per_run["count"].tolist() == expected["disruption_events"].tolist()
    assert per_run["max"].tolist() == expected["max_disruption_days"].tolist()
    assert per_run["sum"].tolist() == expected["disruption_days"].tolist()
    assert per_run["sum"].tolist() == expected["any_input_short_days"].tolist()


def test_series_stored_before_the_key_columns_are_read_by_file_name(tmp_path):
    folder = tmp_path / "series"
    folder.mkdir()
    pd.DataFrame({"day": [0, 1, 2], "secondary_shortfall_t": [0.0, 2.0, 0.0]}).to_parquet(
        folder / "dp00003-r00007.parquet")
    table = read_series(folder, ["secondary_shortfall_t"])
    assert table[["design_point", "replication"]].drop_duplicates().values.tolist() == [[3, 7]]
    assert table["secondary_shortfall_t"].tolist() == [0.0, 2.0, 0.0]


def test_a_column_that_only_some_design_points_have_is_kept(tmp_path):
    study = tmp_path / "hub.toml"
    study.write_text(f"""
[study]
name = "hub-on-off"
scenario = "{(DATA.parent.parent / 'scenarios' / 'brewery_farms.toml').as_posix()}"
replications = 1
seed = 1
series = true
horizon_days = 30
[design]
kind = "grid"
[design.factors]
"policy.intermediary" = [false, true]
""", encoding="utf-8")
    run_study(load_study(study), tmp_path / "out", workers=1, quiet=True)
    series = read_series(tmp_path / "out" / "series")
    pool = series.groupby("design_point")["pool_t:feed_depot"].apply(lambda s: s.notna().all())
    assert pool.to_dict() == {0: False, 1: True}  # the intermediary's pool exists only where it is on
    assert series.groupby("design_point").size().to_dict() == {0: 30, 1: 30}
