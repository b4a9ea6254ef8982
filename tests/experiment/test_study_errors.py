"""Malformed study files and unusable output folders: every problem on its own line
`FILE: path: message`, exit status 2, nothing written."""

from __future__ import annotations

import pytest

from run_experiments import main


def _run(capsys, *argv) -> tuple[int, list[str]]:
    status = main(["run", *map(str, argv), "--quiet"])
    return status, capsys.readouterr().err.strip().splitlines()


CASES = {
    "unknown study key": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [0]\n',
        {"extra": "replicatoins = 3"},
        'study.replicatoins: unknown field',
    ),
    "factor path that is not in the scenario": (
        'kind = "grid"\n[design.factors]\n"contracts.nope.penalty_per_t_short" = [0.0]\n',
        {},
        'design.factors."contracts.nope.penalty_per_t_short": value 0.0 is not valid in the scenario',
    ),
    "factor field the scenario does not have": (
        'kind = "grid"\n[design.factors]\n"policy.bufer_days" = [1]\n',
        {},
        'design.factors."policy.bufer_days": value 1 is not valid in the scenario: '
        "policy.bufer_days: unknown",
    ),
    "factor value out of range": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [0, -2]\n',
        {},
        'design.factors."policy.buffer_days": value -2 is not valid in the scenario',
    ),
    "unknown design kind": (
        'kind = "factorial"\n[design.factors]\n"policy.buffer_days" = [0]\n',
        {},
        "design.kind: Input should be 'grid', 'rows', 'lhs', 'sobol' or 'morris'",
    ),
    "range in a grid": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = { low = 0, high = 5 }\n',
        {},
        "needs a list of levels, not a range; list them (for example [0, 3, 7]) or sample the range with kind = "
        "'lhs', 'sobol' or 'morris'",
    ),
    "sobol size not a power of two": (
        'kind = "sobol"\nsamples = 6\n[design.factors]\n"policy.buffer_days" = { low = 0, high = 5 }\n',
        {},
        "sobol needs samples = a power of 2 (given 6)",
    ),
    "reference missing a factor": (
        'kind = "grid"\nreference = { "policy.buffer_days" = 0 }\n[design.factors]\n'
        '"policy.buffer_days" = [0]\n"contracts.*.penalty_per_t_short" = [0.0]\n',
        {},
        "design.reference: name a value for every factor",
    ),
    "mixed level types": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [0, "seven"]\n',
        {},
        "levels must all be numbers, all booleans or all text",
    ),
    "factor name with a control character": (
        'kind = "grid"\n[design.factors]\n"policy.buffer\\u001edays" = [1]\n',
        {},
        'design.factors."policy.buffer\\u001edays": value 1 is not valid in the scenario',
    ),
    "levels valid alone but not together": (
        'kind = "grid"\n[design.factors]\n"contracts.*.take_or_pay" = [0.5]\n"contracts.*.price_per_t" = [-1.0]\n',
        {},
        "design point 0 (contracts.*.take_or_pay = 0.5, contracts.*.price_per_t = -1.0): ",
    ),
    "study horizon within the scenario's warm-up": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [0]\n',
        {"extra": 'overrides = { "scenario.warmup_days" = 40 }'},
        "study.horizon_days: 30 days leave nothing after the scenario's warm-up of 40 days; give more than 40 days",
    ),
    "the same level twice, as 0 and 0.0": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [0, 0.0]\n',
        {},
        'design.factors."policy.buffer_days": levels repeat (given [0, 0.0]); list each level once',
    ),
    "integer range with fractional ends": (
        'kind = "lhs"\nsamples = 4\n[design.factors]\n'
        '"policy.buffer_days" = { low = 0.5, high = 3.7, integer = true }\n',
        {},
        "design.factors.policy.buffer_days: an integer range needs whole-number ends (given low 0.5, high 3.7)",
    ),
    "a level that is a list": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [[1, 2]]\n',
        {},
        "design.factors.policy.buffer_days.[0]: Input should be a valid boolean or a valid integer or a valid "
        "number or a valid string (given [1, 2])",
    ),
    "morris with an odd number of levels": (
        'kind = "morris"\nsamples = 4\nlevels = 3\n[design.factors]\n"policy.buffer_days" = { low = 0, high = 5 }\n',
        {},
        "design: morris needs an even number of levels, as its sampler's grid does (given 3)",
    ),
    "a design too large to run": (
        'kind = "grid"\n[design.factors]\n' + "".join(
            f'"contracts.*.{field}" = [{", ".join(str(v) for v in range(1, 32))}]\n'
            for field in ("penalty_per_t_short", "volume_t_per_day", "settlement_days", "notice_days",
                          "min_term_days", "delivery_interval_days")
        ),
        {},
        "design: 887,503,681 design points x 4 replications = 3,550,014,724 runs, over the limit of 10,000,000",
    ),
    "a number written as text": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [0]\n',
        {"replications": '"3"'},
        "study.replications: Input should be a valid integer (given '3')",
    ),
    "a whole number written as a fraction": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [0]\n',
        {"replications": "2.0"},
        "study.replications: Input should be a valid integer (given 2.0)",
    ),
    "a path both fixed and varied": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [0, 1]\n',
        {"extra": 'overrides = { "policy.buffer_days" = 3 }'},
        'study.overrides."policy.buffer_days": also a design factor, whose levels would replace it',
    ),
    "a factor a policy lever replaces": (
        'kind = "grid"\n[design.factors]\n"policy.penalty_per_t_short" = [0.0, 10.0]\n'
        '"contracts.*.penalty_per_t_short" = [5.0, 50.0]\n',
        {},
        'design.factors."contracts.*.penalty_per_t_short": has no effect, since policy.penalty_per_t_short '
        "(set in a design factor) replaces every contract's penalty; vary one of the two",
    ),
    "a warm-up factor as long as the study's horizon": (
        'kind = "grid"\n[design.factors]\n"scenario.warmup_days" = [0, 30]\n',
        {},
        'design.factors."scenario.warmup_days": warm-ups of 30 days leave nothing of the study\'s horizon of 30 days',
    ),
    "zero replications": (
        'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [0]\n',
        {"replications": 0},
        "study.replications: Input should be greater than or equal to 1",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_study_gives_one_line_per_problem_and_status_2(case, write_study, tmp_path, capsys):
    design, kwargs, expected = CASES[case]
    path = write_study(design, **kwargs)
    out = tmp_path / "results"
    status, lines = _run(capsys, path, "--out", out)
    assert status == 2
    assert any(expected in line for line in lines), lines
    assert all(line.startswith(f"{path}: ") for line in lines), lines
    assert len(lines) == len(set(lines)) and len(lines) <= 2, lines  # one line per problem
    assert not out.exists()


def test_every_problem_is_reported_not_just_the_first(write_study, tmp_path, capsys):
    design = 'kind = "grid"\n[design.factors]\n"policy.buffer_days" = [-1]\n"policy.nope" = [1]\n'
    status, lines = _run(capsys, write_study(design), "--out", tmp_path / "r")
    assert status == 2 and len(lines) == 2


def test_missing_scenario_file_is_named(tmp_path, capsys):
    path = tmp_path / "study.toml"
    path.write_text('[study]\nname = "x"\nscenario = "gone.toml"\nreplications = 1\nseed = 1\n'
                    '[design]\nkind = "grid"\n[design.factors]\n"policy.buffer_days" = [0]\n')
    status, lines = _run(capsys, path, "--out", tmp_path / "r")
    assert status == 2
    assert lines == [f"{path}: study.scenario: {tmp_path / 'gone.toml'}: file not found"]


def test_toml_syntax_error_is_reported(tmp_path, capsys):
    path = tmp_path / "study.toml"
    path.write_text("[study\nname = 1\n")
    status, lines = _run(capsys, path)
    assert status == 2 and lines[0].startswith(f"{path}: (TOML syntax)")


def test_missing_study_file_is_reported(tmp_path, capsys):
    status, lines = _run(capsys, tmp_path / "none.toml")
    assert status == 2 and lines == [f"{tmp_path / 'none.toml'}: file not found"]


def test_unwritable_results_folder_is_bad_input(write_study, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status, lines = _run(capsys, write_study(), "--out", blocker / "results")
    assert status == 2
    assert len(lines) == 1 and lines[0].startswith("--out: ") and "cannot write results" in lines[0]


def test_malformed_shard_is_bad_input(write_study, capsys):
    status, lines = _run(capsys, write_study(), "--shard", "3/2")
    assert status == 2 and lines == ["--shard: --shard K/N needs 1 <= K <= N (given '3/2')"]


@pytest.mark.parametrize("address", ["notanaddress", "tcp://head", "head:port", ""])
def test_malformed_scheduler_address_is_bad_input(write_study, tmp_path, capsys, address):
    status, lines = _run(capsys, write_study(), "--scheduler", address, "--out", tmp_path / "r")
    assert status == 2
    assert lines == [f"--scheduler: 'local' or an address such as tcp://host:8786 (given '{address}')"]
    assert not (tmp_path / "r").exists()


def test_an_unreachable_scheduler_stops_the_study_before_it_writes_anything(write_study, tmp_path, capsys):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "r"
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        status = main(["run", str(write_study()), "--scheduler", f"tcp://127.0.0.1:{port}", "--out", str(out),
                       "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert list(out.iterdir()) == []


def test_report_on_a_folder_without_runs_is_bad_input(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    expected = f"{tmp_path}: not a results folder (no manifest.json, design.csv or runs)"
    assert capsys.readouterr().err.strip() == expected


def test_report_on_a_damaged_manifest_is_bad_input_and_writes_nothing(write_study, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(write_study(replications=1)), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    (out / "manifest.json").write_text('{"design": {"factors": ["policy.buf', encoding="utf-8")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{out / 'manifest.json'}: unreadable (")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
