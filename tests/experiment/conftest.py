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
