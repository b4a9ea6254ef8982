"""Who gains and who pays: per design point, each facility's (and the intermediary's) benefit
and each contract's flows, with CIs over replications, and the difference to the reference
point paired by replication (common random numbers).

Reads the per-run tables a study stores (facilities.parquet, contracts.parquet; see
sim.experiment.store) and the runs table (for the intermediary's profit and which runs
completed). Every statistic is over the ok runs of a design point: the mean with its Student-t
95 % CI (n - 1 degrees of freedom), and against the reference point the mean of the paired
differences value(point, replication) - value(reference, replication) over the replications both
have, with its paired t CI. An item missing from a run (a contract the agents did not form
there) counts 0 in it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from analysis.figures import compact
from analysis.summary import t_interval

#: Facility-table columns -> the name in the report (present ones only). `cost_penalty` is what
#: the facility paid in penalties less what it received.
FACILITY_COLUMNS = {
    "net_benefit": "net benefit",
    "supplier_benefit": "as supplier",
    "buyer_benefit": "as buyer",
    "cost_penalty": "penalties paid - received",
}
#: Contract-table columns -> the name in the report.
CONTRACT_COLUMNS = {"accepted_t": "delivered", "short_t": "shortfall", "penalties": "penalties"}
INTERMEDIARY = "intermediary"


def _long(table: pd.DataFrame, id_column: str, columns: dict[str, str]) -> pd.DataFrame:
    """(design_point, replication, item, column, value) rows of the present columns."""
    present = [c for c in columns if c in table.columns]
    frame = table[["design_point", "replication", id_column, *present]].rename(columns={id_column: "item"})
    return frame.melt(id_vars=["design_point", "replication", "item"], var_name="column", value_name="value")


def item_summary(
    long: pd.DataFrame, runs: pd.DataFrame, factors: Sequence[str], reference: int | None
) -> pd.DataFrame:
    """Per design point, item and column: n, mean, CI; with a reference point, the reference's
    mean and the paired difference to it with its CI (see the module docstring)."""
    ok = runs[runs["status"] == "ok"]
    ok_runs = ok[["design_point", "replication"]]
    long = long.merge(ok_runs, on=["design_point", "replication"])
    if long.empty:
        return pd.DataFrame()
    # every ok run of a point has every item of that point (0 when missing in the run)
    wide = long.pivot_table(index=["design_point", "replication"], columns=["item", "column"], values="value",
                            aggfunc="sum")
    full = pd.MultiIndex.from_frame(ok_runs.sort_values(["design_point", "replication"]))
    wide = wide.reindex(full)
    seen = long.groupby("design_point")["item"].unique().to_dict()
    points = ok.drop_duplicates("design_point").set_index("design_point")[list(factors)]
    rows = []
    for dp in sorted(seen):
        block = wide.loc[dp]
        ref_block = wide.loc[reference] if reference is not None and reference in seen else None
        for item, column in [k for k in wide.columns if k[0] in set(seen[dp])]:
            values = block[(item, column)].fillna(0.0)
            low, high = t_interval(values.to_numpy(float))
            row = {"design_point": int(dp), **{f: points.at[dp, f] for f in factors}, "item": item,
                   "column": column, "n": len(values), "mean": float(values.mean()), "ci_low": low, "ci_high": high}
            if ref_block is not None:
                ref = ref_block[(item, column)].fillna(0.0) if (item, column) in ref_block else values * 0.0
                both = pd.concat({"x": values, "r": ref}, axis=1).dropna()
                d = (both["x"] - both["r"]).to_numpy(float)
                dlow, dhigh = t_interval(d)
                row.update(ref_mean=float(ref.mean()), n_pairs=len(d),
                           diff_mean=float(d.mean()) if len(d) else math.nan, diff_ci_low=dlow, diff_ci_high=dhigh)
            rows.append(row)
    return pd.DataFrame(rows)


def party_table(facilities: pd.DataFrame, runs: pd.DataFrame, factors: Sequence[str],
                reference: int | None) -> pd.DataFrame:
    """:func:`item_summary` of each facility's benefit columns, and the intermediary's profit
    (from the runs table) when it is not zero in every run."""
    long = _long(facilities, "facility", FACILITY_COLUMNS)
    if "intermediary_profit" in runs.columns and runs["intermediary_profit"].fillna(0).abs().max() > 0:
        extra = runs[["design_point", "replication", "intermediary_profit"]].rename(
            columns={"intermediary_profit": "value"}).assign(item=INTERMEDIARY, column="net_benefit")
        long = pd.concat([long, extra], ignore_index=True)
    return item_summary(long, runs, factors, reference)


def contract_table(contracts: pd.DataFrame, runs: pd.DataFrame, factors: Sequence[str],
                   reference: int | None) -> pd.DataFrame:
    """:func:`item_summary` of each contract's delivered, shortfall and penalties."""
    return item_summary(_long(contracts, "contract", CONTRACT_COLUMNS), runs, factors, reference)


def plot_party_differences(parties: pd.DataFrame, path: str | Path, *, reference: int, currency: str = "currency",
                           max_points: int = 40) -> Path:
    """Each party's net benefit minus the reference point's, paired by replication, with its
    95 % CI: one panel per party, one row per design point (the first `max_points`)."""
    net = parties[(parties["column"] == "net_benefit") & (parties["design_point"] != reference)]
    items = list(dict.fromkeys(net["item"]))
    points = sorted(net["design_point"].unique())[:max_points]
    fig, axes = plt.subplots(1, max(1, len(items)), figsize=(1.5 + 2.8 * max(1, len(items)), 2.0 + 0.22 * len(points)),
                             squeeze=False, sharey=True, layout="constrained")
    colours = plt.cm.tab10.colors
    for k, (ax, item) in enumerate(zip(axes[0], items, strict=False)):
        rows = net[net["item"] == item].set_index("design_point").reindex(points)
        ys = np.arange(len(points))
        half = (rows["diff_ci_high"] - rows["diff_ci_low"]).to_numpy(float) / 2
        ax.errorbar(rows["diff_mean"].to_numpy(float), ys, xerr=np.nan_to_num(half), fmt="o", ms=3.5,
                    color=colours[k % 10], elinewidth=1.0, lw=0)
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: compact(v)))
        ax.set_title(str(item), fontsize=10, color=colours[k % 10], fontweight="bold")
        ax.set_xlabel(f"{currency}, minus #{reference}")
        ax.grid(alpha=0.3, axis="x")
    axes[0, 0].set_yticks(range(len(points)), [f"#{dp}" for dp in points], fontsize=7)
    axes[0, 0].set_ylim(len(points) - 0.5, -0.5)
    axes[0, 0].set_ylabel("design point")
    fig.suptitle(f"Who gains and who pays: net benefit against the reference point #{reference} "
                 "(paired by replication, 95 % CI)", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


#: The most design points the report's difference table lists (parties.csv has them all).
MAX_ROWS = 24


def section_parties(data) -> str:  # data: analysis.report.ReportInput
    """The report's "Who gains and who pays" section; writes parties.csv, contract_outcomes.csv
    and figures/parties_vs_reference.png."""
    from analysis.report import _ci, _table
    from sim.experiment.store import ResultStore, atomic_write

    store = ResultStore(data.root)
    facilities, contracts = store.read_table("facilities"), store.read_table("contracts")
    lines = ["## Who gains and who pays", ""]
    if facilities is None:
        return "\n".join([*lines, "This study stored no per-facility tables (it was run before studies kept "
                          "them); run it again into a new folder to see each party's benefit with CIs.", ""])
    ref = data.point_to_show()
    named = "the reference point" if ref == data.reference else "design point 0 (the study names no reference)"
    parties = party_table(facilities, data.runs, data.factors, ref)
    atomic_write(data.root / "parties.csv", lambda tmp: parties.to_csv(tmp, index=False))
    at_ref = parties[parties["design_point"] == ref]
    cols = [c for c in FACILITY_COLUMNS if c in set(at_ref["column"])]
    rows = _ci_rows(at_ref, cols)
    lines += [f"Each facility's benefit against no symbiosis at {named} #{ref} "
              f"({_point(data, ref)}): mean over replications [95 % t CI], in {data.currency}.", "",
              _table(["party", *(FACILITY_COLUMNS[c] for c in cols)], rows), ""]
    net = parties[(parties["column"] == "net_benefit") & (parties["design_point"] != ref)]
    if not net.empty:
        items = list(dict.fromkeys(net["item"]))
        shown = sorted(net["design_point"].unique())[:MAX_ROWS]
        table = []
        for dp in shown:
            cell = net[net["design_point"] == dp].set_index("item")
            table.append([f"#{dp}", _point(data, dp), *(
                _ci(cell.at[i, "diff_mean"], cell.at[i, "diff_ci_low"], cell.at[i, "diff_ci_high"])
                if i in cell.index else "-" for i in items)])
        more = f" (first {MAX_ROWS} of {net['design_point'].nunique()}; `parties.csv` has all)" if len(
            shown) < net["design_point"].nunique() else ""
        lines += [f"Net benefit minus #{ref}'s, paired by replication (common random numbers), mean [95 % CI]"
                  f"{more}:", "", _table(["point", "settings", *items], table), ""]
        path = plot_party_differences(parties, data.root / "figures" / "parties_vs_reference.png", reference=ref,
                                      currency=data.currency)
        lines += [f"![parties_vs_reference](figures/{path.name})", "", _gains_reading(net, data), ""]
    if contracts is not None and not contracts.empty:
        flows = contract_table(contracts, data.runs, data.factors, ref)
        atomic_write(data.root / "contract_outcomes.csv", lambda tmp: flows.to_csv(tmp, index=False))
        at = flows[flows["design_point"] == ref]
        ccols = [c for c in CONTRACT_COLUMNS if c in set(at["column"])]
        crow = _ci_rows(at, ccols)
        lines += [f"Contracts at #{ref}: mean per run [95 % CI] (delivered and shortfall in t; penalties in "
                  f"{data.currency}; every point, with differences to #{ref}, in `contract_outcomes.csv`).", "",
                  _table(["contract", *(CONTRACT_COLUMNS[c] for c in ccols)], crow), ""]
    return "\n".join(lines)


def _point(data, dp: int) -> str:
    """A design point's factor settings, short."""
    from analysis.figures import short_label, short_value

    row = data.ok[data.ok["design_point"] == dp].iloc[0]
    return ", ".join(f"{short_label(f)} = {short_value(row[f])}" for f in data.factors)


def _gains_reading(net: pd.DataFrame, data) -> str:
    """Per party, the point where it gains most and where it loses most against the reference."""
    from analysis.report import _ci

    parts = []
    for item, grp in net.groupby("item", sort=False):
        best, worst = grp.loc[grp["diff_mean"].idxmax()], grp.loc[grp["diff_mean"].idxmin()]
        hi = _ci(best["diff_mean"], best["diff_ci_low"], best["diff_ci_high"])
        lo = _ci(worst["diff_mean"], worst["diff_ci_low"], worst["diff_ci_high"])
        b, w = int(best["design_point"]), int(worst["design_point"])
        up = f"gains most at #{b} ({hi})" if best["diff_mean"] > 0 else f"never gains (best #{b}: {hi})"
        down = f"loses most at #{w} ({lo})" if worst["diff_mean"] < 0 else f"never loses (least #{w}: {lo})"
        parts.append(f"{item} {up} and {down}")
    return "Against the reference, paired by replication: " + "; ".join(parts) + f" ({data.currency} per run)."


def _ci_rows(table: pd.DataFrame, cols: list[str]) -> list[list[str]]:
    """One row per item: its name, then "mean [low, high]" per column ("-" where missing)."""
    from analysis.report import _ci

    rows = []
    for item, grp in table.groupby("item", sort=False):
        by = grp.set_index("column")
        rows.append([item, *(_ci(by.at[c, "mean"], by.at[c, "ci_low"], by.at[c, "ci_high"]) if c in by.index
                             else "-" for c in cols)])
    return rows
