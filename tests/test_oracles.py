"""Closed forms reproduced within Monte Carlo error (reference: oracles-and-metrics.md).

Tolerances are 4 standard errors of the mean over independent replications (plus no
discretisation allowance: each test matches the discrete or continuous form its mechanism
implements).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model import SymbiosisModel
from sim.scenario import parse_scenario

pytestmark = pytest.mark.slow


def supplier_buyer(outages: dict, demand: float, buffer_t: float, horizon: int, warmup: int) -> dict:
    """A supplier with no source storage that ships all it makes each day (contract far above
    output), and a buyer that can use nothing but the secondary material (virgin = none)."""
    return {
        "scenario": {"name": "oracle", "horizon_days": horizon, "warmup_days": warmup},
        "materials": [{"id": "waste"}, {"id": "raw", "virgin_price_per_t": 10.0}],
        "facilities": [
            {
                "id": "sup",
                "location": {"x_km": 0, "y_km": 0},
                "outages": outages,
                "outputs": [{"material": "waste", "rate_t_per_day": 1000.0}],
            },
            {
                "id": "buy",
                "location": {"x_km": 1, "y_km": 0},
                "inputs": [
                    {
                        "material": "raw",
                        "demand_t_per_day": demand,
                        "buffer_t": buffer_t,
                        "virgin": "none",
                        "substitutes": [{"material": "waste"}],
                    }
                ],
            },
        ],
        "contracts": [
            {"id": "c", "supplier": "sup", "buyer": "buy", "material": "waste", "volume_t_per_day": 1000.0}
        ],
    }


def replicate(raw: dict, metric, reps: int) -> np.ndarray:
    sc = parse_scenario(raw)
    out = []
    for r in range(reps):
        m = SymbiosisModel(sc, rng=np.random.SeedSequence(2026, spawn_key=(r,)), collect_series=False)
        m.run()
        out.append(metric(m))
    return np.asarray(out)


def assert_within_4se(values: np.ndarray, expected: float) -> None:
    mean = values.mean()
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert se > 0
    assert abs(mean - expected) <= 4 * se, f"mean {mean:.5f} vs {expected:.5f} (SE {se:.5f})"


@pytest.mark.parametrize(
    "outages",
    [
        {"mtbf_days": 20.0, "mttr_days": 5.0},
        {
            "mtbf_days": 30.0,
            "mttr_days": 4.0,
            "failure": "weibull",
            "failure_shape": 2.0,
            "repair": "lognormal",
            "repair_cv": 1.0,
        },
    ],
    ids=["exponential", "weibull-lognormal"],
)
def test_availability_matches_mtbf_over_mtbf_plus_mttr(outages: dict) -> None:
    """O1: time-average availability = MTBF / (MTBF + MTTR) for any up/down laws."""
    raw = supplier_buyer(outages, demand=1.0, buffer_t=0.0, horizon=3650, warmup=0)
    avail = replicate(raw, lambda m: float(m.up_history[:, 0].mean()), reps=24)
    assert_within_4se(avail, outages["mtbf_days"] / (outages["mtbf_days"] + outages["mttr_days"]))


def _weibull_cv(k: float) -> float:
    """The coefficient of variation of a Weibull law of shape k."""
    return math.sqrt(math.gamma(1 + 2 / k) / math.gamma(1 + 1 / k) ** 2 - 1)


def _cv_and_its_se(x: np.ndarray, rng: np.random.Generator, resamples: int = 400) -> tuple[float, float]:
    """The sample coefficient of variation and its bootstrap standard error."""
    cv = float(x.std(ddof=1) / x.mean())
    boot = [float(b.std(ddof=1) / b.mean()) for b in (rng.choice(x, size=len(x)) for _ in range(resamples))]
    return cv, float(np.std(boot, ddof=1))


@pytest.mark.parametrize(
    ("outages", "which", "cv"),
    [
        ({"failure": "lognormal", "failure_cv": 0.3}, "up", 0.3),
        ({"failure": "lognormal", "failure_cv": 0.8}, "up", 0.8),
        ({"failure": "weibull", "failure_shape": 3.0}, "up", _weibull_cv(3.0)),
        ({"repair": "weibull", "repair_shape": 0.8}, "repair", _weibull_cv(0.8)),
        ({"repair": "lognormal", "repair_cv": 0.5}, "repair", 0.5),
    ],
    ids=["failure_cv 0.3", "failure_cv 0.8", "failure_shape 3", "repair_shape 0.8", "repair_cv 0.5"],
)
def test_outage_law_parameters_set_the_spread_of_up_and_repair_times(outages: dict, which: str, cv: float) -> None:
    """The shape and CV of the failure and repair laws: the up-times and repair times of one
    long run have the stated coefficient of variation, within 4 bootstrap standard errors
    (their means are O1's business; here the spread, which availability cannot see)."""
    raw = supplier_buyer({"mtbf_days": 10.0, "mttr_days": 2.0, **outages}, demand=1.0, buffer_t=0.0,
                         horizon=40_000, warmup=0)
    m = SymbiosisModel(parse_scenario(raw), rng=np.random.SeedSequence(7), collect_series=False)
    m.run()
    log = [(s, e) for s, e, cause in m.facilities[0].up.open_log(m.horizon) if cause == "failure"]
    starts, ends = np.array([s for s, _ in log]), np.array([e for _, e in log])
    times = (ends - starts)[:-1] if which == "repair" else starts[1:] - ends[:-1]
    assert len(times) > 2000
    got, se = _cv_and_its_se(times, np.random.default_rng(1))
    assert abs(got - cv) <= 4 * se, f"CV {got:.3f} vs {cv:.3f} (SE {se:.3f})"


@pytest.mark.parametrize("k", [0, 3])
def test_buffer_against_markov_outages_matches_discrete_fill_rate(k: int) -> None:
    """O2d: Markov supplier (alpha, beta per day), full refill in each up day, buffer B = k d:
    fill rate = 1 - alpha / (alpha + beta) * (1 - beta)^k."""
    alpha, beta, d = 0.05, 0.3, 4.0
    outages = {"mtbf_days": 1 / alpha, "mttr_days": 1 / beta, "failure": "geometric", "repair": "geometric"}
    raw = supplier_buyer(outages, demand=d, buffer_t=k * d, horizon=4000, warmup=100)
    fill = replicate(raw, lambda m: m.result().metrics["fill_rate"], reps=24)
    assert_within_4se(fill, 1 - alpha / (alpha + beta) * (1 - beta) ** k)


def test_shortage_episodes_have_the_geometric_tail_of_outages() -> None:
    """O2d: P(an outage outlasts a cover of k days) = (1 - beta)^k, read off the episodes:
    expected shortage episodes per outage = (1 - beta)^k."""
    alpha, beta, d, k = 0.05, 0.3, 4.0, 2
    outages = {"mtbf_days": 1 / alpha, "mttr_days": 1 / beta, "failure": "geometric", "repair": "geometric"}
    raw = supplier_buyer(outages, demand=d, buffer_t=k * d, horizon=4000, warmup=0)

    def episodes_per_outage(m: SymbiosisModel) -> float:
        failures = int((m.outage_log()["cause"] == "failure").sum())
        return m.result().metrics["disruption_events"] / failures

    ratio = replicate(raw, episodes_per_outage, reps=24)
    assert_within_4se(ratio, (1 - beta) ** k)
