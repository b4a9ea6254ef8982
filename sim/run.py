"""The one entry point from experiments into the model: :func:`run_once`.

Experiment code (``sim.experiment``), the command line and the dashboard call the model only
through this function. It returns plain data (numbers and data frames), never a model, so that
workers in a process pool or on Dask can send it back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.rng import as_seed_sequence
from sim.scenario import Scenario


@dataclass(frozen=True)
class RunResult:
    """What one run produces.

    - ``metrics``: the run metrics of DESIGN.md section 8 (name -> float);
    - ``facilities``: one row per facility (costs, benefit, flows);
    - ``contracts``: one row per contract (delivered, shortfall, penalties...);
    - ``series``: the daily time series (only when asked for);
    - ``outages``: every outage (facility, start, end, cause; only with the series).
    """

    metrics: dict[str, float]
    facilities: pd.DataFrame
    contracts: pd.DataFrame
    series: pd.DataFrame | None = None
    outages: pd.DataFrame | None = None


def run_once(
    scenario: Scenario,
    seed: int | np.random.SeedSequence,
    *,
    horizon_days: int | None = None,
    series: bool = False,
) -> RunResult:
    """Simulate one scenario with one seed and return its metrics (and optionally its series).

    `horizon_days` overrides the scenario's horizon. Same scenario and seed give identical
    results in any process.
    """
    from sim.model import SymbiosisModel  # local: keeps `import sim.run` light for workers

    model = SymbiosisModel(
        scenario, rng=as_seed_sequence(seed), horizon_days=horizon_days, collect_series=series
    )
    model.run()
    return model.result(series=series)
