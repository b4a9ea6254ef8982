"""The report's "Disruptions per input" section: the per-input table beside the network's
disruption metrics (issue 20).

The network figures (`disruption_days`, `disruption_days_per_input_year`,
`production_disruption_days`) are means or rates over inputs; this section shows the inputs
behind them, from the per-run `inputs` table a study stores (sim/experiment/store.py): for each
input (`facility/material`), mean over replications with a 95 % t CI
(:func:`analysis.parties.item_summary`) of its disrupted days, production-disrupted days,
longest episode and unmet quantity, at the reference point; and its disrupted days at every
design point, so a buffer's effect can be read input by input. Definitions: docs/metrics.md.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.parties import MAX_ROWS, _ci_rows, _long, _point, item_summary

#: inputs-table columns -> the name in the report.
INPUT_COLUMNS = {
    "disruption_days": "disruption days",
    "production_disruption_days": "production-disrupted days",
    "max_disruption_days": "longest episode (days)",
    "unmet_t": "unmet (input units)",
}


def input_table(inputs: pd.DataFrame, runs: pd.DataFrame, factors: list[str], reference: int | None) -> pd.DataFrame:
    """:func:`analysis.parties.item_summary` of each input's disruption columns; an input is
    named `facility/material`, and only inputs with a plan (`planned`) are kept when the
    table says which."""
    table = inputs[inputs["planned"].astype(bool)] if "planned" in inputs.columns else inputs
    names = [c for c in ("facility", "material") if c in table.columns]
    present = [c for c in INPUT_COLUMNS if c in table.columns]
    if not names or not present:
        return pd.DataFrame()
    table = table.assign(item=table[names].astype(str).agg("/".join, axis=1))
    return item_summary(_long(table, "item", INPUT_COLUMNS), runs, factors, reference)


def section_inputs(data: Any) -> str:  # data: analysis.report.ReportInput
    """The "Disruptions per input" section; writes input_outcomes.csv."""
    from analysis.report import _ci, _table
    from sim.experiment.store import ResultStore, atomic_write

    inputs = ResultStore(data.root).read_table("inputs")
    lines = ["## Disruptions per input", ""]
    if inputs is None:
        return "\n".join([*lines, "This study stored no per-input tables (it was run before studies kept them); "
                          "run it again into a new folder to see each input's disruptions with CIs.", ""])
    ref = data.point_to_show()
    summary = input_table(inputs, data.runs, data.factors, ref)
    if summary.empty:
        return "\n".join([*lines, "No input with a planned secondary use has disruption columns in the stored "
                          "inputs table, so there is nothing to list.", ""])
    atomic_write(data.root / "input_outcomes.csv", lambda tmp: summary.to_csv(tmp, index=False))
    at_ref = summary[summary["design_point"] == ref]
    cols = [c for c in INPUT_COLUMNS if c in set(at_ref["column"])]
    rows = _ci_rows(at_ref, cols)
    lines += [f"Each input with a planned secondary use at #{ref} ({_point(data, ref)}): mean per run [95 % t CI] "
              "(a disruption: secondary shortfall above the threshold share of the plan; docs/metrics.md). "
              "Every design point in `input_outcomes.csv`.", "",
              _table(["input", *(INPUT_COLUMNS[c] for c in cols)], rows), ""]
    days = summary[summary["column"] == "disruption_days"]
    if days["design_point"].nunique() > 1:
        items = list(dict.fromkeys(days["item"]))
        shown = sorted(days["design_point"].unique())[:MAX_ROWS]
        table = []
        for dp in shown:
            cell = days[days["design_point"] == dp].set_index("item")
            table.append([f"#{dp}", _point(data, dp), *(
                _ci(cell.at[i, "mean"], cell.at[i, "ci_low"], cell.at[i, "ci_high"]) if i in cell.index else "-"
                for i in items)])
        more = f" (first {MAX_ROWS} of {days['design_point'].nunique()})" if len(shown) < days[
            "design_point"].nunique() else ""
        lines += [f"Disruption days per input at each design point{more}, mean [95 % t CI]:", "",
                  _table(["point", "settings", *items], table), ""]
    return "\n".join(lines)
