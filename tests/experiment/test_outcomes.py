"""A study's outcomes (`[study] outcomes`) and uncertainties (`[design] uncertainties`): names
checked at load with one line each, per-facility outcomes stored as run columns, and a resume
that keeps stored runs unless they lack a newly named column."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from run_experiments import main
from sim import run as sim_run
from sim.experiment.runner import run_study
from sim.experiment.seeds import replication_seed
from sim.experiment.study import load_study
from sim.scenario import parse_scenario

DESIGN = """kind = "grid"
{extra}
[design.factors]
"policy.buffer_days" = [0, 3]
"facilities.brewery.outputs.spent_grain.rate_t_per_day" = [6.0, 12.0]
"""
RATE = "facilities.brewery.outputs.spent_grain.rate_t_per_day"


def _design(extra: str = "") -> str:
    return DESIGN.format(extra=extra)


def _validate(capsys, path) -> tuple[int, list[str]]:
    status = main(["validate", str(path)])
    return status, capsys.readouterr().err.strip().splitlines()


def test_unknown_outcomes_give_one_line_each_with_a_suggestion_and_exit_2(write_study, capsys, tmp_path):
    names = '["waste_dispose_t", "facility:farn:net_benefit", "facility:farm:net_benfit", "fill_rate"]'
    path = write_study(_design(), extra=f"outcomes = {names}")
    status = main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert not (tmp_path / "out").exists()
    assert all(line.startswith(f"{path}: study.outcomes[") for line in lines), lines
    assert len(lines) == 3
    assert lines[0].startswith(f"{path}: study.outcomes[0]: unknown metric 'waste_dispose_t' "
                               "(did you mean 'waste_disposed_t'? known: ")
    assert lines[1].startswith(f"{path}: study.outcomes[1]: unknown facility 'farn' (did you mean 'farm'? known: ")
    assert lines[2].startswith(f"{path}: study.outcomes[2]: unknown facility column 'net_benfit' "
                               "(did you mean 'net_benefit'? known: ")
    assert "Traceback" not in "\n".join(lines)


def test_malformed_and_repeated_outcomes_are_errors(write_study, capsys):
    path = write_study(_design(), extra='outcomes = ["contract:grain-to-farm", "net_benefit", "net_benefit"]')
    status, lines = _validate(capsys, path)
    assert status == 2
    assert lines == [
        f"{path}: study.outcomes[0]: 'contract:grain-to-farm' is not of the form contract:<id>:<column> "
        "(for example contract:grain-to-farm:distance_km)",
        f"{path}: study.outcomes[2]: 'net_benefit' is listed twice; name each outcome once",
    ]


def test_an_uncertainty_must_be_a_factor(write_study, capsys):
    path = write_study(_design('uncertainties = ["facilities.brewery.outputs.spent_grain.rate_t_per_dy"]'))
    status, lines = _validate(capsys, path)
    assert status == 2 and len(lines) == 1
    assert lines[0].startswith(f'{path}: design.uncertainties[0]: "{RATE[:-2]}y" is not a factor of the design')
    assert f'did you mean "{RATE}"?' in lines[0]


def test_valid_outcomes_and_uncertainties_load(write_study):
    path = write_study(_design(f'uncertainties = ["{RATE}"]'),
                       extra='outcomes = ["waste_disposed_t", "facility:farm:net_benefit", '
                             '"contract:grain-to-farm:short_t", "facility:brewery:cost_penalty"]')
    study = load_study(path)
    assert study.outcomes == ["waste_disposed_t", "facility:farm:net_benefit", "contract:grain-to-farm:short_t",
                              "facility:brewery:cost_penalty"]
    assert study.uncertainties == [RATE] and study.levers == ["policy.buffer_days"]


def test_the_worker_stores_each_item_outcome_as_its_own_column(write_study, tmp_path):
    outcomes = ["facility:farm:net_benefit", "contract:grain-to-farm:short_t", "facility:farm:cost_termination_fee"]
    path = write_study(_design(), replications=2, extra=f"outcomes = {outcomes!r}".replace("'", '"'))
    study = load_study(path)
    runs = run_study(study, tmp_path / "out", workers=1, quiet=True).runs
    row = runs[(runs["design_point"] == 3) & (runs["replication"] == 1)].iloc[0]
    point = {"policy.buffer_days": 3, RATE: 12.0}
    sc = parse_scenario(copy.deepcopy(study.scenario_raw), "tiny", point)
    result = sim_run.run_once(sc, replication_seed(study.seed, 1), horizon_days=study.spec.study.horizon_days)
    farm = result.facilities.set_index("facility").loc["farm"]
    grain = result.contracts.set_index("contract").loc["grain-to-farm"]
    assert row["facility:farm:net_benefit"] == farm["net_benefit"]
    assert row["contract:grain-to-farm:short_t"] == grain["short_t"]
    assert row["facility:farm:cost_termination_fee"] == 0.0  # a fee never paid is 0, not missing


def test_naming_a_new_item_outcome_reruns_only_runs_without_its_column(write_study, tmp_path, capsys):
    out = tmp_path / "out"
    first = run_study(load_study(write_study(_design(), replications=2)), out, workers=1, quiet=True)
    assert first.stats.ok == 8
    # a plain metric is in every stored row: nothing to run again
    metric_only = write_study(_design(), replications=2, extra='outcomes = ["waste_disposed_t"]')
    assert run_study(load_study(metric_only), out, workers=1, quiet=True).stats.ok == 0
    # every facility's net benefit is stored anyway on a network this small (outcomes.PER_FACILITY_UP_TO)
    assert first.runs[["facility:brewery:net_benefit", "facility:farm:net_benefit"]].notna().all().all()
    # a per-facility column the stored rows lack: every run again, said so, same metrics
    item = write_study(_design(), replications=2, extra='outcomes = ["facility:farm:input_unmet_t"]')
    again = run_study(load_study(item), out, workers=1)
    said = capsys.readouterr().out
    assert again.stats.ok == 8
    assert "8 stored runs lack the outcome columns facility:farm:input_unmet_t" in said
    assert len(again.runs) == 8 and again.runs["facility:farm:input_unmet_t"].notna().all()
    metrics = [c for c in first.runs.columns if c not in ("wall_s",)]
    pd.testing.assert_frame_equal(again.runs[metrics], first.runs[metrics])
    # and now they have it: a resume runs nothing
    assert run_study(load_study(item), out, workers=1, quiet=True).stats.ok == 0


@pytest.mark.parametrize("field", ["outcomes", "uncertainties"])
def test_outcomes_and_uncertainties_leave_the_study_key_alone(write_study, tmp_path, field):
    from sim.experiment.design import build_design
    from sim.experiment.runner import study_key

    plain = load_study(write_study(_design(), name="plain.toml"))
    if field == "outcomes":
        marked = load_study(write_study(_design(), name="marked.toml", extra='outcomes = ["net_benefit"]'))
    else:
        marked = load_study(write_study(_design(f'uncertainties = ["{RATE}"]'), name="marked.toml"))
    assert study_key(plain, build_design(plain.design, plain.seed, "")) == study_key(
        marked, build_design(marked.design, marked.seed, "")
    )
