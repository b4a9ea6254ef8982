"""The command line at its edges (issue 26): workers bounded by cores and memory, lost runs
charged only when they died with their worker, a study with failed runs exits 3, --out
probes that write real bytes, scheduler addresses checked in full, one `run` per results
folder. Real processes, real files, real kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import child_processes

from run_experiments import main
from sim import run as sim_run
from sim.experiment import cli

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, str(ROOT / "run_experiments.py")]
DESIGN = """kind = "grid"
[design.factors]
"policy.buffer_days" = [0, 3]
"""


def _parts(out: Path) -> int:
    return len(list((out / "parts").glob("part-*.parquet")))



# --- item 2: workers bounded ---------------------------------------------------------------


def test_more_workers_than_cores_is_refused_at_once_with_nothing_written(write_study, tmp_path):
    out = tmp_path / "r"
    done = subprocess.run([*CLI, "run", str(write_study(DESIGN)), "--out", str(out), "--workers", "100000"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("--workers: at most ") and "(given 100000)" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_workers_that_would_not_fit_in_memory_are_refused(write_study, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "usable_cpus", lambda: 8)
    monkeypatch.setattr(cli, "available_memory_bytes", lambda: 600 * 2**20)  # room for two workers
    out = tmp_path / "r"
    assert main(["run", str(write_study(DESIGN)), "--out", str(out), "--workers", "4", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"--workers: 4 workers need about {4 * cli.WORKER_MEMORY_MB} MB ({cli.WORKER_MEMORY_MB} MB each) "
                   "and 600 MB is available; use --workers 2 or free memory"]
    assert not out.exists()


def test_the_memory_estimate_grows_with_the_network_and_the_horizon(tmp_path):
    from sim.experiment.study import load_study
    from sim.synthetic import generate_region, to_toml

    region = tmp_path / "region.toml"
    region.write_text(to_toml(generate_region(1000)))
    study = tmp_path / "big.toml"
    study.write_text(f'[study]\nname = "big"\nscenario = "{region.name}"\nreplications = 2\nseed = 1\n'
                     f'horizon_days = 730\n[design]\nkind = "grid"\n[design.factors]\n"policy.buffer_days" = [0, 3]\n')
    loaded = load_study(study)
    entities = len(loaded.scenario.facilities) + len(loaded.scenario.contracts)
    expected = int(cli.WORKER_BASE_MB + entities * 730 * cli.WORKER_KB_PER_ENTITY_DAY / 1024)
    assert expected > cli.WORKER_MEMORY_MB  # a 1,000-plant region for two years: well over the default
    assert cli.worker_memory_mb(loaded) == expected
    room = 2 * expected * 2**20 - 1  # one byte short of two such workers
    cli.available_memory_bytes, saved = (lambda: room), cli.available_memory_bytes
    cli.usable_cpus, saved_cpus = (lambda: 8), cli.usable_cpus
    try:
        said = cli.worker_problems(2, loaded)
    finally:
        cli.available_memory_bytes, cli.usable_cpus = saved, saved_cpus
    assert said and f"({expected} MB each)" in said[0] and "use --workers 1" in said[0]


# --- item 3: lost runs are run again; failed runs exit 3 -----------------------------------


@pytest.mark.slow
def test_three_pool_workers_killed_in_a_row_fail_no_run(write_study, tmp_path):
    # Each kill breaks the pool, and every run in it fails with BrokenProcessPool; only the
    # run that was in the killed worker may be charged a retry (two are allowed).
    study = write_study(DESIGN, replications=40, horizon_days=365)
    out = tmp_path / "pool"
    proc = subprocess.Popen([*CLI, "run", str(study), "--out", str(out), "--workers", "2", "--quiet",
                             "--flush-every", "1"], stderr=subprocess.PIPE, text=True, cwd=ROOT)
    killed: list[int] = []
    end = time.monotonic() + 180
    while len(killed) < 3 and proc.poll() is None and time.monotonic() < end:
        workers = [w for child in child_processes(proc.pid) for w in child_processes(child) if w not in killed]
        if len(workers) == 2 and _parts(out) >= 2 * len(killed) + 1:  # a fresh pool that has run something
            os.kill(workers[0], signal.SIGKILL)
            killed.append(workers[0])
        time.sleep(0.02)
    _, err = proc.communicate(timeout=600)
    assert len(killed) == 3, "the study ended before three workers were killed; make it longer"
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs["status"].eq("ok").all(), runs.loc[runs["status"] != "ok", "error"].tolist()
    assert proc.returncode == 0, err


def test_a_study_with_some_failed_runs_exits_3_and_says_how_many(write_study, tmp_path, monkeypatch, capsys):
    real = sim_run.run_once

    def flaky(scenario, seed, **kwargs):
        if seed.spawn_key[-1] == 0:  # replication 0 at every design point
            raise RuntimeError("plant on fire")
        return real(scenario, seed, **kwargs)

    monkeypatch.setattr(sim_run, "run_once", flaky)
    out = tmp_path / "out"
    assert main(["run", str(write_study(DESIGN, replications=3)), "--out", str(out), "--workers", "1",
                 "--quiet"]) == cli.EXIT_RUNS_FAILED == 3
    err = capsys.readouterr().err
    assert err.startswith("error: 2 of 6 runs failed (the first: RuntimeError: plant on fire)"), err
    assert "**2 runs failed**" in (out / "report.md").read_text(encoding="utf-8")


def test_run_help_documents_exit_status_3(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "3 some runs failed" in capsys.readouterr().out


# --- item 7: scheduler addresses -----------------------------------------------------------


@pytest.mark.parametrize("address, said", [
    ("tcp://256.1.1.1:99999", "the port must be 1 to 65535 (given 99999"),
    ("tcp://256.1.1.1:8786", "'256.1.1.1' is not an IPv4 address"),
    ("tcp://10.0.0.1:0", "the port must be 1 to 65535 (given 0"),
    ("tcp://[::zz]:8786", "'[::zz]' is not an IPv6 address"),
    ("tcp://bad_host-.example:8786", "is not a host name"),
])
def test_a_scheduler_address_out_of_range_is_refused_at_once(write_study, tmp_path, address, said):
    out = tmp_path / "r"
    start = time.monotonic()
    done = subprocess.run([*CLI, "run", str(write_study(DESIGN)), "--out", str(out), "--scheduler", address],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("--scheduler: ") and said in done.stderr, done.stderr
    assert not out.exists()
    assert time.monotonic() - start < 30  # not a connect timeout (generous: no timing is measured)


@pytest.mark.parametrize("address", ["local", "tcp://head:8786", "tcp://10.0.0.1:8786", "tls://[::1]:8786",
                                     "head.example.org:65535"])
def test_good_scheduler_addresses_pass_the_check(address):
    assert cli.scheduler_problem(address) is None


# --- item 8: one writer per results folder -------------------------------------------------


@pytest.mark.slow
def test_a_second_run_on_a_busy_folder_is_refused_and_a_killed_runs_lock_is_taken_over(write_study, tmp_path):
    study = write_study(DESIGN, replications=40, horizon_days=365)
    out = tmp_path / "busy"
    first = subprocess.Popen([*CLI, "run", str(study), "--out", str(out), "--workers", "1", "--quiet",
                              "--flush-every", "1"], stderr=subprocess.PIPE, text=True, cwd=ROOT)
    end = time.monotonic() + 120
    while first.poll() is None and _parts(out) < 2 and time.monotonic() < end:
        time.sleep(0.02)
    assert first.poll() is None, "the first run ended before the second started"
    for extra in ([], ["--fresh"]):
        second = subprocess.run([*CLI, "run", str(study), "--out", str(out), "--workers", "1", "--quiet", *extra],
                                capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert second.returncode == 2, second.stderr
        assert second.stderr.startswith(f"--out: {out}: another `run` is writing here (pid {first.pid})"), \
            second.stderr
        assert _parts(out) >= 2, "--fresh deleted the live run's results"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert (out / ".run.lock").exists()  # left behind by the killed run, with its pid
    resumed = subprocess.run([*CLI, "run", str(study), "--out", str(out), "--workers", "1", "--quiet"],
                             capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr
    assert pd.read_parquet(out / "runs.parquet")["status"].eq("ok").all()
    assert not (out / ".run.lock").exists()


def test_shards_of_one_study_share_a_folder_but_not_a_shard(tmp_path):
    from sim.experiment.lock import FolderBusy, hold_results_folder

    with hold_results_folder(tmp_path, shard="1/2", exclusive=False):
        code = ("import sys; from sim.experiment.lock import hold_results_folder as h\n"
                "try:\n    h(sys.argv[1], shard=sys.argv[2] or None, exclusive=sys.argv[3] == '1').__enter__()\n"
                "except Exception as e:\n    print(type(e).__name__, e)\n")

        def other(shard: str, exclusive: bool) -> str:
            return subprocess.run([sys.executable, "-c", code, str(tmp_path), shard, "1" if exclusive else "0"],
                                  capture_output=True, text=True, timeout=60).stdout

        assert other("2/2", False) == ""
        assert other("1/2", False).startswith("FolderBusy")
        assert other("", True).startswith("FolderBusy") and str(os.getpid()) in other("", True)
    assert FolderBusy is not None


# --- item 6: --out probes write real bytes; nothing partial --------------------------------


def test_simulate_out_leaves_nothing_when_writing_fails_part_way(tmp_path, monkeypatch, capsys):
    import analysis.series_plot

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(analysis.series_plot, "plot_run_series", full_disk)
    out = tmp_path / "sim"
    assert main(["simulate", str(ROOT / "scenarios" / "two_firms.toml"), "--days", "60", "--out", str(out)]) == 1
    assert list(out.iterdir()) == []  # no series.csv or metrics.json without their plot
    assert capsys.readouterr().out == ""  # no metrics printed as if the command had worked


def test_a_scheduler_host_that_cannot_be_found_is_refused_at_once(write_study, tmp_path):
    out = tmp_path / "r"
    done = subprocess.run([*CLI, "run", str(write_study(DESIGN)), "--out", str(out),
                           "--scheduler", "tcp://no-such-host.invalid:8786"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("--scheduler: cannot find the host 'no-such-host.invalid'"), done.stderr
    assert not out.exists()


def test_simulate_out_moves_nothing_when_a_folder_is_in_the_way_of_one_result(tmp_path, capsys):
    out = tmp_path / "sim"
    (out / "series.png").mkdir(parents=True)  # the last file moved, alphabetically
    code = main(["simulate", str(ROOT / "scenarios" / "two_firms.toml"), "--days", "60", "--out", str(out)])
    assert code == 2
    assert sorted(p.name for p in out.iterdir()) == ["series.png"]  # no csv or json moved in before it
    err = capsys.readouterr().err
    assert "series.png: --out: in the way of a result file" in err


def test_match_out_leaves_nothing_when_writing_fails_part_way(tmp_path, monkeypatch, capsys):
    import analysis.network_map

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(analysis.network_map, "plot_network_map", full_disk)
    out = tmp_path / "match"
    assert main(["match", str(ROOT / "scenarios" / "two_firms.toml"), "--out", str(out)]) == 1
    assert list(out.iterdir()) == []  # no candidates.csv without its map


def test_match_out_writes_both_files(tmp_path, capsys):
    out = tmp_path / "match"
    assert main(["match", str(ROOT / "scenarios" / "two_firms.toml"), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["candidates.csv", "network_map.png"]
    assert f"wrote {out}/candidates.csv and {out / 'network_map.png'}" in capsys.readouterr().out
