"""Run a search: race the candidates (sim.experiment.racing) on runs made by the study machinery.

The race asks for (candidate, replication) pairs; :class:`Evaluator` answers the pairs already
stored in the results folder from it and runs the rest on the executor (each a
:class:`sim.experiment.tasks.RunTask`, as `run` makes them), writing each batch's rows to part
files before it answers. Replication r has the same seed for every candidate (common random
numbers, sim.experiment.seeds) and runs in uncertainty stratum r % S. Since the race is a pure
function of what it is told, a killed search started again asks for the same pairs, is
answered the same numbers from the store, and reaches the same answer.

After the race, the scenario as written (no lever set: design point `len(candidates)`) is run
at the chosen candidate's replications, so the report can say what each party gains or pays
under the chosen policy, paired by replication. Those runs are counted apart from the budget.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.experiment import racing
from sim.experiment.executors import map_bounded, open_executor
from sim.experiment.lock import hold_results_folder
from sim.experiment.manifest import git_state, now_iso, package_versions
from sim.experiment.runner import _outcome, runs_key
from sim.experiment.search.spec import Search
from sim.experiment.seeds import SCHEME
from sim.experiment.store import ResultStore, design_frame
from sim.experiment.tasks import RunTask, execute

SEARCH_JSON = "search.json"
#: Facilities whose net benefit every run stores (for the parties' table), as `run` does.
PER_FACILITY_UP_TO = 12


@dataclass
class SearchRun:
    """What a `search` invocation did."""

    result: racing.SearchResult
    out: Path
    runs: pd.DataFrame
    made: int
    failed: int
    elapsed_s: float


def search_key(search: Search) -> dict[str, Any]:
    """What a search's runs are made from: a resume with a different scenario, candidate set,
    uncertainty strata, seed or horizon is refused (the objective and constraints may change:
    stored runs are reused when they carry the metrics; so may `policy.engine`, as in a study)."""
    return runs_key(search.scenario_raw, {"candidates": search.candidate_overrides, "strata": search.stratum_overrides},
                    search.seed, search.spec.search.horizon_days, False)


def stored_columns(search: Search) -> tuple[str, ...]:
    """The per-item columns each run's row carries: the metrics named, then every facility's net
    benefit on networks of at most PER_FACILITY_UP_TO facilities."""
    named = tuple(m for m in search.metrics if ":" in m)
    if len(search.scenario.facilities) > PER_FACILITY_UP_TO:
        return named
    return named + tuple(c for c in (f"facility:{f.id}:net_benefit" for f in search.scenario.facilities)
                         if c not in named)


class Evaluator:
    """The race's `evaluate`: stored pairs from the store, the rest run and stored first."""

    def __init__(self, search: Search, store: ResultStore, executor: Executor, width: int, *, quiet: bool,
                 flush_every: int = 100):
        self.search, self.store, self.executor, self.width = search, store, executor, width
        self.quiet, self.flush_every = quiet, flush_every
        self.scenario_json = json.dumps(search.scenario_raw, sort_keys=True)
        self.outcomes = stored_columns(search)
        self.cache: dict[tuple[int, int], dict[str, float]] = self._stored()
        self.made = 0
        self.failed = 0
        self.asked: list[tuple[int, int]] = []

    def _stored(self) -> dict[tuple[int, int], dict[str, float]]:
        """Metrics of the stored ok runs that carry every column this search reads."""
        out: dict[tuple[int, int], dict[str, float]] = {}
        need = [*self.search.metrics, *self.outcomes]
        for part in self.store.part_files():
            names = set(pq.read_schema(part).names)
            if not set(need) <= names:
                continue
            frame = pd.read_parquet(part, columns=["design_point", "replication", "status", *dict.fromkeys(need)])
            for row in frame[frame["status"] == "ok"].itertuples(index=False):
                values = dict(zip(frame.columns, row, strict=True))
                out[(int(values["design_point"]), int(values["replication"]))] = {
                    m: float(values[m]) for m in self.search.metrics}
        return out

    def task(self, candidate: int, replication: int) -> RunTask:
        """The run of `candidate` (or the scenario as written, `len(candidates)`) at replication r."""
        s = self.search
        levers = s.candidate_overrides[candidate] if candidate < len(s.candidates) else {}
        stratum = s.stratum_overrides[replication % len(s.stratum_overrides)]
        return RunTask(design_point=candidate, replication=replication, entropy=s.seed,
                       factors=tuple({**levers, **stratum}.items()), scenario_json=self.scenario_json,
                       scenario_source=str(s.scenario_path), horizon_days=s.spec.search.horizon_days,
                       outcomes=self.outcomes)

    def __call__(self, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, float]]:
        pairs = [(int(c), int(r)) for c, r in pairs]
        self.asked += pairs
        todo = [p for p in dict.fromkeys(pairs) if p not in self.cache]
        if todo:
            if not self.quiet:
                print(f"  {len(pairs)} runs asked, {len(pairs) - len(todo)} answered from the store, "
                      f"running {len(todo)}", flush=True)
            self._run(todo)
        return {p: self.cache[p] for p in pairs if p in self.cache}

    def _run(self, todo: list[tuple[int, int]]) -> None:
        rows: list[dict[str, Any]] = []
        tables: dict[str, list[pd.DataFrame]] = {}

        def flush() -> None:
            self.store.write_tables(tables)  # tables before rows: a stored row always has its tables
            self.store.write_part(rows)

        tasks: Iterator[RunTask] = (self.task(c, r) for c, r in todo)
        try:
            for task, future in map_bounded(self.executor, execute, tasks, window=max(2, 4 * self.width)):
                outcome = _outcome(task, future)
                rows.append(outcome.row)
                for name, table in (outcome.tables or {}).items():
                    tables.setdefault(name, []).append(table)
                self.made += 1
                if outcome.row["status"] == "ok":
                    self.cache[outcome.key] = {m: float(outcome.row[m]) for m in self.search.metrics}
                else:
                    self.failed += 1
                if len(rows) >= self.flush_every:
                    flush()
                    rows, tables = [], {}
        except BaseException:
            flush()  # Ctrl-C or a crash: keep what finished, a resume answers it from the store
            raise
        flush()


def run_search(search: Search, out: str | Path, *, workers: int = 1, scheduler: str | None = None,
               executor: Executor | None = None, fresh: bool = False, quiet: bool = False,
               flush_every: int = 100) -> SearchRun:
    """Race `search`'s candidates into `out` (resuming what is stored there unless `fresh`), run
    the scenario as written at the chosen candidate's replications, consolidate runs.parquet and
    write search.json."""
    with hold_results_folder(out, exclusive=True):
        return _run_search(search, Path(out), workers=workers, scheduler=scheduler, executor=executor,
                           fresh=fresh, quiet=quiet, flush_every=flush_every)


def _run_search(search: Search, out: Path, *, workers: int, scheduler: str | None, executor: Executor | None,
                fresh: bool, quiet: bool, flush_every: int) -> SearchRun:
    store = ResultStore(out)
    store.check_results_folder()
    store.check_writable()
    key = search_key(search)
    names = list(search.spec.levers)
    design = design_frame(names, search.candidates)
    if not fresh:
        store.check_same_study(key, design)
    opening = (nullcontext((executor, f"caller's executor ({type(executor).__name__})", 1)) if executor is not None
               else open_executor(workers, scheduler))
    started, clock = now_iso(), time.monotonic()
    with opening as (opened, description, width):
        if fresh:
            store.wipe()
            (store.root / SEARCH_JSON).unlink(missing_ok=True)
        store.prepare()
        store.write_key(key)
        store.write_design(names, search.candidates)
        # Before the first run, so that a folder left by a killed search says it is one.
        write_search_json(store, search, None, runs_used=0, baseline={}, factors=[],
                          record={"start": started, "complete": False})
        evaluate = Evaluator(search, store, opened, width, quiet=quiet, flush_every=flush_every)
        if not quiet:
            print(f"search {search.name}: {len(search.candidates)} candidates x {len(search.strata)} uncertainty "
                  f"strata, budget {search.spec.search.budget} runs; {len(evaluate.cache)} runs stored", flush=True)
        result = _race(search, evaluate)
        runs_used = len(evaluate.asked)
        baseline = _as_written(search, evaluate, result)
    factors = list(dict.fromkeys(p for o in [*search.candidate_overrides, *search.stratum_overrides] for p in o))
    runs = store.consolidate(factors, None)
    elapsed = time.monotonic() - clock
    write_search_json(store, search, result, runs_used=runs_used, baseline=baseline, factors=factors,
                      record={"start": started, "end": now_iso(), "executor": description, "fresh": fresh,
                              "runs_made": evaluate.made, "runs_failed": evaluate.failed,
                              "elapsed_s": round(elapsed, 3), "host": os.uname().nodename, "pid": os.getpid()})
    return SearchRun(result=result, out=store.root, runs=runs, made=evaluate.made, failed=evaluate.failed,
                     elapsed_s=elapsed)


def replication_bounds(search: Search) -> tuple[int, int]:
    """First and most replications per candidate, whole multiples of the strata (each round
    then samples every uncertainty level alike)."""
    s, spec = len(search.strata), search.spec.search
    first = s * math.ceil(spec.first_replications / s)
    most = max(first, s * (spec.max_replications // s))
    return first, most


def _race(search: Search, evaluate: Evaluator) -> racing.SearchResult:
    spec = search.spec
    objective = racing.Objective(metric=spec.objective.metric, sense=spec.objective.sense,
                                 tolerance=spec.objective.tolerance)
    constraints = [racing.Constraint(metric=c.metric, op=c.op, threshold=c.threshold, probability=c.probability)
                   for c in spec.constraints]
    first, most = replication_bounds(search)
    return racing.race(len(search.candidates), evaluate, objective, constraints, budget=spec.search.budget,
                       confidence=spec.search.confidence, first_replications=first, max_replications=most,
                       simultaneous=spec.search.simultaneous)


def _as_written(search: Search, evaluate: Evaluator, result: Any) -> dict[str, Any]:
    """Run the scenario as written at the chosen candidate's replications (its reference)."""
    point = len(search.candidates)
    if result.chosen is None:
        return {"design_point": point, "replications": []}
    # The replications the race used (the store may hold more, from an earlier search of the folder).
    reps = sorted({r for c, r in evaluate.asked if c == result.chosen and (c, r) in evaluate.cache})
    evaluate([(point, r) for r in reps])
    return {"design_point": point, "replications": reps}


def write_search_json(store: ResultStore, search: Search, result: Any, *, runs_used: int,
                      baseline: dict[str, Any], factors: list[str], record: dict[str, Any]) -> Path:
    """search.json: the search as read, the race's answer and how it was made (`result` None:
    the search has not finished)."""
    spec = search.spec
    first, most = replication_bounds(search)
    data = {
        "search": {"name": search.name, "file": str(search.path), "text": search.text,
                   "scenario": str(search.scenario_path), "scenario_name": search.scenario.scenario.name,
                   "currency": search.scenario.scenario.currency,
                   "seed": search.seed, "budget": spec.search.budget, "confidence": spec.search.confidence,
                   "horizon_days": spec.search.horizon_days, "first_replications": first,
                   "max_replications": most},
        "levers": {n: lever.model_dump(exclude_none=True) for n, lever in spec.levers.items()},
        "uncertainties": {n: u.model_dump() for n, u in spec.uncertainties.items()},
        "objective": spec.objective.model_dump(),
        "constraints": [c.model_dump() for c in spec.constraints],
        "candidates": search.candidates,
        "candidate_overrides": search.candidate_overrides,
        "strata": search.strata,
        "stratum_overrides": search.stratum_overrides,
        "factors": factors,
        "as_written": baseline,
        "runs_used": runs_used,
        "full_grid_runs": {"at_max_replications": len(search.candidates) * most,
                           "at_first_replications": len(search.candidates) * first},
        "result": dataclasses.asdict(result) if result is not None else None,
        "seeds": {"entropy": search.seed, "scheme": SCHEME},
        "invocation": record,
        "code": git_state(Path(__file__).resolve().parents[3]),
        "packages": package_versions(),
    }
    return store.write_json(SEARCH_JSON, data)
