"""Shared helpers of the search tests: search files over the shipped brewery network, written
into tmp folders."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BREWERY = ROOT / "scenarios" / "brewery_farms.toml"

LEVERS = """
[levers.south_buffer]
kind = "buffer_days"
input = "farm_south.feed"
levels = [1.0, 4.0]

[levers.south_backup]
kind = "backup"
contract = "grain-south-backup"
levels = [true, false]
"""

UNCERTAINTIES = """
[uncertainties.grain]
path = "facilities.brewery.outputs.spent_grain.rate_t_per_day"
levels = [20.0, 23.0]
"""

GOALS = """
[objective]
metric = "net_benefit"
sense = "max"

[[constraints]]
metric = "input:farm_south.feed:secondary_short_t"
op = "<="
threshold = 12.0
probability = 0.6
"""


def search_text(*, levers: str = LEVERS, uncertainties: str = UNCERTAINTIES, goals: str = GOALS,
                budget: int = 200, first: int = 4, horizon_days: int = 120, seed: int = 11) -> str:
    """A search file over the brewery network."""
    return (f'[search]\nname = "test-search"\nscenario = "{BREWERY}"\nseed = {seed}\nbudget = {budget}\n'
            f"first_replications = {first}\nhorizon_days = {horizon_days}\n{levers}\n{uncertainties}\n{goals}\n")


@pytest.fixture
def write_search(tmp_path: Path):
    """Write a search file into the test's folder and return its path."""

    def write(name: str = "search.toml", **kwargs) -> Path:
        path = tmp_path / name
        path.write_text(search_text(**kwargs), encoding="utf-8")
        return path

    return write
