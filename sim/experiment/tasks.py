"""One run as a picklable task, and the worker function that executes it.

A :class:`RunTask` carries only plain data: the scenario as JSON text (file data with the
study's fixed overrides), the design point's factor values, the seed's entropy and replication,
and the study's per-facility and per-contract outcomes, which the row gets as columns of their own.
:func:`execute` rebuilds the scenario, calls :func:`sim.run.run_once` and returns an
:class:`Outcome` of plain values: a row for the results table and, when asked, the daily series.
A run that raises comes back as a row with `status = "failed"` and the error text, never as an
exception: the study goes on. Workers never print or draw progress bars.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from sim import run as sim_run
from sim.experiment.outcomes import item_values
from sim.experiment.seeds import replication_seed, seed_text
from sim.scenario import Scenario, ScenarioError, parse_scenario

KEY_COLUMNS = ["design_point", "replication", "seed"]
STATUS_COLUMNS = ["status", "error", "wall_s"]
#: The per-run tables a run's result carries (sim.metrics.RunResult attributes of these names),
#: stored under tables/<name>/ (sim.experiment.store).
RUN_TABLES = ("facilities", "contracts", "inputs", "episodes", "materials")


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run."""

    design_point: int
    replication: int
    entropy: int
    factors: tuple[tuple[str, Any], ...]
    scenario_json: str
    scenario_source: str
    horizon_days: int | None = None
    series: bool = False
    #: Per-facility and per-contract outcomes (`facility:<id>:<column>`) to add to the row.
    outcomes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, int]:
        """The run's key in the store."""
        return (self.design_point, self.replication)


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: one table row, the daily series if asked for, and the run's
    per-run tables (RUN_TABLES), each keyed by the run (`design_point`,
    `replication`, the factors)."""

    row: dict[str, Any]
    series: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] | None = None

    @property
    def key(self) -> tuple[int, int]:
        """The run's key in the store."""
        return (int(self.row["design_point"]), int(self.row["replication"]))


@lru_cache(maxsize=32)
def _scenario(scenario_json: str, source: str, factors: tuple[tuple[str, Any], ...]) -> Scenario:
    """Rebuild (and cache per worker) the scenario of one design point."""
    raw = json.loads(scenario_json)
    return parse_scenario(copy.deepcopy(raw), source, dict(factors))


def execute(task: RunTask) -> Outcome:
    """Run one task; never raises for a failing run (the row says `failed`)."""
    seed = replication_seed(task.entropy, task.replication)
    row: dict[str, Any] = {
        "design_point": task.design_point,
        "replication": task.replication,
        "seed": seed_text(seed),
        **dict(task.factors),
    }
    start = time.perf_counter()
    series = None
    tables = None
    try:
        scenario = _scenario(task.scenario_json, task.scenario_source, task.factors)
        result = sim_run.run_once(scenario, seed, horizon_days=task.horizon_days, series=task.series)
        row.update({name: float(value) for name, value in result.metrics.items()})
        row.update(item_values(result, task.outcomes))
        row.update(status="ok", error="")
        series = result.series if task.series else None
        tables = run_tables(result, row, [name for name, _ in task.factors])
    except ScenarioError as err:
        row.update(status="failed", error="invalid scenario at this design point: " + "; ".join(err.problems))
    except Exception as err:  # a failing run is data, not a crash of the study
        row.update(status="failed", error=f"{type(err).__name__}: {err}")
    row["wall_s"] = time.perf_counter() - start
    return Outcome(row=row, series=series, tables=tables)


def run_tables(result: Any, row: dict[str, Any], factors: list[str]) -> dict[str, pd.DataFrame]:
    """The run's per-run tables that it has (an older model has no inputs or episodes), each
    with the run's keys in front: design_point, replication and the factors."""
    out = {}
    for name in RUN_TABLES:
        table = getattr(result, name, None)
        if not isinstance(table, pd.DataFrame):
            continue
        keyed = table.drop(columns=[c for c in ("design_point", "replication", *factors) if c in table.columns])
        keys = {"design_point": row["design_point"], "replication": row["replication"],
                **{f: row[f] for f in factors}}
        keyed = pd.concat([pd.DataFrame(keys, index=keyed.index), keyed], axis=1) if len(keyed) else \
            pd.DataFrame(columns=[*keys, *keyed.columns])
        out[name] = keyed.reset_index(drop=True)
    return out
