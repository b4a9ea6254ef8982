"""The one entry point from experiments into the model: :func:`run_once`.

Experiment code (``sim.experiment``), the command line and the dashboard call the model only
through this function. It returns plain data (numbers and data frames), never a model, so that
workers in a process pool or on Dask can send it back.
"""

from __future__ import annotations

import numpy as np

from sim.metrics import RunResult
from sim.rng import as_seed_sequence
from sim.scenario import Scenario

__all__ = ["RunResult", "run_once"]


def run_once(
    scenario: Scenario,
    seed: int | np.random.SeedSequence,
    *,
    horizon_days: int | None = None,
    series: bool = False,
) -> RunResult:
    """Simulate one scenario with one seed and return its metrics (and optionally its series).

    `horizon_days` overrides the scenario's horizon. Same scenario and seed give identical
    results in any process. The benefits are measured against the world without symbiosis,
    simulated as a twin run of the same scenario and seed (sim/twin.py): a run with contracts
    or an intermediary costs about 1.5x a run alone (its twin has no contracts).
    """
    from sim.model import SymbiosisModel  # local: keeps `import sim.run` light for workers

    model = SymbiosisModel(
        scenario, rng=as_seed_sequence(seed), horizon_days=horizon_days, collect_series=series
    )
    model.run()
    return model.result(series=series)
