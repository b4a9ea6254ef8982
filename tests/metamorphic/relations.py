"""Scenario transformations and run comparisons for the metamorphic suite (tests/metamorphic).

Every transformation works on raw scenario data (the dict a TOML file parses to); a parsed
scenario is turned back into raw data with ``model_dump(exclude_unset=True)``, which
round-trips exactly (same metrics on the same seed).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

from sim.run import run_once
from sim.scenario import Scenario, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))

# Fields in money units (currency per t, per t-km, per trip, per day, per period, lump sums).
# Emergency premia, backhaul discounts and price CVs are ratios and stay as they are.
MONEY_KEYS = frozenset({
    "price_per_t", "virgin_price_per_t", "disposal_cost_per_t", "holding_cost_per_t_day",
    "buffer_holding_cost_per_t_day", "penalty_per_t_short", "penalty_cap_per_period",
    "early_termination_fee", "pipe_cost_per_t", "refusal_cost_per_t", "standby_fee_per_day",
    "backup_standby_fee_per_day", "fee_per_t", "test_cost_per_t", "processing_cost_per_t",
    "cost_per_t", "lost_margin_per_t", "cost_per_tkm", "cost_per_trip", "floor_per_t", "cap_per_t",
    "index_floor_per_t", "index_cap_per_t",
})  # fmt: skip

MONEY_METRICS = (
    "penalties_paid", "take_or_pay_paid", "standby_fees_paid", "transport_cost", "virgin_cost",
    "emergency_cost", "lost_margin", "disposal_cost", "holding_cost", "net_benefit",
    "supplier_benefit", "buyer_benefit", "intermediary_profit",
)  # fmt: skip
# counts of agents' decisions: zero with decisions off, compared like the physical metrics
PHYSICAL_EXCLUDED: frozenset[str] = frozenset()


def raw_of(sc: Scenario) -> dict[str, Any]:
    """Raw scenario data of a parsed scenario."""
    return sc.model_dump(exclude_unset=True)


def shipped_raw(path: Path) -> dict[str, Any]:
    return raw_of(load_scenario(path))


def static(raw: dict[str, Any]) -> dict[str, Any]:
    """The same network with agents' decisions off: no [behaviour], policy.adaptive = false,
    no formation by redundancy."""
    out = copy.deepcopy(raw)
    out.pop("behaviour", None)
    out.pop("formation", None)
    policy = out.setdefault("policy", {})
    policy["adaptive"] = False
    policy.pop("redundancy", None)
    return out


def scale_money(obj: Any, lam: float) -> Any:
    """A copy of `obj` with every field named in MONEY_KEYS multiplied by `lam`."""
    if isinstance(obj, dict):
        return {
            k: (v * lam if k in MONEY_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool)
                else scale_money(v, lam))
            for k, v in obj.items()
        }  # fmt: skip
    if isinstance(obj, list):
        return [scale_money(v, lam) for v in obj]
    return obj


def metrics(raw: dict[str, Any], seed: int, horizon: int | None = None) -> dict[str, float]:
    return run_once(parse_scenario(copy.deepcopy(raw), "metamorphic"), seed, horizon_days=horizon).metrics


def money_scale(m: dict[str, float]) -> float:
    return 1.0 + sum(abs(m[k]) for k in MONEY_METRICS)


def assert_same(a: dict[str, float], b: dict[str, float], keys: list[str], rel: float = 1e-9, scale: float = 1.0,
                what: str = "") -> None:
    """Every metric in `keys` agrees; NaN equals NaN; `scale` sets the absolute tolerance."""
    bad = []
    for k in keys:
        x, y = a[k], b[k]
        if isinstance(x, float) and math.isnan(x) and math.isnan(y):
            continue
        if not math.isclose(x, y, rel_tol=rel, abs_tol=rel * scale):
            bad.append(f"{k}: {x!r} != {y!r}")
    assert not bad, f"{what}: " + "; ".join(bad)


def physical_keys(m: dict[str, float]) -> list[str]:
    return [k for k in m if k not in MONEY_METRICS and k not in PHYSICAL_EXCLUDED]
