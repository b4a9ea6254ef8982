"""A study killed part-way resumes where it stopped: nothing lost, nothing duplicated; a run
that raises is recorded as failed while the study goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim import run as sim_run
from sim.experiment.runner import run_study
from sim.experiment.store import ResultStore, StoreError
from sim.experiment.study import load_study

CLI = [sys.executable, str(Path(__file__).resolve().parents[2] / "run_experiments.py")]

KILL_DESIGN = """kind = "grid"
[design.factors]
"policy.buffer_days" = [0, 3]
"""


@pytest.mark.slow
def test_study_killed_with_sigkill_resumes_to_the_uninterrupted_table(write_study, tmp_path):
    path = write_study(KILL_DESIGN, replications=30)
    out = tmp_path / "killed"
    cmd = [*CLI, "run", str(path), "--out", str(out),
           "--workers", "1", "--flush-every", "2", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parts = out / "parts"
    while proc.poll() is None and len(list(parts.glob("part-*.parquet"))) < 3:
        time.sleep(0.02)
    assert proc.poll() is None, "the study ended before it could be killed part-way"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = ResultStore(out).stored_status()
    assert 0 < len(stored) < 60
    assert not (out / "runs.parquet").exists()

    resumed = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr

    study = load_study(path)
    clean = tmp_path / "clean"
    run_study(study, clean, workers=1, quiet=True)
    got = pd.read_parquet(out / "runs.parquet").drop(columns="wall_s")
    want = pd.read_parquet(clean / "runs.parquet").drop(columns="wall_s")
    assert not got.duplicated(["design_point", "replication"]).any()
    pd.testing.assert_frame_equal(got, want)


def test_a_raising_design_point_is_recorded_failed_and_the_others_complete(write_study, tmp_path,
                                                                            monkeypatch):
    real = sim_run.run_once

    def fails_with_a_buffer(scenario, seed, **kwargs):
        if scenario.policy.buffer_days == 3:
            raise RuntimeError("model broke at buffer 3")
        return real(scenario, seed, **kwargs)

    monkeypatch.setattr(sim_run, "run_once", fails_with_a_buffer)
    study = load_study(write_study(KILL_DESIGN, replications=3))
    result = run_study(study, tmp_path / "out", workers=1, quiet=True)
    runs = result.runs
    failed = runs[runs["policy.buffer_days"] == 3]
    assert failed["status"].eq("failed").all()
    assert failed["error"].str.contains("RuntimeError: model broke at buffer 3").all()
    assert failed["fill_rate"].isna().all()
    others = runs[runs["policy.buffer_days"] == 0]
    assert len(others) == 3 and others["status"].eq("ok").all()
    manifest = (tmp_path / "out" / "manifest.json").read_text()
    assert '"failed": 3' in manifest


def test_failed_runs_are_run_again_on_resume_and_replaced(write_study, tmp_path, monkeypatch):
    real = sim_run.run_once
    monkeypatch.setattr(sim_run, "run_once", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("down")))
    study = load_study(write_study(KILL_DESIGN, replications=2))
    out = tmp_path / "out"
    assert run_study(study, out, workers=1, quiet=True).runs["status"].eq("failed").all()
    monkeypatch.setattr(sim_run, "run_once", real)
    again = run_study(study, out, workers=1, quiet=True)
    assert again.stats.ok == 4
    assert len(again.runs) == 4 and again.runs["status"].eq("ok").all()


def _snapshot(folder):
    """Every file under `folder` with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda text: text.replace("seed = 20261126", "seed = 7"), "seed"),
        (lambda text: text.replace("[0, 3]", "[0, 5]"), "design"),
        (lambda text: text.replace("horizon_days = 30", "horizon_days = 20"), "horizon_days"),
        (lambda text: text.replace('name = "test"', 'name = "test"\noverrides = { "contracts.*.price_per_t" = 9.0 }'),
         "scenario"),
    ],
    ids=["seed", "design", "horizon", "scenario"],
)
def test_a_changed_study_is_refused_and_the_stored_runs_are_untouched(write_study, tmp_path, change, named):
    path = write_study(KILL_DESIGN, replications=2)
    out = tmp_path / "out"
    run_study(load_study(path), out, workers=1, quiet=True)
    before = _snapshot(out)
    changed = tmp_path / "changed.toml"
    changed.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert changed.read_text(encoding="utf-8") != path.read_text(encoding="utf-8")
    done = subprocess.run([*CLI, "run", str(changed), "--out", str(out),
                           "--workers", "1", "--quiet"], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert f"its {named} changed" in done.stderr and "--fresh" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert _snapshot(out) == before
    fresh = subprocess.run([*CLI, "run", str(changed), "--out", str(out),
                            "--workers", "1", "--quiet", "--fresh"], capture_output=True, text=True, check=False)
    assert fresh.returncode == 0, fresh.stderr


def test_a_study_resumed_with_another_engine_is_the_same_study(write_study, tmp_path):
    """policy.engine changes how the days are computed, never the results: a resume with
    another engine keeps the stored runs and runs none again."""
    path = write_study(KILL_DESIGN, replications=2)
    out = tmp_path / "out"
    first = run_study(load_study(path), out, workers=1, quiet=True)
    engine = tmp_path / "engine.toml"
    engine.write_text(path.read_text(encoding="utf-8").replace(
        'name = "test"', 'name = "test"\noverrides = { "policy.engine" = "objects" }'), encoding="utf-8")
    again = run_study(load_study(engine), out, workers=1, quiet=True)
    assert again.stats.ok == 0
    pd.testing.assert_frame_equal(first.runs.drop(columns="wall_s"), again.runs.drop(columns="wall_s"))


def test_more_replications_run_only_the_new_ones_and_fewer_leave_the_rest_out(write_study, tmp_path):
    out = tmp_path / "out"
    run_study(load_study(write_study(KILL_DESIGN, replications=2)), out, workers=1, quiet=True)
    more = run_study(load_study(write_study(KILL_DESIGN, replications=3)), out, workers=1, quiet=True)
    assert more.stats.ok == 2  # replication 2 at both design points
    clean = run_study(load_study(write_study(KILL_DESIGN, replications=3, name="clean.toml")), tmp_path / "clean",
                      workers=1, quiet=True)
    pd.testing.assert_frame_equal(more.runs.drop(columns="wall_s"), clean.runs.drop(columns="wall_s"))
    fewer = run_study(load_study(write_study(KILL_DESIGN, replications=1)), out, workers=1, quiet=True)
    assert fewer.stats.ok == 0
    assert fewer.runs["replication"].tolist() == [0, 0]
    assert '"total": 2' in (out / "manifest.json").read_text(encoding="utf-8")
    assert len(ResultStore(out).stored_status()) == 6  # kept in parts/, for a resume with more again


def test_a_folder_of_other_files_is_refused_and_fresh_deletes_nothing_there(write_study, tmp_path):
    mine = tmp_path / "mine"
    (mine / "figures").mkdir(parents=True)
    (mine / "report.md").write_text("my own notes", encoding="utf-8")
    (mine / "figures" / "fig1.png").write_bytes(b"png")
    before = _snapshot(mine)
    done = subprocess.run([*CLI, "run", str(write_study(KILL_DESIGN)), "--out",
                           str(mine), "--workers", "1", "--fresh"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "holds files but no study results" in done.stderr
    assert _snapshot(mine) == before


def test_a_folder_from_before_the_study_key_is_checked_by_its_design_and_manifest(write_study, tmp_path):
    path = write_study(KILL_DESIGN, replications=2)
    out = tmp_path / "out"
    run_study(load_study(path), out, workers=1, quiet=True)
    (out / "study-key.json").unlink()
    other_seed = write_study(KILL_DESIGN, replications=2, seed=7, name="other.toml")
    with pytest.raises(StoreError, match="its seed changed"):
        run_study(load_study(other_seed), out, workers=1, quiet=True)
    other_design = write_study(KILL_DESIGN.replace("[0, 3]", "[0, 4]"), replications=2, name="design.toml")
    with pytest.raises(StoreError, match="its design changed"):
        run_study(load_study(other_design), out, workers=1, quiet=True)
    again = run_study(load_study(path), out, workers=1, quiet=True)
    assert again.stats.ok == 0 and (out / "study-key.json").exists()


def test_a_study_whose_every_run_fails_reports_why_and_exits_1(write_study, tmp_path, monkeypatch, capsys):
    from run_experiments import main

    monkeypatch.setattr(sim_run, "run_once", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no plant")))
    out = tmp_path / "out"
    status = main(["run", str(write_study(KILL_DESIGN, replications=2)), "--out", str(out), "--workers", "1",
                   "--quiet"])
    assert status == 1
    assert "every run failed (the first: RuntimeError: no plant)" in capsys.readouterr().err
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## No run completed" in report and "4 x `RuntimeError: no plant`" in report


def test_hidden_files_do_not_make_a_folder_foreign(write_study, tmp_path):
    # Another shard's write probe (shards started together see each other's), a .gitkeep.
    out = tmp_path / "new"
    out.mkdir()
    (out / ".write-test-0123").write_bytes(b"\0" * 16)
    (out / ".gitkeep").touch()
    assert run_study(load_study(write_study(KILL_DESIGN, replications=1)), out, workers=1, quiet=True).stats.ok == 2


@pytest.mark.parametrize("key", [b"\xff\xfe{", b'{"seed": 1}', b"[1, 2]"], ids=["not text", "incomplete", "a list"])
def test_a_damaged_study_key_is_refused_with_exit_2(write_study, tmp_path, key):
    path = write_study(KILL_DESIGN, replications=1)
    out = tmp_path / "out"
    run_study(load_study(path), out, workers=1, quiet=True)
    (out / "study-key.json").write_bytes(key)
    done = subprocess.run([*CLI, "run", str(path), "--out", str(out), "--workers",
                           "1", "--quiet"], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"--out: {out / 'study-key.json'}: ") and "--fresh" in done.stderr
