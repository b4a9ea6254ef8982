"""`run_experiments.py validate FILE`: bad input gives every problem line, exit 2, no traceback.

DESIGN.md sections 5 and 7. The malformed files and their expected lines are those of
`tests/data/bad/` (see test_scenario_errors.py); here they go through the real command line,
run from the repository root with a path relative to it, as a user would type it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BAD_FILES = sorted((REPO / "tests" / "data" / "bad").glob("*.toml"))
SHIPPED = sorted((REPO / "scenarios").glob("*.toml"))


def validate(path: str) -> subprocess.CompletedProcess[str]:
    """Run the validate command on a path (relative to the repository root)."""
    return subprocess.run(
        [sys.executable, "run_experiments.py", "validate", path],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def expected_lines(path: Path, shown_as: str) -> list[str]:
    """The `# expect:` lines of a malformed file, prefixed with the path as given on the command line."""
    marker = "# expect: "
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"{shown_as}: {line.removeprefix(marker)}" for line in lines if line.startswith(marker)]


def on_stderr(expected: str, stderr_lines: list[str]) -> bool:
    """An exact line on stderr, or a line with that prefix when the expectation ends in ' ...'."""
    if expected.endswith(" ..."):
        return any(line.startswith(expected.removesuffix("...")) for line in stderr_lines)
    return expected in stderr_lines


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_validate_malformed_file_exits_2_with_each_problem_on_stderr(path: Path) -> None:
    shown_as = path.relative_to(REPO).as_posix()
    proc = validate(shown_as)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    for expected in expected_lines(path, shown_as):
        assert on_stderr(expected, lines), f"missing on stderr: {expected}\nstderr:\n{proc.stderr}"
    assert len(lines) == len(expected_lines(path, shown_as)), "nothing but the problem lines"
    assert "Traceback" not in proc.stderr + proc.stdout


def test_validate_missing_file_exits_2(tmp_path: Path) -> None:
    path = str(tmp_path / "no_such_scenario.toml")
    proc = validate(path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"{path}: file not found"]
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_validate_shipped_scenario_exits_0(path: Path) -> None:
    proc = validate(path.relative_to(REPO).as_posix())
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("1000000000", "argument --days: at most 100000 days (about 274 years), got 1000000000"),
        ("30", "--days: 30 days leave nothing after tests/data/tiny.toml's warm-up of 40 days"),
    ],
    ids=["beyond the longest horizon", "within the warm-up"],
)
def test_simulate_days_out_of_range_exits_2(days: str, expected: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "run_experiments.py", "simulate", "tests/data/tiny.toml", "--days", days,
         "--set", "scenario.warmup_days=40", "--out", str(tmp_path / "out")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["simulate", "tests/data/tiny.toml"], ["match", "tests/data/tiny.toml"],
                                     ["run", "tests/data/tiny_grid.toml"]])
def test_an_empty_out_folder_name_exits_2(command: list[str]) -> None:
    done = subprocess.run([sys.executable, "run_experiments.py", *command, "--out", ""], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "argument --out: needs a folder name (given an empty one)" in done.stderr
