"""Malformed search files: every problem on its own line, `FILE: path.to.field: message`, exit
status 2, nothing written. Each file in tests/search/data/bad/ states the lines it must
produce in its `# expect:` comments (a line ending in " ..." is a prefix)."""

from __future__ import annotations

from pathlib import Path

import pytest

import run_experiments

BAD = sorted((Path(__file__).parent / "data" / "bad").glob("*.toml"))


def _expected(path: Path) -> list[str]:
    marker = "# expect: "
    return [f"{path}: {line.removeprefix(marker)}" for line in path.read_text().splitlines() if line.startswith(marker)]


def _matches(line: str, expected: str) -> bool:
    if expected.endswith(" ..."):
        return line.startswith(expected.removesuffix("..."))
    return line == expected


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_a_malformed_search_file_gives_one_line_per_problem_and_exit_2(path, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_experiments.main(["search", str(path), "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    expected = _expected(path)
    assert expected, f"{path.name} states no expected lines"
    assert len(lines) == len(expected), "\n".join(lines)
    for line, want in zip(lines, expected, strict=True):
        assert _matches(line, want), f"{line}\n!=\n{want}"
    assert not out.exists()  # nothing written


def test_bad_command_line_values_are_one_line_each(tmp_path, capsys):
    good = Path(__file__).resolve().parents[2] / "scenarios" / "searches" / "brewery_south_reliability.toml"
    status = run_experiments.main(["search", str(good), "--workers", "0", "--out", str(tmp_path / "o")])
    assert status == 2
    assert capsys.readouterr().err.strip().splitlines() == ["--workers: needs a whole number >= 1 (given 0)"]
