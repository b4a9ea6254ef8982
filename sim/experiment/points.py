"""Problems of the scenarios that a set of override points (design points, search candidates)
make: each override can be valid alone and not together (a take-or-pay with a gate fee), or
make a network the engine refuses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sim.engine import engine_problems
from sim.scenario import ScenarioError, parse_scenario


def point_problems(scenario_raw: dict[str, Any], scenario_path: Path, path: Path, points: list[dict[str, Any]],
                   label: str, *, shown: list[dict[str, Any]] | None = None, limit: int = 10) -> list[str]:
    """One line per problem of the scenarios the override `points` make of `scenario_raw`,
    naming `path` and each point as `label k (...)` with its `shown` settings (default: the
    overrides themselves); at most `limit` points are listed, then a count."""
    out: list[str] = []
    bad = 0
    source = str(scenario_path)
    for k, point in enumerate(points):
        try:
            lines = engine_problems(parse_scenario(copy.deepcopy(scenario_raw), source, point), source)
        except ScenarioError as err:
            lines = err.problems
        if lines:
            bad += 1
            if bad <= limit:
                where = ", ".join(f"{name} = {value!r}" for name, value in (shown or points)[k].items())
                out += [f"{path}: {label} {k} ({where}): {line}" for line in lines]
    if bad > limit:
        out.append(f"{path}: and {bad - limit} more {label}s make an invalid scenario")
    return out
