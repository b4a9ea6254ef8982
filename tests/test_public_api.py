"""The public Python API (DESIGN.md section 2): what `sim` and `sim.experiment` export, the
`symbiosis-sim` console script, and the two places that teach the API, the README's "From
Python" block and docs/notebook.ipynb, which run here as a reader would run them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("symbiosis-sim")


def test_sim_exports_load_run_and_the_error_type():
    import sim
    import sim.model
    import sim.run
    import sim.scenario
    from sim import RunResult, ScenarioError, SymbiosisModel, load_scenario, parse_scenario, run_once

    assert set(sim.__all__) == {"load_scenario", "parse_scenario", "run_once", "RunResult", "SymbiosisModel",
                                "ScenarioError"}
    assert (load_scenario, parse_scenario, ScenarioError) == (
        sim.scenario.load_scenario, sim.scenario.parse_scenario, sim.scenario.ScenarioError)
    assert (run_once, RunResult, SymbiosisModel) == (sim.run.run_once, sim.run.RunResult, sim.model.SymbiosisModel)


def test_sim_experiment_exports_load_study_and_run_study():
    import sim.experiment
    import sim.experiment.runner
    import sim.experiment.study
    from sim.experiment import load_study, run_study

    assert {"load_study", "run_study"} <= set(sim.experiment.__all__)
    assert (load_study, run_study) == (sim.experiment.study.load_study, sim.experiment.runner.run_study)


def test_importing_the_scenario_schema_does_not_load_the_model():
    code = "import sys, sim, sim.scenario; print('sim.model' in sys.modules, 'sim.run' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


def test_console_script_validates_a_good_scenario_with_exit_0():
    done = subprocess.run([str(SCRIPT), "validate", str(ROOT / "scenarios" / "two_firms.toml")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "two_firms.toml: ok" in done.stdout


def test_console_script_gives_exit_2_and_one_line_per_problem_for_a_bad_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nhorizon_dayz = 3\n', encoding="utf-8")
    done = subprocess.run([str(SCRIPT), "validate", str(bad)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert (f"{bad}: scenario.horizon_dayz: unknown field (given 3); did you mean `horizon_days`? "
            "see the fields of [scenario] in docs/reference.md#scenario") in lines
    assert all(line.startswith(f"{bad}: ") for line in lines) and "Traceback" not in done.stderr


def _readme_python() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_from_python_block_runs_from_the_project_folder(tmp_path, monkeypatch, capsys):
    # A copy of the project folder as far as the block needs it: the scenarios, a fresh results/.
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_readme_python(), "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "fill rate" in printed and "policy.buffer_days: " in printed
    runs = pd.read_parquet(tmp_path / "results" / "buffers" / "runs.parquet")
    assert len(runs) == 8 and runs["status"].eq("ok").all()
    series = namespace["series"]
    assert list(series.columns[:3]) == ["design_point", "replication", "day"]
    assert set(zip(series["design_point"], series["replication"], strict=True)) == set(
        zip(runs["design_point"], runs["replication"], strict=True))


def test_notebook_loads_a_scenario_runs_a_study_and_plots(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "docs" / "notebook.ipynb"
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # stored clean
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's temporary results folder
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs)
    assert any("policy.buffer_days" in out.get("data", {}).get("text/plain", "") for out in outputs)
