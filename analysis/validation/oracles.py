"""The closed-form checks: the simulator run in-process (``SymbiosisModel`` or
``sim.run.run_once``) on small networks whose answer is known exactly.

O1 availability, O2 (on days) and O2d the buffer against daily Markov outages, O5 k-of-n suppliers, O10 the
finite-refill buffer, O12 the beta-factor common cause (oracles-and-metrics, docs/oracle-*.md),
and the money rows: a buyer's penalty income against penalty x the expected shortfall, and the
penalty ledger against penalty x the tonnes short. Every check is |simulated - reference| <=
4 SE over independent replications with fixed seeds (analysis/checks.py), unless its row
states another tolerance.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from analysis.checks import Check, closeness, mean_se, run_model
from sim.model import SymbiosisModel
from sim.scenario import parse_scenario

#: O2d and the money rows: daily Markov outages, P(up -> down) = alpha, P(down -> up) = beta.
ALPHA, BETA, DEMAND = 0.05, 0.3, 4.0


def replicate(raw: dict[str, Any], metric, reps: int, root: int) -> np.ndarray:
    """`metric(model)` over `reps` runs of the scenario `raw`, seed r of `root`."""
    sc = parse_scenario(raw)
    return np.asarray([metric(run_model(sc, root, r)) for r in range(reps)], dtype=float)


def supplier_buyer(outages: dict, demand: float, buffer_t: float, horizon: int, warmup: int,
                   contract: dict | None = None) -> dict:
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
        "contracts": [{"id": "c", "supplier": "sup", "buyer": "buy", "material": "waste",
                       "volume_t_per_day": 1000.0, **(contract or {})}],
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
        out.append(closeness("O1", label, x, outages["mtbf_days"] / (outages["mtbf_days"] + outages["mttr_days"]),
                             compares="the supplier's mean daily up-fraction against MTBF / (MTBF + MTTR)"))
    return out


def markov_outages() -> dict:
    """Daily Markov outages: whole days up or down, up-time mean 1/alpha, down-time 1/beta."""
    return {"mtbf_days": 1 / ALPHA, "mttr_days": 1 / BETA, "failure": "geometric", "repair": "geometric"}


def o2d(reps: int, horizon: int, ks: tuple[int, ...] = (0, 3, 7)) -> list[Check]:
    """Buffers of k days of demand, for k in `ks`."""
    out = []
    for k in ks:
        raw = supplier_buyer(markov_outages(), DEMAND, k * DEMAND, horizon, 100)
        x = replicate(raw, lambda m: m.result().metrics["fill_rate"], reps, 202 + k)
        out.append(closeness("O2d", f"fill rate, buffer {k} days (alpha .05, beta .3)", x,
                             1 - ALPHA / (ALPHA + BETA) * (1 - BETA) ** k,
                             compares=f"the buyer's fill rate with a {k}-day buffer refilled at once "
                                      "against 1 - alpha/(alpha+beta) (1-beta)^k"))
    return out


def o2(reps: int, horizon: int, ks: tuple[int, ...] = (0, 3, 7)) -> list[Check]:
    """O2 on days: exponential up- and down-times (rates lambda = alpha, mu = beta per day), a
    buffer of b = k days refilled by any day partly up, whole-day steps. An outage covers
    N = floor(R) whole days after the day it starts in, R ~ Exp(mu) by memorylessness, with
    probability (1 - e^{-mu}) / mu over a uniform start phase; so E[(N - k)^+] = e^{-mu (k+1)} / mu
    and fill = 1 - lambda/(lambda+mu) e^{-mu (b+1)}: the continuous O2 with one day more of
    buffer. The continuous O2 (no day step) is the note; their gap is the discretisation bias
    (docs/validation-method.md)."""
    q = ALPHA / (ALPHA + BETA)
    out = []
    for k in ks:
        raw = supplier_buyer({"mtbf_days": 1 / ALPHA, "mttr_days": 1 / BETA}, DEMAND, k * DEMAND, horizon, 100)
        x = replicate(raw, lambda m: m.result().metrics["fill_rate"], reps, 707 + k)
        cont = 1 - q * math.exp(-BETA * k)
        day = 1 - q * math.exp(-BETA * (k + 1))
        out.append(closeness("O2", f"fill rate, buffer {k} days, exponential outages (MTBF 20, MTTR 3.33)", x, day,
                             f"continuous O2 {cont:.5f}: day-step bias {day - cont:+.5f}",
                             compares="the buyer's fill rate against 1 - lambda/(lambda+mu) e^{-mu (b+1)}"))
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
                      "E[(d - sum c_i 1{up_i})^+] by enumeration",
                      compares="the buyer's fill rate against 1 - E[(d - sum c_i 1{up_i})^+] / d, "
                               "up_i independent with P = MTBF_i / (MTBF_i + MTTR_i)")]


def o10(reps: int, horizon: int) -> list[Check]:
    """O10: on-off supplier shipping r = 1.25 d and 1.5 d, buffer 0.5, 2 and 5 days of d;
    unmet and overflow shares against the exact daily chain (analysis/fluid_buffer.py)."""
    from analysis.fluid_buffer import discrete_chain, fluid_closed_form, simulate

    d = DEMAND
    out = []
    for r in (1.25 * d, 1.5 * d):
        for days in (0.5, 2.0, 5.0):
            est = simulate(ALPHA, BETA, r, d, days * d, reps, horizon, root=1010)
            ref, lim = discrete_chain(ALPHA, BETA, r, d, days * d), fluid_closed_form(ALPHA, BETA, r, d, days * d)
            for what, x, exact, cont in (("unmet share", est.unmet_runs, ref.unmet, lim.unmet),
                                         ("overflow share", est.overflow_runs, ref.overflow, lim.overflow)):
                out.append(closeness("O10", f"{what}, r = {r / d:g} d, buffer {days:g} days", x, exact,
                                     f"continuous limit {cont:.5f}",
                                     compares=f"the simulated {what} against the stationary daily chain "
                                              "(finite Markov chain, solved exactly)"))
    return out


def o12(reps: int, horizon: int, commons: tuple[bool, ...] = (True, False)) -> list[Check]:
    """O12: two redundant suppliers, independent daily Markov outages and a common cause over
    both (beta-factor model); neither-up share and zero-buffer unmet share against
    1 - (1 - q_c)(1 - q1 q2), and without the common cause against q1 q2 (`commons`: which)."""
    from analysis.common_cause import RATES, down_share, neither_share, simulate

    out = []
    for common in commons:
        est = simulate(RATES, 4.0, reps, horizon, common=common)
        ref = neither_share(*RATES) if common else down_share(*RATES[:2]) * down_share(*RATES[2:4])
        case = "with common cause" if common else "independent only"
        form = "1 - (1 - q_c)(1 - q1 q2)" if common else "q1 q2"
        note = f"unmet on day t+1 iff neither up on day t: {est.mapping_breaks} breaks"
        out.append(closeness("O12", f"share of days neither up, {case}", est.neither_runs, ref, note,
                             compares=f"the share of days with both suppliers down against {form}"))
        out.append(closeness("O12", f"unmet share, zero buffer, {case}", est.unmet_runs, ref, note,
                             compares=f"the buyer's unmet share without a buffer against {form}"))
    return out


#: The money rows' penalty (EUR per t short) and settlement period (days; the warm-up and the
#: horizon are multiples of it, so no period straddles the warm-up).
PENALTY, SETTLE, MONEY_WARMUP = 2.0, 10, 100


def penalty_income(m: SymbiosisModel) -> tuple[float, float, float]:
    """(the buyer's penalty income per day after the warm-up, the penalties in the ledger,
    the contract's tonnes short after the warm-up) of one run of :func:`money`."""
    income = sum(v for (_, payee, cat, _), v in m.money.totals.items() if payee == "buy" and cat == "penalty")
    short = float(m.contracts_flow["short_t"][m.warmup:, 0].sum())
    return income / (m.horizon - m.warmup), income, short


def money(reps: int, horizon: int) -> list[Check]:
    """Penalty income: the O2d set-up (daily Markov outages, a contract of 1,000 t/day, no force
    majeure, no tolerance) with a penalty of EUR 2/t short settled every 10 days. The supplier
    ships its day's output, so the contract is short 1,000 t on a down day and nothing on an
    up day: E[income per day] = p x 1,000 x alpha / (alpha + beta)."""
    horizon -= horizon % SETTLE
    raw = supplier_buyer(markov_outages(), DEMAND, 3 * DEMAND, horizon, MONEY_WARMUP,
                         {"penalty_per_t_short": PENALTY, "settlement_days": SETTLE})
    per_day, income, short = replicate(raw, penalty_income, reps, 606).T
    q = ALPHA / (ALPHA + BETA)
    ratio = income / (PENALTY * short)
    rm, _ = mean_se(ratio)
    worst = float(np.max(np.abs(ratio - 1.0)))
    return [
        closeness("money", "buyer's penalty income per day (EUR), penalty 2/t, O2d outages", per_day,
                  PENALTY * 1000.0 * q, "p x volume x alpha/(alpha+beta)",
                  compares="the buyer's penalty income per day after the warm-up against "
                           "p x the closed-form expected shortfall (volume x P(down))"),
        Check("money", "penalty ledger / (p x tonnes short), per run", rm, 0.0, 1.0, worst <= 1e-9,
              f"largest |ratio - 1| over the runs: {worst:.1e}", compares="the penalties the ledger booked "
              "against p x the contract's tonnes short, run by run (a ledger identity)",
              tolerance_source="1e-9: float rounding; an identity, so no sampling error", slack=1e-9),
    ]
