"""A study's outcomes: the metrics its report leads with, including per-facility and
per-contract values.

An outcome is named in `[study] outcomes = [...]` as one of

- a run metric (``waste_disposed_t``, ``net_benefit``... and the derived ``any_shortage``);
- ``facility:<id>:<column>``: a column of the run's facility table (``net_benefit``,
  ``supplier_benefit``, ``buyer_benefit``, ``input_unmet_t``, ``cost_<category>``...);
- ``contract:<id>:<column>``: a column of the run's contract table (``accepted_t``,
  ``short_t``, ``penalties``...);
- ``material:<id>:<column>``: a flow of the run's per-material table, in the material's unit
  (``exchanged``, ``disposed``, ``unmet``...; see sim/units.py);
- ``input:<facility>.<material>:<column>``: a column of the run's per-input table, for one
  input of one facility (``secondary_short_t``, ``disruption_days``, ``from_secondary_t``...).

The worker (:func:`sim.experiment.tasks.execute`) adds each per-facility or per-contract outcome
to the run's row as a column named exactly like the outcome, so the summary and the report treat
it like any metric. Names are checked when the study is loaded (:func:`outcome_problems`), against
what a short trial run of the study's scenario returns.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.ledger import CATEGORY_SIDE, CONTRACT_CATEGORIES
from sim.scenario.errors import _escaped

#: The report's headline metrics when a study names no outcomes.
DEFAULT_OUTCOMES = (
    "fill_rate",
    "secondary_fill_rate",
    "disruption_days",
    "penalties_paid",
    "net_benefit",
    "any_shortage",
)
#: Metrics the summary derives from the run metrics (analysis.summary).
DERIVED_METRICS = ("any_shortage",)
#: The per-item tables an outcome can name, and the column holding each row's id.
TABLES = {"facility": "facility", "contract": "contract", "material": "material", "input": "input"}
#: A facility pays these categories only when they occur; a missing one is 0 in that run.
COST_COLUMNS = tuple(f"cost_{c}" for c in (*CATEGORY_SIDE, *CONTRACT_CATEGORIES))


@dataclass(frozen=True)
class ItemOutcome:
    """A per-facility or per-contract outcome: `table:item:column`."""

    name: str
    table: str
    item: str
    column: str


def item_outcome(name: str) -> ItemOutcome | None:
    """The parts of `facility:<id>:<column>` or `contract:<id>:<column>` (None for a plain metric
    or a malformed name)."""
    parts = name.split(":")
    if len(parts) == 3 and parts[0] in TABLES and all(parts):
        return ItemOutcome(name, *parts)
    return None


def item_outcomes(names: Sequence[str]) -> tuple[str, ...]:
    """The per-facility and per-contract outcomes among `names` (what the worker must add)."""
    return tuple(n for n in names if item_outcome(n) is not None)


#: Networks of at most this many facilities store every facility's net benefit with each run
#: (`facility:<id>:net_benefit`), named as an outcome or not, so that the summary and the
#: per-party figure show who gains and who pays per facility, with CIs. Larger networks store
#: only the facilities their study names.
PER_FACILITY_UP_TO = 12


def stored_item_columns(study: Any) -> tuple[str, ...]:
    """The per-item columns each run's row carries: the study's named per-facility and
    per-contract outcomes, then (for networks of at most PER_FACILITY_UP_TO facilities) every
    facility's net benefit."""
    named = item_outcomes(study.outcomes)
    facilities = study.scenario.facilities
    if len(facilities) > PER_FACILITY_UP_TO:
        return named
    every = (f"facility:{f.id}:net_benefit" for f in facilities)
    return named + tuple(c for c in every if c not in named)


def item_values(result: Any, names: Sequence[str]) -> dict[str, float]:
    """The value of each per-item outcome in one run's result (a :class:`sim.run.RunResult`).

    A cost category the facility never paid is 0. A missing item or column raises KeyError
    (the study's check should have refused it)."""
    out: dict[str, float] = {}
    for name in names:
        spec = item_outcome(name)
        if spec is None:
            continue
        table: pd.DataFrame = {"facility": result.facilities, "contract": result.contracts,
                               "material": result.materials, "input": result.inputs}[spec.table]
        rows = table[_row_ids(table, spec.table) == spec.item]
        if rows.empty:
            raise KeyError(f"outcome {name}: no {spec.table} '{spec.item}' in this run")
        if spec.column not in rows.columns:
            if spec.table == "facility" and spec.column in COST_COLUMNS:
                out[name] = 0.0
                continue
            raise KeyError(f"outcome {name}: no column '{spec.column}' in the {spec.table} table")
        out[name] = float(rows.iloc[0][spec.column])
    return out


def _row_ids(table: pd.DataFrame, name: str) -> pd.Series:
    """Each row's id in a per-run table: its key column, or `facility.material` for an input."""
    if name == "input":
        return table["facility"].astype(str) + "." + table["material"].astype(str)
    return table[TABLES[name]].astype(str)


@dataclass(frozen=True)
class Known:
    """What outcomes may name for one scenario: metrics, and each table's ids and columns."""

    metrics: list[str]
    ids: dict[str, list[str]]
    columns: dict[str, list[str]]


def known_outcomes(scenario: Any) -> Known:
    """Metric names and table columns from a short trial run of `scenario` (one day past its
    warm-up), and the ids of its facilities and contracts."""
    from sim.run import run_once

    result = run_once(scenario, 0, horizon_days=scenario.scenario.warmup_days + 1)

    def numeric(table: pd.DataFrame, *keys: str) -> list[str]:
        return [c for c in table.columns if c not in keys and (pd.api.types.is_numeric_dtype(table[c])
                                                               or pd.api.types.is_bool_dtype(table[c]))]

    facility_columns = numeric(result.facilities, "facility")
    facility_columns += [c for c in COST_COLUMNS if c not in facility_columns]
    return Known(
        metrics=[*result.metrics, *DERIVED_METRICS],
        ids={"facility": [f.id for f in scenario.facilities], "contract": [c.id for c in scenario.contracts],
             "material": [m.id for m in scenario.materials],
             "input": [f"{f.id}.{i.material}" for f in scenario.facilities for i in f.inputs]},
        columns={"facility": facility_columns, "contract": numeric(result.contracts, "contract"),
                 "material": numeric(result.materials, "material"),
                 "input": numeric(result.inputs, "facility", "material")},
    )


def _unknown(what: str, given: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(given, list(known), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    shown = given if given.isprintable() else _escaped(given)  # a problem stays on one line
    return f"unknown {what} '{shown}' ({hint}known: {', '.join(known) or 'none'})"


def outcome_problems(source: str, names: Sequence[str], scenario: Any) -> list[str]:
    """One line per outcome name that is not a metric, a facility's or a contract's column."""
    if not names:
        return []
    try:
        known = known_outcomes(scenario)
    except Exception as err:  # the scenario itself is valid; say why the names went unchecked
        return [f"{source}: study.outcomes: cannot check the names: a trial run of the scenario failed "
                f"({type(err).__name__}: {err})"]
    out: list[str] = []
    seen: set[str] = set()
    for k, name in enumerate(names):
        where = f"{source}: study.outcomes[{k}]"
        if name in seen:
            out.append(f"{where}: '{name}' is listed twice; name each outcome once")
            continue
        seen.add(name)
        if name.split(":")[0] in TABLES:
            out += [f"{where}: {line}" for line in _item_problems(name, known)]
        elif name not in known.metrics:
            out.append(f"{where}: {_unknown('metric', name, known.metrics)}; per facility or contract write "
                       "facility:<id>:<column>, contract:<id>:<column> or input:<facility>.<material>:<column>")
    return out


def _item_problems(name: str, known: Known) -> list[str]:
    spec = item_outcome(name)
    if spec is None:
        table = name.split(":")[0]
        return [f"'{name}' is not of the form {table}:<id>:<column> (for example "
                f"{table}:{(known.ids[table] or ['x'])[0]}:{known.columns[table][0]})"]
    out = []
    if spec.item not in known.ids[spec.table]:
        out.append(_unknown(spec.table, spec.item, known.ids[spec.table]))
    if spec.column not in known.columns[spec.table]:
        out.append(_unknown(f"{spec.table} column", spec.column, known.columns[spec.table]))
    return out
