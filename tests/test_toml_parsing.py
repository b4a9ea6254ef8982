"""Scenario and study files are parsed by rtoml, with tomllib for what rtoml refuses
(sim/scenario/limits.py): both must read every file alike, and errors must read as tomllib's."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from sim.scenario.limits import MAX_DEPTH, toml_loads

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*ROOT.glob("scenarios/**/*.toml"), *ROOT.glob("tests/**/*.toml")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_file_reads_as_tomllib_reads_it(path):
    text = path.read_text(encoding="utf-8")
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:  # a deliberately broken test file: both must refuse it
        with pytest.raises(tomllib.TOMLDecodeError):
            toml_loads(text)
        return
    assert _same(toml_loads(text), expected)


def _same(a, b) -> bool:
    """Equal data, NaN equal to NaN (a file may write `nan` to test its refusal)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def test_a_syntax_error_is_tomllibs_error():
    text = 'x = 1\ny = "unclosed\n'
    with pytest.raises(tomllib.TOMLDecodeError) as ours:
        toml_loads(text)
    with pytest.raises(tomllib.TOMLDecodeError) as theirs:
        tomllib.loads(text)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("text", ["x = " + "[" * 100_000 + "]" * 100_000,
                                  "x = " + "{a=" * 5_000 + "1" + "}" * 5_000,
                                  "[" + ".".join(["a"] * 5_000) + "]\nx = 1"])
def test_deep_nesting_is_a_sentence_not_a_crash(text):
    with pytest.raises(ValueError, match=f"at most {MAX_DEPTH} levels"):
        toml_loads(text)
