"""Per-run tables in a study's folder: every ok run's facilities and contracts (and inputs and
episodes when the model has them) with the run's keys, the same whichever way the study runs,
and no run twice after an interruption."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim import run as sim_run
from sim.experiment.design import build_design
from sim.experiment.runner import Shard, _tasks, run_study
from sim.experiment.store import ResultStore
from sim.experiment.study import load_study
from sim.experiment.tasks import execute

FACTORS = ["policy.buffer_days", "contracts.*.penalty_per_t_short"]


@pytest.fixture
def study(write_study):
    return load_study(write_study(replications=2))


def _tables(out) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in ("facilities", "contracts", "materials")}


def test_every_ok_run_has_its_tables_with_its_keys_equal_to_a_direct_run(study, tmp_path):
    out = tmp_path / "inline"
    run_study(study, out, workers=1, quiet=True)
    runs = pd.read_parquet(out / "runs.parquet")
    tables = _tables(out)
    for table in tables.values():
        assert list(table.columns[:4]) == ["design_point", "replication", *FACTORS]
        assert set(zip(table["design_point"], table["replication"], strict=True)) == set(
            zip(runs["design_point"], runs["replication"], strict=True))
        # every row carries its run's factor values
        merged = table.merge(runs[["design_point", "replication", *FACTORS]], on=["design_point", "replication"])
        for f in FACTORS:
            assert (merged[f + "_x"] == merged[f + "_y"]).all()
    # design point 3, replication 1, run directly (the worker's own call): the same facility table
    design = build_design(study.design, study.seed, str(study.path))
    direct = execute(next(_tasks(study, design, iter([(3, 1)])))).tables["facilities"]
    got = tables["facilities"].query("design_point == 3 and replication == 1").reset_index(drop=True)
    pd.testing.assert_frame_equal(got[list(direct.columns)], direct, check_dtype=False)
    assert got.drop(columns=list(direct.columns)).isna().all().all()  # other runs' cost columns only


def test_the_materials_table_travels_from_worker_to_store_and_the_report_draws_its_mean(study, tmp_path):
    from analysis.report import build_report
    from analysis.sankey import closure, mean_flows, unit_flows

    out = tmp_path / "inline"
    run_study(study, out, workers=1, quiet=True)
    materials = pd.read_parquet(out / "materials.parquet")
    design = build_design(study.design, study.seed, str(study.path))
    direct = execute(next(_tasks(study, design, iter([(2, 0)])))).tables["materials"]
    got = materials.query("design_point == 2 and replication == 0").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, direct, check_dtype=False)
    assert len(materials) == 8 * 2  # spent grain and feed in each of the 8 runs
    text = build_report(out).read_text(encoding="utf-8")
    assert "## Where every tonne went" in text and "![sankey_t](figures/sankey_t.png)" in text
    assert (out / "figures" / "sankey_t.png").stat().st_size > 0
    ref = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["design"]["reference_point"]
    shown = pd.read_csv(out / "material_flows.csv").set_index(["unit", "stage", "flow"])["value"]
    at_ref = materials[materials["design_point"] == ref]
    for flow in ("generated", "exchanged", "source_overflow", "used", "buffer_spoiled", "closing_buffer"):
        stage = "buyer" if flow in ("used", "buffer_spoiled", "closing_buffer") else "supply"
        per_run = at_ref.groupby("replication")[flow].sum()
        assert len(per_run) == 2 and shown[("t", stage, flow)] == pytest.approx(per_run.mean(), rel=1e-12, abs=1e-12)
    assert max(closure(mean_flows(materials, ref)).values()) <= 1e-9
    assert max(closure(unit_flows(direct)).values()) <= 1e-9


def test_the_report_lists_each_inputs_disruptions_with_the_mean_over_replications(study, tmp_path):
    """The per-input table beside the network's disruption metrics: at the reference point,
    each planned input's mean disruption days over the replications, as the stored inputs
    table gives them by hand."""
    from analysis.report import build_report

    out = tmp_path / "inline"
    run_study(study, out, workers=1, quiet=True)
    text = build_report(out).read_text(encoding="utf-8")
    assert "## Disruptions per input" in text
    inputs = pd.read_parquet(out / "inputs.parquet")
    ref = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["design"]["reference_point"]
    shown = pd.read_csv(out / "input_outcomes.csv")
    shown = shown[(shown["design_point"] == ref) & (shown["column"] == "disruption_days")].set_index("item")["mean"]
    planned = inputs[(inputs["design_point"] == ref) & inputs["planned"]]
    by_hand = planned.assign(item=planned["facility"] + "/" + planned["material"]).groupby("item")[
        "disruption_days"].mean()
    assert len(by_hand) > 0 and sorted(shown.index) == sorted(by_hand.index)
    for item, value in by_hand.items():
        assert shown[item] == pytest.approx(value, rel=1e-12, abs=1e-12)
        assert f"| {item} " in text


def test_process_pool_and_shards_store_the_in_process_tables(study, tmp_path):
    inline, pool, shards = tmp_path / "inline", tmp_path / "pool", tmp_path / "shards"
    run_study(study, inline, workers=1, quiet=True)
    run_study(study, pool, workers=2, quiet=True)
    run_study(study, shards, workers=1, shard=Shard(1, 2), quiet=True)
    half = _tables(shards)["facilities"]
    assert half[["design_point", "replication"]].drop_duplicates().shape[0] == 4  # half of 8 runs
    run_study(study, shards, workers=1, shard=Shard(2, 2), quiet=True)
    for out in (pool, shards):
        for name, table in _tables(out).items():
            pd.testing.assert_frame_equal(table, _tables(inline)[name])


def test_an_interrupted_study_resumes_without_a_run_twice_in_its_tables(study, tmp_path, monkeypatch,
                                                                        interrupt_on_sixth_run):
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run_study(study, out, workers=1, flush_every=1, quiet=True)
    monkeypatch.setattr(sim_run, "run_once", interrupt_on_sixth_run)
    assert 2 <= len(ResultStore(out).stored_status()) < 8
    # the tables of a run stored but not consolidated are written twice on purpose: as a rerun
    ResultStore(out).write_tables({"facilities": [pd.read_parquet(next((out / "tables" / "facilities").glob("*")))]})
    run_study(study, out, workers=1, quiet=True)
    clean = tmp_path / "clean"
    run_study(study, clean, workers=1, quiet=True)
    for name, table in _tables(out).items():
        assert not table.duplicated().any()
        pd.testing.assert_frame_equal(table, _tables(clean)[name])


class _WithInputs:
    """A run result with the inputs and episodes tables of helper D's interface (this branch's
    model has not got them yet): two planned inputs a run, one episode in odd replications."""

    def __init__(self, result, replication: int, episodes: bool = True):
        self._result = result
        window = 30
        self.inputs = pd.DataFrame({"facility": ["a", "b"], "material": ["x", "y"], "planned": [True, True],
                                    "window_days": [window, window], "disruption_days": [0.0, 0.0]})
        odd = replication % 2 == 1 and episodes
        self.episodes = pd.DataFrame({"facility": ["a"] * odd, "material": ["x"] * odd, "start_day": [3] * odd,
                                      "length_days": [4.0] * odd, "censored": [replication == 1] * odd})

    def __getattr__(self, name):
        return getattr(self._result, name)


def test_inputs_and_episodes_travel_to_the_store_and_the_survival_figure(write_study, tmp_path, monkeypatch):
    from analysis.report import build_report

    study = load_study(write_study(replications=2))
    real = sim_run.run_once

    def with_inputs(scenario, seed, **kwargs):
        replication = int(seed.spawn_key[0]) if hasattr(seed, "spawn_key") else 0
        return _WithInputs(real(scenario, seed, **kwargs), replication)

    monkeypatch.setattr(sim_run, "run_once", with_inputs)
    out = tmp_path / "with-inputs"
    run_study(study, out, workers=1, quiet=True)
    inputs, episodes = pd.read_parquet(out / "inputs.parquet"), pd.read_parquet(out / "episodes.parquet")
    assert len(inputs) == 8 * 2 and list(inputs.columns[:4]) == ["design_point", "replication", *FACTORS]
    assert len(episodes) == 4 and (episodes["replication"] == 1).all()  # one per design point
    text = build_report(out).read_text(encoding="utf-8")
    assert "Kaplan-Meier, censored at the horizon (4 episodes still running on the last day)" in text
    assert "4 episodes of every input in 8 runs, 4 runs without a disruption" in text


@pytest.mark.slow
def test_a_dask_local_cluster_stores_the_in_process_tables(study, tmp_path):
    inline, dask = tmp_path / "inline", tmp_path / "dask"
    run_study(study, inline, workers=1, quiet=True)
    run_study(study, dask, scheduler="local", quiet=True)
    for name, table in _tables(dask).items():
        pd.testing.assert_frame_equal(table, _tables(inline)[name])


def test_a_study_without_any_episode_stores_an_empty_episodes_table(write_study, tmp_path, monkeypatch):
    from analysis.report import build_report

    study = load_study(write_study(replications=2))
    real = sim_run.run_once
    monkeypatch.setattr(sim_run, "run_once", lambda *a, **k: _WithInputs(real(*a, **k), 0, episodes=False))
    out = tmp_path / "calm"
    run_study(study, out, workers=1, quiet=True)
    episodes = pd.read_parquet(out / "episodes.parquet")
    assert episodes.empty and {"length_days", "censored"} <= set(episodes.columns)
    text = build_report(out).read_text(encoding="utf-8")
    assert "0 episodes of every input in 8 runs, 8 runs without a disruption" in text
