"""Validation report: the model against closed forms and published findings -> VALIDATION.md.

    python -m analysis.validation            # full: more replications, writes VALIDATION.md
    python -m analysis.validation --fast     # CI: fewer replications, wider derived tolerances;
                                             # exit 1 when a check fails

Every check is |simulated - reference| <= 4 SE (SE from independent replications: sd / sqrt(R)),
or, for a direction, a paired difference more than 4 SE from zero. Fewer replications in --fast
mode give a larger SE and so a wider tolerance, derived the same way. Seeds are fixed.
References: oracles-and-metrics (O1, O2d, O5), the finite-refill buffer (O10,
docs/oracle-fluid-buffer.md), the beta-factor common cause (O12, docs/oracle-common-cause.md)
and the data reference's validation cases (Kalundborg coal exit, hub removal, NISP distance).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from analysis.checks import Check, closeness, mean_se
from sim.model import SymbiosisModel
from sim.scenario import load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[1]


def replicate(raw: dict[str, Any], metric, reps: int, root: int) -> np.ndarray:
    sc = parse_scenario(raw)
    out = []
    for r in range(reps):
        m = SymbiosisModel(sc, rng=np.random.SeedSequence(root, spawn_key=(r,)), collect_series=False)
        m.run()
        out.append(metric(m))
    return np.asarray(out, dtype=float)


def supplier_buyer(outages: dict, demand: float, buffer_t: float, horizon: int, warmup: int) -> dict:
    """One supplier shipping all it makes daily; one buyer using only the secondary material."""
    return {
        "scenario": {"name": "oracle", "horizon_days": horizon, "warmup_days": warmup},
        "materials": [{"id": "waste"}, {"id": "raw", "virgin_price_per_t": 10.0}],
        "facilities": [
            {"id": "sup", "location": {"x_km": 0, "y_km": 0}, "outages": outages,
             "outputs": [{"material": "waste", "rate_t_per_day": 1000.0}]},
            {"id": "buy", "location": {"x_km": 1, "y_km": 0},
             "inputs": [{"material": "raw", "demand_t_per_day": demand, "buffer_t": buffer_t,
                         "virgin": "none", "substitutes": [{"material": "waste"}]}]},
        ],
        "contracts": [{"id": "c", "supplier": "sup", "buyer": "buy", "material": "waste", "volume_t_per_day": 1000.0}],
    }


def o1(reps: int, horizon: int) -> list[Check]:
    out = []
    for label, outages in [
        ("exponential up/down, MTBF 20, MTTR 5", {"mtbf_days": 20.0, "mttr_days": 5.0}),
        ("Weibull(2) up, lognormal(CV 1) down, MTBF 30, MTTR 4",
         {"mtbf_days": 30.0, "mttr_days": 4.0, "failure": "weibull", "failure_shape": 2.0,
          "repair": "lognormal", "repair_cv": 1.0}),
    ]:
        raw = supplier_buyer(outages, 1.0, 0.0, horizon, 0)
        x = replicate(raw, lambda m: float(m.up_history[:, 0].mean()), reps, 101)
        out.append(closeness("O1", label, x, outages["mtbf_days"] / (outages["mtbf_days"] + outages["mttr_days"])))
    return out


def o2d(reps: int, horizon: int) -> list[Check]:
    alpha, beta, d = 0.05, 0.3, 4.0
    outages = {"mtbf_days": 1 / alpha, "mttr_days": 1 / beta, "failure": "geometric", "repair": "geometric"}
    out = []
    for k in (0, 3, 7):
        raw = supplier_buyer(outages, d, k * d, horizon, 100)
        x = replicate(raw, lambda m: m.result().metrics["fill_rate"], reps, 202 + k)
        out.append(closeness("O2d", f"fill rate, buffer {k} days (alpha .05, beta .3)", x,
                             1 - alpha / (alpha + beta) * (1 - beta) ** k))
    return out


def o5(reps: int, horizon: int) -> list[Check]:
    caps, mtbf, mttr, demand = [6.0, 5.0, 4.0], [20.0, 15.0, 10.0], [4.0, 5.0, 2.0], 10.0
    avail = [u / (u + r) for u, r in zip(mtbf, mttr, strict=True)]
    facilities: list[dict[str, Any]] = [
        {"id": f"s{k}", "location": {"x_km": 0.0, "y_km": float(k)},
         "outages": {"mtbf_days": mtbf[k], "mttr_days": mttr[k], "failure": "geometric", "repair": "geometric"},
         "outputs": [{"material": "ash", "rate_t_per_day": caps[k]}]} for k in range(3)
    ]
    facilities.append({"id": "b", "location": {"x_km": 1.0, "y_km": 0.0},
                       "inputs": [{"material": "stone", "demand_t_per_day": demand, "virgin": "none",
                                   "substitutes": [{"material": "ash"}]}]})
    raw = {"scenario": {"name": "k-of-n", "horizon_days": horizon, "warmup_days": 50},
           "materials": [{"id": "ash"}, {"id": "stone", "virgin_price_per_t": 1.0}],
           "facilities": facilities,
           "contracts": [{"id": f"c{k}", "supplier": f"s{k}", "buyer": "b", "material": "ash",
                          "volume_t_per_day": caps[k]} for k in range(3)]}
    short = 0.0
    for states in itertools.product((0, 1), repeat=3):
        p = math.prod(a if s else 1 - a for a, s in zip(avail, states, strict=True))
        short += p * max(0.0, demand - sum(c * s for c, s in zip(caps, states, strict=True)))
    x = replicate(raw, lambda m: m.result().metrics["fill_rate"], reps, 303)
    return [closeness("O5", "fill rate, 3 suppliers (6, 5, 4 t/day) for 10 t/day, no buffer", x, 1 - short / demand,
                      "E[(d - sum c_i 1{up_i})^+] by enumeration")]


def o10(reps: int, horizon: int) -> list[Check]:
    """O10: on-off supplier shipping r = 1.25 d and 1.5 d, buffer 0.5, 2 and 5 days of d;
    unmet and overflow shares against the exact daily chain (analysis/fluid_buffer.py)."""
    from analysis.fluid_buffer import discrete_chain, fluid_closed_form, simulate

    alpha, beta, d = 0.05, 0.3, 4.0
    out = []
    for r in (1.25 * d, 1.5 * d):
        for days in (0.5, 2.0, 5.0):
            est = simulate(alpha, beta, r, d, days * d, reps, horizon, root=1010)
            ref, lim = discrete_chain(alpha, beta, r, d, days * d), fluid_closed_form(alpha, beta, r, d, days * d)
            for what, x, exact, cont in (("unmet share", est.unmet_runs, ref.unmet, lim.unmet),
                                         ("overflow share", est.overflow_runs, ref.overflow, lim.overflow)):
                out.append(closeness("O10", f"{what}, r = {r / d:g} d, buffer {days:g} days", x, exact,
                                     f"continuous limit {cont:.5f}"))
    return out


def o12(reps: int, horizon: int) -> list[Check]:
    """O12: two redundant suppliers, independent daily Markov outages and a common cause over
    both (beta-factor model); neither-up share and zero-buffer unmet share against
    1 - (1 - q_c)(1 - q1 q2), and without the common cause against q1 q2."""
    from analysis.common_cause import RATES, down_share, neither_share, simulate

    out = []
    for common in (True, False):
        est = simulate(RATES, 4.0, reps, horizon, common=common)
        ref = neither_share(*RATES) if common else down_share(*RATES[:2]) * down_share(*RATES[2:4])
        case = "with common cause" if common else "independent only"
        note = f"unmet on day t+1 iff neither up on day t: {est.mapping_breaks} breaks"
        out.append(closeness("O12", f"share of days neither up, {case}", est.neither_runs, ref, note))
        out.append(closeness("O12", f"unmet share, zero buffer, {case}", est.unmet_runs, ref, note))
    return out


def _facility_row(res, fid: str):
    f = res.facilities
    return f.loc[f["facility"] == fid].iloc[0]


def coal_exit(reps: int) -> list[Check]:
    from sim.run import run_once

    exit_sc = load_scenario(REPO / "scenarios" / "kalundborg_coal_exit.toml")
    base_sc = exit_sc.model_copy(update={"events": []})
    fills, dcost = [], []
    for r in range(reps):
        seed = np.random.SeedSequence(404, spawn_key=(r,))
        ex, ba = run_once(exit_sc, seed), run_once(base_sc, seed)
        g = _facility_row(ex, "gyproc")
        fills.append(1 - g["input_unmet_t"] / g["input_required_t"])
        dcost.append(g["buy_cost"] - _facility_row(ba, "gyproc")["buy_cost"])
    f, c = np.asarray(fills), np.asarray(dcost)
    fm, fse = mean_se(f)
    cm, cse = mean_se(c)
    return [
        Check("coal exit", "Gyproc gypsum fill rate after the exit (3 years)", fm, fse, ">= 0.99",
              fm + 4 * fse >= 0.99, "supply held [S]: no report of lost output", kind="direction"),
        Check("coal exit", "Gyproc procurement + haulage cost, exit - no exit (EUR, paired)", cm, cse, "> 0",
              cm > 4 * cse, "higher cost [S]: natural gypsum by sea and recycled gypsum", kind="direction"),
    ]


def hub_removal(reps: int) -> list[Check]:
    from sim.run import run_once

    base = load_scenario(REPO / "scenarios" / "kalundborg_hub_removal.toml")
    ids = [f.id for f in base.facilities]
    diffs = []
    for r in range(reps):
        seed = np.random.SeedSequence(505, spawn_key=(r,))
        loss = {}
        for fid in ids:
            ev = base.events[0].model_copy(update={"facility": fid})
            res = run_once(base.model_copy(update={"events": [ev]}), seed)
            loss[fid] = -res.metrics["waste_exchanged_t"]  # tonnes not exchanged (mass materials only)
        diffs.append(loss["asnaes"] - np.mean([v for k, v in loss.items() if k != "asnaes"]))
    d = np.asarray(diffs)
    m, se = mean_se(d)
    return [Check("hub removal", "t exchanged lost: closing Asnaes - a random closure (paired)", m, se, "> 0",
                  m > 4 * se, "Chopra & Khanna 2014 [M]: targeted removal of the hub is far worse",
                  kind="direction")]


def nisp_distance(seeds: int) -> list[Check]:
    from analysis.nisp_distance import region_median_km

    med = np.asarray([region_median_km(seed=s) for s in range(seeds)])
    m, se = mean_se(med)
    return [Check("NISP", "median exchange distance of a 200-facility synthetic region (km)", m, se, 33.0,
                  abs(m - 33.0) <= 4 * se + 5.0,
                  "Jensen et al. 2011 [S]; tolerance 4 SE between regions + 5 km for the 20.4-mile figure's rounding "
                  "and the calibration of region size [E]", kind="calibration", slack=5.0)]


NOT_APPLICABLE = """\
- **O2 (continuous form)** is not tabulated: the model steps in whole days and a supplier down for
  part of a day delivers in proportion, so the continuous formula is off by O(mu x 1 day); the
  matching discrete form O2d is the check (oracles-and-metrics: "test a discrete-time mechanism
  against the discrete formula").
- **O2d covers a regime no scenario uses**: it refills at 1,000 t/day against a demand of 4, so
  any up day fills the buffer. O10 covers the regime the shipped scenarios run in: a contract
  at most about 1.5 x use, so the buffer refills only from the surplus r - d and a long outage
  can leave it short for weeks after the supplier is back.
- **O10 (continuous form)** is the documented limit, not the check: whole-day steps put the
  fluid formula 0.0015-0.009 above the daily chain's shares (docs/oracle-fluid-buffer.md; the
  note column gives it), beyond 4 SE in 10 of the 12 full-mode rows; the check uses the exact
  daily chain (a finite Markov chain, solved exactly), which is the model the days implement.
- **O8 (make-to-stock preprocessing stage)**: the model has no preprocessing *queue*; dewatering
  is an instantaneous mass change at the source, so there is no M/M/1 stage to check.
- **O9 (Palm's theorem, random haulage times)**: transit times are deterministic
  (distance / speed), so there is nothing random for Palm's theorem to test.
"""


def run_all(fast: bool) -> tuple[list[Check], dict[str, float]]:
    reps = 10 if fast else 40
    horizon = 2000 if fast else 4000
    checks: list[Check] = []
    timings: dict[str, float] = {}
    steps = [
        ("O1", lambda: o1(reps, horizon)),
        ("O2d", lambda: o2d(reps, horizon)),
        ("O5", lambda: o5(reps, horizon)),
        ("O10", lambda: o10(reps, horizon)),
        ("O12", lambda: o12(reps, horizon)),
        ("coal exit", lambda: coal_exit(4 if fast else 10)),
        ("hub removal", lambda: hub_removal(3 if fast else 8)),
        ("NISP", lambda: nisp_distance(3 if fast else 8)),
    ]
    for name, fn in steps:
        t0 = time.perf_counter()
        checks.extend(fn())
        timings[name] = time.perf_counter() - t0
        print(f"{name}: {timings[name]:.1f} s", file=sys.stderr)
    return checks, timings


def report(checks: list[Check], timings: dict[str, float], fast: bool) -> str:
    head = ("| check | simulated | 95 % CI | reference | tolerance | detects (80 % power) | result | note |\n"
            "|---|---|---|---|---|---|---|---|")
    lines = [
        "# Validation",
        "",
        f"Generated by `python -m analysis.validation{' --fast' if fast else ''}` "
        f"({'fast mode: fewer replications, wider derived tolerances' if fast else 'full mode'}); "
        f"{sum(timings.values()):.0f} s in all. Do not edit by hand.",
        "",
        "Rule: a closed form passes when |simulated - reference| <= 4 SE (SE = sd / sqrt(R) over R "
        "independent replications with fixed seeds); a direction passes when the paired difference "
        "is more than 4 SE from zero on the stated side.",
        "",
    ]
    groups = dict.fromkeys(c.group for c in checks)
    titles = {"O1": "O1 availability (alternating renewal): A = MTBF / (MTBF + MTTR)",
              "O2d": "O2d buffer against Markov outages: fill = 1 - alpha/(alpha+beta) (1-beta)^k",
              "O10": "O10 finite-refill buffer, on-off supplier at r = 1.25 d and 1.5 d (docs/oracle-fluid-buffer.md)",
              "O12": "O12 common-cause shock over two redundant suppliers, beta-factor model "
                      "(docs/oracle-common-cause.md)",
              "O5": "O5 redundant suppliers without a buffer (k-of-n, Poisson-binomial enumeration)",
              "coal exit": "Kalundborg coal exit (scenarios/kalundborg_coal_exit.toml), qualitative",
              "hub removal": "Hub removal, targeted against random (scenarios/kalundborg_hub_removal.toml)",
              "NISP": "NISP exchange distance (sim.synthetic region, analysis/nisp_distance.py)"}
    for g in groups:
        lines += [f"## {titles.get(g, g)}", "", head] + [c.row() for c in checks if c.group == g] + [""]
    lines += ["## Not checked, and why", "", NOT_APPLICABLE]
    failed = [c for c in checks if not c.passed]
    lines += ["## Where the model does not match", ""]
    if failed:
        lines += [f"- {c.group}: {c.name}: simulated {c.simulated:.4f} vs {c.reference} (SE {c.se:.4f})."
                  for c in failed]
    else:
        lines.append("- Every check above passes.")
    lines += [
        "- Hub removal is measured in tonnes exchanged (steam and heat as MWh-as-t). A ratio such as "
        "the secondary fill rate does not show it: closing Asnaes also removes its own large water "
        "input from the denominator.",
        "- Hub removal and the coal exit are qualitative: the published findings give directions "
        "(worse, held, dearer), not numbers, and Chopra & Khanna's details are [M] in our notes.",
        "- Kalundborg's prices, outage rates and contract terms are private, so the scenario's money "
        "figures are estimates [E]; the coal-exit cost rise depends on them.",
        "- The coal exit needs scripted notice events: a `stream_end` sets the output to zero but does not "
        "end the contract, so a backup would not be called without them.",
        "- NISP: the synthetic median is set mainly by facility density (the region's size), since the "
        "cited margins give break-even distances far above 33 km; matching it is a calibration, not "
        "a prediction.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.validation", description=__doc__.split("\n\n")[0])
    ap.add_argument("--fast", action="store_true", help="fewer replications (CI); exit 1 on a failed check")
    ap.add_argument("--out", type=Path, default=REPO / "VALIDATION.md")
    a = ap.parse_args(argv)
    checks, timings = run_all(a.fast)
    a.out.write_text(report(checks, timings, a.fast), encoding="utf-8")
    failed = [c for c in checks if not c.passed]
    for c in failed:
        print(f"FAIL {c.group}: {c.name}: {c.simulated:.5f} vs {c.reference} (SE {c.se:.5f})", file=sys.stderr)
    print(f"{a.out}: {len(checks) - len(failed)}/{len(checks)} checks pass", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
