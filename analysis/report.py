"""The report of a results folder: summary.csv and report.md, rebuilt from stored runs.

:func:`build_report` consolidates any part files into runs.parquet, writes summary.csv
(:func:`analysis.summary.summarize`) and a short report.md. The report is a list of section
functions (:data:`SECTIONS`), each taking a :class:`ReportInput` and returning Markdown; add
figures or sensitivity analyses by appending sections.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.summary import summarize
from sim.experiment.store import ResultStore, atomic_write

HEADLINE_METRICS = (
    "fill_rate",
    "secondary_fill_rate",
    "disruption_days",
    "penalties_paid",
    "net_benefit",
    "any_shortage",
)


class ReportError(Exception):
    """The folder holds no results to report on (bad input for the `report` command)."""


@dataclass(frozen=True)
class ReportInput:
    """What report sections read."""

    root: Path
    manifest: dict[str, Any]
    factors: list[str]
    reference: int | None
    runs: pd.DataFrame
    summary: pd.DataFrame


def build_report(results_dir: str | Path) -> Path:
    """Rebuild summary.csv and report.md in `results_dir`; return report.md's path."""
    store = ResultStore(results_dir)
    root = store.root
    manifest = _read_json(root / "manifest.json")
    factors, reference = _design_of(root, manifest)
    if store.part_files():
        runs = store.consolidate(factors)
    elif (root / "runs.parquet").exists():
        runs = store.read_runs()
    else:
        raise ReportError(f"{root}: no stored runs (expected runs.parquet or parts/; run a study first)")
    summary = summarize(runs, factors, reference)
    atomic_write(root / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    data = ReportInput(root, manifest, factors, reference, runs, summary)
    text = "\n".join(section(data) for section in SECTIONS)
    atomic_write(root / "report.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return root / "report.md"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _design_of(root: Path, manifest: dict[str, Any]) -> tuple[list[str], int | None]:
    design = manifest.get("design", {})
    if "factors" in design:
        return list(design["factors"]), design.get("reference_point")
    if (root / "design.csv").exists():
        return [c for c in pd.read_csv(root / "design.csv", nrows=0).columns if c != "design_point"], None
    if not (root / "runs.parquet").exists() and not (root / "parts").is_dir():
        raise ReportError(f"{root}: not a results folder (no manifest.json, design.csv or runs)")
    return [], None


# --- sections --------------------------------------------------------------------------------


def section_header(data: ReportInput) -> str:
    """Title, study, counts."""
    study = data.manifest.get("study", {})
    runs = data.runs
    ok = int(runs["status"].eq("ok").sum())
    lines = [
        f"# Study report: {study.get('name', data.root.name)}",
        "",
        f"{runs['design_point'].nunique()} design points, {len(runs)} runs stored "
        f"({ok} ok, {len(runs) - ok} failed). Means with 95 % confidence intervals over "
        "replications; full statistics in `summary.csv`.",
        "",
    ]
    return "\n".join(lines)


def section_headlines(data: ReportInput) -> str:
    """Mean [95 % CI] of the headline metrics per design point."""
    metrics = [m for m in HEADLINE_METRICS if m in set(data.summary["metric"])]
    if not metrics:
        return ""
    table = data.summary[data.summary["metric"].isin(metrics)]
    header = ["point", *data.factors, *metrics]
    lines = ["## Outcomes per design point", "", _row(header), _row(["---"] * len(header))]
    for dp, group in table.groupby("design_point", sort=True):
        first = group.iloc[0]
        cells = [str(dp) + (" (ref)" if dp == data.reference else ""), *(str(first[f]) for f in data.factors)]
        by_metric = group.set_index("metric")
        cells += [_ci(by_metric.loc[m, "mean"], by_metric.loc[m, "ci_low"], by_metric.loc[m, "ci_high"])
                  for m in metrics]
        lines.append(_row(cells))
    return "\n".join([*lines, ""])


def section_paired(data: ReportInput) -> str:
    """Paired differences against the reference point, with the unpaired CI beside them."""
    if data.reference is None or "diff_mean" not in data.summary:
        return ""
    table = data.summary[data.summary["metric"].isin(HEADLINE_METRICS) & data.summary["diff_mean"].notna()]
    if table.empty:
        return ""
    lines = [
        f"## Differences against the reference (design point {data.reference})",
        "",
        "Paired over replications (common random numbers); the unpaired CI on the same runs "
        "shows what the pairing saves.",
        "",
        _row(["point", "metric", "difference [paired 95 % CI]", "unpaired 95 % CI"]),
        _row(["---"] * 4),
    ]
    for _, r in table.iterrows():
        lines.append(_row([str(r["design_point"]), r["metric"],
                           _ci(r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"]),
                           f"[{_num(r['diff_ci_low_unpaired'])}, {_num(r['diff_ci_high_unpaired'])}]"]))
    return "\n".join([*lines, ""])


def section_figures(data: ReportInput) -> str:
    """The study figures (written to figures/), each with a line on how to read it."""
    from analysis.figures import study_figures

    paths = study_figures(data.runs, data.factors, data.root / "figures")
    notes = {
        "effects.png": "Each key metric against the first numeric factor, one line per combination of "
        "the other factors; bands are 95 % confidence intervals over replications.",
        "tradeoff.png": "Mean net benefit against mean disruption days per design point; the red line "
        "joins the design points no other point beats on both.",
    }
    parts = ["## Figures", ""]
    for p in paths:
        parts += [f"![{p.stem}](figures/{p.name})", "", notes.get(p.name, ""), ""]
    return "\n".join(parts)


SECTIONS: list[Callable[[ReportInput], str]] = [section_header, section_headlines, section_figures, section_paired]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.4g}"


def _ci(mean: float, low: float, high: float) -> str:
    return f"{_num(mean)} [{_num(low)}, {_num(high)}]"
