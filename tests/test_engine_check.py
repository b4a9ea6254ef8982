"""The engine-coverage check lives beside the engines, not in scenario validation (issue 18):
parse_scenario knows no engine, and the validate command and a study's checks still refuse
`policy.engine = "arrays"` where the array day does not cover the network, with the line of
before, exit 2."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from sim.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[1]
MARKET = ROOT / "scenarios" / "contracts_market.toml"
LINE = ("policy.engine: 'arrays' does not cover agents' decisions (policy.adaptive or [behaviour]); "
        "use 'auto' or 'objects'")


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run_experiments.py"), "validate", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_scenario_validation_knows_no_engine() -> None:
    raw = tomllib.loads(MARKET.read_text(encoding="utf-8"))
    raw["policy"] = {**raw.get("policy", {}), "engine": "arrays"}
    assert parse_scenario(raw, "<market>").policy.engine == "arrays"


def test_validate_refuses_arrays_where_they_do_not_cover(tmp_path: Path) -> None:
    path = tmp_path / "market.toml"
    path.write_text(MARKET.read_text(encoding="utf-8") + '\n[policy]\nengine = "arrays"\n', encoding="utf-8")
    proc = validate(path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"{path}: {LINE}"]


def test_a_study_point_with_arrays_where_they_do_not_cover_is_refused(tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    study.write_text(
        f'[study]\nname = "s"\nscenario = "{MARKET}"\nreplications = 1\nseed = 1\n\n'
        '[design]\nkind = "grid"\n[design.factors]\n"policy.engine" = ["objects", "arrays"]\n',
        encoding="utf-8",
    )
    proc = validate(study)
    assert proc.returncode == 2
    assert f"{study}: design point 1 (policy.engine = 'arrays'): {MARKET}: {LINE}" in proc.stderr.splitlines()
