"""Bad scenario input gets clear errors: one line per problem, every problem reported.

Each file in `tests/data/bad/` is `tests/data/minimal.toml` with mistakes, and states the exact
lines it must produce in its own `# expect:` comments (DESIGN.md section 5: a line is
`FILE: path.to.field: what is wrong (what was given, what is allowed)`). An expected line
ending in " ..." is a prefix, for messages whose tail comes from the TOML parser.

Also here: overrides by dotted path, and the `[policy]` levers written in by `apply_policy`.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from sim.experiment.study import load_study
from sim.scenario import (
    InputSpec,
    ScenarioError,
    apply_policy,
    load_scenario,
    parse_scenario,
    parse_value,
    secondary_need_t_per_day,
)

DATA = Path(__file__).parent / "data"
MINIMAL = DATA / "minimal.toml"
BAD_FILES = sorted((DATA / "bad").glob("*.toml"))
REPO = Path(__file__).resolve().parents[1]


def expected_lines(path: Path) -> list[str]:
    """The `# expect:` lines of a malformed file, prefixed with its path as load_scenario names it."""
    marker = "# expect: "
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"{path}: {line.removeprefix(marker)}" for line in lines if line.startswith(marker)]


def matches(problem: str, expected: str) -> bool:
    """Exact match, or a prefix match when the expectation ends in ' ...'."""
    if expected.endswith(" ..."):
        return problem.startswith(expected.removesuffix("..."))
    return problem == expected


def problems_of(path: Path, overrides: dict | None = None) -> list[str]:
    """The problems load_scenario reports for a file, or load_study for a study file such as
    bad/46-48 (fails the test if it loads)."""
    with pytest.raises(ScenarioError) as info:
        if path.parent.name == "bad" and path.is_file() and b"\n[study]\n" in path.read_bytes():
            load_study(path)
        else:
            load_scenario(path, overrides)
    return info.value.problems


def variant(tmp_path: Path, *edits: tuple[str, str], name: str = "variant.toml") -> Path:
    """A copy of the minimal scenario with text replacements (each must match exactly once)."""
    text = MINIMAL.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"edit target {old!r} must occur once"
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the malformed files ---------------------------------------------------------------------


def test_minimal_scenario_is_valid() -> None:
    assert load_scenario(MINIMAL).scenario.name == "Brewery and farm"


def test_at_least_fifteen_different_malformed_files() -> None:
    assert len(BAD_FILES) >= 15
    assert all(expected_lines(p) for p in BAD_FILES), "every bad file states its expected lines"


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_malformed_file_reports_exactly_its_problems(path: Path) -> None:
    problems = problems_of(path)
    expected = expected_lines(path)
    assert len(problems) == len(expected), "\n".join(problems)
    for problem, want in zip(problems, expected, strict=True):
        assert matches(problem, want), f"\n got: {problem}\nwant: {want}"


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_each_problem_is_one_line_naming_the_file(path: Path) -> None:
    for problem in problems_of(path):
        assert "\n" not in problem
        assert problem.startswith(f"{path}: ")
        assert len(problem.split(": ", 2)) == 3, "FILE: path.to.field: message"


def test_all_field_problems_in_one_file_are_reported() -> None:
    problems = problems_of(DATA / "bad" / "29_several_field_problems.toml")
    fields = [p.split(": ")[1] for p in problems]
    assert fields == [
        "facilities.brewery.outputs.grain.rate_t_per_day",
        "facilities.farm.inputs.feed.substitutes.grain.max_share",
        "contracts.grain-to-farm.volume_t_per_day",
        "contracts.grain-to-farm.volum_t_per_day",
    ]


def test_all_reference_problems_in_one_file_are_reported() -> None:
    problems = problems_of(DATA / "bad" / "30_several_reference_problems.toml")
    assert [p.split(": ")[1] for p in problems] == [
        "contracts.grain-to-farm.buyer",
        "events.[0].facility",
        "events.[0].day",
    ]


def test_ids_with_line_breaks_are_escaped_in_problem_lines() -> None:
    raw = tomllib.loads(MINIMAL.read_text(encoding="utf-8"))
    raw["materials"][0]["id"] = "grain\r"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, "x.toml")
    assert all(len(p.splitlines()) == 1 for p in info.value.problems), info.value.problems
    assert "(defined: \"grain\\r\", feed)" in info.value.problems[-1]


def test_misspelt_key_is_an_error_not_a_default(tmp_path: Path) -> None:
    path = variant(tmp_path, ("demand_t_per_day = 4.0", "demand_t_per_day = 4.0\nbuffer_tonnes = 30.0"))
    assert problems_of(path) == [
        f"{path}: facilities.farm.inputs.feed.buffer_tonnes: unknown field (given 30.0); did you mean `buffer_t`? "
        "see the fields of [[facilities.inputs]] in docs/reference.md#facilities-inputs"
    ]


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "no_such_scenario.toml"
    assert problems_of(path) == [f"{path}: file not found"]


def test_folder_instead_of_file_is_one_line(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == [f"{tmp_path}: is a folder, not a TOML file"]


def test_toml_syntax_error_names_the_line() -> None:
    (problem,) = problems_of(DATA / "bad" / "31_toml_syntax.toml")
    assert "(TOML syntax)" in problem
    assert "line 5" in problem  # the unterminated name = "..., after the 3-line header


def test_invalid_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[scenario]\nname = "Brænderi"\n'.encode("latin-1"))
    assert problems_of(path) == [f"{path}: is not UTF-8 text"]


# --- overrides -------------------------------------------------------------------------------


def test_star_override_sets_penalty_on_every_contract() -> None:
    sc = load_scenario(REPO / "scenarios" / "brewery_farms.toml", {"contracts.*.penalty_per_t_short": 7.5})
    assert len(sc.contracts) > 1
    assert {c.penalty_per_t_short for c in sc.contracts} == {7.5}


def test_star_override_reaches_the_items_that_have_the_rest_of_the_path() -> None:
    # Only some facilities of the market buy feed: those get the margin, the rest are passed over.
    path = REPO / "scenarios" / "redundancy_market.toml"
    before = load_scenario(path)
    with_feed = {f.id for f in before.facilities if any(i.material == "feed" for i in f.inputs)}
    assert 0 < len(with_feed) < len(before.facilities)
    sc = load_scenario(path, {"facilities.*.inputs.feed.lost_margin_per_t": 500.0})
    for f, old in zip(sc.facilities, before.facilities, strict=True):
        assert f.inputs == old.inputs if f.id not in with_feed else all(
            i.lost_margin_per_t == (500.0 if i.material == "feed" else o.lost_margin_per_t)
            for i, o in zip(f.inputs, old.inputs, strict=True)
        )
    problems = problems_of(path, {"facilities.*.inputs.fed.lost_margin_per_t": 500.0})
    assert problems == [f"{path}: facilities.*.inputs.fed.lost_margin_per_t: cannot override: no item 'fed' "
                        "under 'facilities.*.inputs' in any of the items * matched"]


def test_override_addresses_a_contract_by_id() -> None:
    sc = load_scenario(
        REPO / "scenarios" / "brewery_farms.toml", {"contracts.grain-north.penalty_per_t_short": 99.0}
    )
    assert sc.contract("grain-north").penalty_per_t_short == 99.0
    assert sc.contract("grain-east").penalty_per_t_short == 20.0


def test_override_addresses_an_input_by_material() -> None:
    sc = load_scenario(MINIMAL, {"facilities.farm.inputs.feed.buffer_t": 30.0})
    assert sc.facility("farm").inputs[0].buffer_t == 30.0


def test_policy_override_works_on_a_file_without_policy_section() -> None:
    assert "[policy]" not in MINIMAL.read_text(encoding="utf-8")
    sc = load_scenario(MINIMAL, {"policy.buffer_days": 3.0})
    assert sc.policy.buffer_days == 3.0


def test_override_does_not_change_the_file(tmp_path: Path) -> None:
    path = tmp_path / "copy.toml"
    shutil.copy(MINIMAL, path)
    before = path.read_bytes()
    load_scenario(path, {"facilities.farm.inputs.feed.buffer_t": 30.0})
    assert path.read_bytes() == before
    assert load_scenario(path).facility("farm").inputs[0].buffer_t == 0.0


def test_override_to_a_nonexistent_list_item_is_an_error() -> None:
    assert problems_of(MINIMAL, {"contracts.grain-to-town.penalty_per_t_short": 5.0}) == [
        f"{MINIMAL}: contracts.grain-to-town.penalty_per_t_short: cannot override: "
        "no item 'grain-to-town' in contracts (items: grain-to-farm)"
    ]


def test_override_to_a_nonexistent_input_is_an_error() -> None:
    assert problems_of(MINIMAL, {"facilities.farm.inputs.water.buffer_t": 5.0}) == [
        f"{MINIMAL}: facilities.farm.inputs.water.buffer_t: cannot override: "
        "no item 'water' in facilities.farm.inputs (items: feed)"
    ]


def test_override_that_names_a_whole_list_item_is_an_error() -> None:
    assert problems_of(MINIMAL, {"contracts.grain-to-farm": 5.0}) == [
        f"{MINIMAL}: contracts.grain-to-farm: cannot override: "
        "'contracts.grain-to-farm' names a list; address an item by id or *"
    ]


def test_override_through_a_value_is_an_error() -> None:
    assert problems_of(MINIMAL, {"scenario.name.short": "x"}) == [
        f"{MINIMAL}: scenario.name.short: cannot override: 'scenario.name' is not a table"
    ]


def test_override_with_empty_path_part_is_an_error() -> None:
    assert problems_of(MINIMAL, {"contracts..penalty_per_t_short": 5.0}) == [
        f"{MINIMAL}: contracts..penalty_per_t_short: cannot override: "
        "empty part in path 'contracts..penalty_per_t_short'"
    ]


def test_override_path_with_a_line_break_stays_on_one_line() -> None:
    # found by hypothesis (tests/robustness/test_fuzz_inputs.py): the path ".\r" split the line
    assert problems_of(MINIMAL, {".\r": 5.0}) == [
        f"{MINIMAL}: \".\\r\": cannot override: empty part in path '.\\r'"
    ]


def test_override_into_a_missing_list_names_the_missing_item() -> None:
    # farm has inputs but no outputs: the path must not create an `outputs` table.
    (problem,) = problems_of(MINIMAL, {"facilities.farm.outputs.grain.rate_t_per_day": 3.0})
    assert problem.startswith(
        f"{MINIMAL}: facilities.farm.outputs.grain.rate_t_per_day: cannot override: no item 'grain'"
    )


def test_every_bad_override_is_reported() -> None:
    problems = problems_of(MINIMAL, {"contracts.nope.price_per_t": 1.0, "facilities.barn.id": "x"})
    assert [p.split(": ")[1] for p in problems] == ["contracts.nope.price_per_t", "facilities.barn.id"]


def test_overridden_value_is_validated() -> None:
    assert problems_of(MINIMAL, {"contracts.*.penalty_per_t_short": -1.0}) == [
        f"{MINIMAL}: contracts.grain-to-farm.penalty_per_t_short: "
        "Input should be greater than or equal to 0 (given -1.0)"
    ]


def test_misspelt_override_field_is_an_error() -> None:
    assert problems_of(MINIMAL, {"facilities.farm.inputs.feed.bufer_t": 30.0}) == [
        f"{MINIMAL}: facilities.farm.inputs.feed.bufer_t: unknown field (given 30.0); did you mean `buffer_t`? "
        "see the fields of [[facilities.inputs]] in docs/reference.md#facilities-inputs"
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("2.5", 2.5),
        ("true", True),
        ('"pro_rata"', "pro_rata"),
        ("pro_rata", "pro_rata"),
        ("[0, 7]", [0, 7]),
    ],
)
def test_override_values_are_read_as_toml(text: str, value: object) -> None:
    assert parse_value(text) == value


# --- policy levers ---------------------------------------------------------------------------


def test_buffer_days_sets_buffer_to_days_times_secondary_need() -> None:
    # minimal.toml: demand 4 t/day feed, grain up to 50 % at 0.25 t feed per t grain
    # -> 4 x 0.5 / 0.25 = 8 t grain/day; 3 days -> 24 t.
    sc = apply_policy(load_scenario(MINIMAL, {"policy.buffer_days": 3.0}))
    assert sc.facility("farm").inputs[0].buffer_t == pytest.approx(24.0)


def test_buffer_days_replaces_the_initial_buffer() -> None:
    overrides = {
        "facilities.farm.inputs.feed.buffer_t": 40.0,
        "facilities.farm.inputs.feed.initial_buffer_t": 10.0,
        "policy.buffer_days": 1.0,
    }
    inp = apply_policy(load_scenario(MINIMAL, overrides)).facility("farm").inputs[0]
    assert inp.buffer_t == pytest.approx(8.0)
    assert inp.initial_buffer_t is None


def test_buffer_days_zero_removes_every_buffer() -> None:
    sc = apply_policy(load_scenario(REPO / "scenarios" / "brewery_farms.toml", {"policy.buffer_days": 0.0}))
    assert all(i.buffer_t == 0.0 for f in sc.facilities for i in f.inputs)


def test_secondary_need_fills_substitutes_in_order_up_to_their_shares() -> None:
    # 10 t/day: the first substitute covers 30 % = 3 t functional at 0.5 -> 6 t;
    # the second covers the remaining 7 t (its 90 % cap is not reached) at 1.0 -> 7 t.
    inp = InputSpec(
        material="feed",
        demand_t_per_day=10.0,
        substitutes=[
            {"material": "a", "ratio": 0.5, "max_share": 0.3},
            {"material": "b", "ratio": 1.0, "max_share": 0.9},
        ],
    )
    assert secondary_need_t_per_day(inp) == pytest.approx(13.0)


def test_penalty_policy_overrides_every_contract() -> None:
    sc = apply_policy(
        load_scenario(REPO / "scenarios" / "brewery_farms.toml", {"policy.penalty_per_t_short": 4.0})
    )
    assert {c.penalty_per_t_short for c in sc.contracts} == {4.0}


def test_policy_without_levers_changes_nothing() -> None:
    sc = load_scenario(MINIMAL)
    assert apply_policy(sc) == sc


# --- known gaps in sim/scenario.py (strict: remove the marker when fixed) ----------------------


def test_field_and_reference_problems_are_reported_together(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        ("rate_t_per_day = 10.0", "rate_t_per_day = -10.0"),
        ('buyer = "farm"', 'buyer = "farms"'),
    )
    fields = [p.split(": ")[1] for p in problems_of(path)]
    assert fields == ["facilities.brewery.outputs.grain.rate_t_per_day", "contracts.grain-to-farm.buyer"]


def test_substitute_limit_on_unknown_property_is_an_error(tmp_path: Path) -> None:
    path = variant(tmp_path, ("max_share = 0.5", "max_share = 0.5, quality_limits = { asj = { max = 5.0 } }"))
    assert any("quality_limits.asj" in p for p in problems_of(path))


def test_nan_quality_limit_is_an_error(tmp_path: Path) -> None:
    path = variant(
        tmp_path, ("volume_t_per_day = 8.0", "volume_t_per_day = 8.0\nquality_spec = { ash = { max = nan } }")
    )
    assert any("quality_spec.ash.max" in p for p in problems_of(path))


def test_events_are_named_the_same_way_by_every_check(tmp_path: Path) -> None:
    event = '\n[[events]]\nday = -1.0\nkind = "stream_end"\nfacility = "brewery"\nmaterial = "grain"\n'
    path = variant(tmp_path, ("volume_t_per_day = 8.0\n", "volume_t_per_day = 8.0\n" + event))
    assert [p.split(": ")[1] for p in problems_of(path)] == ["events.[0].day"]
