"""Every way of executing a study gives the same runs table (DESIGN.md section 4: determinism)."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.experiment.runner import Shard, run_study
from sim.experiment.study import load_study


def _table(out) -> pd.DataFrame:
    return pd.read_parquet(out / "runs.parquet").drop(columns=["wall_s"])


@pytest.fixture
def study(write_study):
    return load_study(write_study(replications=3))


@pytest.fixture
def in_process(study, tmp_path):
    out = tmp_path / "inline"
    run_study(study, out, workers=1, quiet=True)
    return _table(out)


def test_in_process_table_has_one_ok_row_per_key(in_process, study):
    assert len(in_process) == 4 * study.replications
    assert in_process["status"].eq("ok").all()
    assert not in_process.duplicated(["design_point", "replication"]).any()
    assert list(in_process.columns[:5]) == [
        "design_point", "replication", "seed", "policy.buffer_days", "contracts.*.penalty_per_t_short"
    ]


def test_replication_seed_is_shared_across_design_points(in_process):
    seeds = in_process.pivot(index="replication", columns="design_point", values="seed")
    assert (seeds.nunique(axis=1) == 1).all()
    assert seeds[0].is_unique


def test_process_pool_gives_the_in_process_table(study, tmp_path, in_process):
    out = tmp_path / "pool"
    run_study(study, out, workers=2, quiet=True)
    pd.testing.assert_frame_equal(_table(out), in_process)


def test_two_shards_into_one_store_give_the_in_process_table(study, tmp_path, in_process):
    out = tmp_path / "shards"
    first = run_study(study, out, workers=1, shard=Shard(1, 2), quiet=True)
    assert len(first.runs) == len(in_process) // 2
    run_study(study, out, workers=1, shard=Shard(2, 2), quiet=True)
    pd.testing.assert_frame_equal(_table(out), in_process)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_in_process_table(study, tmp_path, in_process):
    out = tmp_path / "dask"
    run_study(study, out, scheduler="local", quiet=True)
    pd.testing.assert_frame_equal(_table(out), in_process)


def test_rerun_skips_stored_runs(study, tmp_path, in_process):
    out = tmp_path / "inline-again"
    run_study(study, out, workers=1, quiet=True)
    again = run_study(study, out, workers=1, quiet=True)
    assert again.stats.done == 0
    pd.testing.assert_frame_equal(_table(out), in_process)


def test_fresh_runs_everything_again(study, tmp_path):
    out = tmp_path / "fresh"
    run_study(study, out, workers=1, quiet=True)
    again = run_study(study, out, workers=1, fresh=True, quiet=True)
    assert again.stats.done == 4 * study.replications


@pytest.mark.parametrize("text, k, n", [("1/2", 1, 2), ("3/10", 3, 10)])
def test_shard_parses_k_of_n(text, k, n):
    assert Shard.parse(text) == Shard(k, n)


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "1-2", "1/2/3"])
def test_shard_rejects_malformed_text(text):
    with pytest.raises(ValueError, match="--shard"):
        Shard.parse(text)


def test_a_call_whose_worker_dies_runs_again_on_a_new_pool(tmp_path):
    import multiprocessing

    from sim.experiment.executors import RenewingPool, map_bounded
    from tests.experiment._dying import die_always, die_once

    items = [(name, tmp_path) for name in ("a", "b", "die-1", "c", "d", "die-2", "e")]
    with RenewingPool(2, multiprocessing.get_context("forkserver")) as pool:
        got = {item[0]: future.result() for item, future in map_bounded(pool, die_once, items, window=3)}
        assert got == {name: name for name, _ in items}
        assert pool.renewals >= 1
        # A call that kills its worker every time is given up after its retries: its future
        # holds the error (the runner stores it as a failed run); the others still complete.
        outcomes = {item[0]: future.exception() for item, future in
                    map_bounded(pool, die_always, [("x", tmp_path), ("die", tmp_path), ("y", tmp_path)], window=1)}
    assert outcomes["x"] is None and outcomes["y"] is None
    assert type(outcomes["die"]).__name__ == "BrokenProcessPool"


def test_a_plain_process_pool_that_breaks_gives_failed_futures_not_an_exception(tmp_path):
    # A caller's own ProcessPoolExecutor cannot renew itself: the calls lost with it come back
    # as failed futures (stored as failed runs), as before retries existed.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from sim.experiment.executors import map_bounded
    from tests.experiment._dying import die_once

    items = [(name, tmp_path) for name in ("a", "die", "b")]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        outcomes = {item[0]: future.exception() for item, future in map_bounded(pool, die_once, items, window=1)}
    assert type(outcomes["die"]).__name__ == type(outcomes["b"]).__name__ == "BrokenProcessPool"
    assert outcomes["a"] is None


def test_a_dask_worker_drops_only_the_lost_scheduler_heartbeat_record():
    import logging

    from sim.experiment.executors import _LostSchedulerFilter

    def record(message, exc):
        exc_info = (type(exc), exc, None) if exc is not None else None
        return logging.LogRecord("distributed.worker", logging.ERROR, __file__, 1, message, (),
                                 exc_info)

    keep = _LostSchedulerFilter().filter
    lost = "Failed to communicate with scheduler during heartbeat."
    assert not keep(record(lost, ConnectionResetError("Stream is closed")))
    assert keep(record(lost, ValueError("a bug, not a closed connection")))
    assert keep(record(lost, None))
    assert keep(record("Unexpected exception during heartbeat. Closing worker.", OSError("x")))
