"""Disruption durations: how long each episode of secondary shortfall lasted.

An episode is a maximal run of days with `secondary_shortfall_t > 0` (up to rounding; the definition of
`disruption_events` in DESIGN.md section 8). The runs table keeps only each run's count and
longest episode, so :func:`disruption_durations` reads every episode from the stored daily
series (`series/`, study option `series = true`, read by :func:`read_series`) when the folder
has them. Without series it falls back to one duration per run, the run's `max_disruption_days`
(runs with none are left out): the survival curve is then that of the longest disruption
per run, which the returned `source` text says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sim.experiment.store import SERIES_KEYS
from sim.metrics import SHORTFALL_TOL

SHORTFALL_COLUMN = "secondary_shortfall_t"
#: The shortfall in each unit (sim.units): t, m3 and MWh.
SHORTFALL_COLUMNS = (SHORTFALL_COLUMN, "secondary_shortfall_m3", "secondary_shortfall_mwh")
_SERIES_NAME = re.compile(r"dp(\d+)-r(\d+)\.parquet$")


def episode_lengths(shortfall: np.ndarray) -> np.ndarray:
    """Lengths (days) of the maximal runs of days with a shortfall above the metrics' tolerance
    (:data:`sim.metrics.SHORTFALL_TOL`, at its floor of one tonne): rounding leaves shortfalls of
    1e-15 t on days the run metrics rightly count as supplied, which must not split or make
    episodes."""
    short = np.concatenate([[False], np.asarray(shortfall, dtype=float) > SHORTFALL_TOL, [False]])
    edges = np.flatnonzero(np.diff(short.astype(np.int8)))
    return (edges[1::2] - edges[::2]).astype(float)


def read_series(series_dir: str | Path | None, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The stored daily series of a results folder as one table: `design_point`, `replication`
    and `columns` (all columns when None), one row per run and day, sorted by run and day.

    ``pd.read_parquet("series/")`` reads the same table when every run has the same columns;
    a factor that adds a column at some design points (``policy.intermediary`` adds the
    intermediary's pool) would be dropped there, as pyarrow takes the first file's schema.
    This reads the union of all files' columns (missing values NaN). Older folders named the
    run only in the file name, which is read then."""
    keys = list(SERIES_KEYS)
    folder = Path(series_dir) if series_dir else None
    files = sorted(folder.glob("dp*-r*.parquet")) if folder is not None and folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=[*keys, *(columns or [])])
    schemas = [pq.read_schema(f) for f in files]
    if all(set(keys) <= set(s.names) for s in schemas):
        data = ds.dataset([str(f) for f in files], schema=pa.unify_schemas(schemas), format="parquet")
        table = data.to_table(columns=None if columns is None else [*keys, *columns]).to_pandas()
        return table.sort_values(keys, kind="stable").reset_index(drop=True)
    frames = []
    for f in files:
        match = _SERIES_NAME.search(f.name)
        if match:
            frame = pd.read_parquet(f, columns=None if columns is None else list(columns))
            frame = frame.drop(columns=keys, errors="ignore")
            frame.insert(0, "replication", int(match.group(2)))
            frame.insert(0, "design_point", int(match.group(1)))
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*keys, *(columns or [])])


def _columns(series_dir: str | Path | None) -> set[str]:
    """The columns of any stored series file."""
    folder = Path(series_dir) if series_dir else None
    files = sorted(folder.glob("dp*-r*.parquet")) if folder is not None and folder.is_dir() else []
    return {name for f in files for name in pq.read_schema(f).names}


def disruption_durations(
    runs: pd.DataFrame, factors: Sequence[str], series_dir: str | Path | None = None
) -> tuple[pd.DataFrame, str]:
    """One row per disruption: `design_point`, `replication`, the factors, `duration_days`;
    and a sentence naming the source (every episode from series, or the per-run maximum)."""
    ok = runs[runs["status"] == "ok"]
    keys = ["design_point", "replication", *factors]
    # A shortfall in any unit is a disruption (sim.metrics.disruption_flags); folders written
    # before units had the one column.
    present = _columns(series_dir)
    units = [c for c in SHORTFALL_COLUMNS if c in present] or [SHORTFALL_COLUMN]
    series = read_series(series_dir, units)
    series[SHORTFALL_COLUMN] = series[units].fillna(0.0).sum(axis=1)
    wanted = set(zip(ok["design_point"], ok["replication"], strict=True))
    series = series[[key in wanted for key in zip(series["design_point"], series["replication"], strict=True)]]
    if not series.empty:
        rows = [
            (int(dp), int(rep), d)
            for (dp, rep), run in series.groupby(list(SERIES_KEYS), sort=True)
            for d in episode_lengths(run[SHORTFALL_COLUMN].to_numpy())
        ]
        table = pd.DataFrame(rows, columns=["design_point", "replication", "duration_days"])
        table = table.merge(ok[keys], on=["design_point", "replication"], how="left")
        runs_read = series.groupby(list(SERIES_KEYS)).ngroups
        return table, f"every episode, from the daily series of {runs_read} runs"
    if "max_disruption_days" not in ok.columns:
        return pd.DataFrame(columns=[*keys, "duration_days"]), "no disruption data"
    hit = ok[ok["max_disruption_days"] > 0]
    table = hit[keys].assign(duration_days=hit["max_disruption_days"].astype(float))
    return table.reset_index(drop=True), "longest disruption per run; no daily series stored"


# --- every episode, from the stored per-run tables (episodes.parquet, inputs.parquet) ---------

#: The caption's name of the estimator.
ESTIMATOR = "Kaplan-Meier, censored at the horizon"


def kaplan_meier(durations: np.ndarray, censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan-Meier estimate of S(t) = P(D > t) from durations, some censored (still
    running when the window closed: D is at least the duration seen). Steps at each distinct
    uncensored duration t_j: S(t_j) = prod_{t_i <= t_j} (1 - d_i / n_i), with d_i episodes ending
    at t_i and n_i episodes at risk there (duration >= t_i, censored ones included, so an
    episode censored at t_i counts as lasting past it). Returns (t, S) starting at (0, 1)."""
    d = np.asarray(durations, dtype=float)
    c = np.asarray(censored, dtype=bool)
    times = np.unique(d[~c])
    surv, s = [], 1.0
    for t in times:
        at_risk = int(np.sum(d >= t))
        ended = int(np.sum((d == t) & ~c))
        s *= 1.0 - ended / at_risk
        surv.append(s)
    return np.concatenate([[0.0], times]), np.concatenate([[1.0], surv])


def input_years(inputs: pd.DataFrame) -> float:
    """Sum of window_days / 365 over the planned inputs of a per-run inputs table (every run's
    rows: runs without a disruption count)."""
    planned = inputs[inputs["planned"].astype(bool)] if "planned" in inputs.columns else inputs
    return float(planned["window_days"].astype(float).sum() / 365.0)


def episode_rates(
    episodes: pd.DataFrame, inputs: pd.DataFrame, runs: pd.DataFrame, by: str | None
) -> list[dict]:
    """Per level of `by` (a factor column, or all runs when None), pooled over the rest: the
    rate of episodes longer than t per input-year, (N / input-years) x S(t) with S the
    Kaplan-Meier estimate (:func:`kaplan_meier`), and the counts a caption needs.

    Every ok run counts: its inputs add to the input-years and a run without an episode adds
    none (`runs_without`). Each dict: level, t, s, rate (arrays), episodes, runs, runs_without,
    input_years, censored."""
    keys = list(SERIES_KEYS)
    ok = runs.loc[runs["status"] == "ok", [*keys, *([by] if by else [])]].copy()
    ok["_level"] = ok[by] if by else "all runs"
    ok = ok[[*keys, "_level"]]

    def of_ok(table: pd.DataFrame) -> pd.DataFrame:
        # the ok runs' rows, each with its run's level (the tables carry the factors too; the
        # runs table is the one that says which runs count)
        return table.drop(columns=[c for c in table.columns if c == "_level"]).merge(ok, on=keys, how="inner")

    episodes, inputs = of_ok(episodes), of_ok(inputs)
    out = []
    for level, runs_of in ok.groupby("_level", sort=True):
        eps = episodes[episodes["_level"] == level]
        years = input_years(inputs[inputs["_level"] == level])
        t, s = kaplan_meier(eps["length_days"].to_numpy(float), eps["censored"].to_numpy(bool))
        per_year = len(eps) / years if years > 0 else float("nan")
        hit = len(eps[keys].drop_duplicates())
        out.append({
            "level": None if by is None else level, "t": t, "s": s, "rate": per_year * s, "episodes": len(eps),
            "runs": len(runs_of), "runs_without": len(runs_of) - hit, "input_years": years,
            "censored": int(eps["censored"].astype(bool).sum()),
        })
    return out
