"""Small synthetic runs tables, shaped like runs.parquet (DESIGN.md section 8)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

FACTORS = ["policy.buffer_days", "contracts.*.penalty_per_t_short", "contracts.backup.enabled"]


def make_runs(replications: int = 6, seed: int = 3) -> pd.DataFrame:
    """A 3 x 2 x 2 grid; the penalty moves money only (fill metrics identical across it)."""
    rng = np.random.default_rng(seed)
    rows = []
    points = list(itertools.product([0, 2, 4], [0.0, 50.0], [False, True]))
    noise = rng.normal(0, 1, size=(replications, 4))
    for dp, (buffer_days, penalty, backup) in enumerate(points):
        for rep in range(replications):
            e = noise[rep]
            fill = min(1.0, 0.7 + 0.07 * buffer_days + 0.05 * backup + 0.01 * e[0])
            days = max(0.0, 30 - 6 * buffer_days - 5 * backup + 2 * e[1])
            rows.append({
                "design_point": dp, "replication": rep, "seed": f"[{rep}]",
                "policy.buffer_days": buffer_days, "contracts.*.penalty_per_t_short": penalty,
                "contracts.backup.enabled": backup,
                "fill_rate": fill, "secondary_fill_rate": fill, "input_unmet_t": max(0.0, days - 10),
                "disruption_days": days, "max_disruption_days": np.floor(days / 3),
                "penalties_paid": penalty * days, "net_benefit": 1000 * fill - 3 * buffer_days + 10 * e[2],
                "supplier_benefit": 600 * fill - penalty * days, "buyer_benefit": 400 * fill + penalty * days,
                "intermediary_profit": 0.0, "status": "ok", "error": "", "wall_s": 0.01,
            })
    return pd.DataFrame(rows)


@pytest.fixture
def runs() -> pd.DataFrame:
    return make_runs()


def results_folder(tmp_path, runs: pd.DataFrame):
    """A results folder holding `runs` and a manifest of the synthetic grid (FACTORS, reference 0)."""
    root = tmp_path / "results"
    root.mkdir()
    runs.to_parquet(root / "runs.parquet", index=False)
    manifest = {"study": {"name": "synthetic"},
                "design": {"kind": "grid", "factors": FACTORS, "reference_point": 0, "replications": 6}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root
