"""Which engine runs a network's days: the object core (the reference) or the array day.

`policy.engine` is `auto`, `objects` or `arrays`. The array day (sim/arrayday.py, with each
step's column code beside its object step in sim/day/) covers every daily rule except those
:func:`problems` names; a network with any of them runs on the object core, and `arrays` on it
is bad input. The rule for new daily rules: the object core is the reference, so a new rule
goes there first (its step's module in sim/day/), and into :func:`problems` until its column
version exists with its equality test in tests/test_arrayday.py (docs/array-core.md).
"""

from __future__ import annotations

from sim.scenario import Scenario, ScenarioError

_MAX_SUBSTITUTES = 13  # item keys leave this many substitute slots per input (then virgin, emergency, lost)

# `policy.engine = "auto"` takes the array day from this many facilities on (benchmarks/
# bench_engines.py measures where the two engines cross; see benchmarks/RESULTS.md).
AUTO_MIN_FACILITIES = 120


def problems(spec: Scenario) -> list[str]:
    """What the scenario has that the array day does not cover (read from the file's terms, so
    that it holds for the network the model resolves from them); empty when it can run on
    arrays."""
    from sim.network import intermediary_usable

    out: list[str] = []
    if intermediary_usable(spec):
        out.append("an intermediary")
    if spec.policy.adaptive or (spec.policy.adaptive is None and spec.behaviour is not None):
        out.append("agents' decisions (policy.adaptive or [behaviour])")
    if any(c.catch_up_t_per_day > 0 for c in spec.contracts):
        out.append("contracts' catch-up terms (catch_up_t_per_day)")
    inputs = [i for f in spec.facilities for i in f.inputs]
    if any(len(i.substitutes) > _MAX_SUBSTITUTES for i in inputs):
        out.append(f"inputs with more than {_MAX_SUBSTITUTES} substitutes")
    return out


def engine_problems(spec: Scenario, source: str) -> list[str]:
    """`policy.engine = "arrays"` on a network the array day does not cover, one line per
    mechanism, as the validate command, a study's checks and the model itself refuse it. Not a
    check of parse_scenario: the scenario package knows no engine."""
    return _refusals(problems(spec), source) if spec.policy.engine == "arrays" else []


def _refusals(missing: list[str], source: str) -> list[str]:
    return [f"{source}: policy.engine: 'arrays' does not cover {what}; use 'auto' or 'objects'" for what in missing]


def pick_engine(spec: Scenario, lever: str, n_facilities: int, collect_series: bool) -> str:
    """`policy.engine` (`lever`) as a run of `spec` takes it: "objects" or "arrays". `auto`
    takes arrays for the networks they cover from AUTO_MIN_FACILITIES facilities on, when no
    daily series is collected (the series read the objects, which the array day would then
    write back every day, at about the cost of the object core's day). `arrays` on a network
    they do not cover is bad input: a ScenarioError, one line per problem."""
    if lever == "objects":
        return "objects"
    missing = problems(spec)
    if lever == "arrays":
        if missing:  # as the validate command and a study's checks say
            raise ScenarioError(_refusals(missing, "<scenario>"))
        return "arrays"
    large = n_facilities >= AUTO_MIN_FACILITIES
    return "arrays" if large and not missing and not collect_series else "objects"
