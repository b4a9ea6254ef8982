"""Study files: which scenario, which design, how many replications, which root seed.

A study (DESIGN.md section 6) is a TOML file::

    [study]
    name = "buffers-vs-penalties"
    scenario = "../brewery.toml"        # relative to this file
    replications = 200
    seed = 20261126                     # root entropy of every run's SeedSequence
    horizon_days = 730                  # optional: overrides the scenario's horizon
    series = false                      # optional: also store each run's daily series
    overrides = { "policy.allocation" = "priority" }   # optional: fixed for every run
    outcomes = ["net_benefit", "waste_disposed_t", "facility:farm:net_benefit"]   # optional

    [design]
    kind = "grid"                       # grid | rows | lhs | sobol | morris
    uncertainties = ["facilities.brewery.outputs.spent_grain.rate_t_per_day"]   # optional
    [design.factors]
    "policy.buffer_days" = [0, 7, 14]
    "contracts.*.penalty_per_t_short" = [0.0, 50.0]
    "facilities.brewery.outputs.spent_grain.rate_t_per_day" = [8.0, 12.0]
    [design.reference]                  # optional: paired differences are taken against it
    "policy.buffer_days" = 0
    "contracts.*.penalty_per_t_short" = 0.0
    "facilities.brewery.outputs.spent_grain.rate_t_per_day" = 12.0

Factors are scenario override paths (see :func:`sim.scenario.apply_override`). For `grid`
each factor is a list of levels; for `rows` the design is `rows = [{...}, ...]`, one table
per design point; for `lhs`, `sobol` and `morris` each factor is a range `{ low, high }`
(integers when both ends are integers) or a list of levels (booleans, names...), and
`samples` sets the size.

`outcomes` names the report's headline metrics, in order: the headline table, the paired
differences, the effect sizes and the effects figure show them, and the first one ranks the
design points. A name is a run metric (`waste_disposed_t`), `facility:<id>:<column>` (a column
of the run's facility table, e.g. `facility:farm:net_benefit`) or `contract:<id>:<column>`
(e.g. `contract:grain-to-farm:short_t`); see :mod:`sim.experiment.outcomes`. Without it the
report leads with fill rate, secondary fill rate, disruption days, penalties, net benefit and
P(any shortage), ranked by net benefit. Changing `outcomes` keeps the stored runs: a resume
re-runs only the runs stored without a newly named per-facility or per-contract column.

`uncertainties` marks factors whose levels are not a choice (a poor beet year, a price): the
other factors are the levers. The report then names a best *lever setting*, by its mean over
the uncertainty levels (paired over replications), never a best design point, and shows each
lever setting at each uncertainty level. An optional `[question]` names the study's question
and the design points that answer it (:mod:`sim.experiment.question`).

Validation follows the scenario files: every problem found, one line each,
``FILE: path.to.field: message``, raised together as :class:`StudyError`.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.engine import engine_problems
from sim.experiment.outcomes import DEFAULT_OUTCOMES, outcome_problems
from sim.experiment.points import point_problems
from sim.experiment.question import Question, question_problems
from sim.experiment.question import quoted as _quoted
from sim.scenario import Scenario, ScenarioError, format_validation_error, parse_scenario, read_toml, read_toml_and_text

Scalar = bool | int | float | str
DesignKind = Literal["grid", "rows", "lhs", "sobol", "morris"]
SAMPLED_KINDS = ("lhs", "sobol", "morris")


class StudyError(ScenarioError):
    """Bad study input: one or more lines `FILE: path.to.field: message`."""


class Strict(BaseModel):
    """Base of the study schema: immutable, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Range(Strict):
    """A continuous (or integer, when both ends are integers) factor range for sampled designs."""

    low: float
    high: float
    integer: bool = False

    @model_validator(mode="before")
    @classmethod
    def _detect_integer(cls, data: Any) -> Any:
        if isinstance(data, dict) and "integer" not in data:
            ends = [data.get("low"), data.get("high")]
            if all(isinstance(v, int) and not isinstance(v, bool) for v in ends):
                data = {**data, "integer": True}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low >= self.high:
            raise ValueError(f"need finite low < high (given low {self.low}, high {self.high})")
        if self.integer and not (float(self.low).is_integer() and float(self.high).is_integer()):
            raise ValueError(f"an integer range needs whole-number ends (given low {self.low}, high {self.high})")
        return self


Levels = Annotated[list[Scalar], Field(min_length=1)]


class StudySection(Strict):
    """The `[study]` table."""

    name: str
    description: str = ""
    scenario: str
    replications: Annotated[int, Field(ge=1, le=10_000_000)]
    seed: Annotated[int, Field(ge=0)]
    horizon_days: Annotated[int, Field(gt=0, le=100_000)] | None = None
    series: bool = False
    overrides: dict[str, Any] = {}
    outcomes: list[str] = []


class Design(Strict):
    """The `[design]` table: the design points of the study."""

    kind: DesignKind
    factors: dict[str, Levels | Range] = {}
    rows: list[dict[str, Scalar]] = []
    samples: Annotated[int, Field(ge=1)] | None = None
    second_order: bool = False
    levels: Annotated[int, Field(ge=2)] = 4
    reference: dict[str, Scalar] | None = None
    uncertainties: list[str] = []

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Design:
        if self.kind == "rows":
            if not self.rows:
                raise ValueError("kind 'rows' needs rows = [{...}, ...] (one table per design point)")
            if self.factors:
                raise ValueError("kind 'rows' takes its factors from rows; remove [design.factors]")
        else:
            if self.rows:
                raise ValueError(f"rows apply only to kind 'rows' (given kind '{self.kind}')")
            if not self.factors:
                raise ValueError(f"kind '{self.kind}' needs [design.factors]")
        if self.kind in SAMPLED_KINDS and self.samples is None:
            raise ValueError(f"kind '{self.kind}' needs samples = N")
        if self.kind in ("grid", "rows") and self.samples is not None:
            raise ValueError(f"samples applies only to lhs, sobol and morris (given kind '{self.kind}')")
        if self.kind == "morris" and self.levels % 2:
            raise ValueError(f"morris needs an even number of levels, as its sampler's grid does (given {self.levels})")
        if self.kind == "sobol" and self.samples is not None and self.samples & (self.samples - 1):
            raise ValueError(f"sobol needs samples = a power of 2 (given {self.samples})")
        return self


class StudyFile(Strict):
    """The whole content of a study file."""

    study: StudySection
    design: Design
    question: Question | None = None


class Study(BaseModel):
    """A validated study, with its scenario read and checked.

    `scenario_raw` is the scenario file's data with the study's fixed overrides applied; each
    run rebuilds its scenario from it plus the run's design point (so workers need no files).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    text: str
    spec: StudyFile
    scenario_path: Path
    scenario_raw: dict[str, Any]
    scenario: Scenario

    @property
    def name(self) -> str:
        """The study's name."""
        return self.spec.study.name

    @property
    def seed(self) -> int:
        """Root entropy of all runs."""
        return self.spec.study.seed

    @property
    def replications(self) -> int:
        """Replications per design point."""
        return self.spec.study.replications

    @property
    def design(self) -> Design:
        """The `[design]` table."""
        return self.spec.design

    @property
    def factor_names(self) -> list[str]:
        """Factor paths in file order (for rows: in the order of the first row)."""
        if self.design.kind == "rows":
            return list(self.design.rows[0])
        return list(self.design.factors)

    @property
    def outcomes(self) -> list[str]:
        """The report's headline metrics: the study's `outcomes`, or the default list."""
        return list(self.spec.study.outcomes) or list(DEFAULT_OUTCOMES)

    @property
    def uncertainties(self) -> list[str]:
        """Factors that are uncertainties (not choices), in the design's factor order."""
        return [f for f in self.factor_names if f in self.design.uncertainties]

    @property
    def levers(self) -> list[str]:
        """Factors that are choices: every factor not marked as an uncertainty."""
        return [f for f in self.factor_names if f not in self.design.uncertainties]


def load_study(path: str | Path) -> Study:
    """Read and validate a study file and its scenario; raise StudyError listing every problem."""
    p = Path(path)
    try:
        raw, text = read_toml_and_text(p)
    except ScenarioError as err:
        raise StudyError(err.problems) from None
    source = str(p)
    try:
        spec = StudyFile.model_validate(raw)
    except ValidationError as exc:
        raise StudyError(format_validation_error(source, raw, exc)) from None
    problems = _design_problems(source, spec.design)
    points = design_size(spec.design)
    if points * spec.study.replications > MAX_RUNS:
        problems.append(
            f"{source}: design: {points:,} design points x {spec.study.replications:,} replications = "
            f"{points * spec.study.replications:,} runs, over the limit of {MAX_RUNS:,}; use fewer levels or "
            "samples, or split the study"
        )
        raise StudyError(problems)  # trying its factors' values would take as long
    base: dict[str, Any] = {}
    try:
        scenario_path = _scenario_path(source, p, spec.study.scenario)
        base = read_toml(scenario_path)
        # parse_scenario writes the overrides into `base`: runs start from that data.
        scenario = parse_scenario(base, str(scenario_path), spec.study.overrides)
    except ScenarioError as err:
        problems += [f"{source}: study.scenario: {line}" for line in err.problems]
        raise StudyError(problems) from None
    problems += [f"{source}: study.scenario: {line}" for line in engine_problems(scenario, str(scenario_path))]
    problems += _factor_problems(source, spec.design, base, str(scenario_path))
    problems += _clash_problems(source, spec, scenario)
    problems += outcome_problems(source, spec.study.outcomes, scenario)
    problems += _uncertainty_problems(source, spec.design)
    problems += question_problems(source, spec.question, spec.design, list(spec.study.outcomes or DEFAULT_OUTCOMES))
    horizon, warmup = spec.study.horizon_days, scenario.scenario.warmup_days
    if horizon is not None and horizon <= warmup:
        problems.append(f"{source}: study.horizon_days: {horizon} days leave nothing after the scenario's "
                        f"warm-up of {warmup} days; give more than {warmup} days")
    warmups = _values_to_try(spec.design).get("scenario.warmup_days", [])
    if horizon is not None and any(isinstance(w, int | float) and w >= horizon for w in warmups):
        problems.append(f"{source}: design.factors.\"scenario.warmup_days\": warm-ups of {max(warmups)} days leave "
                        f"nothing of the study's horizon of {horizon} days; keep every warm-up below it")
    if problems:
        raise StudyError(problems)
    return Study(
        path=p,
        text=text,
        spec=spec,
        scenario_path=scenario_path,
        scenario_raw=base,
        scenario=scenario,
    )


PATH_MAX = 4096  # Linux: a longer name is no file's; reading it fails with "File name too long"


def _scenario_path(source: str, study_path: Path, name: str) -> Path:
    """The study's scenario file, relative to the study file; ScenarioError when the name
    cannot be a path (a NUL character, a loop of links)."""
    try:
        joined = study_path.parent / name
        if len(name) > PATH_MAX:  # no such file; resolving it would take a minute (quadratic in its length)
            return joined.absolute()
        return joined.resolve()
    except (ValueError, OSError, RuntimeError) as err:  # RuntimeError: a loop of links (Python 3.12)
        raise ScenarioError([f"{name!r}: not a usable file name ({err})"]) from None


def _design_problems(source: str, design: Design) -> list[str]:
    """Problems of the design's shape (types of levels, row keys, reference point)."""
    out: list[str] = []
    for name, spec in design.factors.items():
        where = f"{source}: design.factors.{_quoted(name)}"
        if isinstance(spec, Range) and design.kind in ("grid", "rows"):
            out.append(f"{where}: kind '{design.kind}' needs a list of levels, not a range; list them (for example "
                       "[0, 3, 7]) or sample the range with kind = 'lhs', 'sobol' or 'morris'")
        if isinstance(spec, list) and not _one_type(spec):
            out.append(f"{where}: levels must all be numbers, all booleans or all text (given {spec})")
        if isinstance(spec, list) and len({_level_key(v) for v in spec}) != len(spec):
            out.append(f"{where}: levels repeat (given {spec}); list each level once")
    if design.kind == "rows":
        keys = list(design.rows[0])
        for k, row in enumerate(design.rows):
            if set(row) != set(keys):
                out.append(
                    f"{source}: design.rows.[{k}]: every row needs the same factors "
                    f"(given {sorted(row)}, first row {sorted(keys)}); give every row a value for each factor"
                )
        for name in keys:
            column = [row.get(name) for row in design.rows if name in row]
            if not _one_type(column):
                out.append(f"{source}: design.rows.{_quoted(name)}: values must all be of one type (given {column}); "
                           "write all numbers, all booleans or all text")
    if design.reference is not None:
        names = list(design.rows[0]) if design.kind == "rows" else list(design.factors)
        if set(design.reference) != set(names):
            out.append(
                f"{source}: design.reference: name a value for every factor "
                f"(given {sorted(design.reference)}, factors {sorted(names)})"
            )
    return out


def _uncertainty_problems(source: str, design: Design) -> list[str]:
    """Each uncertainty must be one of the design's factors, named once."""
    names = list(design.rows[0]) if design.kind == "rows" else list(design.factors)
    out: list[str] = []
    for k, name in enumerate(design.uncertainties):
        where = f"{source}: design.uncertainties[{k}]"
        if name in design.uncertainties[:k]:
            out.append(f"{where}: {_quoted(name)} is listed twice; name each uncertainty once")
        elif name not in names:
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            hint = f"did you mean {_quoted(close[0])}? " if close else ""
            out.append(f"{where}: {_quoted(name)} is not a factor of the design ({hint}factors: "
                       f"{', '.join(_quoted(n) for n in names)}); an uncertainty is a factor whose levels are "
                       "not a choice")
    return out


# Policy levers that replace a field on every item: a factor on that field has no effect while
# the lever is set (in the scenario, the study's overrides or a factor).
LEVER_SHADOWS = {
    "penalty_per_t_short": (re.compile(r"^contracts\..+\.penalty_per_t_short$"), "every contract's penalty"),
    "buffer_days": (re.compile(r"^facilities\..+\.inputs\..+\.(initial_)?buffer_t$"), "every input's buffer"),
}


def _clash_problems(source: str, spec: StudyFile, scenario: Scenario) -> list[str]:
    """Settings that cancel each other: a path both fixed (study.overrides) and varied (a
    factor), and a factor on a field that a policy lever replaces on every item."""
    design = spec.design
    varied = list(design.rows[0]) if design.kind == "rows" else list(design.factors)
    fixed = spec.study.overrides
    out = [
        f"{source}: study.overrides.{_quoted(name)}: also a design factor, whose levels would replace it; "
        "keep one of the two"
        for name in varied if name in fixed
    ]
    for lever, (pattern, replaced) in LEVER_SHADOWS.items():
        path = f"policy.{lever}"
        if path in varied:
            where = "a design factor"
        elif path in fixed:
            where = "study.overrides"
        elif getattr(scenario.policy, lever) is not None:
            where = "the scenario file"
        else:
            continue
        out += [
            f"{source}: design.factors.{_quoted(name)}: has no effect, since {path} (set in {where}) replaces "
            f"{replaced}; vary one of the two"
            for name in varied if pattern.match(name)
        ]
    return out


def _level_key(value: Any) -> tuple[str, Any]:
    """A level as the design sees it: 0 and 0.0 are one level, True and 1 are not."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    return ("text", json.dumps(value))


#: The most runs a study may hold (points x replications): more is a mistake in the design (a grid
#: of 8 factors at 31 levels is 852 billion points), and would exhaust memory before the first run.
MAX_RUNS = 10_000_000


def design_size(design: Design) -> int:
    """The number of design points, counted without making them."""
    dim = len(design.factors)
    samples = design.samples or 0
    if design.kind == "grid":
        return math.prod(len(spec) if isinstance(spec, list) else 1 for spec in design.factors.values())
    if design.kind == "rows":
        return len(design.rows)
    if design.kind == "sobol":
        return samples * (2 * dim + 2 if design.second_order else dim + 2)
    if design.kind == "morris":
        return samples * (dim + 1)
    return samples


def _one_type(values: list[Any]) -> bool:
    return len({"bool" if isinstance(v, bool) else "number" if isinstance(v, int | float) else "text"
                for v in values}) <= 1


def _factor_problems(source: str, design: Design, base: dict[str, Any], scenario_source: str) -> list[str]:
    """Each factor must be a scenario override path, and its levels or range ends valid values.

    Each value is tried alone on the scenario (with the study's overrides); combinations that
    only fail together are found by design_point_problems (grids and row lists) or at run time
    (sampled designs: their runs are recorded as failed).
    """
    out: list[str] = []
    for name, values in _values_to_try(design).items():
        where = f"{source}: design.factors.{_quoted(name)}"
        for value in values:
            try:
                parse_scenario(copy.deepcopy(base), scenario_source, {name: value})
            except ScenarioError as err:
                for line in err.problems:
                    detail = line.removeprefix(f"{scenario_source}: ")
                    out.append(f"{where}: value {value!r} is not valid in the scenario: {detail}")
                break
    return list(dict.fromkeys(out))


def _values_to_try(design: Design) -> dict[str, list[Any]]:
    if design.kind == "rows":
        tried: dict[str, list[Any]] = {}
        for row in design.rows:
            for name, value in row.items():
                values = tried.setdefault(name, [])
                if value not in values:
                    values.append(value)
        return tried
    out: dict[str, list[Any]] = {}
    for name, spec in design.factors.items():
        if isinstance(spec, Range):
            ends = [spec.low, spec.high]
            out[name] = [int(v) for v in ends] if spec.integer else ends
        else:
            out[name] = list(spec)
    return out


#: Grids and row lists whose points x facilities are at most this have each point's scenario checked
#: before a run (a millisecond or so per ten facilities: 5,000 points of a 10-plant network, 50 of a
#: 1,000-plant region). Larger designs, and sampled ones, store an invalid point's runs as failed.
CHECKED_POINTS_X_FACILITIES = 50_000


def checks_design_points(study: Study) -> bool:
    """Whether `design_point_problems` checks this study's points (see above)."""
    size = design_size(study.design) * max(1, len(study.scenario.facilities))
    return study.design.kind in ("grid", "rows") and size <= CHECKED_POINTS_X_FACILITIES


def design_point_problems(study: Study, points: list[dict[str, Any]], limit: int = 10) -> list[str]:
    """One line per problem of the scenarios that a grid's or a row list's design points make:
    each factor's levels can be valid alone and not together (a take-or-pay with a gate fee).
    Designs `checks_design_points` declines are not checked here."""
    if not checks_design_points(study):
        return []
    return point_problems(study.scenario_raw, study.scenario_path, study.path, points, "design point",
                          limit=limit)

