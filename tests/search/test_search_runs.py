"""The `search` command end to end on a tiny search (the real race): common random numbers,
uncertainty strata, resume from the store, a SIGKILL'd search resumed to the same answer, the
report and its rebuild."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

import run_experiments
from sim.experiment.search import load_search, run_search

from .conftest import GOALS

ROOT = Path(__file__).resolve().parents[2]


def _answer(out: Path) -> dict:
    data = json.loads((out / "search.json").read_text())
    return {"chosen": data["result"]["chosen"], "estimates": data["result"]["estimates"],
            "runs_used": data["result"]["runs_used"]}


def test_search_command_writes_the_answer_report_and_frontier(write_search, tmp_path, capsys):
    out = tmp_path / "out"
    goals = GOALS.replace("probability = 0.6", "probability = 0.3")
    status = run_experiments.main(["search", str(write_search(goals=goals)), "--out", str(out), "--workers", "1"])
    assert status == 0, capsys.readouterr().err
    said = capsys.readouterr().out
    assert "chosen:" in said and "runs used of a full grid of 4 x 128" in said
    data = json.loads((out / "search.json").read_text())
    used, rounds = data["result"]["runs_used"], len(data["result"]["rounds"])
    assert 4 * 4 <= used <= 200  # at least one round of every candidate; never past the budget
    report = (out / "report.md").read_text()
    assert f"- the search: {used} runs over {rounds} rounds, for 4 candidates" in report
    assert (f"- the full grid at the most replications a candidate may get (128): 512 runs "
            f"({used / 512:.1%} of it used)") in report
    assert data["result"]["chosen"] is not None
    for party in ("brewery", "craft_brewery", "farm_north", "farm_east", "farm_south"):
        assert f"\n| {party} | " in report
    chosen = next(e for e in data["result"]["estimates"] if e["candidate"] == data["result"]["chosen"])
    half = chosen["replications"] // 2  # replication r runs at level r mod 2
    assert f"\n| grain = 20 | {half} | " in report and f"\n| grain = 23 | {half} | " in report
    for heading in ("## Chosen policy", "## Runs used", "## The naive best-mean point", "## Every candidate",
                    "## Trade-off frontier"):
        assert heading in report
    assert (out / "figures" / "frontier.png").stat().st_size > 1000
    assert "## What each party gains or pays under the chosen policy" in report
    assert "## How the chosen policy fares at each uncertainty level" in report
    # `report` rebuilds it from the stored runs
    (out / "report.md").unlink()
    assert run_experiments.main(["report", str(out)]) == 0
    assert "## Every candidate" in (out / "report.md").read_text()


def test_replication_r_has_one_seed_and_one_uncertainty_level_for_every_candidate(write_search, tmp_path):
    search = load_search(write_search())
    run_search(search, tmp_path / "out", quiet=True)
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    searched = runs[runs["design_point"] < len(search.candidates)]
    used = json.loads((tmp_path / "out" / "search.json").read_text())["result"]["runs_used"]
    assert len(searched) == used and searched["status"].eq("ok").all()
    grain = "facilities.brewery.outputs.spent_grain.rate_t_per_day"
    for rep, block in searched.groupby("replication"):
        assert block["seed"].nunique() == 1  # common random numbers
        assert set(block[grain]) == {[20.0, 23.0][rep % 2]}  # stratum r mod 2, for every candidate
    # the uncertainty is never a lever: the chosen policy names levers only
    data = json.loads((tmp_path / "out" / "search.json").read_text())
    assert all(set(c) == {"south_buffer", "south_backup"} for c in data["candidates"])


def test_a_rerun_answers_every_pair_from_the_store(write_search, tmp_path):
    search = load_search(write_search())
    first = run_search(search, tmp_path / "out", quiet=True)
    again = run_search(search, tmp_path / "out", quiet=True)
    assert first.made > 0 and again.made == 0
    assert again.result == first.result


def test_a_different_search_in_the_same_folder_is_refused(write_search, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_experiments.main(["search", str(write_search()), "--out", str(out), "--quiet"]) == 0
    other = write_search(name="other.toml", seed=12)
    assert run_experiments.main(["search", str(other), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds runs of a different study (its seed changed" in err[0]
    assert run_experiments.main(["search", str(other), "--out", str(out), "--quiet", "--fresh"]) == 0


def test_a_killed_search_resumes_and_gives_the_same_answer(write_search, tmp_path):
    path = write_search(budget=400, first=12)
    clean = run_search(load_search(path), tmp_path / "clean", quiet=True)
    out = tmp_path / "killed"
    cmd = [sys.executable, str(ROOT / "run_experiments.py"), "search", str(path), "--out", str(out),
           "--workers", "1", "--flush-every", "3", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    end = time.monotonic() + 120
    while proc.poll() is None and len(list((out / "parts").glob("part-*.parquet"))) < 2 and time.monotonic() < end:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = len(pd.concat([pd.read_parquet(p) for p in (out / "parts").glob("part-*.parquet")]))
    assert 0 < stored < clean.made, "the kill must land mid-search"
    assert json.loads((out / "search.json").read_text())["result"] is None  # marked unfinished
    assert run_experiments.main(["report", str(out)]) == 0
    assert "The search has not finished" in (out / "report.md").read_text()
    resumed = run_search(load_search(path), out, quiet=True)
    assert resumed.made == clean.made - stored  # the stored runs are answered from the store
    assert _answer(out) == _answer(tmp_path / "clean")
