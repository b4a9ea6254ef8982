"""The simulator's public Python API.

Load or build a scenario, run it once, read its metrics and tables::

    from sim import load_scenario, run_once

    scenario = load_scenario("scenarios/two_firms.toml", {"policy.buffer_days": 7})
    result = run_once(scenario, seed=1)
    result.metrics["fill_rate"], result.contracts

Many runs (a study file: design points x replications) go through :mod:`sim.experiment`
(``load_study``, ``run_study``). The names are imported on first use, so that
``import sim.scenario`` (what worker processes and validation import) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["RunResult", "ScenarioError", "SymbiosisModel", "load_scenario", "parse_scenario", "run_once"]

_HOMES = {
    "load_scenario": "sim.scenario",
    "parse_scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "run_once": "sim.run",
    "RunResult": "sim.run",
    "SymbiosisModel": "sim.model",
}

if TYPE_CHECKING:
    from sim.model import SymbiosisModel
    from sim.run import RunResult, run_once
    from sim.scenario import ScenarioError, load_scenario, parse_scenario


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # the next access skips this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
