"""Disruption durations: how long each episode of secondary shortfall lasted.

An episode is a maximal run of days with `secondary_shortfall_t > 0` (the definition of
`disruption_events` in DESIGN.md section 8). The runs table keeps only each run's count and
longest episode, so :func:`disruption_durations` reads every episode from the stored daily
series (`series/dpNNNNN-rNNNNN.parquet`, study option `series = true`) when the folder has
them. Without series it falls back to one duration per run, the run's `max_disruption_days`
(runs with none are left out): the survival curve is then that of the longest disruption
per run, which the returned `source` text says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

SHORTFALL_COLUMN = "secondary_shortfall_t"
_SERIES_NAME = re.compile(r"dp(\d+)-r(\d+)\.parquet$")


def episode_lengths(shortfall: np.ndarray) -> np.ndarray:
    """Lengths (days) of the maximal runs of days with a positive shortfall."""
    short = np.concatenate([[False], np.asarray(shortfall, dtype=float) > 0, [False]])
    edges = np.flatnonzero(np.diff(short.astype(np.int8)))
    return (edges[1::2] - edges[::2]).astype(float)


def disruption_durations(
    runs: pd.DataFrame, factors: Sequence[str], series_dir: str | Path | None = None
) -> tuple[pd.DataFrame, str]:
    """One row per disruption: `design_point`, `replication`, the factors, `duration_days`;
    and a sentence naming the source (every episode from series, or the per-run maximum)."""
    ok = runs[runs["status"] == "ok"]
    keys = ["design_point", "replication", *factors]
    files = sorted(Path(series_dir).glob("dp*-r*.parquet")) if series_dir and Path(series_dir).is_dir() else []
    if files:
        rows = []
        wanted = set(zip(ok["design_point"], ok["replication"], strict=True))
        for f in files:
            match = _SERIES_NAME.search(f.name)
            if not match:
                continue
            key = (int(match.group(1)), int(match.group(2)))
            if key not in wanted:
                continue
            shortfall = pd.read_parquet(f, columns=[SHORTFALL_COLUMN])[SHORTFALL_COLUMN].to_numpy()
            rows += [(*key, d) for d in episode_lengths(shortfall)]
        table = pd.DataFrame(rows, columns=["design_point", "replication", "duration_days"])
        table = table.merge(ok[keys], on=["design_point", "replication"], how="left")
        return table, f"every episode, from the daily series of {len(wanted)} runs"
    if "max_disruption_days" not in ok.columns:
        return pd.DataFrame(columns=[*keys, "duration_days"]), "no disruption data"
    hit = ok[ok["max_disruption_days"] > 0]
    table = hit[keys].assign(duration_days=hit["max_disruption_days"].astype(float))
    return table.reset_index(drop=True), "longest disruption per run; no daily series stored"
