"""A report built from part of a study says so at the top: a shard, an interrupted run."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.report import build_report
from sim.experiment.runner import Shard, run_study
from sim.experiment.study import load_study


def _head(out, name: str, lines: int = 6) -> str:
    return "\n".join((out / name).read_text(encoding="utf-8").splitlines()[:lines])


def test_a_shards_report_says_incomplete_and_the_whole_studys_does_not(write_study, tmp_path):
    study = load_study(write_study(replications=2))  # 4 design points x 2 = 8 runs
    out = tmp_path / "shards"
    run_study(study, out, workers=1, shard=Shard(1, 2), quiet=True)
    build_report(out)
    assert "incomplete: 4 of 8 runs" in _head(out, "report.md")
    assert "incomplete: 4 of 8 runs" in (out / "report.html").read_text(encoding="utf-8")[:3000]
    summary = pd.read_csv(out / "summary.csv")
    assert (summary["runs_ok"] == 4).all() and (summary["runs_expected"] == 8).all() and not summary["complete"].any()

    run_study(study, out, workers=1, shard=Shard(2, 2), quiet=True)
    build_report(out)
    assert "incomplete" not in (out / "report.md").read_text(encoding="utf-8")
    summary = pd.read_csv(out / "summary.csv")
    assert (summary["runs_ok"] == 8).all() and summary["complete"].all()


def test_an_interrupted_first_run_reports_incomplete(write_study, tmp_path, interrupt_on_sixth_run):
    study = load_study(write_study(replications=2))
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run_study(study, out, workers=1, flush_every=1, quiet=True)
    build_report(out)  # from the part files and the manifest written before the first run
    stored = len(pd.read_parquet(out / "runs.parquet"))
    assert 2 <= stored < 8
    assert f"incomplete: {stored} of 8 runs" in _head(out, "report.md")
