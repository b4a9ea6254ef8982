"""Shared helpers: small study files over tests/data/tiny.toml, written into tmp folders."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "tiny.toml"


def study_text(design: str, *, replications: int = 4, horizon_days: int = 30, seed: int = 20261126,
               extra: str = "") -> str:
    """A study file over the tiny network with the given [design] body."""
    return (
        f'[study]\nname = "test"\nscenario = "{TINY}"\nreplications = {replications}\n'
        f"seed = {seed}\nhorizon_days = {horizon_days}\n{extra}\n[design]\n{design}\n"
    )


GRID = """kind = "grid"
[design.factors]
"policy.buffer_days" = [0, 3]
"contracts.*.penalty_per_t_short" = [0.0, 50.0]
[design.reference]
"policy.buffer_days" = 0
"contracts.*.penalty_per_t_short" = 0.0
"""


@pytest.fixture
def write_study(tmp_path: Path):
    """Write a study file into the test's folder and return its path."""

    def write(design: str = GRID, name: str = "study.toml", **kwargs) -> Path:
        path = tmp_path / name
        path.write_text(study_text(design, **kwargs), encoding="utf-8")
        return path

    return write


@pytest.fixture
def grid_design() -> str:
    """The [design] body of a 2 x 2 grid with a reference point."""
    return GRID


@pytest.fixture
def interrupt_on_sixth_run(monkeypatch):
    """Make sim.run.run_once raise KeyboardInterrupt on its sixth call. The serial executor
    runs a window of 4 calls ahead and yields them in any order: the sixth call is made after
    two runs came back, so they are stored. Yields the real run_once, to put back."""
    from sim import run as sim_run

    real = sim_run.run_once
    calls = {"n": 0}

    def stop_on_the_sixth(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sim_run, "run_once", stop_on_the_sixth)
    return real
