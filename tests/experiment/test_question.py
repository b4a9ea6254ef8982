"""A study's `[question]` (issue 22, deliverable 4): the report opens with its answer, paired
differences over replications with 95 % t intervals, equal to a hand computation from the
stored runs; a study without one keeps its report; a bad question is one line, exit 2; and the
shipped default study asks one whose points are in its design."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from run_experiments import main
from sim import run as sim_run
from sim.experiment.outcomes import item_values
from sim.experiment.seeds import replication_seed
from sim.experiment.study import StudyError, load_study
from sim.scenario import parse_scenario

REPO = Path(__file__).resolve().parents[2]
BUFFER, PENALTY = "policy.buffer_days", "contracts.*.penalty_per_t_short"
QUESTION = f"""
[question]
text = "Which buys more secondary supply per euro?"
metrics = ["secondary_fill_rate", "net_benefit"]
baseline = {{ "{BUFFER}" = 0, "{PENALTY}" = 0.0 }}
controls = ["{PENALTY}"]
[question.options]
"a buffer" = {{ "{BUFFER}" = 3, "{PENALTY}" = 0.0 }}
"a buffer and a penalty" = {{ "{BUFFER}" = 3, "{PENALTY}" = 50.0 }}
"""
T_975_5 = 2.5705818366147395  # Student t, 0.975 quantile, 5 degrees of freedom (6 replications)


def _run_study(path: Path, out: Path) -> list[str]:
    assert main(["run", str(path), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    return (out / "report.md").read_text(encoding="utf-8").splitlines()


def _by_hand(runs: pd.DataFrame, a: int, b: int, metric: str) -> str:
    """`metric` +mean [+low, +high]: the paired difference a - b and its t interval, by hand."""
    pa = runs[runs["design_point"] == a].set_index("replication")[metric]
    pb = runs[runs["design_point"] == b].set_index("replication")[metric]
    d = (pa - pb).to_numpy(float)
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    half = T_975_5 * sd / math.sqrt(n)
    return f"`{metric}` {mean:+.4g}{' EUR' if metric == 'net_benefit' else ''} [{mean - half:+.4g}, {mean + half:+.4g}]"


def test_the_report_opens_with_the_answer_computed_by_hand_from_the_stored_runs(write_study, tmp_path):
    path = write_study(replications=6, horizon_days=60)
    path.write_text(path.read_text(encoding="utf-8") + QUESTION, encoding="utf-8")
    lines = _run_study(path, tmp_path / "out")
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    firsts = runs.drop_duplicates("design_point")
    point = {(r[BUFFER], r[PENALTY]): int(r["design_point"]) for _, r in firsts.iterrows()}
    base, buffer, both = point[(0, 0.0)], point[(3, 0.0)], point[(3, 50.0)]
    # The title, then the question and the answer: the report's first paragraph.
    assert lines[2] == "**Question.** Which buys more secondary supply per euro?"
    assert lines[4].startswith("**Answer.** ")
    assert "Paired differences over 6 replications (common random numbers)" in lines[4]
    fill = runs.pivot(index="replication", columns="design_point", values="secondary_fill_rate")
    assert (fill[buffer] - fill[base]).std() > 0  # the intervals are not degenerate
    body = {line.split(" (design points")[0]: line for line in lines[6:10]}
    expected = {
        "- *a buffer* minus the baseline": (buffer, base),
        "- *a buffer and a penalty* minus the baseline": (both, base),
        "- *a buffer* minus *a buffer and a penalty*": (buffer, both),
    }
    for label, (a, b) in expected.items():
        row = body[label]
        assert f"(design points {a} - {b})" in row
        for metric in ("secondary_fill_rate", "net_benefit"):
            assert _by_hand(runs, a, b, metric) in row, f"{row}\nwant {_by_hand(runs, a, b, metric)}"
    control = [line for line in lines[6:11] if line.startswith(f"- Control `{PENALTY}` = 50.0 instead of 0.0")]
    assert len(control) == 1 and _by_hand(runs, point[(0, 50.0)], base, "net_benefit") in control[0]
    # The per-unit sentence: net benefit change per unit of fill gained, a ratio of the two means.
    d_fill = float(np.mean(runs[runs.design_point == buffer]["secondary_fill_rate"].to_numpy()
                           - runs[runs.design_point == base]["secondary_fill_rate"].to_numpy()))
    d_money = float(np.mean(runs[runs.design_point == buffer]["net_benefit"].to_numpy()
                            - runs[runs.design_point == base]["net_benefit"].to_numpy()))
    assert d_fill > 0  # the buffer helps in this network: the sentence says "improves"
    assert (f"*a buffer* improves `secondary_fill_rate` by {d_fill:.4g}, and `net_benefit` changes by "
            f"{d_money / d_fill:+.4g} EUR per unit gained") in lines[4]


def test_a_study_without_a_question_keeps_its_report(write_study, tmp_path):
    lines = _run_study(write_study(replications=2), tmp_path / "out")
    assert not any(line.startswith(("**Question.**", "**Answer.**")) for line in lines)
    assert lines[2].startswith("4 design points (grid design), 8 runs stored")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (QUESTION.replace('"a buffer" = {', '"a buffer" = { "policy.buffer_dayz" = 3, '),
         'question.options."a buffer": unknown factor "policy.buffer_dayz"'),
        (QUESTION.replace(f'controls = ["{PENALTY}"]', 'controls = ["policy.allocation"]'),
         'question.controls[0]: "policy.allocation" is not a factor of the design'),
        (QUESTION.replace('metrics = ["secondary_fill_rate", "net_benefit"]', 'metrics = []'),
         "question.metrics: "),
        (QUESTION.replace("[question.options]", "colour = 1\n[question.options]"), "question.colour: unknown field"),
    ],
    ids=["unknown factor in an option", "control not a factor", "no metric", "unknown key"],
)
def test_a_bad_question_is_one_line_naming_the_field_exit_2(write_study, tmp_path, capsys, question, expected):
    path = write_study()
    path.write_text(path.read_text(encoding="utf-8") + question, encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any(line.startswith(f"{path}: {expected}") for line in err), err
    assert not (tmp_path / "out").exists()


def test_a_question_needs_fixed_design_points(write_study, tmp_path):
    path = write_study('kind = "lhs"\nsamples = 4\n[design.factors]\n"policy.buffer_days" = { low = 0, high = 5 }\n')
    path.write_text(path.read_text(encoding="utf-8") + '[question]\ntext = "?"\nmetrics = ["net_benefit"]\n'
                    'baseline = { "policy.buffer_days" = 0 }\noptions = { b = { "policy.buffer_days" = 5 } }\n',
                    encoding="utf-8")
    with pytest.raises(StudyError) as caught:
        load_study(path)
    assert caught.value.problems == [f"{path}: question: a question compares design points, and a 'lhs' design has "
                                     "none fixed in advance; use kind = 'grid' or 'rows'"]


def test_an_input_outcome_is_the_row_of_the_runs_input_table(write_study, tmp_path):
    study = load_study(write_study(replications=1, extra='outcomes = ["input:farm.feed:secondary_short_t"]'))
    sc = parse_scenario(copy.deepcopy(study.scenario_raw), "tiny", {BUFFER: 0, PENALTY: 0.0})
    result = sim_run.run_once(sc, replication_seed(study.seed, 0), horizon_days=60)
    row = result.inputs[(result.inputs["facility"] == "farm") & (result.inputs["material"] == "feed")].iloc[0]
    assert item_values(result, ["input:farm.feed:secondary_short_t", "input:farm.feed:disruption_days"]) == {
        "input:farm.feed:secondary_short_t": float(row["secondary_short_t"]),
        "input:farm.feed:disruption_days": float(row["disruption_days"]),
    }
    with pytest.raises(StudyError) as caught:
        load_study(write_study(name="bad.toml", extra='outcomes = ["input:farm.fed:secondary_short_t"]'))
    assert "unknown input 'farm.fed' (did you mean 'farm.feed'?" in caught.value.problems[0]


def test_the_default_study_asks_a_question_whose_points_are_in_its_design():
    study = load_study(REPO / "scenarios" / "studies" / "default.toml")
    q = study.spec.question
    assert q is not None and set(q.metrics) <= set(study.outcomes)
    assert list(q.options) == ["4 days of buffer", "the backup contract"]
    assert q.controls == ["contracts.grain-south.penalty_per_t_short"]
    assert study.replications * 32 <= 1_280  # a couple of minutes on 2 cores (make run)


@pytest.mark.slow
def test_make_run_writes_the_default_report_that_opens_with_the_answer(tmp_path):
    """`make run` is `run_experiments.py` with no arguments: the default study into
    results/default/ (here into a temporary folder, with the same arguments otherwise)."""
    from sim.experiment.cli import DEFAULT_ARGV

    assert DEFAULT_ARGV[:2] == ["run", "scenarios/studies/default.toml"]
    out = tmp_path / "default"
    assert main(["run", str(REPO / DEFAULT_ARGV[1]), "--out", str(out), "--quiet"]) == 0
    lines = (out / "report.md").read_text(encoding="utf-8").splitlines()
    assert lines[2].startswith("**Question.** For the south farm") and lines[4].startswith("**Answer.** ")
    assert "*4 days of buffer* does better than *the backup contract*" in lines[4]
    assert (out / "report.html").is_file() and len(list((out / "figures").glob("*.png"))) >= 5


def test_the_answer_names_each_metric_unit():
    from analysis.answer import unit_of

    assert unit_of("input:farm_south.feed:secondary_short_t", "EUR") == "t"
    assert unit_of("facility:farm_south:net_benefit", "EUR") == "EUR"
    assert unit_of("input:farm_south.feed:disruption_days", "EUR") == "days"
    assert unit_of("secondary_fill_rate", "EUR") == ""  # a share: "per unit"


def test_an_unprintable_outcome_name_keeps_the_question_problem_on_one_line(write_study, tmp_path):
    # Found by the study fuzz test: an outcome named "\x1e" (a record separator, which
    # splitlines() breaks on) was listed raw in the question's "not one of the outcomes" line.
    path = write_study(extra='outcomes = ["\\u001e", "net_benefit"]')
    path.write_text(path.read_text(encoding="utf-8") + QUESTION,
                    encoding="utf-8")
    with pytest.raises(StudyError) as caught:
        load_study(path)
    assert all(len(line.splitlines()) == 1 for line in caught.value.problems), caught.value.problems
    assert any('not one of the study\'s outcomes ("\\u001e", "net_benefit")' in line for line in caught.value.problems)
