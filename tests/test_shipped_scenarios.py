"""Every scenario shipped in `scenarios/` loads, validates and explains where its numbers come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.matching import candidate_exchanges
from sim.network import resolve_network
from sim.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))


def test_the_three_teaching_scenarios_are_shipped() -> None:
    assert {"two_firms", "brewery_farms", "cement_fishery"} <= {p.stem for p in SCENARIOS}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_validates(path: Path) -> None:
    # A scenario may list its contracts, have them formed by a rule (sim.network), or leave
    # them to the agents, who form them among the candidate exchanges during the run.
    sc = resolve_network(load_scenario(path))
    formed_by_agents = sc.behaviour is not None and any(c.net_value_per_t > 0 for c in candidate_exchanges(sc))
    assert sc.facilities and (sc.contracts or formed_by_agents)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_opens_with_a_comment_block_citing_sources(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    header = text[: text.index("\n[")]
    assert all(line.startswith("#") for line in header.strip().splitlines())
    assert "http" in header, "cite sources with their URLs in the file itself"
    assert "shared/" not in text, "cite the source, not a path to the project's notes"
