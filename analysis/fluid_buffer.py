"""Finite-refill buffer oracle (O10): an on-off supplier, a constant drain, a finite buffer.

A supplier up or down by a two-state Markov chain (P(up -> down) = alpha, P(down -> up) = beta
per day: `failure = repair = "geometric"` outages, so every day is wholly up or down) ships r
t/day while up; one buyer uses d t/day of secondary (r > d); its buffer holds B t. What would
exceed B is overflow (disposed), what the buffer cannot give is unmet secondary (bought
virgin). Outputs: the unmet share (of d) and the overflow share (of what was shipped).

- :func:`fluid_closed_form`: the continuous-time fluid queue (Anick, Mitra & Sondhi 1982;
  Kulkarni 1997), up-time ~ Exp(alpha), down-time ~ Exp(beta): the documented limit.
- :func:`discrete_chain`: the daily model the simulator runs (a Markov-modulated walk on
  [0, B] with steps +(r - d) / -d, solved exactly as a finite chain): what O10 checks.
- :func:`simulate`: the simulator on :func:`fluid_scenario`, many seeded replications
  (common random numbers across buffer sizes), estimate +- SE of both shares.

Derivation, assumptions and the numerical gap between the two forms: docs/oracle-fluid-buffer.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Shares:
    """Stationary unmet share (of demand d) and overflow share (of what was shipped)."""

    unmet: float
    overflow: float


def fluid_closed_form(alpha: float, beta: float, r: float, d: float, buffer_t: float) -> Shares:
    """The continuous-time on-off fluid queue with a finite buffer (rates per day).

    With p0 = alpha / (alpha + beta) the down share, z = (beta (r - d) - alpha d) / (d (r - d))
    the non-zero eigenvalue and kappa = z d / beta = 1 - alpha d / (beta (r - d)):
    unmet share = p0 kappa / (e^{zB} - 1 + kappa) (= P(empty, down));
    overflow share = (r - d) / r * kappa e^{zB} / (e^{zB} - 1 + kappa) (= (r - d) P(full, up) / (r p1)).
    At zero drift (kappa = 0) the limits p0 d / (d + beta B) and (r - d) / r * d / (d + beta B)."""
    _check(alpha, beta, r, d, buffer_t)
    p0 = alpha / (alpha + beta)
    z = (beta * (r - d) - alpha * d) / (d * (r - d))
    kappa = z * d / beta
    if abs(z * buffer_t) < 1e-9:  # zero drift: e^{zB} - 1 ~ zB, both shares by l'Hopital
        den = d + beta * buffer_t
        return Shares(p0 * d / den, (r - d) / r * d / den)
    ezb = math.exp(z * buffer_t)
    den = ezb - 1.0 + kappa
    return Shares(p0 * kappa / den, (r - d) / r * kappa * ezb / den)


def _check(alpha: float, beta: float, r: float, d: float, buffer_t: float) -> None:
    if not (0.0 < alpha and 0.0 < beta and 0.0 < d < r and buffer_t >= 0.0):
        raise ValueError(f"need alpha, beta > 0, 0 < d < r, B >= 0 (got {alpha}, {beta}, {r}, {d}, {buffer_t})")


def grid_step(*amounts: float, max_denominator: int = 10_000) -> float:
    """The largest h with every amount an integer multiple of h (amounts rational)."""
    fr = [Fraction(a).limit_denominator(max_denominator) for a in amounts]
    for a, f in zip(amounts, fr, strict=True):
        if abs(float(f) - a) > 1e-9 * max(1.0, abs(a)):
            raise ValueError(f"{a} is not a ratio of small integers: the chain needs commensurate r - d, d, B")
    lcm = math.lcm(*(f.denominator for f in fr))
    g = math.gcd(*(int(f * lcm) for f in fr if f != 0))
    return g / lcm


def chain_matrix(alpha: float, beta: float, r: float, d: float, buffer_t: float, variant: str = "model"):
    """Transition matrix and per-state unmet and overflow of the daily chain.

    State (x, u): x the buffer at the end of a day (grid index), u the supplier's state on the
    day whose shipment lands tomorrow (1 up). Tomorrow: r u lands, the buyer uses min(d, x + r u),
    the excess over B overflows; then u moves by the Markov chain. The `variant`s are the bugs
    the check is meant to catch (docs/oracle-fluid-buffer.md): "land_after_use" (the delivery
    enters after the day's use, an off-by-one-day landing), "refill_r" (the buffer refills at r
    while the buyer also uses d)."""
    _check(alpha, beta, r, d, buffer_t)
    h = grid_step(r, d, buffer_t)
    n, R, D = round(buffer_t / h), round(r / h), round(d / h)
    size = 2 * (n + 1)
    P = np.zeros((size, size))
    unmet = np.zeros(size)
    over = np.zeros(size)
    move = {0: (1.0 - beta, beta), 1: (alpha, 1.0 - alpha)}  # P(u -> 0), P(u -> 1)
    for u in (0, 1):
        for x in range(n + 1):
            s = u * (n + 1) + x
            land = R * u
            if variant == "model":
                use = min(D, x + land)
                after = x + land - use
            elif variant == "land_after_use":
                use = min(D, x)
                after = x - use + land
            elif variant == "refill_r":
                use = D if u else min(D, x)
                after = x + land - (0 if u else use)
            else:
                raise ValueError(f"unknown variant {variant!r}")
            unmet[s] = (D - use) * h
            over[s] = max(0, after - n) * h
            x2 = min(after, n)
            for u2 in (0, 1):
                P[s, u2 * (n + 1) + x2] += move[u][u2]
    return P, unmet, over


def discrete_chain(alpha: float, beta: float, r: float, d: float, buffer_t: float, variant: str = "model") -> Shares:
    """The stationary shares of the daily model, exactly (alpha, beta: probabilities per day;
    r, d: t per day; r - d, d and B commensurate)."""
    P, unmet, over = chain_matrix(alpha, beta, r, d, buffer_t, variant)
    size = P.shape[0]
    A = P.T - np.eye(size)
    A[-1, :] = 1.0  # replace one balance equation by sum(pi) = 1
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    pi = np.linalg.solve(A, rhs)
    shipped = r * beta / (alpha + beta)
    return Shares(float(pi @ unmet) / d, float(pi @ over) / shipped)


def stepped_chain(alpha: float, beta: float, r: float, d: float, buffer_t: float, steps_per_day: int) -> Shares:
    """The daily chain on a finer clock (alpha, beta, r, d per day scaled by 1 / steps_per_day):
    it tends to :func:`fluid_closed_form` as steps_per_day grows (the gap in the doc)."""
    k = steps_per_day
    return discrete_chain(alpha / k, beta / k, r / k, d / k, buffer_t)


def fluid_scenario(alpha: float, beta: float, r: float, d: float, buffer_t: float, horizon: int,
                   warmup: int) -> dict[str, Any]:
    """One supplier (geometric outages, output exactly r while up, no noise, large source
    storage), one buyer (demand d, secondary only up to d, buffer B, no shelf life, no quality
    bands, virgin from the market), one contract of r t/day delivered daily.

    The buyer plans d of secondary a day (`planned_secondary_t_per_day = d`) and rebuilds its
    buffer only from the surplus r - d (`refill = "none"`: no hold-back, no catch-up), so it
    uses min(d, stock): the fluid model."""
    inp: dict[str, Any] = {"material": "raw", "demand_t_per_day": d, "buffer_t": buffer_t, "virgin": "market",
                           "planned_secondary_t_per_day": d, "refill": "none",
                           "substitutes": [{"material": "waste", "ratio": 1.0, "max_share": 1.0}]}
    outages = {"mtbf_days": 1.0 / alpha, "mttr_days": 1.0 / beta, "failure": "geometric", "repair": "geometric"}
    return {
        "scenario": {"name": "fluid-buffer", "horizon_days": horizon, "warmup_days": warmup},
        "materials": [{"id": "waste"}, {"id": "raw", "virgin_price_per_t": 10.0}],
        "facilities": [
            {"id": "sup", "location": {"x_km": 0, "y_km": 0}, "outages": outages,
             "outputs": [{"material": "waste", "rate_t_per_day": r, "storage_t": 100.0 * r}]},
            {"id": "buy", "location": {"x_km": 1, "y_km": 0}, "inputs": [inp]},
        ],
        "contracts": [{"id": "c", "supplier": "sup", "buyer": "buy", "material": "waste",
                       "volume_t_per_day": r, "delivery_interval_days": 1}],
    }


def run_shares(result: Any) -> tuple[float, float]:
    """(unmet share, overflow share) of one run, over the window after the warm-up, from its
    material table: unmet = 1 - secondary used / required (the virgin bought), overflow =
    secondary disposed / secondary accepted at the buyer's gate."""
    mt = result.materials.set_index("material")
    raw, waste = mt.loc["raw"], mt.loc["waste"]
    return 1.0 - raw["from_secondary"] / raw["required"], waste["disposed"] / waste["exchanged"]


@dataclass(frozen=True)
class Estimate:
    """Mean +- SE over replications of both shares, with the per-run values."""

    unmet: float
    unmet_se: float
    overflow: float
    overflow_se: float
    unmet_runs: np.ndarray
    overflow_runs: np.ndarray


def simulate(alpha: float, beta: float, r: float, d: float, buffer_t: float, reps: int, horizon: int,
             warmup: int = 100, root: int = 1010) -> Estimate:
    """Run the simulator `reps` times (seed r of `root`: the same outage paths at every B),
    and return the mean and SE (sd / sqrt(reps)) of both shares."""
    from sim.run import run_once
    from sim.scenario import parse_scenario

    sc = parse_scenario(fluid_scenario(alpha, beta, r, d, buffer_t, horizon, warmup))
    shares = np.asarray([run_shares(run_once(sc, np.random.SeedSequence(root, spawn_key=(k,))))
                         for k in range(reps)])
    u, o = shares[:, 0], shares[:, 1]
    se = math.sqrt(reps)
    return Estimate(float(u.mean()), float(u.std(ddof=1) / se), float(o.mean()), float(o.std(ddof=1) / se), u, o)
