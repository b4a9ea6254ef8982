"""A study that names its outcomes and marks an uncertainty: the report's headline table has
exactly those outcomes, and its "best" is a lever setting ranked over the uncertainty levels,
never an uncertainty level."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.report import build_report
from sim.experiment.runner import run_study
from sim.experiment.study import load_study

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.toml"
RATE = "facilities.brewery.outputs.spent_grain.rate_t_per_day"
BUFFER = "policy.buffer_days"
PENALTY = "contracts.*.penalty_per_t_short"
OUTCOMES = ["facility:farm:net_benefit", "waste_exchanged_t", "contract:grain-to-farm:short_t"]


def _study(tmp_path: Path, *, uncertainties: bool = True) -> Path:
    marked = f'uncertainties = ["{RATE}"]\n' if uncertainties else ""
    text = (
        f'[study]\nname = "levers"\nscenario = "{TINY}"\nreplications = 3\nseed = 11\nhorizon_days = 40\n'
        f"outcomes = {OUTCOMES!r}\n".replace("'", '"')
        + f'\n[design]\nkind = "grid"\n{marked}[design.factors]\n"{BUFFER}" = [0, 5]\n'
        f'"{PENALTY}" = [0.0, 60.0]\n"{RATE}" = [4.0, 12.0]\n'
    )
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[str, object]:
    tmp = tmp_path_factory.mktemp("levers")
    result = run_study(load_study(_study(tmp)), tmp / "out", workers=1, quiet=True)
    return build_report(tmp / "out").read_text(encoding="utf-8"), result.runs


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_headline_table_has_exactly_the_named_outcomes(report):
    text, _ = report
    header = next(line for line in _section(text, "Outcomes per design point").splitlines() if line.startswith("|"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells == ["point", BUFFER, PENALTY, RATE, *OUTCOMES]


def test_best_is_the_lever_setting_with_the_best_mean_over_the_uncertainty(report):
    text, runs = report
    reading = _section(text, "Reading")
    assert "Best design point" not in text
    best_line = next(line for line in reading.splitlines() if "Best lever setting" in line)
    # the direct computation: per lever setting, the mean over replications and rate levels
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby([BUFFER, PENALTY])[OUTCOMES[0]].mean()
    buffer_days, penalty = means.idxmax()
    assert f"**Best lever setting by mean {OUTCOMES[0]} over the uncertainties (`{RATE}`): " in best_line
    assert f"`{BUFFER}` = {buffer_days}, `{PENALTY}` = {penalty}**" in best_line
    # no "best" or "runner-up" line gives the uncertainty a level
    for line in reading.splitlines():
        if re.search(r"best|runner-up|tied", line, re.IGNORECASE):
            assert f"`{RATE}` =" not in line, line


def test_each_lever_setting_is_shown_at_each_uncertainty_level(report):
    text, runs = report
    table = _section(text, "Lever settings across the uncertainties")
    block = table.split(f"### {OUTCOMES[0]}\n", 1)[1].split("###", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header == ["lever setting", "brewery rate t per day = 4.0", "brewery rate t per day = 12.0",
                      "over the uncertainties"]
    assert len(rows) == 2 + 4  # header, rule, 2 x 2 lever settings
    ok = runs[runs["status"] == "ok"]
    at = ok[(ok[BUFFER] == 5) & (ok[PENALTY] == 60.0) & (ok[RATE] == 4.0)][OUTCOMES[0]].mean()
    row = next(r for r in rows if f"`{BUFFER}` = 5, `{PENALTY}` = 60.0 " in r)
    assert row.split("|")[2].strip().startswith(f"{at:.4g} [")


def test_without_uncertainties_the_best_is_a_design_point_by_the_first_outcome(tmp_path):
    run_study(load_study(_study(tmp_path, uncertainties=False)), tmp_path / "out", workers=1, quiet=True)
    text = build_report(tmp_path / "out").read_text(encoding="utf-8")
    assert f"Best design point by mean {OUTCOMES[0]}: #" in text
    assert "## Lever settings across the uncertainties" not in text


def test_levers_never_crossed_with_the_uncertainty_get_no_best(tmp_path):
    """Rows that pair each buffer with one rate: a choice cannot be told from the luck of the
    year, so no setting (and no design point) is called best."""
    text = (
        f'[study]\nname = "confounded"\nscenario = "{TINY}"\nreplications = 2\nseed = 11\nhorizon_days = 40\n'
        f'\n[design]\nkind = "rows"\nuncertainties = ["{RATE}"]\n'
        f'rows = [{{ "{BUFFER}" = 0, "{RATE}" = 4.0 }}, {{ "{BUFFER}" = 5, "{RATE}" = 12.0 }}]\n'
    )
    (tmp_path / "study.toml").write_text(text, encoding="utf-8")
    run_study(load_study(tmp_path / "study.toml"), tmp_path / "out", workers=1, quiet=True)
    reading = _section(build_report(tmp_path / "out").read_text(encoding="utf-8"), "Reading")
    assert "No best lever setting: each lever setting appears at one level of the uncertainties" in reading
    assert not re.search(r"\*\*Best", reading)


def test_the_heatmaps_are_of_the_first_two_named_outcomes(report, tmp_path_factory):
    text, _ = report
    figures = _section(text, "Figures")
    shown = re.findall(r"!\[(heatmap_[^\]]+)\]\(figures/([^)]+)\)", figures)
    assert shown == [(f"heatmap_{OUTCOMES[0]}", "heatmap_facility-farm-net_benefit.png"),
                     (f"heatmap_{OUTCOMES[1]}", f"heatmap_{OUTCOMES[1]}.png")]
    assert f"Mean {OUTCOMES[0]} per cell" in figures
