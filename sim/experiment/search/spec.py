"""Search files: a scenario, the levers to choose, the uncertainties to sample, an objective,
constraints and a run budget (docs/search.md)::

    [search]
    name = "south-farm-reliability"
    scenario = "../brewery_farms.toml"   # relative to this file
    seed = 20261203                      # root entropy: replication r has the same seed for every candidate
    budget = 2000                        # runs, at most
    confidence = 0.95                    # joint confidence that the chosen policy meets every constraint
    horizon_days = 365                   # optional
    overrides = { "policy.allocation" = "pro_rata" }   # optional: fixed for every run

    [levers.south_buffer]                # a name of your choosing
    kind = "buffer_days"                 # see sim.experiment.search.levers
    input = "farm_south.feed"
    levels = [2, 4, 6]                   # or range = { low = 2, high = 6, steps = 3 }

    [uncertainties.harvest]              # sampled, never chosen
    path = "facilities.brewery.outputs.spent_grain.rate_t_per_day"
    levels = [20.0, 23.0]

    [objective]
    metric = "facility:farm_south:net_benefit"
    sense = "max"                        # or "min"
    tolerance = 100.0                    # optional indifference zone, in the metric's unit

    [[constraints]]
    metric = "secondary_fill_rate"
    op = ">="
    threshold = 0.98
    probability = 0.95                   # chance constraint; omit for a constraint on the mean

Validation follows the study files: every problem, one line each, ``FILE: path: message``,
raised together as :class:`SearchError` (exit status 2).
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.engine import engine_problems
from sim.experiment.outcomes import DERIVED_METRICS, outcome_problems
from sim.experiment.points import point_problems
from sim.experiment.search import levers as lv
from sim.experiment.study import MAX_RUNS, StudyError, _level_key, _scenario_path
from sim.scenario import Scenario, ScenarioError, format_validation_error, parse_scenario, read_toml, read_toml_and_text

Scalar = bool | int | float | str
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: Grids with at most this many candidates have each candidate's scenario checked before a run.
CHECKED_CANDIDATES = 2_000


class SearchError(StudyError):
    """Bad search input: one or more lines `FILE: path.to.field: message`."""


class Strict(BaseModel):
    """Base of the search schema: immutable, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Steps(Strict):
    """`range = { low, high, steps }`: `steps` evenly spaced levels from low to high."""

    low: float
    high: float
    steps: Annotated[int, Field(ge=2, le=1000)]

    @model_validator(mode="after")
    def _ordered(self) -> Steps:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low >= self.high:
            raise ValueError(f"need finite low < high (given low {self.low}, high {self.high})")
        return self

    def levels(self) -> list[float]:
        return [float(v) for v in np.linspace(self.low, self.high, self.steps)]


class Lever(Strict):
    """One `[levers.NAME]` table."""

    kind: Literal[tuple(lv.KINDS)]  # type: ignore[valid-type]
    input: str | None = None
    contract: str | None = None
    levels: Annotated[list[Scalar], Field(min_length=1)] | None = None
    range: Steps | None = None

    def values(self) -> list[Any]:
        """The levels, or the range's steps (none when both or neither are given: a problem)."""
        if (self.levels is None) == (self.range is None):
            return []
        return list(self.levels) if self.levels is not None else self.range.levels()  # type: ignore[union-attr]


class Uncertainty(Strict):
    """One `[uncertainties.NAME]` table: a scenario override path and its levels."""

    path: str
    levels: Annotated[list[Scalar], Field(min_length=1)]


class Objective(Strict):
    metric: str
    sense: Literal["min", "max"]
    tolerance: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0


class Constraint(Strict):
    metric: str
    op: Literal[">=", "<="]
    threshold: Annotated[float, Field(allow_inf_nan=False)]
    probability: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None


class SearchSection(Strict):
    name: str
    description: str = ""
    scenario: str
    seed: Annotated[int, Field(ge=0)]
    budget: Annotated[int, Field(ge=1, le=MAX_RUNS)]
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95
    #: False: each candidate's feasibility statement holds with `confidence`; True: all of them
    #: jointly (the choice among candidates included), at the price of more runs.
    simultaneous: bool = False
    horizon_days: Annotated[int, Field(gt=0, le=100_000)] | None = None
    overrides: dict[str, Any] = {}
    first_replications: Annotated[int, Field(ge=2, le=10_000)] = 8
    max_replications: Annotated[int, Field(ge=2, le=100_000)] = 128


class SearchFile(Strict):
    search: SearchSection
    levers: Annotated[dict[str, Lever], Field(min_length=1)]
    uncertainties: dict[str, Uncertainty] = {}
    objective: Objective
    constraints: list[Constraint] = []


class Search(BaseModel):
    """A validated search, with its scenario read and its candidates made."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    text: str
    spec: SearchFile
    scenario_path: Path
    scenario_raw: dict[str, Any]
    scenario: Scenario
    #: Each candidate as {lever name: value}, and as scenario overrides.
    candidates: list[dict[str, Any]]
    candidate_overrides: list[dict[str, Any]]
    #: Each stratum as {uncertainty name: value}, and as scenario overrides.
    strata: list[dict[str, Any]]
    stratum_overrides: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return self.spec.search.name

    @property
    def seed(self) -> int:
        return self.spec.search.seed

    @property
    def metrics(self) -> list[str]:
        """The objective's and constraints' metrics, each once."""
        names = [self.spec.objective.metric, *(c.metric for c in self.spec.constraints)]
        return list(dict.fromkeys(names))


def load_search(path: str | Path) -> Search:
    """Read and validate a search file and its scenario; raise SearchError listing every problem."""
    p = Path(path)
    try:
        raw, text = read_toml_and_text(p)
    except ScenarioError as err:
        raise SearchError(err.problems) from None
    source = str(p)
    try:
        spec = SearchFile.model_validate(raw)
    except ValidationError as exc:
        # The field reference of search files is docs/search.md (docs/reference.md has scenarios and studies).
        lines = format_validation_error(source, raw, exc)
        raise SearchError([re.sub(r"docs/reference\.md#[\w-]*", "docs/search.md", line) for line in lines]) from None
    problems, misshapen = _shape_problems(source, spec)
    try:
        scenario_path = _scenario_path(source, p, spec.search.scenario)
        base = read_toml(scenario_path)
        scenario = parse_scenario(base, str(scenario_path), spec.search.overrides)
    except ScenarioError as err:
        raise SearchError(problems + [f"{source}: search.scenario: {line}" for line in err.problems]) from None
    problems += [f"{source}: search.scenario: {line}" for line in engine_problems(scenario, str(scenario_path))]
    lever_parts, lever_problems = _lever_parts(source, spec, scenario, base, str(scenario_path), misshapen)
    problems += lever_problems
    problems += _uncertainty_problems(source, spec, base, str(scenario_path), lever_parts)
    problems += _metric_problems(source, spec, scenario)
    horizon = spec.search.horizon_days
    if horizon is not None and horizon <= scenario.scenario.warmup_days:
        problems.append(f"{source}: search.horizon_days: {horizon} days leave nothing after the scenario's warm-up "
                        f"of {scenario.scenario.warmup_days} days")
    if problems:
        raise SearchError(problems)
    candidates = lv.candidate_grid({n: v.values() for n, v in spec.levers.items()})
    overrides = [lv.merge_overrides([lever_parts[n][_level_key(c[n])] for n in spec.levers]) for c in candidates]
    strata = lv.uncertainty_strata({n: list(u.levels) for n, u in spec.uncertainties.items()})
    stratum_overrides = [{spec.uncertainties[n].path: v for n, v in s.items()} for s in strata]
    search = Search(path=p, text=text, spec=spec, scenario_path=scenario_path, scenario_raw=base, scenario=scenario,
                    candidates=candidates, candidate_overrides=overrides, strata=strata,
                    stratum_overrides=stratum_overrides)
    s_count, first = len(strata), spec.search.first_replications
    first_round = len(candidates) * s_count * math.ceil(first / s_count)
    if spec.search.budget < first_round:
        problems.append(f"{source}: search.budget: {spec.search.budget} runs do not cover the first round: "
                        f"{len(candidates)} candidates x {first_round // len(candidates)} replications "
                        f"(first_replications, rounded up to a multiple of the {s_count} uncertainty strata) = "
                        f"{first_round} runs; raise the budget or use fewer levels")
    if len(candidates) * max(1, len(scenario.facilities)) <= CHECKED_CANDIDATES * 10:
        problems += candidate_problems(search)
    if problems:
        raise SearchError(problems)
    return search


def _shape_problems(source: str, spec: SearchFile) -> tuple[list[str], set[str]]:
    """Names, level types and sizes, before the scenario is read; and the levers whose levels
    are misshapen (not tried on the scenario)."""
    out: list[str] = []
    misshapen: set[str] = set()
    names = [*spec.levers, *spec.uncertainties]
    for group, table in (("levers", spec.levers), ("uncertainties", spec.uncertainties)):
        for name in table:
            if not NAME.match(name):
                out.append(f"{source}: {group}.{name}: a name is a letter then letters, digits or _ (given '{name}')")
            elif names.count(name) > 1:
                out.append(f"{source}: {group}.{name}: '{name}' names both a lever and an uncertainty; "
                           "a factor is one or the other")
    for name, lever in spec.levers.items():
        _, kind = lv.KINDS[lever.kind]
        where = f"{source}: levers.{name}"
        values = lever.values()
        before = len(out)
        if (lever.levels is None) == (lever.range is None):
            out.append(f"{where}: give levels = [...] or range = {{ low, high, steps }}, one of the two")
            misshapen.add(name)
            continue
        if lever.range is not None and kind in ("bool", "refill", "int"):
            out.append(f"{where}.range: kind '{lever.kind}' takes levels, not a range")
            misshapen.add(name)
            continue
        for k, value in enumerate(values):
            wrong = {
                "number": isinstance(value, bool) or not isinstance(value, int | float),
                "int": isinstance(value, bool) or not isinstance(value, int),
                "bool": not isinstance(value, bool),
                "refill": value not in lv.REFILL_RULES,
            }[kind]
            if wrong:
                what = {"number": "a number", "int": "a whole number", "bool": "true or false",
                        "refill": f"one of {', '.join(lv.REFILL_RULES)}"}[kind]
                out.append(f"{where}.levels[{k}]: kind '{lever.kind}' needs {what} (given {value!r})")
        if len({_level_key(v) for v in values}) != len(values):
            out.append(f"{where}.levels: levels repeat (given {values}); list each level once")
        if len(out) > before:
            misshapen.add(name)
    size = math.prod(len(v.values()) for v in spec.levers.values())
    if size * spec.search.first_replications > MAX_RUNS:
        out.append(f"{source}: levers: {size:,} candidates are too many to search (over {MAX_RUNS:,} runs "
                   "at the first round); use fewer levels")
    if spec.search.first_replications > spec.search.max_replications:
        out.append(f"{source}: search.first_replications: {spec.search.first_replications} is above "
                   f"max_replications ({spec.search.max_replications})")
    return out, misshapen


def _lever_parts(source: str, spec: SearchFile, scenario: Scenario, base: dict[str, Any], scenario_source: str,
                 misshapen: set[str]) -> tuple[dict[str, dict[Any, dict]], list[str]]:
    """Each lever's overrides per level, and one line per problem of a target or a level (each
    level tried alone on the scenario: `base`, the file's data with the search's overrides)."""
    parts: dict[str, dict[Any, dict]] = {}
    out: list[str] = []
    paths: dict[str, str] = {}
    for name, lever in spec.levers.items():
        where = f"{source}: levers.{name}"
        bad = lv.target_problems(lever.kind, scenario, lever.input, lever.contract)
        if bad or name in misshapen:
            out += [f"{where}.{line}" for line in bad]
            continue
        shadow = _shadowed(lever, scenario, spec.search.overrides)
        if shadow:
            out.append(f"{where}: {shadow}")
        parts[name] = {}
        for k, value in enumerate(lever.values()):
            overrides = lv.lever_overrides(lever.kind, value, scenario, input=lever.input, contract=lever.contract)
            parts[name][_level_key(value)] = overrides
            for path in overrides:
                if path in paths and paths[path] != name and path != "intermediary.enabled":
                    out.append(f"{where}: sets {path}, as lever '{paths[path]}' does; keep one of the two")
                paths.setdefault(path, name)
            try:
                parse_scenario(copy.deepcopy(base), scenario_source, overrides)
            except ScenarioError as err:
                out += [f"{where}.levels[{k}]: value {value!r} is not valid in the scenario: "
                        f"{line.removeprefix(scenario_source + ': ')}" for line in err.problems]
                break
    return parts, list(dict.fromkeys(out))


def _shadowed(lever: Lever, scenario: Scenario, fixed: dict[str, Any]) -> str | None:
    """Why a per-item lever has no effect: a policy lever that replaces the field on every item."""
    for kind, path in (("buffer_days", "policy.buffer_days"), ("penalty_per_t_short", "policy.penalty_per_t_short")):
        per_item = lever.input if kind == "buffer_days" else lever.contract
        if lever.kind == kind and per_item is not None and getattr(scenario.policy, kind) is not None:
            where = "search.overrides" if path in fixed else "the scenario file"
            return f"has no effect, since {path} (set in {where}) replaces it on every item; unset it"
    return None


def _uncertainty_problems(source: str, spec: SearchFile, base: dict[str, Any], scenario_source: str,
                          lever_parts: dict[str, dict[Any, dict]]) -> list[str]:
    """Each uncertainty's path must be a scenario path no lever sets, and each level valid."""
    lever_paths = {path for parts in lever_parts.values() for o in parts.values() for path in o}
    out: list[str] = []
    for name, unc in spec.uncertainties.items():
        where = f"{source}: uncertainties.{name}"
        if unc.path in lever_paths:
            out.append(f"{where}.path: '{unc.path}' is also set by a lever; a factor is a lever (chosen) or an "
                       "uncertainty (sampled), not both")
            continue
        if unc.path in spec.search.overrides:
            out.append(f"{where}.path: '{unc.path}' is also fixed in search.overrides; keep one of the two")
            continue
        for value in unc.levels:
            try:
                parse_scenario(copy.deepcopy(base), scenario_source, {unc.path: value})
            except ScenarioError as err:
                out += [f"{where}.levels: value {value!r} is not valid in the scenario: "
                        f"{line.removeprefix(scenario_source + ': ')}" for line in err.problems]
                break
    return out


def _metric_problems(source: str, spec: SearchFile, scenario: Scenario) -> list[str]:
    """Each metric named must be a run metric or a facility's, contract's or material's column."""
    fields = [("objective.metric", spec.objective.metric)]
    fields += [(f"constraints[{k}].metric", c.metric) for k, c in enumerate(spec.constraints)]
    out: list[str] = []
    first: dict[str, str] = {}
    for field, name in fields:
        if name in DERIVED_METRICS:
            out.append(f"{source}: {field}: '{name}' is derived in the report, not a run metric; constrain "
                       "the run metric it comes from (e.g. any_input_short_days <= 0 with a probability)")
        else:
            first.setdefault(name, field)
    names = list(first)
    for line in outcome_problems(source, names, scenario):  # one trial run for all names
        match = re.match(rf"^{re.escape(source)}: study\.outcomes\[(\d+)\]", line)
        if match:
            line = f"{source}: {first[names[int(match.group(1))]]}" + line[match.end():]
        else:
            line = line.replace("study.outcomes", "metrics")
        out.append(line)
    return out


def candidate_problems(search: Search, limit: int = 10) -> list[str]:
    """One line per candidate whose levers are valid alone but not together (or that the engine
    refuses)."""
    return point_problems(search.scenario_raw, search.scenario_path, search.path, search.candidate_overrides,
                          "candidate", shown=search.candidates, limit=limit)
