"""Bad input at the limits (issue 26 items 4 and 5): a file nested too deep, too big, a loop
of links, a FIFO or a device, and ids or paths of a million characters. Each gives exit
status 2 and one bounded line naming the file, through the real command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.scenario.errors import MAX_LINE
from sim.scenario.limits import MAX_DEPTH, MAX_FILE_BYTES

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "data" / "minimal.toml"


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """run_experiments.py with `args`; a command that blocks fails the test after 60 s."""
    return subprocess.run(
        [sys.executable, str(REPO / "run_experiments.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused input (exit 2, no traceback)."""
    assert proc.returncode == 2, proc.stderr[:2000]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines[:5]
    assert "Traceback" not in proc.stderr
    return lines[0]


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 8, 600, 100_000])
def test_a_file_nested_too_deep_is_refused_with_its_name(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(MINIMAL.read_text(encoding="utf-8") + f"\n[extra]\nv = {_nested(depth)}\n", encoding="utf-8")
    line = one_line(cli("validate", str(path)))
    assert line.startswith(f"{path}: nested ")
    assert f"at most {MAX_DEPTH} levels" in line


def test_a_set_value_nested_too_deep_exits_2_without_a_traceback() -> None:
    proc = cli("simulate", str(MINIMAL), "--set", f"policy.buffer_days={_nested(600)}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
    assert f"policy.buffer_days: nested too deep for the parser; at most {MAX_DEPTH} levels" in proc.stderr


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    with path.open("wb") as fh:  # sparse: no disk used
        fh.truncate(MAX_FILE_BYTES + 1)
    line = one_line(cli("validate", str(path)))
    assert line == (f"{path}: is {MAX_FILE_BYTES + 1:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes "
                    f"({MAX_FILE_BYTES // 2**20} MiB)")


def test_a_device_is_refused_without_reading_it() -> None:
    line = one_line(cli("validate", "/dev/zero"))
    assert line == "/dev/zero: is a device, not a regular file (give the path of a TOML file)"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    line = one_line(cli("validate", str(fifo)))  # blocked forever before: no writer ever comes
    assert line == f"{fifo}: is a FIFO, not a regular file (give the path of a TOML file)"


def _loop(tmp_path: Path) -> Path:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def _study(tmp_path: Path, scenario: str) -> Path:
    study = tmp_path / "study.toml"
    study.write_text(
        f'[study]\nname = "s"\nscenario = "{scenario}"\nreplications = 1\nseed = 1\n\n'
        '[design]\nkind = "grid"\n[design.factors]\n"policy.buffer_days" = [0, 3]\n',
        encoding="utf-8",
    )
    return study


def test_a_loop_of_links_exits_2_as_a_scenario_file_and_as_a_study_scenario(tmp_path: Path) -> None:
    loop = _loop(tmp_path)
    assert one_line(cli("validate", str(loop))) == f"{loop}: cannot be read (Too many levels of symbolic links)"
    study = _study(tmp_path, loop.name)
    line = one_line(cli("validate", str(study)))  # RuntimeError, exit 1, before
    assert line.startswith(f"{study}: study.scenario: 'a.toml': not a usable file name (")


def test_a_study_whose_scenario_is_a_fifo_exits_2(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "net.toml")
    study = _study(tmp_path, "net.toml")
    line = one_line(cli("validate", str(study)))
    assert line == (f"{study}: study.scenario: {tmp_path / 'net.toml'}: is a FIFO, not a regular file "
                    "(give the path of a TOML file)")


def test_a_million_character_id_is_shortened_keeping_its_start_and_end(tmp_path: Path) -> None:
    long_id = "s" + "x" * 999_998 + "e"
    path = tmp_path / "long.toml"
    text = MINIMAL.read_text(encoding="utf-8").replace('supplier = "brewery"', f'supplier = "{long_id}"')
    path.write_text(text, encoding="utf-8")
    line = one_line(cli("validate", str(path)))
    assert len(line) <= MAX_LINE
    assert line == f"{path}: contracts.grain-to-farm.supplier: unknown facility '{'s' + 'x' * 59}…{'x' * 19}e'"


def test_a_million_character_scenario_path_in_a_study_is_shortened(tmp_path: Path) -> None:
    study = _study(tmp_path, "d/" * 500_000)
    line = one_line(cli("validate", str(study)))
    assert len(line) <= MAX_LINE
    assert line.startswith(f"{study}: study.scenario: ")
    assert "d/d/d/" in line and "…" in line


def test_every_problem_line_is_bounded_even_when_made_of_short_words(tmp_path: Path) -> None:
    """A hundred thousand undefined references named in one line (the defined materials are
    listed after each unknown one) do not make a line of megabytes."""
    text = MINIMAL.read_text(encoding="utf-8")
    extra = "".join(f'\n[[materials]]\nid = "m{k}"\n' for k in range(20_000))
    path = tmp_path / "many.toml"
    path.write_text(text.replace('material = "feed"', 'material = "nothing"') + extra, encoding="utf-8")
    line = one_line(cli("validate", str(path)))
    assert len(line) <= MAX_LINE
    assert line.startswith(f"{path}: facilities.farm.inputs.nothing.material: unknown material 'nothing' (defined: ")
    assert line.endswith("m19999)")


def test_the_ok_line_of_a_scenario_with_a_million_character_name_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "named.toml"
    name = "N" + "n" * 999_998 + "E"
    path.write_text(MINIMAL.read_text(encoding="utf-8").replace('name = "Brewery and farm"', f'name = "{name}"'),
                    encoding="utf-8")
    proc = cli("validate", "--quiet", str(path))
    assert proc.returncode == 0, proc.stderr[:2000]
    assert proc.stdout.splitlines() == [
        f"{path}: ok (scenario '{'N' + 'n' * 59}…{'n' * 19}E': 2 facilities, 1 contracts, 100 days)"
    ]
    full = cli("validate", str(path)).stdout.splitlines()  # with the implied table below the ok line
    assert full[0] == proc.stdout.splitlines()[0] and len(full) > 1 and max(map(len, full)) <= MAX_LINE
