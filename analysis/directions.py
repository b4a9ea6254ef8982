"""Which way is better for every run metric, and how ratio metrics are pooled.

One table, :data:`DIRECTIONS`: a run metric (DESIGN.md section 8, docs/metrics.md) maps to
``"higher"`` (more is better), ``"lower"`` (less is better) or ``"neither"`` (a count or an
amount with no good side, such as ``contracts_formed`` or ``input_required_t``). The
summary's VaR/CVaR take the bad tail from it, and report NaN for ``"neither"`` (there is no
bad tail to take). Metrics in m3 and MWh go with their tonne stem (``input_unmet_mwh`` as
``input_unmet_t``). Per-item outcomes (``facility:<id>:<column>``, ``contract:<id>:<column>``,
``material:<id>:<column>``) and the columns of the per-run tables go by their column
(:data:`COLUMN_DIRECTIONS`); ``cost_<category>`` columns are costs (lower).

:data:`RATIOS` names, for each ratio metric, its numerator and denominator as sums of run
metrics (``"input_required_t - input_unmet_t"``, ``"365 * link_exits"``), so the summary can
pool them over replications (ratio of sums) beside the mean of per-run ratios.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

HIGHER, LOWER, NEITHER = "higher", "lower", "neither"

_UNIT_STEMS = (
    "input_required", "input_from_secondary", "input_from_virgin", "input_from_emergency", "input_unmet",
    "waste_generated", "waste_exchanged", "waste_disposed", "waste_spoiled", "waste_rejected",
    "supplier_shortfall", "contract_shortfall",
)  # fmt: skip

_BY_DIRECTION = {
    HIGHER: (
        "fill_rate", "secondary_fill_rate", "input_from_secondary_t", "waste_exchanged_t", "diversion_rate",
        "net_benefit", "supplier_benefit", "buyer_benefit", "intermediary_profit", "co2e_avoided_t",
        "mean_availability", "mean_trust", "link_share_in_force", "secondary_within_plan_t",
        "link_days_in_force",
    ),
    LOWER: (
        "input_unmet_t", "input_from_virgin_t", "input_from_emergency_t", "production_loss_t",
        "disruption_days", "disruption_events", "max_disruption_days", "disruption_days_per_input_year",
        "production_disruption_days", "any_input_short_days", "any_shortage",
        "waste_disposed_t", "waste_spoiled_t", "waste_rejected_t",
        "supplier_shortfall_t", "contract_shortfall_t",
        "penalties_paid", "take_or_pay_paid", "standby_fees_paid", "transport_cost", "virgin_cost",
        "emergency_cost", "lost_margin", "disposal_cost", "holding_cost", "tkm",
        "cascade_closures", "contract_exits", "exits_per_link_year", "link_exits",
    ),
    NEITHER: (
        "input_required_t", "waste_generated_t", "waste_available_t", "secondary_planned_t",
        "link_days_possible", "contracts_formed", "contracts_refused", "contracts_ended",
        "adaptations", "renegotiations",
    ),
}

#: Run metric -> direction ("higher", "lower" or "neither" is better).
DIRECTIONS: dict[str, str] = {name: d for d, names in _BY_DIRECTION.items() for name in names}
for _stem in _UNIT_STEMS:
    for _unit in ("m3", "mwh"):
        DIRECTIONS[f"{_stem}_{_unit}"] = DIRECTIONS[f"{_stem}_t"]

#: Columns of the per-facility, per-contract, per-material and per-input tables (and of the
#: `table:<id>:<column>` outcomes), by direction; a run metric of the same name goes first.
COLUMN_DIRECTIONS: dict[str, str] = {
    name: d
    for d, names in {
        HIGHER: ("availability", "operating_level", "accepted_t", "shipped_t", "out_shipped_t", "out_accepted_t",
                 "exchanged", "from_secondary", "from_secondary_t", "days_in_force", "trust", "used"),
        LOWER: ("closed", "unmet_t", "rejected_t", "short_t", "out_short_t", "disposed", "spoiled", "rejected",
                "from_virgin", "from_virgin_t", "from_emergency", "unmet", "secondary_short_t", "supply_cost",
                "buy_cost", "source_overflow", "source_spoiled", "pool_disposed", "buffer_overflow",
                "buffer_spoiled"),
        NEITHER: ("generated", "required", "due_t", "excused_t", "penalties", "take_or_pay", "standby_fees",
                  "termination_fees", "price_paid", "distance_km", "delivery_lag_days", "days_called",
                  "counterfactual_cost", "counterfactual_supply_cost", "counterfactual_buy_cost",
                  "counterfactual_stock_value_change", "supply_stock_value_change", "buy_stock_value_change",
                  "stock_value_change", "buffer_t", "planned_t", "mean_buffer_t", "window_days",
                  "opening_supply", "closing_supply", "opening_buffer", "closing_buffer"),
    }.items()
    for name in names
}

#: Ratio metric -> (numerator, denominator), each a sum of run metrics with optional factors.
RATIOS: dict[str, tuple[str, str]] = {
    "fill_rate": ("input_required_t - input_unmet_t", "input_required_t"),
    "secondary_fill_rate": ("secondary_within_plan_t", "secondary_planned_t"),
    "diversion_rate": ("waste_exchanged_t", "waste_available_t"),
    "link_share_in_force": ("link_days_in_force", "link_days_possible"),
    "exits_per_link_year": ("365 * link_exits", "link_days_in_force"),
}


def direction(metric: str) -> str | None:
    """The direction of `metric`: a run metric, an m3/MWh metric by its tonne stem, a per-item
    outcome or table column by its column; None when the table does not know it."""
    if metric in DIRECTIONS:
        return DIRECTIONS[metric]
    column = metric.rsplit(":", 1)[-1]
    if column in DIRECTIONS:
        return DIRECTIONS[column]
    if column in COLUMN_DIRECTIONS:
        return COLUMN_DIRECTIONS[column]
    if column.startswith("cost_"):
        return LOWER
    return None


def higher_is_better(metric: str) -> bool:
    """Whether more of `metric` is better (False for "lower", "neither" and unknown metrics)."""
    return direction(metric) == HIGHER


_TERM = re.compile(r"^\s*(?:(?P<coef>[0-9.eE+]+)\s*\*\s*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$")


def terms(expression: str) -> list[tuple[float, str]]:
    """`"a - b"`, `"365 * c"` as [(coefficient, metric)]."""
    out = []
    for sign, term in re.findall(r"([+-]?)\s*([^+-]+)", expression.replace(" - ", " -").replace(" + ", " +")):
        match = _TERM.match(term)
        if match is None:
            raise ValueError(f"cannot read the ratio term '{term}' in '{expression}'")
        coef = float(match.group("coef") or 1.0)
        out.append((-coef if sign == "-" else coef, match.group("name")))
    return out


def evaluate(expression: str, runs: pd.DataFrame) -> pd.Series | None:
    """The per-run value of a sum of metrics; None when a metric is missing (an older store)."""
    parts = terms(expression)
    if any(name not in runs.columns for _, name in parts):
        return None
    total = pd.Series(0.0, index=runs.index)
    for coef, name in parts:
        total = total + coef * runs[name].astype(float)
    return total


def ratio_parts(metric: str, runs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-run numerator and denominator of a ratio metric (None when not a ratio or a part
    is missing), rows with a missing part dropped."""
    if metric not in RATIOS:
        return None
    num, den = (evaluate(e, runs) for e in RATIOS[metric])
    if num is None or den is None:
        return None
    both = pd.concat({"y": num, "x": den}, axis=1).dropna()
    return both["y"].to_numpy(float), both["x"].to_numpy(float)
