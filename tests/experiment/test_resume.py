"""A study killed part-way resumes where it stopped: nothing lost, nothing duplicated; a run
that raises is recorded as failed while the study goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from sim import run as sim_run
from sim.experiment.runner import run_study
from sim.experiment.store import ResultStore
from sim.experiment.study import load_study

KILL_DESIGN = """kind = "grid"
[design.factors]
"policy.buffer_days" = [0, 3]
"""


@pytest.mark.slow
def test_study_killed_with_sigkill_resumes_to_the_uninterrupted_table(write_study, tmp_path):
    path = write_study(KILL_DESIGN, replications=30)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim.experiment", "run", str(path), "--out", str(out),
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
