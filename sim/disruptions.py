"""Disruptions of inputs, day by day over a run's window (issue 20; defined in docs/metrics.md,
section "Disruptions").

For each input and each day `d` of the window (after the warm-up):

- **disrupted**: the input planned some secondary use that day (`planned_t > 0`) and the part of
  the plan its buffer could not cover exceeds the threshold share of it,
  `secondary_short_t > max(threshold x planned_t, SHORTFALL_TOL x max(1, planned_t))` (the
  second term is the rounding floor, what a threshold of 0 leaves);
- **production-disrupted**: demand went unmet, `unmet_t > SHORTFALL_TOL x max(1, required_t)`;
- an **episode** is a maximal run of disrupted days of one input; it is *censored* when it is
  still running on the last day of the horizon.

`planned_t` and `secondary_short_t` are functional (virgin-equivalent) units of the input, as
sim/day/consumption.py books them: a deliberate hold-back of secondary material to rebuild a
buffer is not a shortfall.

**The threshold** (`[policy] disruption_threshold`, default 0.1). A shortfall under a tenth of
a day's planned secondary use is within the day-to-day noise of the supply itself (the shipped
scenarios give their waste streams an output variability of cv ~ 0.1) and is made up from virgin
material without any change of operation: nobody would call it a disruption. The default is a
convention of these metrics, not a finding of the model; a study can set it like any policy
(`"policy.disruption_threshold" = [0.01, 0.1, 0.3]`). Every input counts, whatever its unit (a
steam input can be disrupted).

The old network count, any day on which any input's secondary use fell short of its full-supply
use by more than rounding, is kept as `any_input_short_days` (:func:`any_input_short`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.day.world import World
    from sim.units import Keys

#: Relative tolerance below which a shortfall is rounding, not a disruption.
SHORTFALL_TOL = 1e-9

#: The columns of the per-input table (RunResult.inputs, inputs.csv).
INPUT_COLUMNS = (
    "facility", "material", "unit", "critical", "buffer_t", "planned_t", "secondary_short_t",
    "from_secondary_t", "from_virgin_t", "unmet_t", "disruption_days", "production_disruption_days",
    "disruption_events", "max_disruption_days", "mean_buffer_t", "window_days", "planned",
)  # fmt: skip
#: The columns of the episode table (RunResult.episodes, episodes.csv).
EPISODE_COLUMNS = ("facility", "material", "start_day", "length_days", "censored")


def runs_of_true(flags: np.ndarray) -> np.ndarray:
    """Lengths of the maximal runs of True in a boolean vector."""
    if flags.size == 0:
        return np.zeros(0, dtype=int)
    padded = np.concatenate(([False], flags.astype(bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[1::2] - edges[::2]


def any_input_short(model: World) -> np.ndarray:
    """Days (whole horizon) on which some input's secondary supply fell short of its
    full-supply use by more than rounding: `disruption_days` before issue 20, now counted as
    `any_input_short_days`."""
    f = model.inputs_flow
    gap = f["secondary_full_t"] - f["from_secondary_t"]
    tol = SHORTFALL_TOL * np.maximum(1.0, f["secondary_full_t"])
    return (gap > tol).any(axis=1) if gap.shape[1] else np.zeros(gap.shape[0], dtype=bool)


@dataclass(frozen=True)
class Disruptions:
    """Each input's days of the window (rows: days `start ...`, columns: inputs)."""

    start: int  # the first day of the window (the warm-up)
    disrupted: np.ndarray  # bool (days x inputs)
    production: np.ndarray  # bool (days x inputs)
    planned: np.ndarray  # bool per input: planned_t > 0 on some day of the window
    episodes: np.ndarray  # int (episodes x 4): input, start day, length, censored (0/1)

    @property
    def window_days(self) -> int:
        return self.disrupted.shape[0]


def find_disruptions(model: World, w: int, threshold: float | None = None) -> Disruptions:
    """The disrupted and production-disrupted days of every input over the window from day
    `w`, and their episodes; `threshold` defaults to the scenario's `policy.disruption_threshold`."""
    if threshold is None:
        threshold = model.spec.policy.disruption_threshold
    f = model.inputs_flow
    planned = f["planned_t"][w:]
    short = f["secondary_short_t"][w:]
    floor = np.maximum(threshold * planned, SHORTFALL_TOL * np.maximum(1.0, planned))
    disrupted = (planned > 0.0) & (short > floor)
    production = f["unmet_t"][w:] > SHORTFALL_TOL * np.maximum(1.0, f["required_t"][w:])
    return Disruptions(w, disrupted, production, (planned > 0.0).any(axis=0), find_episodes(disrupted, w))


def find_episodes(flags: np.ndarray, start: int) -> np.ndarray:
    """The maximal runs of True down each column of `flags` (days x items, the first row day
    `start`): rows of (item, first day, length, censored), by item then day; censored = 1 when
    the run reaches the last row."""
    days, n = flags.shape
    pad = np.zeros((1, n), dtype=np.int8)
    steps = np.diff(np.concatenate([pad, flags.astype(np.int8), pad]), axis=0).T  # items x (days + 1)
    item, first = np.nonzero(steps == 1)
    _, end = np.nonzero(steps == -1)  # same order: every run opens and closes in its column
    return np.column_stack([item, first + start, end - first, end == days]).astype(np.int64).reshape(-1, 4)


def disruption_metrics(model: World, d: Disruptions) -> dict[str, float]:
    """The network's disruption metrics (docs/metrics.md): means over the inputs with a plan, a
    rate per input-year, production disruptions over every input, the old any-input count."""
    per_input = d.disrupted.sum(axis=0)
    events = np.bincount(d.episodes[:, 0], minlength=len(d.planned))
    n_planned = int(d.planned.sum())
    exposure = n_planned * d.window_days
    n_inputs = d.production.shape[1]
    return {
        "disruption_days": float(per_input[d.planned].mean()) if n_planned else 0.0,
        "disruption_events": float(events[d.planned].mean()) if n_planned else 0.0,
        "max_disruption_days": float(d.episodes[:, 2].max()) if len(d.episodes) else 0.0,
        "disruption_days_per_input_year": 365.0 * float(per_input.sum()) / exposure if exposure else 0.0,
        "production_disruption_days": float(d.production.sum(axis=0).mean()) if n_inputs else 0.0,
        "any_input_short_days": float(any_input_short(model)[d.start :].sum()),
    }


def input_owners(model: World) -> list[str]:
    """The facility of each input, in input order."""
    owner = [""] * len(model.input_states)
    for fac in model.facilities:
        for inp in fac.inputs:
            owner[inp.index] = fac.fid
    return owner


def input_table(model: World, d: Disruptions, keys: Keys) -> pd.DataFrame:
    """One row per input (inputs.csv): its flows summed over the window in its material's unit
    (functional units for the demand side; `buffer_t` (capacity at the horizon) and
    `mean_buffer_t` (mean end-of-day level) in its substitutes' unit), its disruption counts,
    and whether it planned secondary use at all."""
    f, w = model.inputs_flow, d.start
    per_input = d.disrupted.sum(axis=0)
    events = np.bincount(d.episodes[:, 0], minlength=len(d.planned))
    longest = np.zeros(len(d.planned), dtype=np.int64)
    np.maximum.at(longest, d.episodes[:, 0], d.episodes[:, 2])
    production = d.production.sum(axis=0)
    window = f["buffer_t"][w:]
    mean_buffer = window.mean(axis=0) if len(window) else np.zeros(window.shape[1])
    owner = input_owners(model)
    rows = []
    for inp in model.input_states:
        k = inp.index

        def total(flow: str, k: int = k) -> float:
            return float(f[flow][w:, k].sum())

        rows.append((
            owner[k], inp.spec.material, keys.unit[inp.spec.material], bool(inp.spec.critical),
            float(inp.buffer_cap), total("planned_t"), total("secondary_short_t"), total("from_secondary_t"),
            total("from_virgin_t") + total("from_emergency_t"), total("unmet_t"), int(per_input[k]),
            int(production[k]), int(events[k]), int(longest[k]), float(mean_buffer[k]), d.window_days,
            bool(d.planned[k]),
        ))  # fmt: skip
    return pd.DataFrame(rows, columns=list(INPUT_COLUMNS))


def episode_table(model: World, d: Disruptions) -> pd.DataFrame:
    """One row per disruption episode (episodes.csv): the input's facility and material, its
    first day (a day of the run, not of the window), its length in days and whether it was
    still running on the last day of the horizon (censored)."""
    owner = input_owners(model)
    inputs = model.input_states
    e = d.episodes
    return pd.DataFrame(
        {
            "facility": pd.Series([owner[k] for k in e[:, 0].tolist()], dtype=object),
            "material": pd.Series([inputs[k].spec.material for k in e[:, 0].tolist()], dtype=object),
            "start_day": e[:, 1],
            "length_days": e[:, 2],
            "censored": e[:, 3].astype(bool),
        },
        columns=list(EPISODE_COLUMNS),
    )
