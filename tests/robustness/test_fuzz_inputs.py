"""Fuzzing of scenario and study loading: any input gives ScenarioError / StudyError with
one-line problems, never another exception (DESIGN.md section 9, issue 9 part 3).

Inputs are mutated shipped files (a key deleted, a value of the wrong type, a negative or
non-finite number, an unknown key, random unicode) and random TOML-shaped structures. The
loaders are called directly for speed; a few cases go through `run_experiments.py validate`
as a subprocess to check the whole path down to the exit status.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.experiment.design import build_design
from sim.experiment.study import StudyError, load_study
from sim.scenario import ScenarioError, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_FILES = [
    *sorted((ROOT / "scenarios").glob("*.toml")),
    ROOT / "tests" / "data" / "tiny.toml",
    ROOT / "tests" / "data" / "minimal.toml",
]
SCENARIOS = {p.name: tomllib.loads(p.read_text(encoding="utf-8")) for p in SCENARIO_FILES}
STUDY_FILES = sorted((ROOT / "scenarios" / "studies").glob("*.toml"))
STUDIES = {p.name: tomllib.loads(p.read_text(encoding="utf-8")) for p in STUDY_FILES}

# FUZZ_EXAMPLES=2000 for a longer hunt than the CI default.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- values TOML can hold ------------------------------------------------------------------

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([-1, 0, -1.0, -0.0, 1e308, -1e308, math.inf, -math.inf, math.nan, 2**62]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", " ", "\x00", "é", "🏭", "*", "..", "a.b", "normal", "lognormal", "grid"]),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 1, 1)),
    st.dates(),
)
toml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated(draw: st.DrawFn, corpus: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A shipped file with one to three mutations."""
    name = draw(st.sampled_from(sorted(corpus)))
    raw = copy.deepcopy(corpus[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(raw)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(raw, path)
        key = path[-1]
        action = draw(st.sampled_from(["delete", "replace", "negate", "unknown", "unicode", "empty"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(toml_values)
        elif action == "negate":
            value = parent[key]
            if isinstance(value, int | float) and not isinstance(value, bool):
                parent[key] = -value if value else -1
            else:
                parent[key] = draw(st.sampled_from([-1, -0.5, -1e9, math.nan, math.inf]))
        elif action == "unknown":
            target = parent[key] if isinstance(parent[key], dict) else parent
            if isinstance(target, dict):
                target[draw(st.text(min_size=1, max_size=8))] = draw(scalars)
            else:
                target.append(draw(toml_values))
        elif action == "unicode":
            parent[key] = draw(st.text(min_size=0, max_size=20))
        else:
            parent[key] = draw(st.sampled_from([[], {}, "", 0]))
    return name, raw


def _check_problems(err: ScenarioError) -> None:
    assert err.problems, "an error with no problem lines"
    for line in err.problems:
        assert isinstance(line, str) and line.strip()
        assert len(line.splitlines()) == 1, f"a problem spans lines: {line!r}"
        assert "Traceback" not in line


def _parse(raw: dict[str, Any], source: str = "fuzz.toml") -> None:
    try:
        parse_scenario(raw, source)
    except ScenarioError as err:
        _check_problems(err)


# --- scenarios -----------------------------------------------------------------------------


@FUZZ
@given(mutated(SCENARIOS))
def test_mutated_scenarios_give_only_scenario_errors(case):
    _name, raw = case
    _parse(raw)


@FUZZ
@given(st.dictionaries(st.sampled_from(["scenario", "materials", "facilities", "contracts", "policy",
                                        "transport", "events", "formation", "intermediary",
                                        "behaviour", "distances"]) | st.text(max_size=6),
                       toml_values, max_size=6))
def test_random_structures_give_only_scenario_errors(raw):
    _parse(raw)


@FUZZ
@given(mutated(SCENARIOS), st.lists(st.tuples(st.text(max_size=30) | st.sampled_from(
    ["policy.buffer_days", "contracts.*.penalty_per_t_short", "facilities.*.outages.mtbf_days",
     "facilities..x", "*", "materials.*", "contracts.*", "scenario.horizon_days.x",
     "facilities.*.inputs.*.buffer_t"]), toml_values), max_size=3))
def test_random_overrides_give_only_scenario_errors(case, overrides):
    _name, raw = case
    try:
        parse_scenario(raw, "fuzz.toml", dict(overrides))
    except ScenarioError as err:
        _check_problems(err)


# --- studies -------------------------------------------------------------------------------


def _write_toml(path: Path, data: dict[str, Any]) -> bool:
    """Write `data` as TOML; False when it cannot be written as TOML (e.g. nan keys)."""
    try:
        path.write_text(_dumps(data), encoding="utf-8")
    except (TypeError, ValueError):
        return False
    return True


def _dumps(data: dict[str, Any]) -> str:
    """A minimal TOML writer: every table inline, enough for fuzzed data."""
    return "\n".join(f"{_key(k)} = {_value(v)}" for k, v in data.items()) + "\n"


def _key(key: str) -> str:
    return '"' + "".join(_char(c) for c in key) + '"'


def _char(c: str) -> str:
    if c in '"\\':
        return "\\" + c
    if ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF:
        if 0xD800 <= ord(c) <= 0xDFFF:
            raise ValueError("surrogate")
        return f"\\u{ord(c):04x}"
    return c


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _key(v)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-studies")


def _load_study(path: Path) -> None:
    try:
        study = load_study(path)
        build_design(study.design, study.seed, str(path))
    except StudyError as err:
        _check_problems(err)


@settings(max_examples=max(10, EXAMPLES // 2), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(mutated(STUDIES))
def test_mutated_studies_give_only_study_errors(study_dir, case):
    name, raw = case
    # The shipped studies name their scenario relative to their folder.
    raw_scn = raw.get("study", {}).get("scenario") if isinstance(raw.get("study"), dict) else None
    if isinstance(raw_scn, str) and raw_scn.startswith(".."):
        raw["study"]["scenario"] = str((STUDY_FILES[0].parent / raw_scn).resolve())
    path = study_dir / f"m-{name}"
    if _write_toml(path, raw):
        _load_study(path)


@settings(max_examples=max(10, EXAMPLES // 2), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries(
    {"study": st.fixed_dictionaries(
        {"name": st.text(max_size=5), "scenario": st.just(str(ROOT / "tests" / "data" / "tiny.toml")),
         "replications": scalars, "seed": scalars},
        optional={"horizon_days": scalars, "series": scalars, "overrides": toml_values}),
     "design": st.fixed_dictionaries(
        {"kind": st.sampled_from(["grid", "rows", "lhs", "sobol", "morris", "x"])},
        optional={"factors": st.dictionaries(st.sampled_from(["policy.buffer_days",
                                                              "contracts.*.penalty_per_t_short",
                                                              "nope.x", "*"]), toml_values, max_size=3),
                  "rows": toml_values, "samples": scalars, "levels": scalars,
                  "second_order": scalars, "reference": toml_values})}))
def test_random_studies_give_only_study_errors(study_dir, raw):
    path = study_dir / "random.toml"
    if _write_toml(path, raw):
        _load_study(path)


def test_the_toml_writer_round_trips_a_shipped_study(tmp_path):
    raw = STUDIES[STUDY_FILES[0].name]
    path = tmp_path / "s.toml"
    assert _write_toml(path, raw)
    assert tomllib.loads(path.read_text(encoding="utf-8")) == raw


# --- through the command line ----------------------------------------------------------------

CLI_CASES = {
    "deleted scenario table": lambda raw: raw.pop("scenario"),
    "negative horizon": lambda raw: raw["scenario"].__setitem__("horizon_days", -5),
    "text horizon": lambda raw: raw["scenario"].__setitem__("horizon_days", "一年"),
    "unknown key": lambda raw: raw.__setitem__("🏭", 1),
    "facilities not a list": lambda raw: raw.__setitem__("facilities", {"x": 1}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_validate_command_on_mutated_scenarios_exits_2_with_one_line_problems(tmp_path, case):
    raw = copy.deepcopy(SCENARIOS["tiny.toml"])
    CLI_CASES[case](raw)
    path = tmp_path / "bad.toml"
    assert _write_toml(path, raw)
    done = subprocess.run([sys.executable, str(ROOT / "run_experiments.py"), "validate", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and all(line.startswith(f"{path}: ") for line in lines)


@pytest.mark.slow
def test_validate_command_on_binary_garbage_exits_2(tmp_path):
    path = tmp_path / "garbage.toml"
    path.write_bytes(bytes(range(256)) * 4)
    done = subprocess.run([sys.executable, str(ROOT / "run_experiments.py"), "validate", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr


# --- regressions found by the fuzzing above --------------------------------------------------


def test_regression_an_unknown_key_with_a_line_break_is_reported_on_one_line():
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"\n": [], "scen\u2028ario": 1, "": 2}, "fuzz.toml")
    _check_problems(caught.value)
    assert 'fuzz.toml: "\\n": unknown field' in "\n".join(caught.value.problems)
    assert 'fuzz.toml: "": unknown field' in "\n".join(caught.value.problems)


@pytest.mark.parametrize("name", ["\x00", "a\nb.toml", "x" * 5000, "../" * 3 + "\u2028.toml"])
def test_regression_a_study_naming_an_impossible_scenario_file_gives_a_study_error(tmp_path, name):
    raw = copy.deepcopy(STUDIES["default.toml"])
    raw["study"]["scenario"] = name
    path = tmp_path / "s.toml"
    assert _write_toml(path, raw)
    with pytest.raises(StudyError) as caught:
        load_study(path)
    _check_problems(caught.value)
    assert any("study.scenario" in line for line in caught.value.problems)
