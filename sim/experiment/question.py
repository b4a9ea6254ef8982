"""A study's question: the optional `[question]` table of a study file.

A question names what the study is for and which design points answer it::

    [question]
    text = "For the south farm, which buys more reliability per euro: a buffer or a backup?"
    metrics = ["input:farm_south.feed:secondary_short_t", "facility:farm_south:net_benefit"]
    baseline = { "policy.buffer_days" = 0, "contracts.backup.enabled" = false }
    [question.options]
    "4 days of buffer" = { "policy.buffer_days" = 4, "contracts.backup.enabled" = false }
    "backup contract" = { "policy.buffer_days" = 0, "contracts.backup.enabled" = true }
    # optional: factors in the design as labelled controls (an effect expected to be nil, or
    # nil by construction); the answer reports each one's effect at the baseline
    controls = ["contracts.*.penalty_per_t_short"]

`metrics` are one or two of the study's outcomes (`[study] outcomes`, or the default list): the
first is what the options buy, the second (optional) what they cost. `baseline` and each
option are design points: a value for every factor, found in the design (a grid's levels, a
row of a row list; sampled designs have no fixed points to name). `controls` names factors
that are there as controls, not as answers (optional). The report opens with the
answer (analysis/answer.py): each option against the baseline and the options head to head,
as paired differences over replications (common random numbers) with 95 % t intervals.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Point = dict[str, bool | int | float | str]


class Question(BaseModel):
    """The `[question]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    text: Annotated[str, Field(min_length=1)]
    metrics: Annotated[list[str], Field(min_length=1, max_length=2)]
    baseline: Point
    options: Annotated[dict[str, Point], Field(min_length=1)]
    controls: list[str] = []


def question_problems(source: str, question: Question | None, design: Any, outcomes: list[str]) -> list[str]:
    """One line per problem of the question: a metric the study does not store, a point that
    is not one of the design's. `design` is the study's :class:`sim.experiment.study.Design`
    (not imported: the study module imports this one)."""
    if question is None:
        return []
    out: list[str] = []
    for k, metric in enumerate(question.metrics):
        if metric in question.metrics[:k]:
            out.append(f"{source}: question.metrics[{k}]: {quoted(metric)} is listed twice; name each metric once")
        elif metric not in outcomes:
            out.append(f"{source}: question.metrics[{k}]: unknown metric {quoted(metric)}: not one of the study's "
                       f"outcomes ({', '.join(map(quoted, outcomes))}); name it in [study] outcomes too")
    if design.kind not in ("grid", "rows"):
        return [*out, f"{source}: question: a question compares design points, and a '{design.kind}' design has "
                      "none fixed in advance; use kind = 'grid' or 'rows'"]
    names = list(design.rows[0]) if design.kind == "rows" else list(design.factors)
    for k, name in enumerate(question.controls):
        if name not in names or name in question.controls[:k]:
            out.append(f"{source}: question.controls[{k}]: {quoted(name)} is "
                       f"{'listed twice' if name in names else 'not a factor of the design'} "
                       f"(factors: {', '.join(quoted(n) for n in names)}); name each control factor once")
    out += point_problems(f"{source}: question.baseline", question.baseline, design)
    for name, point in question.options.items():
        out += point_problems(f"{source}: question.options.{quoted(name)}", point, design)
    return out


def point_problems(where: str, point: Point, design: Any) -> list[str]:
    """Problems of one named point: factors missing or unknown, or values not in the design."""
    names = list(design.rows[0]) if design.kind == "rows" else list(design.factors)
    unknown = [f for f in point if f not in names]
    missing = [f for f in names if f not in point]
    out = [f"{where}: unknown factor {quoted(f)} (factors: {', '.join(quoted(n) for n in names)})" for f in unknown]
    if missing:
        out.append(f"{where}: give a value for every factor (missing: {', '.join(quoted(f) for f in missing)})")
    if out:
        return out
    if design.kind == "rows":
        if not any(all(same(row[f], point[f]) for f in names) for row in design.rows):
            out.append(f"{where}: not a design point: no row of design.rows has these values")
        return out
    for f in names:
        levels = design.factors[f]
        if not any(same(level, point[f]) for level in levels):  # grid: every factor is a list of levels
            out.append(f"{where}: not a design point: {quoted(f)} = {point[f]!r} is not one of its levels {levels}")
    return out


def same(a: Any, b: Any) -> bool:
    """Two factor values as the design sees them: 4 and 4.0 are one level, True and 1 are not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return a == b


def quoted(name: str) -> str:
    """A name in double quotes, escaped when it holds line breaks or other unprintable
    characters (a problem stays on one line)."""
    return f'"{name}"' if name.isprintable() else json.dumps(name)
