"""Many runs of the model: study files, designs, seeds, executors and the results folder.

From Python::

    from sim.experiment import load_study, run_study

    study = load_study("scenarios/studies/default.toml")
    result = run_study(study, "results/default", workers=2)
    result.runs  # one row per run: design_point, replication, seed, factors, metrics

``run_study`` resumes a folder it has written before; ``fresh=True`` starts over, ``quiet=True``
silences the progress lines. The names are imported on first use, so that worker processes,
which import ``sim.experiment.tasks``, do not load the runner and its executors.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["Study", "StudyError", "StudyResult", "load_study", "run_study"]

_HOMES = {
    "load_study": "sim.experiment.study",
    "Study": "sim.experiment.study",
    "StudyError": "sim.experiment.study",
    "run_study": "sim.experiment.runner",
    "StudyResult": "sim.experiment.runner",
}

if TYPE_CHECKING:
    from sim.experiment.runner import StudyResult, run_study
    from sim.experiment.study import Study, StudyError, load_study


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sim.experiment' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # the next access skips this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
