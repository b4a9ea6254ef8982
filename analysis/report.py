"""The report of a results folder: summary.csv and report.md, rebuilt from stored runs.

:func:`build_report` consolidates any part files into runs.parquet, writes summary.csv
(:func:`analysis.summary.summarize`), figures/*.png, experiments.csv and outcomes.csv (for
EMA Workbench), report.md and report.html. The report is a list of section functions
(:data:`SECTIONS`), each taking a :class:`ReportInput` and returning Markdown; every figure
and table comes with a short reading written from the numbers. Sections embed only figures
they have just written.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.answer import answer_paragraph, paired_difference, unit_of
from analysis.figures import short_label
from analysis.input_disruptions import section_inputs
from analysis.levers import combinations, lever_scores, paired_gap, point_table, rank_levers
from analysis.parties import section_parties
from analysis.sankey import section_flows
from analysis.summary import higher_is_better, main_effects, summarize
from sim.experiment.outcomes import DEFAULT_OUTCOMES
from sim.experiment.store import ResultStore, atomic_write, read_json_object

#: The headline metrics of a study that names no `outcomes` (the study's `outcomes` replace them).
HEADLINE_METRICS = DEFAULT_OUTCOMES
#: The metric that ranks policies when a study names no outcomes (else its first outcome
#: does), and the fill metrics a caveat checks.
MAIN_METRIC = "net_benefit"
FILL_METRICS = ("fill_rate", "secondary_fill_rate")
#: A CI half-width above this share of |mean| calls for more replications.
CI_WIDTH_LIMIT = 0.05
#: The default target of scenario discovery: secondary supply almost always flowing.
DISCOVERY = {"metric": "secondary_fill_rate", "at_least": 0.95, "min_share": 0.8}


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

    @property
    def kind(self) -> str:
        """The design kind (grid, rows, lhs, sobol, morris)."""
        return str(self.manifest.get("design", {}).get("kind", "grid"))

    @property
    def currency(self) -> str:
        """The scenario's currency."""
        return str(
            self.manifest.get("scenario", {}).get("resolved", {}).get("scenario", {}).get("currency", "currency")
        )

    @property
    def ok(self) -> pd.DataFrame:
        """The runs that completed."""
        return self.runs[self.runs["status"] == "ok"]

    @property
    def named_outcomes(self) -> list[str]:
        """The outcomes the study named (`[study] outcomes`), or [] for the defaults."""
        named = self.manifest.get("study", {}).get("outcomes") or []
        return [str(m) for m in named] if isinstance(named, list) else []

    @property
    def outcomes(self) -> list[str]:
        """The headline metrics: the study's outcomes, or :data:`HEADLINE_METRICS`."""
        return self.named_outcomes or list(HEADLINE_METRICS)

    @property
    def rank_metric(self) -> str:
        """The metric that picks the best: the first named outcome, else :data:`MAIN_METRIC`."""
        return self.named_outcomes[0] if self.named_outcomes else MAIN_METRIC

    @property
    def uncertainties(self) -> list[str]:
        """Factors the study marked as uncertainties (`[design] uncertainties`)."""
        marked = self.manifest.get("design", {}).get("uncertainties") or []
        return [f for f in self.factors if f in marked]

    @property
    def expected_runs(self) -> int | None:
        """Design points x replications of the whole study (None when the manifest lacks them)."""
        design = self.manifest.get("design", {})
        points, reps = design.get("points"), design.get("replications")
        return points * reps if isinstance(points, int) and isinstance(reps, int) else None

    @property
    def incomplete(self) -> str:
        """"incomplete: N of M runs" when fewer runs completed than the study has (a shard, an
        interrupted or failing study), else ""."""
        expected, ok = self.expected_runs, int(self.runs["status"].eq("ok").sum())
        return f"incomplete: {ok} of {expected} runs" if expected is not None and ok < expected else ""

    @property
    def levers(self) -> list[str]:
        """Factors that are choices: all but the uncertainties."""
        return [f for f in self.factors if f not in self.uncertainties]

    def point_to_show(self, among: Iterable[int] | None = None) -> int | None:
        """The design point a per-item section shows: the reference point when it has completed
        runs (and is `among` the points given), else the first such point; None when there is none."""
        points = set(self.ok["design_point"]) if among is None else set(self.ok["design_point"]) & set(among)
        if not points:
            return None
        return self.reference if self.reference in points else int(min(points))


def build_report(results_dir: str | Path) -> Path:
    """Rebuild summary.csv, figures, exports, report.md and report.html in `results_dir`;
    return report.md's path."""
    store = ResultStore(results_dir)
    root = store.root
    manifest = _read_json(root / "manifest.json")
    factors, reference = _design_of(root, manifest)
    if store.part_files():
        replications = manifest.get("design", {}).get("replications")
        runs = store.consolidate(factors, replications if isinstance(replications, int) else None)
    elif (root / "runs.parquet").exists():
        runs = store.read_runs()
    else:
        raise ReportError(f"{root}: no stored runs (expected runs.parquet or parts/; run a study first)")
    summary = summarize(runs, factors, reference)
    data = ReportInput(root, manifest, factors, reference, runs, summary)
    # Which part of the study the summary rests on (a shard's report summarises its runs only).
    summary = summary.assign(runs_ok=int(data.ok.shape[0]), runs_expected=data.expected_runs,
                             complete=not data.incomplete)
    atomic_write(root / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    (root / "figures").mkdir(exist_ok=True)
    # With no run completed there is nothing to summarise: the header lists the failures.
    sections = SECTIONS if not data.ok.empty else [section_header, section_nothing_completed]
    text = "\n".join(part for part in (section(data) for section in sections) if part)
    atomic_write(root / "report.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    from analysis.html import markdown_to_html

    html = markdown_to_html(text, title=f"Study report: {data.manifest.get('study', {}).get('name', root.name)}")
    atomic_write(root / "report.html", lambda tmp: tmp.write_text(html, encoding="utf-8"))
    return root / "report.md"


def _read_json(path: Path) -> dict[str, Any]:
    """The manifest ({} when there is none yet: a study killed before its first one); a
    damaged one is an error, since the report would silently lose its design (factors,
    reference point) without it."""
    try:
        return read_json_object(path) or {}
    except ValueError as err:
        raise ReportError(f"{err}; `run` the study again to rewrite it") from None


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
    """Title, the answer to the study's question (when it asks one), counts, and the failed runs
    with their errors."""
    study = data.manifest.get("study", {})
    runs = data.runs
    ok = int(runs["status"].eq("ok").sum())
    lines = [f"# Study report: {study.get('name', data.root.name)}", ""]
    # A study that asks a question ([question]) opens with its answer (analysis/answer.py).
    answer = answer_paragraph(data.runs, data.factors, data.manifest, data.currency) if not data.ok.empty else ""
    lines += [answer] if answer else []
    if data.incomplete:
        lines += [f"**{data.incomplete}**: this report summarises only the runs stored so far (a shard, or an "
                  "interrupted or failing study); `run` the study again, or the other shards into this "
                  "folder, to complete it.", ""]
    lines += [
        f"{runs['design_point'].nunique()} design points ({data.kind} design), {len(runs)} runs stored "
        f"({ok} ok, {len(runs) - ok} failed). Means with 95 % confidence intervals over "
        "replications; full statistics in `summary.csv`.",
        "",
    ]
    failed = runs[runs["status"] != "ok"]
    if not failed.empty:
        points = sorted(failed["design_point"].unique().tolist())
        lines += [
            f"**{len(failed)} runs failed** at design points {_list(points)}; they are left out of every "
            "number below (a rerun of `run` retries them). Most frequent errors:",
            "",
        ]
        for error, count in failed["error"].value_counts().head(3).items():
            lines.append(f"- {count} x `{str(error)[:200]}`")
        lines.append("")
    return "\n".join(lines)


def section_reading(data: ReportInput) -> str:
    """The best design point (or, with uncertainties, the best lever setting) by the ranking
    metric, how sure we are, and caveats."""
    s = data.summary
    metric = data.rank_metric
    if metric not in set(s["metric"]):
        return ""
    main = s[(s["metric"] == metric) & s["mean"].notna()].sort_values("mean", ascending=not higher_is_better(metric))
    if main.empty:
        return ""
    lines = ["## Reading", ""]
    lines += _best_lever_lines(data, metric) if data.uncertainties else _best_point_lines(data, main, metric)
    wide = s[(s["metric"].isin(data.outcomes)) & (s["mean"].abs() > 0) & s["ci_low"].notna()]
    ratio = (wide["ci_high"] - wide["ci_low"]) / 2 / wide["mean"].abs()
    too_wide = wide[ratio > CI_WIDTH_LIMIT]
    if not too_wide.empty:
        worst = too_wide.loc[ratio[too_wide.index].idxmax()]
        lines.append(
            f"- Caveat: {len(too_wide)} headline means have a CI half-width above {CI_WIDTH_LIMIT:.0%} of the "
            f"mean (worst: {worst['metric']} at #{int(worst['design_point'])}, "
            f"{_num(ratio[too_wide.index].max() * 100)} %): more replications needed for those."
        )
    n = data.manifest.get("design", {}).get("replications")
    if n is not None and int(n) < 1000:
        lines.append(
            f"- VaR/CVaR at 95 % in `summary.csv` rest on {n} replications per point; "
            "reliable tail estimates need about 1000."
        )
    if "direction" in s.columns:
        none = sorted(set(s.loc[s["direction"].isin(["neither", "unknown"]), "metric"]))
        if none:
            lines.append(
                f"- VaR/CVaR take each metric's bad tail (its `direction` in `summary.csv`); {len(none)} metrics have "
                f"no good side (counts and amounts such as {', '.join(none[:3])}), so no VaR/CVaR (left empty)."
            )
    return "\n".join([*lines, ""])


def _direction(metric: str) -> str:
    """How the ranking reads, for metrics where less is better."""
    return "" if higher_is_better(metric) else " (lower is better)"


def _unit(metric: str, currency: str) -> str:
    """The unit of a metric's value per run, from its name (the column, for `facility:x:col`)."""
    unit = unit_of(metric, currency)
    return f"{unit} per run" if unit else ""  # none: a ratio, a count or a share


def _spaced(unit: str, per_run: bool = True) -> str:
    """A unit after a number (nothing for a unitless metric); a difference drops "per run"."""
    text = unit if per_run else unit.removesuffix(" per run").removesuffix("per run")
    return f" {text}" if text else ""


def _best_point_lines(data: ReportInput, main: pd.DataFrame, metric: str) -> list[str]:
    """The best design point (`main`: the metric's summary rows, best first) and its runner-up."""
    best = main.iloc[0]
    unit = _unit(metric, data.currency)
    lines = [
        f"- **Best design point by mean {metric}{_direction(metric)}: #{int(best['design_point'])}** "
        f"({_point_text(best, data.factors)}): {_ci(best['mean'], best['ci_low'], best['ci_high'])}{_spaced(unit)}."
    ]
    if len(main) > 1:
        second = main.iloc[1]
        d = _paired(data, int(best["design_point"]), int(second["design_point"]), metric)
        if d is not None and max(abs(d[1]), abs(d[2])) <= 1e-9 * abs(best["mean"]):
            lines.append(
                f"- Tied with #{int(second['design_point'])} ({_point_text(second, data.factors)}): the same "
                f"{metric} in every replication (what differs between them leaves it unchanged)."
            )
        elif d is not None:
            lines.append(
                f"- Runner-up #{int(second['design_point'])} ({_point_text(second, data.factors)}); best minus "
                f"runner-up, paired over replications: {_ci(*d)}{_spaced(unit, per_run=False)} ({_verdict(d)})."
            )
    return lines


def _verdict(d: tuple[float, float, float]) -> str:
    if d[1] > 0 or d[2] < 0:
        return "the CI excludes 0: a real difference"
    return "the CI includes 0: the two are not distinguishable with these replications"


def _best_lever_lines(data: ReportInput, metric: str) -> list[str]:
    """The best lever setting by its mean over the uncertainty levels, and its runner-up
    (paired over replications); never a design point, which would name an uncertainty level."""
    names = ", ".join(f"`{u}`" for u in data.uncertainties)
    if not data.levers:
        return [f"- Every factor is an uncertainty ({names}): there is no choice to rank. The table of "
                "lever settings across the uncertainties shows each outcome at each level."]
    settings = lever_scores(data.runs, data.factors, data.levers, metric)
    if max(len(s.points) for s in settings) < 2:
        return [f"- No best lever setting: each lever setting appears at one level of the uncertainties "
                f"({names}) only, so the effect of a choice cannot be told from that of an uncertainty. Cross "
                "them: a grid, or rows that repeat each lever setting at every uncertainty level."]
    ranked = rank_levers(settings, metric)
    if not ranked:
        return ["- No lever setting has completed runs at every uncertainty level: none is ranked."]
    best, unit = ranked[0], _unit(metric, data.currency)
    lines = [
        f"- **Best lever setting by mean {metric}{_direction(metric)} over the uncertainties ({names}): "
        f"{_levels_text(best.levels, data.levers)}**: {_ci(best.mean, *best.ci)}{_spaced(unit)}, the mean over its "
        f"{len(best.points)} uncertainty levels, weighted equally (95 % CI over {len(best.per_replication)} "
        "replications). Uncertainty levels are not choices: none of them is ranked."
    ]
    if len(ranked) > 1:
        second = ranked[1]
        d = paired_gap(best, second)
        if d is not None and max(abs(d[1]), abs(d[2])) <= 1e-9 * abs(best.mean):
            lines.append(
                f"- Tied with {_levels_text(second.levels, data.levers)}: the same {metric} in every replication "
                "at every uncertainty level (what differs between them leaves it unchanged)."
            )
        elif d is not None:
            lines.append(
                f"- Runner-up: {_levels_text(second.levels, data.levers)}; best minus runner-up, over the "
                f"uncertainties and paired over replications: {_ci(*d)}{_spaced(unit, per_run=False)} "
                f"({_verdict(d)})."
            )
    left_out = len(settings) - len(ranked)
    if left_out:
        lines.append(f"- {left_out} lever settings are not ranked: they lack completed runs at some uncertainty "
                     "level.")
    return lines


def _levels_text(levels: tuple, levers: list[str]) -> str:
    return ", ".join(f"`{f}` = {v}" for f, v in zip(levers, levels, strict=True))


#: The most lever settings x uncertainty combinations the report tabulates (summary.csv has all).
MAX_LEVER_CELLS = 400


def section_levers(data: ReportInput) -> str:
    """Each lever setting across the uncertainties: per outcome, a table of lever setting x
    uncertainty combination -> mean [95 % CI], with the mean over the uncertainties beside."""
    if not data.uncertainties:
        return ""
    points = point_table(data.runs, data.factors)
    lever_of, combo_of = combinations(points, data.levers), combinations(points, data.uncertainties)
    combos, settings = list(dict.fromkeys(combo_of)), list(dict.fromkeys(lever_of))
    lines = [
        "## Lever settings across the uncertainties",
        "",
        f"Levers: {', '.join(f'`{f}`' for f in data.levers) or 'none'}; uncertainties: "
        f"{', '.join(f'`{u}`' for u in data.uncertainties)}. Mean [95 % CI] over replications at each "
        "uncertainty level, and over the uncertainties (levels weighted equally, CI paired over replications).",
        "",
    ]
    if len(combos) * len(settings) > MAX_LEVER_CELLS:
        return "\n".join([*lines, f"{len(settings)} lever settings x {len(combos)} uncertainty levels: too many "
                          "to tabulate here; `summary.csv` has every design point.", ""])
    s = data.summary.set_index(["design_point", "metric"])
    where = {(lever, combo): int(dp) for dp, lever, combo in zip(points.index, lever_of, combo_of, strict=True)}
    combo_names = [", ".join(f"{short_label(u)} = {v}" for u, v in zip(data.uncertainties, c, strict=True))
                   for c in combos]
    for metric in [m for m in data.outcomes if m in set(data.summary["metric"])]:
        scores = {x.levels: x for x in lever_scores(data.runs, data.factors, data.levers, metric)}
        rows = []
        for setting in settings:
            cells = [_levels_text(setting, data.levers) if data.levers else "(no levers)"]
            for combo in combos:
                dp = where.get((setting, combo))
                cells.append("-" if dp is None or (dp, metric) not in s.index else
                             _ci(*(s.loc[(dp, metric), c] for c in ("mean", "ci_low", "ci_high"))))
            over = scores.get(setting)
            cells.append(_ci(over.mean, *over.ci) if over is not None and metric != "any_shortage" else "-")
            rows.append(cells)
        header = ["lever setting", *combo_names, "over the uncertainties"]
        lines += [f"### {metric}", "", _table(header, rows), ""]
    return "\n".join(lines)


def section_headlines(data: ReportInput) -> str:
    """Mean [95 % CI] of the headline metrics (the study's outcomes) per design point."""
    metrics = [m for m in data.outcomes if m in set(data.summary["metric"])]
    if not metrics:
        return ""
    table = data.summary[data.summary["metric"].isin(metrics)]
    # ratio metrics whose parts are stored get their pooled ratio (ratio of sums) beside the mean
    pooled = [m for m in metrics if table.loc[table["metric"] == m, "pooled"].notna().any()]
    header = ["point", *data.factors]
    for m in metrics:
        header += [m, f"{m} pooled"] if m in pooled else [m]
    rows = []
    for dp, group in table.groupby("design_point", sort=True):
        first = group.iloc[0]
        cells = [str(dp) + (" (ref)" if dp == data.reference else ""), *(str(first[f]) for f in data.factors)]
        by = group.set_index("metric")
        for m in metrics:
            cells.append(_ci(by.loc[m, "mean"], by.loc[m, "ci_low"], by.loc[m, "ci_high"]))
            if m in pooled:
                cells.append(_ci(by.loc[m, "pooled"], by.loc[m, "pooled_ci_low"], by.loc[m, "pooled_ci_high"]))
        rows.append(cells)
    note = ([f"Ratio metrics ({', '.join(pooled)}): the mean of per-run ratios, and `pooled`, the ratio of sums "
             "over the replications with its delta-method CI (docs/metrics.md, Summaries).", ""] if pooled else [])
    return "\n".join(["## Outcomes per design point", "", _table(header, rows), "", *note])


def section_paired(data: ReportInput) -> str:
    """Paired differences against the reference point, with the unpaired CI beside them."""
    if data.reference is None or "diff_mean" not in data.summary:
        return ""
    table = data.summary[data.summary["metric"].isin(data.outcomes) & data.summary["diff_mean"].notna()]
    if table.empty:
        return ""
    lines = [
        f"## Differences against the reference (design point {data.reference})",
        "",
        "Paired over replications (common random numbers); the unpaired CI on the same runs "
        "shows what the pairing saves.",
        "",
    ]
    rows = [
        [
            str(r["design_point"]),
            r["metric"],
            _ci(r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"]),
            f"[{_num(r['diff_ci_low_unpaired'])}, {_num(r['diff_ci_high_unpaired'])}]",
        ]
        for _, r in table.iterrows()
    ]
    lines.append(_table(["point", "metric", "difference [paired 95 % CI]", "unpaired 95 % CI"], rows))
    return "\n".join([*lines, ""])


def section_effects(data: ReportInput) -> str:
    """Main effects of each factor (lowest to highest level) on the headline metrics."""
    if data.kind not in ("grid", "rows") or not data.factors or data.ok.empty:
        return ""
    metrics = [m for m in data.outcomes if m in data.ok.columns]
    if not metrics:
        return ""
    table = pd.concat([main_effects(data.runs, data.factors, m) for m in metrics], ignore_index=True)
    if table.empty:
        return ""
    lines = [
        "## Effect sizes",
        "",
        "Change of each metric from a factor's lowest to its highest level, averaged over the other "
        "factors; 95 % CI paired over replications.",
        "",
    ]
    rows = [
        [
            r["factor"],
            f"{r['low']} -> {r['high']}",
            r["metric"],
            _ci(r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"])
            + (" (identical across levels)" if r["identical"] else ""),
        ]
        for _, r in table.iterrows()
    ]
    lines += [_table(["factor", "levels", "metric", "change [95 % CI]"], rows), ""]
    for factor, grp in table.groupby("factor", sort=False):
        same = grp[grp["identical"] & grp["metric"].isin(FILL_METRICS)]["metric"].tolist()
        present = [m for m in FILL_METRICS if m in set(grp["metric"])]
        if same and same == present:
            lines.append(
                f"- {factor} has no effect on fill metrics ({', '.join(same)} identical across levels in "
                "every replication): it moves money, not material."
            )
        elif same:
            lines.append(
                f"- {factor} has no effect on {', '.join(same)} (identical across levels in every replication)."
            )
    big = table[~table["identical"]].assign(size=lambda t: t["diff_mean"].abs()).sort_values("size")
    for metric in data.named_outcomes or (MAIN_METRIC, "secondary_fill_rate"):
        rows = big[big["metric"] == metric]
        if not rows.empty:
            r = rows.iloc[-1]
            lines.append(
                f"- Largest effect on {metric}: {r['factor']} {r['low']} -> {r['high']}: "
                f"{_ci(r['diff_mean'], r['diff_ci_low'], r['diff_ci_high'])}."
            )
    return "\n".join([*lines, ""])


def section_figures(data: ReportInput) -> str:
    """The study figures (written to figures/), each with a reading from the numbers."""
    from analysis.durations import ESTIMATOR, disruption_durations, episode_rates
    from analysis.figures import study_figures, tradeoff_table

    store = ResultStore(data.root)
    episodes, inputs = store.read_table("episodes"), store.read_table("inputs")
    curves, by = None, None
    if episodes is not None and inputs is not None:
        by = "policy.buffer_days" if "policy.buffer_days" in data.factors else (
            data.factors[0] if data.factors and data.kind not in ("lhs", "sobol", "morris") else None)
        curves = episode_rates(episodes, inputs, data.runs, by)
        durations, source = None, ESTIMATOR
    else:
        durations, source = disruption_durations(data.runs, data.factors, data.root / "series")
    # A study's outcomes choose the heatmaps too (its first two with per-run values).
    heatmaps = [m for m in data.named_outcomes if m in data.ok.columns][:2] or ["net_benefit", "secondary_fill_rate"]
    paths = study_figures(
        data.runs,
        data.factors,
        data.root / "figures",
        kind=data.kind,
        reference=data.reference,
        currency=data.currency,
        durations=durations,
        durations_source=source,
        heatmaps=heatmaps,
        episode_curves=curves,
        episode_by=by,
    )
    if not paths:
        return "## Figures\n\nNo figures: no design factors or no completed runs.\n"
    if "effects" in paths and data.named_outcomes:
        paths["effects"] = _outcome_effects(data, paths["effects"])
    readings = {
        "effects": lambda: (
            ("The study's outcomes" if data.named_outcomes else "Key metrics") + " against the first numeric "
            "factor, one line per combination of the others; bands are 95 % CIs over replications. Lines that "
            "coincide are drawn once and their legend entry says so."
        ),
        **{f"heatmap_{m}": (lambda m=m: _heatmap_reading(data, m)) for m in heatmaps},
        "tradeoff": lambda: _tradeoff_reading(tradeoff_table(data.runs, data.factors), data),
        "survival": lambda: _episode_reading(curves, by) if curves else _survival_reading(durations, source),
        "party_benefits": lambda: _party_reading(data),
    }
    parts = ["## Figures", ""]
    for name, path in paths.items():
        parts += [f"![{name}](figures/{path.name})", "", readings.get(name, lambda: "")(), ""]
    return "\n".join(parts)


def _outcome_effects(data: ReportInput, path: Path) -> Path:
    """The effects figure redrawn for the study's outcomes (those with per-run values)."""
    from analysis.figures import KEY_METRICS, plot_effects

    labels = {m: KEY_METRICS.get(m, f"{m} ({_unit(m, '{cur}')})" if _unit(m, "") else m) for m in data.named_outcomes
              if m in data.ok.columns}
    if not labels:
        return path
    return plot_effects(data.runs, data.factors, path, labels, currency=data.currency)


def _heatmap_reading(data: ReportInput, metric: str) -> str:
    means = data.ok.groupby("design_point")[metric].mean()
    hi, lo = int(means.idxmax()), int(means.idxmin())
    return (
        f"Mean {metric} per cell (other factors averaged). Highest at #{hi} "
        f"({_point_text(_first(data, hi), data.factors)}): {_num(means[hi])}; lowest at #{lo} "
        f"({_point_text(_first(data, lo), data.factors)}): {_num(means[lo])}."
    )


def _tradeoff_reading(table: pd.DataFrame, data: ReportInput) -> str:
    front = table[table["pareto"]].sort_values("disruption")
    points = ", ".join(f"#{dp}" for dp in front.index)
    return (
        f"Mean net benefit against mean disruption days per design point. {len(front)} of {len(table)} points "
        f"are on the Pareto front ({points}); from {_num(front['disruption'].min())} to "
        f"{_num(front['disruption'].max())} disruption days, the front's net benefit runs from "
        f"{_num(front.iloc[0]['benefit'])} to {_num(front.iloc[-1]['benefit'])} {data.currency}. Points with "
        "identical means share a label."
    )


def _episode_reading(curves: list[dict], by: str | None) -> str:
    """The caption of the episode-rate figure: estimator, counts, and the rate at 0 and 7 days."""
    from analysis.durations import ESTIMATOR

    n = sum(c["episodes"] for c in curves)
    m = sum(c["runs"] for c in curves)
    k = sum(c["runs_without"] for c in curves)
    censored = sum(c["censored"] for c in curves)
    parts = []
    for c in curves[:10]:
        at7 = float(c["rate"][np.searchsorted(c["t"], 7.0, side="right") - 1]) if len(c["t"]) else math.nan
        name = "all runs" if by is None else f"{short_label(by)} = {c['level']}"
        parts.append(f"{name}: {_num(float(c['rate'][0]))} episodes per input-year, {_num(at7)} longer than 7 days")
    return (
        f"Disruption episodes longer than t days per input-year: (episodes / input-years) x S(t), S estimated "
        f"by {ESTIMATOR} ({censored} episodes still running on the last day). {n} episodes of every input in "
        f"{m} runs, {k} runs without a disruption; input-years count every run's planned inputs, runs without "
        f"a disruption included. " + "; ".join(parts) + "."
    )


def _survival_reading(durations: pd.DataFrame, source: str) -> str:
    d = durations["duration_days"].to_numpy(float)
    caveat = (
        " **Caveat:** this study stored no episodes table (its store or model predates per-input episodes), so "
        "the curve "
        "is the old one: runs without a disruption are left out and, without daily series, each run counts "
        "once with its longest disruption; it is not a rate and can order buffer levels wrongly."
    )
    if len(d) == 0:
        return "No disruption in any run." + caveat
    return (
        f"Share of disruptions lasting longer than t days ({source}). Over all {len(d)} durations: median "
        f"{_num(float(pd.Series(d).median()))} days, {_num(100 * float((d > 7).mean()))} % longer than 7 days, "
        f"longest {_num(float(d.max()))} days." + caveat
    )


def _party_reading(data: ReportInput) -> str:
    from analysis.figures import PARTIES

    parts = []
    for col, name in PARTIES.items():
        if col in data.ok.columns and data.ok[col].abs().max() > 0:
            means = data.ok.groupby("design_point")[col].mean()
            parts.append(f"{name}: mean {_num(means.min())} to {_num(means.max())} {data.currency} across points")
    return (
        "Each party's net benefit against no symbiosis, box over replications per design point "
        "(labels: factor levels in the order of the axis title). " + "; ".join(parts) + "."
    )


def section_sensitivity(data: ReportInput) -> str:
    """Sobol, Morris or delta indices, for the design kinds that support them."""
    from analysis.sensitivity import METHOD_OF_KIND, SensitivityError, analyse, plot_indices

    if data.kind not in METHOD_OF_KIND or data.ok.empty:
        return ""
    lines = ["## Sensitivity", ""]
    for metric in (MAIN_METRIC, "secondary_fill_rate", "disruption_days"):
        if metric not in data.ok.columns:
            continue
        try:
            result = analyse(data.runs, data.factors, data.manifest, metric)
        except SensitivityError as err:
            lines += [f"- {metric}: not analysed: {err}", ""]
            continue
        name = f"sensitivity_{metric}.png"
        plot_indices(result, data.root / "figures" / name)
        table = result.table
        cols = [c for c in table.columns if c != "factor"]
        lines += [
            f"### {metric}",
            "",
            f"![{name}](figures/{name})",
            "",
            result.note + ".",
            "",
            _table(["factor", *cols], [[r["factor"], *(_num(r[c]) for c in cols)] for _, r in table.iterrows()]),
        ]
        key = {"sobol": "ST", "morris": "mu_star", "delta": "delta"}[result.method]
        top = table.sort_values(key).iloc[-1]
        lines += [
            "",
            f"Most influential factor on {metric}: **{top['factor']}** ({key} {_num(top[key])} "
            f"+- {_num(top[key + '_conf'])}).",
            "",
        ]
    return "\n".join(lines)


def section_discovery(data: ReportInput) -> str:
    """Which factor values keep the target metric within its target, and the EMA export."""
    from analysis.discovery import discover, export_for_ema, plot_discovery
    from analysis.summary import metric_names

    if data.ok.empty or not data.factors:
        return ""
    metrics = metric_names(data.runs, data.factors)
    exp, out = export_for_ema(data.runs, data.factors, metrics, data.root)
    lines = [
        "## Scenario discovery",
        "",
        f"`{exp.name}` (factors per run) and `{out.name}` (metrics per run), one row per ok run in the same "
        "order, load straight into EMA Workbench's PRIM or CART (see `analysis/discovery.py`).",
        "",
    ]
    metric = DISCOVERY["metric"]
    if metric not in data.ok.columns:
        return "\n".join(lines)
    found = discover(data.runs, data.factors, metric, at_least=DISCOVERY["at_least"], min_share=DISCOVERY["min_share"])
    plot_discovery(found, data.factors, data.root / "figures" / "discovery.png")
    passing = int(found.points["passes"].sum())
    lines += [
        "![discovery](figures/discovery.png)",
        "",
        f"Target: {found.target} in at least {found.min_share:.0%} of replications. {passing} of "
        f"{len(found.points)} design points pass.",
        "",
    ]
    if passing:
        box = [[r["factor"], r["levels"], "yes" if r["restricts"] else "no"] for _, r in found.box.iterrows()]
        lines.append(_table(["factor", "values in the box", "restricts"], box))
        lines += [
            "",
            f"The box holds {found.coverage:.0%} of the passing points (coverage) and "
            f"{found.density:.0%} of the points inside it pass (density).",
            "",
        ]
    return "\n".join(lines)


def section_one_run(data: ReportInput) -> str:
    """The network map and the daily story of one run of the reference point (re-simulated
    from the manifest's scenario and the run's seed)."""
    picked = _run_to_show(data)
    if picked is None:
        return ""
    dp, rep = picked
    from analysis.series_plot import plot_run_series
    from sim.experiment.seeds import replication_seed
    from sim.run import run_once
    from sim.scenario import parse_scenario

    point = {f: _plain(_first(data, dp)[f]) for f in data.factors}
    scenario = parse_scenario(copy.deepcopy(data.manifest["scenario"]["resolved"]), "manifest.json", point)
    seed = replication_seed(int(data.manifest["seeds"]["entropy"]), rep)
    result = run_once(scenario, seed, horizon_days=data.manifest.get("design", {}).get("horizon_days"), series=True)
    title = f"design point #{dp}, replication {rep}"
    lines = [
        f"## One run: {title}",
        "",
        "Re-simulated from the manifest's scenario with the run's seed "
        f"({_point_text(_first(data, dp), data.factors)}).",
        "",
    ]
    lines += _network_map(data, scenario, result)
    assert result.series is not None and result.outages is not None
    plot_run_series(
        result.series, result.outages, f"{scenario.scenario.name}: {title}", data.root / "figures" / "series.png",
        scenario=scenario,
    )
    series = result.series
    lines += [
        "![series](figures/series.png)",
        "",
        f"Outages shaded. {len(result.outages)} outages "
        f"({int(result.outages['cause'].str.startswith('common:').sum())} from common causes, hatched); "
        f"{int((series['secondary_shortfall_t'] > 0).sum())} days "
        f"with a secondary shortfall; {_num(float(series['unmet_t'].sum()))} t of demand unmet; penalties "
        f"{_num(float(series['cumulative_penalties'].iloc[-1]))} {data.currency}.",
        "",
    ]
    return "\n".join(lines)


def _network_map(data: ReportInput, scenario: Any, result: Any) -> list[str]:
    try:
        from analysis.network_map import plot_network_map
    except ImportError:
        return ["(Network map skipped: `analysis/network_map.py` is not installed in this checkout.)", ""]
    days = float(len(result.series)) or 1.0
    contracts = result.contracts
    flows = {str(c): float(t) / days for c, t in zip(contracts["contract"], contracts["accepted_t"], strict=True)}
    states = {}
    for _, c in contracts.iterrows():
        state = str(c["status"])
        states[str(c["contract"])] = "backup" if c["role"] == "backup" and state == "active" else state
    plot_network_map(scenario, data.root / "figures" / "network_map.png", flows=flows, states=states)
    return [
        "![network map](figures/network_map.png)",
        "",
        "Facilities at their coordinates; line width: the run's mean accepted flow (t/day); colour: the contract's "
        "state at the end of the run; circles: break-even transport radii.",
        "",
    ]


def _run_to_show(data: ReportInput) -> tuple[int, int] | None:
    if "resolved" not in data.manifest.get("scenario", {}) or "seeds" not in data.manifest or data.ok.empty:
        return None
    ok = data.ok
    pick = ok[ok["design_point"] == data.reference] if data.reference is not None else ok.iloc[:0]
    row = (pick if not pick.empty else ok).sort_values(["design_point", "replication"]).iloc[0]
    return int(row["design_point"]), int(row["replication"])


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _first(data: ReportInput, dp: int) -> pd.Series:
    return data.runs[data.runs["design_point"] == dp].iloc[0]


def _point_text(row: pd.Series, factors: list[str]) -> str:
    # Factor paths as code: two `contracts.*.x` in one sentence would otherwise read as emphasis.
    return ", ".join(f"`{f}` = {row[f]}" for f in factors) or "no factors"


def _paired(data: ReportInput, a: int, b: int, metric: str) -> tuple[float, float, float] | None:
    got = paired_difference(data.ok, a, b, metric)
    return None if got is None else got[:3]


def _list(values: list[int]) -> str:
    return ", ".join(str(v) for v in values[:12]) + (f" (and {len(values) - 12} more)" if len(values) > 12 else "")


def section_nothing_completed(data: ReportInput) -> str:
    """What a report says when every stored run failed."""
    return (
        "## No run completed\n\nEvery stored run failed, so there are no statistics, effects or figures. "
        "The errors above say why; fix the study or the scenario and run it again with `--fresh`.\n"
    )


SECTIONS: list[Callable[[ReportInput], str]] = [
    section_header,
    section_reading,
    section_headlines,
    section_levers,
    section_effects,
    section_figures,
    section_parties,
    section_inputs,
    section_flows,
    section_sensitivity,
    section_discovery,
    section_one_run,
    section_paired,
]


def _table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown pipe table (pandas' to_markdown); cells are written as given, never reparsed
    as numbers, and a `|` inside a cell is escaped."""
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    frame = pd.DataFrame([[cell(v) for v in row] for row in rows], columns=[cell(h) for h in header], dtype=object)
    return frame.to_markdown(index=False, disable_numparse=True)


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.4g}"


def _ci(mean: float, low: float, high: float) -> str:
    return f"{_num(mean)} [{_num(low)}, {_num(high)}]"
