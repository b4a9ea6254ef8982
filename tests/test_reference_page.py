"""docs/reference.md is generated from the schema (issue 25 item 1), and an unknown key names
the closest valid field and the table where it is documented (item 2)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from sim.experiment.study import StudyError, StudyFile, load_study
from sim.reference import main, reference_markdown
from sim.scenario import Scenario, ScenarioError, parse_scenario, read_toml
from sim.scenario.reference import tables

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "reference.md"
MINIMAL = REPO / "tests" / "data" / "minimal.toml"


def test_reference_page_is_what_the_schema_gives() -> None:
    assert PAGE.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/reference.md is out of date: run python -m sim.reference > docs/reference.md"
    )


def test_check_flag_fails_on_a_stale_page(tmp_path: Path) -> None:
    stale = tmp_path / "reference.md"
    stale.write_text(reference_markdown().replace("rate_t_per_day", "rate_per_day"), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    stale.write_text(reference_markdown(), encoding="utf-8")
    assert main(["--check", str(stale)]) == 0


@pytest.mark.parametrize("root", [Scenario, StudyFile], ids=["scenario", "study"])
def test_every_field_of_every_table_has_a_row_with_a_meaning(root: type[BaseModel]) -> None:
    page = PAGE.read_text(encoding="utf-8")
    for table in tables(root):
        section = page.split(f'<a id="{table.anchor}"></a>', 1)[1].split("<a id=", 1)[0]
        for name in table.model.model_fields:
            row = re.search(rf"^\| `{name}` \| ([^|]+) \|", section, re.MULTILINE)
            assert row is not None, f"{table.header}.{name} has no row"
            assert row.group(1).strip(), f"{table.header}.{name} has no meaning"


def test_campaign_rate_row_says_the_rate_is_a_calendar_mean_before_outages() -> None:
    section = PAGE.read_text(encoding="utf-8").split('<a id="facilities-outputs"></a>', 1)[1]
    row = next(line for line in section.splitlines() if line.startswith("| `rate_t_per_day`"))
    assert "per calendar day while the plant is up" in row and "packs" in row and "availability" in row
    assert "| t/day |" in row and "`required`" in row


def _problems(raw: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, "x.toml")
    return info.value.problems


@pytest.mark.parametrize(
    ("where", "wrong", "right", "anchor"),
    [
        (("facilities", 0, "outputs", 0, "pattern"), "start_day", "phase_days", "facilities-outputs-pattern"),
        (("facilities", 1, "inputs", 0), "initial_stock_t", "initial_buffer_t", "facilities-inputs"),
        (("contracts", 0), "take_or_pay_share", "take_or_pay", "contracts"),
        (("facilities", 1, "inputs", 0), "demand_per_day", "demand_t_per_day", "facilities-inputs"),
        (("facilities", 0, "outputs", 0), "rate_per_day", "rate_t_per_day", "facilities-outputs"),
    ],
)
def test_unknown_field_suggests_the_right_name(where: tuple, wrong: str, right: str, anchor: str) -> None:
    raw = read_toml(MINIMAL)
    node = raw
    for key in where:
        node = node.setdefault(key, {}) if key == "pattern" else node[key]
    node[wrong] = 1.0
    lines = [p for p in _problems(raw) if f".{wrong}: unknown field" in p]
    assert len(lines) == 1, _problems(raw)
    assert f"did you mean `{right}`?" in lines[0]
    assert lines[0].endswith(f"docs/reference.md#{anchor}")
    assert f'<a id="{anchor}"></a>' in PAGE.read_text(encoding="utf-8")


def test_unknown_study_field_points_to_the_study_table(tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    study.write_text(f'[study]\nname = "s"\nscenario = "{MINIMAL}"\nreplications = 2\nseed = 1\nsed = 3\n'
                     '[design]\nkind = "grid"\nfactors = { "policy.buffer_days" = [1.0, 2.0] }\n', encoding="utf-8")
    with pytest.raises(StudyError) as info:
        load_study(study)
    assert any(line.endswith("study.sed: unknown field (given 3); did you mean `seed`? see the fields of [study] in "
                              "docs/reference.md#study") for line in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    ("change", "fix"),
    [
        ({"virgin": "stockpile"}, "virgin = 'stockpile' needs a stockpile table (capacity_t, reorder_point_t, "
                                  "order_up_to_t)"),
        ({"stockpile": {"capacity_t": 9.0, "reorder_point_t": 1.0, "order_up_to_t": 5.0}},
         "stockpile applies only to virgin = 'stockpile' (given 'market'); set virgin = 'stockpile' or remove the "
         "stockpile table"),
        ({"initial_buffer_t": 5.0}, "initial_buffer_t exceeds buffer_t (5.0 > 0.0); lower initial_buffer_t or "
                                    "raise buffer_t"),
    ],
)
def test_an_input_refused_for_a_combination_says_what_to_write(change: dict, fix: str) -> None:
    raw = read_toml(MINIMAL)
    raw["facilities"][1]["inputs"][0].update(change)
    assert _problems(raw) == [f"x.toml: facilities.farm.inputs.feed: {fix}"]


def test_a_primary_contract_with_backup_terms_is_told_to_change_role_or_remove_them() -> None:
    raw = read_toml(MINIMAL)
    raw["contracts"][0]["standby_fee_per_day"] = 3.0
    assert _problems(raw) == ["x.toml: contracts.grain-to-farm: standby_fee_per_day applies only to role = 'backup'; "
                              "set role = 'backup' or remove standby_fee_per_day"]


def test_every_example_is_one_line_of_toml_for_a_real_field() -> None:
    from sim.scenario.reference import EXAMPLES, example_line

    for root in (Scenario, StudyFile):
        for table in tables(root):
            for name, info in table.model.model_fields.items():
                line = example_line(name, info, table.model.__name__)
                if line.startswith("["):  # a table header, with a note of what follows
                    continue
                assert list(tomllib.loads(line)) == [name], f"{table.header}.{name}: {line}"
    models = {t.model.__name__: t.model for root in (Scenario, StudyFile) for t in tables(root)}
    assert [k for k in EXAMPLES if k[0] not in models or k[1] not in models[k[0]].model_fields] == []
