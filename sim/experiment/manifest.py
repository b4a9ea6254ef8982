"""Provenance of a results folder: what was run, with which code, how and when.

``manifest.json`` holds the study file (path and text), the resolved scenario, the seeds and
their scheme, package versions, the git commit and dirty flag, and every `run` invocation
(executor, shard, start, end, counts). Each invocation first writes its own record under
``invocations/`` so that shards running at once never overwrite each other's record.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.experiment.design import DesignTable
from sim.experiment.seeds import SCHEME
from sim.experiment.store import ResultStore
from sim.experiment.study import Study

PACKAGES = ("symbiosis-sim", "mesa", "simpy", "numpy", "scipy", "pandas", "pyarrow", "pydantic",
            "SALib", "distributed")


def now_iso() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape results (None when not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(where: Path) -> dict[str, Any]:
    """Commit and dirty flag of the code's repository (None outside a git checkout)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=10,
                                  check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def write_manifest(store: ResultStore, study: Study, design: DesignTable, counts: dict[str, int]) -> Path:
    """(Re)write manifest.json from the study and every invocation record in the folder."""
    invocations = []
    for record in sorted(store.invocations.glob("*.json")):
        try:
            invocations.append(json.loads(record.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    code_root = Path(__file__).resolve().parents[2]
    manifest = {
        "study": {"path": str(study.path.resolve()), "name": study.name, "text": study.text,
                  "outcomes": list(study.spec.study.outcomes)},
        "scenario": {
            "path": str(study.scenario_path),
            "resolved": study.scenario.model_dump(mode="json"),
        },
        "design": {
            "kind": study.design.kind,
            "factors": design.factors,
            "points": len(design.points),
            "sampled_points": design.sampled,
            "reference_point": design.reference,
            "uncertainties": study.uncertainties,
            "levers": study.levers,
            "replications": study.replications,
            "horizon_days": study.spec.study.horizon_days,
        },
        "seeds": {"entropy": study.seed, "scheme": SCHEME,
                  "replication_seed": "SeedSequence(entropy, spawn_key=(replication,))"},
        "code": {**git_state(code_root), "versions": package_versions(), "argv": sys.argv},
        "runs": counts,
        "invocations": invocations,
    }
    return store.write_json("manifest.json", manifest)
