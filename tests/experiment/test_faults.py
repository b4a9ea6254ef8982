"""The runner never loses work: repeated kill -9, Ctrl-C, a Dask worker killed mid-study, an
unwritable or full results folder (DESIGN.md section 9, issue 9 part 3).

Each interrupted study is resumed with the same command and compared with an uninterrupted
run of the same study (wall_s aside): the same rows, no duplicates.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import child_processes

from sim.experiment.runner import run_study
from sim.experiment.store import ResultStore
from sim.experiment.study import load_study

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, str(ROOT / "run_experiments.py")]
DESIGN = """kind = "grid"
[design.factors]
"policy.buffer_days" = [0, 3]
"""


def _cmd(study: Path, out: Path, *extra: str) -> list[str]:
    return [*CLI, "run", str(study), "--out", str(out), "--quiet", *extra]


def _parts(out: Path) -> int:
    return len(list((out / "parts").glob("part-*.parquet")))


def _wait_for_parts(proc: subprocess.Popen, out: Path, count: int, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while proc.poll() is None and _parts(out) < count and time.monotonic() < end:
        time.sleep(0.01)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _clean_table(study_path: Path, tmp_path: Path) -> pd.DataFrame:
    run_study(load_study(study_path), tmp_path / "clean", workers=1, quiet=True)
    return pd.read_parquet(tmp_path / "clean" / "runs.parquet").drop(columns="wall_s")


def _assert_same_final_table(out: Path, want: pd.DataFrame) -> None:
    got = pd.read_parquet(out / "runs.parquet").drop(columns="wall_s")
    assert not got.duplicated(["design_point", "replication"]).any()
    assert got["status"].eq("ok").all()
    pd.testing.assert_frame_equal(got, want)


def _assert_parts_whole(out: Path, *, killed: bool = False) -> None:
    """Every part file reads whole. A clean stop leaves no temporary file; kill -9 may leave
    one (never named part-*.parquet, so never read; shards share the folder, so a resume
    does not delete another process's temporary files)."""
    for part in (out / "parts").glob("part-*.parquet"):
        pq.read_table(part)  # raises on a torn file
    if not killed:
        assert not list((out / "parts").glob(".*.tmp"))


# --- kill -9, repeatedly -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_resume_after_repeated_sigkill_gives_the_uninterrupted_table(write_study, tmp_path, workers):
    study = write_study(DESIGN, replications=40, horizon_days=365)
    out = tmp_path / "killed"
    rng = random.Random(int(workers))
    kills = 0
    for _ in range(4):
        before = _parts(out) if out.exists() else 0
        # Its own session, so the kill takes the worker processes too (as a batch system does).
        proc = subprocess.Popen(_cmd(study, out, "--workers", workers, "--flush-every", "1"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        _wait_for_parts(proc, out, before + rng.randint(1, 6))
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        _assert_parts_whole(out, killed=True)
    assert kills >= 2, "the study finished before it could be killed twice; make it longer"
    assert not (out / "runs.parquet").exists() or kills < 4

    resumed = subprocess.run(_cmd(study, out, "--workers", workers), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_final_table(out, _clean_table(study, tmp_path))


# --- Ctrl-C --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2", "dask"])
def test_ctrl_c_stops_cleanly_and_the_study_resumes_to_the_same_table(write_study, tmp_path, workers):
    # One-year runs: with 60-day runs the model grew fast enough that the study could end
    # between "two parts stored" and the Ctrl-C.
    if workers == "dask":
        pytest.importorskip("distributed")  # the [dask] extra (installed by make test)
    study = write_study(DESIGN, replications=40, horizon_days=365)
    out = tmp_path / "interrupted"
    # A terminal's default Ctrl-C: a shell runs background jobs with SIGINT ignored, and the
    # child would inherit that (then Python never raises KeyboardInterrupt).
    how = ["--scheduler", "local"] if workers == "dask" else ["--workers", workers]
    proc = subprocess.Popen(_cmd(study, out, *how, "--flush-every", "3"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_sigint)
    _wait_for_parts(proc, out, 2)
    assert proc.poll() is None, "the study ended before Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole process group
    _stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "interrupted" in stderr
    _assert_parts_whole(out)
    stored = ResultStore(out).stored_status()
    assert 0 < len(stored) < 80

    resumed = subprocess.run(_cmd(study, out, *how), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_final_table(out, _clean_table(study, tmp_path))


# --- a Dask worker killed ------------------------------------------------------------------


@pytest.mark.slow
def test_a_dask_worker_killed_mid_study_loses_no_run(write_study, tmp_path):
    distributed = pytest.importorskip("distributed")
    import logging

    study_path = write_study(DESIGN, replications=30, horizon_days=365)
    study = load_study(study_path)
    out = tmp_path / "dask"
    killed: list[int] = []
    at_kill: list[int] = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)

        def kill_one_worker() -> None:
            end = time.monotonic() + 120
            while _parts(out) < 3 and time.monotonic() < end:
                time.sleep(0.01)
            pid = sorted(pids.values())[0]
            at_kill.append(_parts(out))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        killer = threading.Thread(target=kill_one_worker, daemon=True)
        killer.start()
        result = run_study(study, out, executor=client.get_executor(pure=False), flush_every=1, quiet=True)
        killer.join(timeout=5)
    assert killed, "no worker was killed"
    assert _parts(out) > at_kill[0], "the study had finished when the worker was killed"
    runs = result.runs
    if not runs["status"].eq("ok").all():
        # A run lost with its worker is stored as failed; the resume re-runs it.
        run_study(study, out, workers=1, quiet=True)
    _assert_same_final_table(out, _clean_table(study_path, tmp_path))



def _pool_workers(cli: subprocess.Popen, out: Path, parts: int) -> list[int]:
    """The CLI's pool workers (its grandchildren, under the forkserver), once `parts` part
    files are stored."""
    end = time.monotonic() + 120
    while cli.poll() is None and time.monotonic() < end:
        workers = [w for child in child_processes(cli.pid) for w in child_processes(child)]
        if len(workers) == 2 and _parts(out) >= parts:
            return workers
        time.sleep(0.02)
    raise AssertionError("the pool's two workers never showed up while the study ran")


@pytest.mark.slow
def test_a_pool_worker_killed_mid_study_loses_no_run(write_study, tmp_path):
    study_path = write_study(DESIGN, replications=30, horizon_days=365)
    out = tmp_path / "pool"
    cli = subprocess.Popen(_cmd(study_path, out, "--workers", "2", "--flush-every", "1"), stderr=subprocess.PIPE,
                           text=True, cwd=ROOT)
    workers = _pool_workers(cli, out, 3)
    at_kill = _parts(out)
    os.kill(workers[0], signal.SIGKILL)
    _, err = cli.communicate(timeout=600)
    assert cli.returncode == 0, err
    assert _parts(out) > at_kill, "the study had finished when the worker was killed"
    _assert_same_final_table(out, _clean_table(study_path, tmp_path))  # every run ok, no resume needed


@pytest.mark.slow
def test_the_pool_workers_exit_when_the_study_is_killed(write_study, tmp_path):
    study_path = write_study(DESIGN, replications=30, horizon_days=365)
    out = tmp_path / "pool"
    cli = subprocess.Popen(_cmd(study_path, out, "--workers", "2"), stderr=subprocess.DEVNULL, cwd=ROOT)
    workers = _pool_workers(cli, out, 0)
    os.kill(cli.pid, signal.SIGKILL)
    cli.wait()
    end = time.monotonic() + 20
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < end:
        time.sleep(0.1)
    assert not [w for w in workers if Path(f"/proc/{w}").exists()], "pool workers outlived the killed study"


# --- unwritable or full results folder ---------------------------------------------------


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _run_cli(study: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(study, out, "--workers", "1", *extra), capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


@pytest.mark.parametrize("where", ["a file", "under a file", "/proc"])
def test_an_unwritable_results_folder_is_refused_before_any_work(write_study, tmp_path, where):
    study = write_study(DESIGN, replications=2, horizon_days=10)
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder\n")
    out = {"a file": blocker, "under a file": blocker / "sub",
           "/proc": Path(f"/proc/no-such-{uuid.uuid4().hex[:8]}/out")}[where]
    done = _run_cli(study, out)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("--out: "), done.stderr
    assert "Traceback" not in done.stderr
    assert blocker.read_text() == "not a folder\n"


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _cannot_mount(what: str) -> None:
    """Skip where this machine refuses the mount (not root, say); fail instead in CI, which
    runs as root (.ci/run sets SIM_TESTS_NEED_MOUNTS), so that these checks cannot go
    missing there unnoticed."""
    message = f"cannot {what} here"
    if os.environ.get("SIM_TESTS_NEED_MOUNTS"):
        pytest.fail(message + " (SIM_TESTS_NEED_MOUNTS is set)")
    pytest.skip(message)


@pytest.fixture
def mountpoint(tmp_path):
    point = tmp_path / "mnt"
    point.mkdir()
    yield point
    subprocess.run(["umount", str(point)], capture_output=True)


@pytest.mark.slow
def test_a_read_only_results_folder_is_refused_and_left_intact(write_study, tmp_path, mountpoint):
    study = write_study(DESIGN, replications=2, horizon_days=10)
    assert _run_cli(study, mountpoint).returncode == 0
    before = _digest(mountpoint)
    if not (_mount("--bind", str(mountpoint), str(mountpoint))
            and _mount("-o", "remount,ro,bind", str(mountpoint))):
        _cannot_mount("make a read-only bind mount")
    for extra in ([], ["--fresh"]):
        done = _run_cli(study, mountpoint, *extra)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("--out: ") and "Read-only file system" in done.stderr, done.stderr
    assert _digest(mountpoint) == before


@pytest.mark.slow
def test_a_full_results_disk_is_refused_before_any_work_and_left_intact(write_study, tmp_path, mountpoint):
    if not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mountpoint)):
        _cannot_mount("mount a tmpfs")
    study = write_study(DESIGN, replications=2, horizon_days=10)
    out = mountpoint / "results"
    assert _run_cli(study, out).returncode == 0
    before = _digest(out)
    filler = mountpoint / "filler"
    with filler.open("wb") as fh:  # fill the disk to the last block
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    bigger = write_study(DESIGN, replications=6, horizon_days=10)  # 8 more runs to store
    for extra in ([], ["--fresh"]):
        done = _run_cli(bigger, out, *extra)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("--out: ") and "No space left" in done.stderr, done.stderr
    assert _digest(out) == before
    assert pd.read_parquet(out / "runs.parquet")["status"].eq("ok").all()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["simulate", "match"])
def test_a_full_disk_for_simulate_and_match_out_is_refused_before_any_work(tmp_path, mountpoint, command):
    # An empty probe file is made even on a full disk (it takes an inode, not a block).
    if not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mountpoint)):
        _cannot_mount("mount a tmpfs")
    out = mountpoint / "out"
    out.mkdir()
    with (mountpoint / "filler").open("wb") as fh:  # fill the disk to the last block
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    done = subprocess.run([*CLI, command, str(ROOT / "scenarios" / "two_firms.toml"), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"{out}: --out: cannot write there (No space left on device)", done.stderr
    assert done.stdout == ""  # refused before any work, not after printing the results
    assert list(out.iterdir()) == []
