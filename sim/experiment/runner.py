"""Run a study: design points x replications, on an executor, into a results folder.

:func:`run_study` is the whole loop: build the design, find what is already stored, submit
the missing runs in a bounded window, write finished rows to part files as they arrive, and
consolidate ``runs.parquet`` and the manifest at the end. Memory stays flat in the number of
runs: tasks are generated lazily and rows are flushed every `flush_every` runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment.design import DesignTable, build_design
from sim.experiment.executors import map_bounded, open_executor
from sim.experiment.lock import hold_results_folder
from sim.experiment.manifest import now_iso, write_manifest
from sim.experiment.outcomes import stored_item_columns
from sim.experiment.progress import Progress, RunStats, budget_line, stats_line
from sim.experiment.seeds import replication_seed, seed_text
from sim.experiment.store import STALE, ResultStore, design_frame
from sim.experiment.study import Study
from sim.experiment.tasks import Outcome, RunTask, execute


@dataclass(frozen=True)
class Shard:
    """Part K of N (1-based): the runs whose index in the study, `design_point * R +
    replication`, is K - 1 modulo N."""

    k: int
    n: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Read `K/N`; raise ValueError with a sentence when malformed."""
        try:
            k_text, n_text = text.split("/")
            k, n = int(k_text), int(n_text)
        except ValueError:
            raise ValueError(f"--shard needs K/N with whole numbers, e.g. 1/4 (given '{text}')") from None
        if not 1 <= k <= n:
            raise ValueError(f"--shard K/N needs 1 <= K <= N (given '{text}')")
        return cls(k, n)

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"

    def owns(self, index: int) -> bool:
        """Whether the run with this study index belongs to the shard."""
        return index % self.n == self.k - 1


@dataclass(frozen=True)
class StudyResult:
    """What a `run` invocation did."""

    stats: RunStats
    runs: pd.DataFrame
    design: DesignTable
    out: Path


def run_study(
    study: Study,
    out: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    executor: Executor | None = None,
    shard: Shard | None = None,
    fresh: bool = False,
    flush_every: int = 100,
    quiet: bool = False,
) -> StudyResult:
    """Run the runs of `study` that `out` does not hold yet, and consolidate the results.

    Pass an open `executor` to use one you manage; otherwise one is opened from `workers`
    and `scheduler` (see :func:`sim.experiment.executors.open_executor`). The folder is held
    for this process meanwhile (:mod:`sim.experiment.lock`): a second study writing there at
    the same time is refused with FolderBusy, a StoreError.
    """
    with hold_results_folder(out, shard=str(shard) if shard else None, exclusive=fresh or shard is None):
        return _run_study(study, out, workers=workers, scheduler=scheduler, executor=executor, shard=shard,
                          fresh=fresh, flush_every=flush_every, quiet=quiet)


def _run_study(study: Study, out: str | Path, *, workers: int, scheduler: str | None, executor: Executor | None,
               shard: Shard | None, fresh: bool, flush_every: int, quiet: bool) -> StudyResult:
    design = build_design(study.design, study.seed, str(study.path))
    store = ResultStore(out)
    # Checks first, writing nothing a failure would leave behind (the folder is created).
    store.check_results_folder()
    store.check_writable()
    key = study_key(study, design)
    if not fresh:
        store.check_same_study(key, design_frame(design.factors, design.points))
    outcome_columns = stored_item_columns(study)
    status = {} if fresh else store.stored_status(outcome_columns)
    keys = [(dp, r) for dp in range(len(design.points)) for r in range(study.replications)]
    mine = [i for i in range(len(keys)) if shard is None or shard.owns(i)]
    todo = [i for i in mine if status.get(keys[i]) != "ok"]
    stored_ok = sum(1 for k in keys if status.get(k) == "ok")
    failed_before = sum(1 for i in todo if status.get(keys[i]) == "failed")
    say = (lambda *_, **__: None) if quiet else print
    say(budget_line(study.name, len(design.points), study.replications, stored_ok, len(todo),
                    failed_before, str(shard) if shard else None), flush=True)
    stale = sum(1 for i in todo if status.get(keys[i]) == STALE)
    if stale:
        say(f"{stale} stored runs lack the outcome columns {', '.join(outcome_columns)}: running them again "
            "(same seeds, so the same metrics plus the new columns)", flush=True)

    # Then the executor: a scheduler that cannot be reached stops the study here, before it
    # has written anything into the folder.
    if executor is not None:
        opening = nullcontext((executor, f"caller's executor ({type(executor).__name__})", 1))
    else:
        opening = open_executor(workers, scheduler)
    with opening as (opened, description, width):
        if fresh:
            store.wipe()
        store.prepare()
        store.write_key(key)
        store.write_design(design.factors, design.points)
        # A manifest before the first run, so a report of an interrupted first invocation
        # knows the study's size (rewritten with the final counts at the end).
        write_manifest(store, study, design, {"total": len(keys), "stored": stored_ok, "complete": False})
        started = now_iso()
        tasks = _tasks(study, design, (keys[i] for i in todo))
        stats = _drive(opened, width, tasks, len(todo), store, flush_every, quiet)
    say(stats_line(stats), flush=True)

    runs = store.consolidate(design.factors, study.replications)
    counts = {
        "total": len(keys),
        "stored": len(runs),
        "ok": int(runs["status"].eq("ok").sum()),
        "failed": int(runs["status"].eq("failed").sum()),
        "complete": bool(len(runs) == len(keys) and runs["status"].eq("ok").all()),
    }
    record = {
        "start": started,
        "end": now_iso(),
        "executor": description,
        "shard": str(shard) if shard else None,
        "fresh": fresh,
        "host": os.uname().nodename,
        "pid": os.getpid(),
        "runs": {"ok": stats.ok, "failed": stats.failed, "elapsed_s": round(stats.elapsed_s, 3),
                 "runs_per_s": round(stats.runs_per_s, 3)},
    }
    store.write_json(f"invocations/{started.replace(':', '')}-{os.getpid()}.json", record)
    write_manifest(store, study, design, counts)
    return StudyResult(stats=stats, runs=runs, design=design, out=store.root)


def study_key(study: Study, design: DesignTable) -> dict[str, Any]:
    """What a study's runs are made from, so that a resume can tell a different study: the
    scenario as the runs get it and the design points (each hashed), the seed, the horizon
    and the series option. Not the outcomes (a resume re-runs only the runs stored without a
    newly named per-facility column) nor the uncertainties (they shape the report, not the
    runs). Not the replications: a study resumed with more runs only its new
    replications (each replication's seed does not depend on how many there are). Not
    `policy.engine`: every engine gives the same results to the bit (tests/test_arrayday.py)."""

    return runs_key(study.scenario_raw, {"factors": design.factors, "points": design.points}, study.seed,
                    study.spec.study.horizon_days, study.spec.study.series)


def runs_key(scenario_raw: dict[str, Any], design: Any, seed: int, horizon_days: int | None,
             series: bool) -> dict[str, Any]:
    """The key a results folder keeps (study_key; the search's too): the scenario without
    `policy.engine` and the design, each hashed, the seed, the horizon and the series option."""

    def digest(data: Any) -> str:
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]

    raw = scenario_raw
    policy = raw.get("policy")
    if isinstance(policy, dict) and "engine" in policy:  # how the days are computed, never what they give
        rest = {k: v for k, v in policy.items() if k != "engine"}
        raw = {k: v for k, v in raw.items() if k != "policy"} | ({"policy": rest} if rest else {})
    return {"scenario": digest(raw), "design": digest(design), "seed": seed, "horizon_days": horizon_days,
            "series": series}


def _tasks(study: Study, design: DesignTable, keys: Iterator[tuple[int, int]]) -> Iterator[RunTask]:
    """Tasks for the given keys, made lazily (the scenario text is shared, not copied)."""
    scenario_json = json.dumps(study.scenario_raw, sort_keys=True)
    source = str(study.scenario_path)
    factor_items = [tuple(point.items()) for point in design.points]
    outcomes = stored_item_columns(study)
    for dp, rep in keys:
        yield RunTask(
            design_point=dp,
            replication=rep,
            entropy=study.seed,
            factors=factor_items[dp],
            scenario_json=scenario_json,
            scenario_source=source,
            horizon_days=study.spec.study.horizon_days,
            series=study.spec.study.series,
            outcomes=outcomes,
        )


def _drive(executor: Executor, width: int, tasks: Iterator[RunTask], todo: int, store: ResultStore,
           flush_every: int, quiet: bool) -> RunStats:
    """Execute tasks, writing rows to part files every `flush_every` runs (and at the end)."""
    buffer: list[dict[str, Any]] = []
    tables: dict[str, list[pd.DataFrame]] = {}
    last_flush = time.monotonic()

    def flush() -> None:
        # Tables before the rows: a run row on disk always has its tables.
        store.write_tables(tables)
        store.write_part(buffer)

    with Progress(todo, quiet=quiet) as progress:
        try:
            for task, future in map_bounded(executor, execute, tasks, window=max(2, 4 * width)):
                outcome = _outcome(task, future)
                if outcome.series is not None:
                    store.write_series(*outcome.key, outcome.series)
                buffer.append(outcome.row)
                for name, table in (outcome.tables or {}).items():
                    tables.setdefault(name, []).append(table)
                progress.advance(outcome.row["status"] == "ok")
                if len(buffer) >= flush_every or time.monotonic() - last_flush > 30.0:
                    flush()
                    buffer, tables, last_flush = [], {}, time.monotonic()
        except BaseException:
            # Ctrl-C, or anything else that stops the study: keep the runs that finished (a
            # resume then skips them), then stop.
            flush()
            raise
        flush()
    return progress.stats


def _outcome(task: RunTask, future: Future[Outcome]) -> Outcome:
    """The future's outcome. A run whose worker died is submitted again (a process pool is
    replaced, Dask reschedules); one lost even so becomes a failed row, re-run on the next
    resume."""
    try:
        return future.result()
    except Exception as err:
        row = {"design_point": task.design_point, "replication": task.replication,
               "seed": seed_text(replication_seed(task.entropy, task.replication)),
               **dict(task.factors), "status": "failed",
               "error": f"worker lost: {type(err).__name__}: {err}", "wall_s": float("nan")}
        return Outcome(row=row)
