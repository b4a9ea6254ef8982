"""The report of a policy search (`run_experiments.py search`, docs/search.md): report.md,
report.html and figures/frontier.png of a search's results folder, from search.json and the
stored runs. `run_experiments.py report DIR` rebuilds it.

Sections: the chosen policy and the confidence that it meets every constraint; the runs used
against the full grid; whether the grid's naive best-mean point differs from the choice, and
why; how the choice fares at each uncertainty level; what each party gains or pays under it
against the scenario as written (paired by replication; analysis.parties); every candidate's
estimate with its confidence interval and why it was dropped; the trade-off frontier figure.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.parties import party_table
from analysis.report import ReportError
from analysis.summary import t_interval
from sim.experiment.search.runner import SEARCH_JSON
from sim.experiment.store import ResultStore, atomic_write

#: The most candidates the report's table lists (search.json has them all).
MAX_ROWS = 60


def build_search_report(results_dir: str | Path) -> Path:
    """Write report.md, report.html and figures/frontier.png of a search's results folder;
    return report.md's path. ReportError when the folder holds no search."""
    root = Path(results_dir)
    try:
        data = json.loads((root / SEARCH_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportError(f"{root}: no readable {SEARCH_JSON} ({err}); run a search first") from None
    store = ResultStore(root)
    if data.get("result") is None:  # a search killed or interrupted before the race ended
        stored = len(store.stored_status())
        text = (f"# Search report: {data['search']['name']}\n\nThe search has not finished: {stored} runs are "
                "stored. Run the same `search` command again: it resumes from them and reaches the answer an "
                "uninterrupted search would.\n")
        atomic_write(root / "report.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return root / "report.md"
    # A finished search consolidated runs.parquet just before it wrote its result (a new
    # invocation first writes search.json back to "unfinished"), so it is read, not rebuilt.
    runs = store.read_runs()
    (root / "figures").mkdir(exist_ok=True)
    plot_frontier(data, root / "figures" / "frontier.png")
    parts = [
        _section_header(data),
        _section_chosen(data),
        _section_runs(data),
        _section_naive(data),
        _section_strata(data, runs),
        _section_parties(data, runs, store.read_table("facilities")),
        _section_candidates(data),
        "## Trade-off frontier\n\n![frontier](figures/frontier.png)\n\n"
        + "Each candidate's objective (mean, 95 % CI) against its estimate of the first constraint; filled: "
          "shown feasible, hollow: not, the star: the chosen policy, the dashed line: the constraint's target.\n",
    ]
    text = "\n".join(p for p in parts if p)
    atomic_write(root / "report.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    from analysis.html import markdown_to_html

    html = markdown_to_html(text, title=f"Search report: {data['search']['name']}")
    atomic_write(root / "report.html", lambda tmp: tmp.write_text(html, encoding="utf-8"))
    return root / "report.md"


def constraint_text(c: dict[str, Any]) -> str:
    """`P(metric >= x) >= p`, or `E[metric] >= x` for a constraint on the mean."""
    if c.get("probability") is not None:
        return f"P({c['metric']} {c['op']} {_num(c['threshold'])}) >= {_num(c['probability'])}"
    return f"E[{c['metric']}] {c['op']} {_num(c['threshold'])}"


def levers_text(data: dict[str, Any], candidate: int) -> str:
    return ", ".join(f"{k} = {_num(v)}" for k, v in data["candidates"][candidate].items())


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    return f"{value:,.4g}" if abs(value) < 1e3 else f"{value:,.0f}"


def _section_header(data: dict[str, Any]) -> str:
    s, o = data["search"], data["objective"]
    lines = [f"# Search report: {s['name']}", "",
             f"Scenario: {s['scenario_name']} ({s['scenario']}); root seed {s['seed']}; budget {s['budget']} runs.",
             "",
             f"Objective: {o['sense']}imise {o['metric']}"
             + (f" (candidates within {_num(o['tolerance'])} of the best count as equally good)." if o["tolerance"]
                else "."),
             "Constraints (each with a one-sided confidence bound): "
             + ("; ".join(constraint_text(c) for c in data["constraints"]) or "none") + ".",
             "", "Levers (chosen) and uncertainties (sampled, never chosen):", ""]
    for name, lever in data["levers"].items():
        target = lever.get("input") or lever.get("contract") or "every item"
        levels = lever.get("levels") or lever.get("range")
        lines.append(f"- lever `{name}`: {lever['kind']} of {target}, levels {levels}")
    for name, unc in data["uncertainties"].items():
        lines.append(f"- uncertainty `{name}`: {unc['path']}, levels {unc['levels']} (replication r runs at "
                     f"level r mod {len(data['strata'])} of the strata)")
    lines += ["", f"Method: {data['result']['method']}", ""]
    return "\n".join(lines)


def _estimate(data: dict[str, Any], candidate: int | None) -> dict[str, Any] | None:
    return next((e for e in data["result"]["estimates"] if e["candidate"] == candidate), None)


def _section_chosen(data: dict[str, Any]) -> str:
    result = data["result"]
    if result["chosen"] is None:
        return ("## Chosen policy\n\nNone: no candidate was shown to meet every constraint within the budget "
                f"({result['runs_used']} runs). See the candidates' table for the closest ones.\n")
    e = _estimate(data, result["chosen"])
    assert e is not None
    low, high = e["objective_ci"]
    lines = ["## Chosen policy", "", f"**Candidate {e['candidate']}: {levers_text(data, e['candidate'])}.**", "",
             _guarantee(result, e["replications"], len(data["result"]["estimates"])), "",
             f"- {data['objective']['metric']}: {_num(e['objective_mean'])} (95 % CI {_num(low)} to {_num(high)})"]
    for c in e["constraints"]:
        lines.append(f"- {constraint_text(c['constraint'])}: estimate {_num(c['estimate'])}, one-sided bound "
                     f"{_num(c['bound'])}: {'met' if c['met'] else 'NOT met'}")
    return "\n".join(lines) + "\n"


def _guarantee(result: dict[str, Any], replications: int, candidates: int) -> str:
    """What the confidence covers: every candidate jointly, or this one (race(simultaneous=...))."""
    c = f"{result['confidence']:.3g}"
    if "simultaneous over candidates" in result.get("method", ""):
        return (f"It meets every constraint with confidence {c}, jointly with every other candidate's statement, "
                f"so the choice among the {candidates} candidates is covered (after {replications} replications).")
    return (f"It meets every constraint with confidence {c} for this candidate (Bonferroni over the race's rounds "
            f"and the constraints; after {replications} replications). The choice among {candidates} candidates "
            "is not covered by that figure: `simultaneous = true` in [search] makes every candidate's statement "
            "hold jointly, at the price of more runs (docs/search-method.md).")


def _section_runs(data: dict[str, Any]) -> str:
    result, grid, inv = data["result"], data["full_grid_runs"], data["invocation"]
    n = len(data["candidates"])
    chosen = _estimate(data, result["chosen"])
    lines = ["## Runs used", "",
             f"- the search: {result['runs_used']} runs over {len(result['rounds'])} rounds, for {n} candidates",
             f"- the full grid at the most replications a candidate may get ({data['search']['max_replications']}): "
             f"{grid['at_max_replications']} runs "
             f"({result['runs_used'] / max(1, grid['at_max_replications']):.1%} of it used)"]
    if chosen is not None:
        same = n * chosen["replications"]
        lines.append(f"- the full grid at the chosen policy's {chosen['replications']} replications: {same} runs "
                     f"({result['runs_used'] / max(1, same):.1%} of it used)")
    baseline = data["as_written"]["replications"]
    lines += [f"- the scenario as written, run at the chosen policy's replications for the parties' comparison: "
              f"{len(baseline)} runs (outside the budget)",
              f"- this invocation made {inv['runs_made']} runs, the scenario as written's included "
              f"({inv['runs_failed']} failed), in {inv['elapsed_s']:.1f} s on {inv['executor']}; the rest came "
              "from the store"]
    if result.get("stopped"):
        lines.append(f"- the race stopped: {result['stopped']}")
    lines.append("")
    return "\n".join(lines)


def naive_best(data: dict[str, Any]) -> int | None:
    """The grid's naive best-mean point: the best objective mean among the candidates whose
    point estimates (not bounds) meet every constraint."""
    sign = 1.0 if data["objective"]["sense"] == "max" else -1.0
    best, best_value = None, -math.inf
    for e in data["result"]["estimates"]:
        if (not e["constraints"] and data["constraints"]) or not math.isfinite(e["objective_mean"] or math.nan):
            continue
        if all(_point_meets(c) for c in e["constraints"]) and sign * e["objective_mean"] > best_value:
            best, best_value = e["candidate"], sign * e["objective_mean"]
    return best


def _point_meets(c: dict[str, Any]) -> bool:
    k = c["constraint"]
    target = k["probability"] if k.get("probability") is not None else k["threshold"]
    if k.get("probability") is not None or k["op"] == ">=":
        return c["estimate"] >= target
    return c["estimate"] <= target


def _section_naive(data: dict[str, Any]) -> str:
    chosen, naive = data["result"]["chosen"], naive_best(data)
    head = "## The naive best-mean point\n\n"
    if naive is None:
        return head + "No candidate's point estimates meet every constraint.\n"
    e = _estimate(data, naive)
    assert e is not None
    text = (f"Reading the estimates as a grid would (the best mean among the candidates whose point estimates "
            f"meet the constraints) picks candidate {naive} ({levers_text(data, naive)}), "
            f"{data['objective']['metric']} {_num(e['objective_mean'])} after {e['replications']} replications. ")
    if naive == chosen:
        return head + text + "The search chose the same candidate.\n"
    short = [constraint_text(c["constraint"]) + f" (estimate {_num(c['estimate'])}, bound {_num(c['bound'])})"
             for c in e["constraints"] if not c["met"]]
    if short:
        why = ("its point estimates meet the targets but the confidence bounds do not: "
               + "; ".join(short) + ". A point estimate at the target is a coin toss, not a guarantee.")
    else:
        why = f"the race ranked it '{e['status']}': {e['reason']}."
    chose = "nothing" if chosen is None else f"candidate {chosen}"
    return head + text + f"The search chose {chose} instead, because {why}\n"


def _section_strata(data: dict[str, Any], runs: pd.DataFrame) -> str:
    chosen = data["result"]["chosen"]
    if chosen is None or not data["uncertainties"]:
        return ""
    ok = runs[(runs["design_point"] == chosen) & (runs["status"] == "ok")].copy()
    strata = data["strata"]
    ok["stratum"] = ok["replication"] % len(strata)
    metrics = [data["objective"]["metric"]]
    header = ["uncertainty level", "runs", f"{metrics[0]} (95 % CI)"]
    header += [f"share with {c['metric']} {c['op']} {_num(c['threshold'])}" if c.get("probability") is not None
               else f"mean {c['metric']}" for c in data["constraints"]]
    rows = []
    for k, stratum in enumerate(strata):
        block = ok[ok["stratum"] == k]
        values = block[metrics[0]].to_numpy(float) if metrics[0] in block else np.array([])
        low, high = t_interval(values)
        cells = [", ".join(f"{n} = {_num(v)}" for n, v in stratum.items()), str(len(block)),
                 f"{_num(float(values.mean())) if len(values) else 'n/a'} ({_num(low)} to {_num(high)})"]
        for c in data["constraints"]:
            v = block[c["metric"]].to_numpy(float) if c["metric"] in block else np.array([])
            if not len(v):
                cells.append("n/a")
            elif c.get("probability") is not None:
                meets = (v >= c["threshold"]) if c["op"] == ">=" else (v <= c["threshold"])
                cells.append(f"{meets.mean():.3g}")
            else:
                cells.append(f"mean {_num(float(v.mean()))}")
        rows.append(cells)
    return ("## How the chosen policy fares at each uncertainty level\n\n"
            "The chosen policy's runs, split by the level each ran at (the search met the constraints across "
            "them, not in each one; a level's share rests on its runs alone).\n\n" + _table(header, rows))


def _section_parties(data: dict[str, Any], runs: pd.DataFrame, facilities: pd.DataFrame | None) -> str:
    chosen, base = data["result"]["chosen"], data["as_written"]["design_point"]
    if chosen is None or facilities is None or facilities.empty:
        return ""
    pair = runs[runs["design_point"].isin([chosen, base])]
    table = party_table(facilities[facilities["design_point"].isin([chosen, base])], pair, [], base)
    if table.empty or "diff_mean" not in table:
        return ""
    net = table[(table["design_point"] == chosen) & (table["column"] == "net_benefit")]
    currency = data["search"].get("currency", "")
    rows = [[str(r.item), _num(r.ref_mean), _num(r.mean), f"{_num(r.diff_mean)} ({_num(r.diff_ci_low)} to "
             f"{_num(r.diff_ci_high)})", str(r.n_pairs)] for r in net.itertuples()]
    return ("## What each party gains or pays under the chosen policy\n\n"
            f"Net benefit per party ({currency}, against the no-symbiosis counterfactual), under the scenario as "
            "written and under the chosen policy, and the difference paired by replication (95 % CI).\n\n"
            + _table(["party", "as written", "chosen", "difference (95 % CI)", "pairs"], rows))


def _section_candidates(data: dict[str, Any]) -> str:
    estimates = sorted(data["result"]["estimates"], key=lambda e: e["candidate"])
    header = ["#", "levers", "runs", f"{data['objective']['metric']} (95 % CI)"]
    header += [f"{constraint_text(c)}: estimate (bound)" for c in data["constraints"]]
    header += ["status", "why"]
    rows = []
    for e in estimates[:MAX_ROWS]:
        low, high = e["objective_ci"]
        cells = [str(e["candidate"]), levers_text(data, e["candidate"]), str(e["replications"]),
                 f"{_num(e['objective_mean'])} ({_num(low)} to {_num(high)})"]
        by_metric = {json.dumps(c["constraint"], sort_keys=True): c for c in e["constraints"]}
        for c in data["constraints"]:
            got = by_metric.get(json.dumps(c, sort_keys=True))
            cells.append(f"{_num(got['estimate'])} ({_num(got['bound'])})" if got else "n/a")
        dropped = f" (round {e['round_out']})" if e.get("round_out") is not None else ""
        cells += [f"**{e['status']}**" if e["status"] == "chosen" else e["status"] + dropped, e["reason"]]
        rows.append(cells)
    more = f"\n{len(estimates) - MAX_ROWS} more candidates in search.json.\n" if len(estimates) > MAX_ROWS else ""
    return "## Every candidate\n\n" + _table(header, rows) + more


def _table(header: list[str], rows: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(esc, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def plot_frontier(data: dict[str, Any], path: str | Path) -> Path:
    """Objective (mean, 95 % CI) against the first constraint's estimate, one point per
    candidate: shown to meet every constraint filled, the rest hollow, the chosen starred, the
    non-dominated frontier joined, the constraint's target dashed. With a constraint, a second
    panel zooms on the candidates near its target, numbered."""
    estimates = [e for e in data["result"]["estimates"] if math.isfinite(e["objective_mean"] or math.nan)]
    constraint = data["constraints"][0] if data["constraints"] else None
    xs = [e["constraints"][0]["estimate"] if constraint and e["constraints"] else e["candidate"] for e in estimates]
    target = None
    if constraint:
        target = constraint["probability"] if constraint.get("probability") is not None else constraint["threshold"]
    near = _near_target(xs, target)
    panels = 2 if near and len(near) < len(xs) else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.0 * panels, 4.6), layout="constrained", squeeze=False)
    for k, ax in enumerate(axes[0]):
        keep = near if k == 1 else list(range(len(xs)))
        _draw(ax, data, [estimates[i] for i in keep], [xs[i] for i in keep], target, numbered=k == 1)
        ax.set_title("every candidate" if k == 0 else "near the target", fontsize=10)
    if constraint:
        label = (f"share of runs with {constraint['metric']} {constraint['op']} {_num(constraint['threshold'])}"
                 if constraint.get("probability") is not None else f"mean {constraint['metric']}")
    else:
        label = "candidate"
    fig.supxlabel(label, fontsize=10)
    fig.suptitle(f"{data['search']['name']}: objective against the constraint, {len(estimates)} candidates",
                 fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def _near_target(xs: list[float], target: float | None) -> list[int]:
    """The candidates whose estimate lies within 0.15 (or 15 % of the target) of the target."""
    if target is None:
        return []
    width = 0.15 if 0.0 < target <= 1.0 else 0.15 * abs(target) or 1.0
    return [i for i, x in enumerate(xs) if abs(x - target) <= width]


def _draw(ax: Any, data: dict[str, Any], estimates: list[dict[str, Any]], xs: list[float], target: float | None,
          *, numbered: bool) -> None:
    ys = [e["objective_mean"] for e in estimates]
    for x, y, e in zip(xs, ys, estimates, strict=True):
        low, high = e["objective_ci"]
        err = [[y - low], [high - y]] if math.isfinite(low) and math.isfinite(high) else None
        shown = bool(e["constraints"]) and all(c["met"] for c in e["constraints"])
        ax.errorbar(x, y, yerr=err, fmt="o", ms=6, mfc="tab:blue" if shown else "white", mec="tab:blue",
                    ecolor="tab:blue", elinewidth=0.8, alpha=0.9)
        if numbered:
            ax.annotate(str(e["candidate"]), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7)
    constraint = data["constraints"][0] if data["constraints"] else None
    frontier = _frontier(xs, ys, constraint, data["objective"]["sense"])
    if len(frontier) > 1:
        ax.plot([xs[i] for i in frontier], [ys[i] for i in frontier], color="grey", lw=1.0, zorder=0,
                label="non-dominated")
    for i, e in enumerate(estimates):
        if e["candidate"] == data["result"]["chosen"]:
            ax.plot(xs[i], ys[i], marker="*", ms=18, color="tab:red", ls="", label=f"chosen (#{e['candidate']})")
    ax.plot([], [], "o", mfc="tab:blue", mec="tab:blue", ls="", label="shown to meet the constraints")
    ax.plot([], [], "o", mfc="white", mec="tab:blue", ls="", label="not shown")
    if target is not None:
        ax.axvline(target, color="tab:red", ls="--", lw=1.0, label="target")
    ax.set_ylabel(f"{data['objective']['metric']} (mean, 95 % CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def _frontier(xs: list[float], ys: list[float], constraint: dict[str, Any] | None, sense: str) -> list[int]:
    """Indices of the points no other point beats on both axes (better objective and a constraint
    estimate further into its feasible side), in x order."""
    if constraint is None:
        return []
    sx = 1.0 if constraint.get("probability") is not None or constraint["op"] == ">=" else -1.0
    sy = 1.0 if sense == "max" else -1.0
    keep = []
    for i in range(len(xs)):
        beaten = any(sx * xs[j] >= sx * xs[i] and sy * ys[j] >= sy * ys[i]
                     and (sx * xs[j] > sx * xs[i] or sy * ys[j] > sy * ys[i]) for j in range(len(xs)))
        if not beaten:
            keep.append(i)
    return sorted(keep, key=lambda i: xs[i])
