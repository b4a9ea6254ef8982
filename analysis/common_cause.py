"""Beta-factor oracle (O12): two redundant suppliers, independent outages and one common cause.

Two suppliers, each able to cover the buyer alone (a contract of the buyer's whole demand d from
each, delivered daily), fail on their own by two-state daily Markov chains (`failure = repair =
"geometric"`: P(up -> down) = a_i, P(down -> up) = b_i) and together by a common cause with its
own chain (a_c, b_c) over both. A supplier is down on a day when its own chain or the common
cause's is down. The buyer holds no buffer: it uses what lands, and a delivery shipped on day t
lands on day t + 1.

- :func:`neither_share`: the stationary share of days with neither supplier up,
  P(neither) = q_c + (1 - q_c) q_1 q_2 = 1 - (1 - q_c)(1 - q_1 q_2), q = a / (a + b);
  exact for the daily model (the three chains are independent).
- :func:`simulate`: the simulator on :func:`redundant_scenario`, many seeded replications:
  the share of days after the warm-up with neither supplier up, the buyer's unmet share
  (1 - secondary used / required) and the day-by-day mapping (unmet on day t + 1 exactly when
  neither supplier was up on day t).

Derivation and sources (beta-factor model: Fleming 1975; NUREG/CR-4780; IEC 61508-6 annex D):
docs/oracle-common-cause.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def down_share(a: float, b: float) -> float:
    """Stationary down share of a two-state daily chain (P(up -> down) = a, P(down -> up) = b)."""
    if not (0.0 < a <= 1.0 and 0.0 < b <= 1.0):
        raise ValueError(f"need 0 < a, b <= 1 (got {a}, {b})")
    return a / (a + b)


def neither_share(a1: float, b1: float, a2: float, b2: float, ac: float, bc: float) -> float:
    """Stationary share of days with neither supplier up: 1 - (1 - q_c)(1 - q_1 q_2)."""
    q1, q2, qc = down_share(a1, b1), down_share(a2, b2), down_share(ac, bc)
    return 1.0 - (1.0 - qc) * (1.0 - q1 * q2)


def beta_factor(a_own: float, a_common: float) -> float:
    """The beta factor of one supplier: the share of its failures (per day up) that are the
    common cause's, beta = a_c / (a_own + a_c) (Fleming 1975)."""
    return a_common / (a_own + a_common)


def _geometric(a: float, b: float) -> dict[str, Any]:
    return {"mtbf_days": 1.0 / a, "mttr_days": 1.0 / b, "failure": "geometric", "repair": "geometric"}


def redundant_scenario(rates: tuple[float, ...], d: float, horizon: int, warmup: int,
                       common: bool = True) -> dict[str, Any]:
    """Suppliers s1, s2 (rates a1, b1, a2, b2), output d each while up, a contract of d a day
    from each; the buyer needs d, holds no buffer (`buffer_t = 0`, `refill = "none"`), and buys
    virgin for the rest; the common cause (ac, bc) over both when `common`."""
    a1, b1, a2, b2, ac, bc = rates
    inp = {"material": "raw", "demand_t_per_day": d, "buffer_t": 0.0, "virgin": "market", "refill": "none",
           "planned_secondary_t_per_day": d, "substitutes": [{"material": "waste", "ratio": 1.0, "max_share": 1.0}]}
    raw: dict[str, Any] = {
        "scenario": {"name": "beta-factor", "horizon_days": horizon, "warmup_days": warmup},
        "materials": [{"id": "waste"}, {"id": "raw", "virgin_price_per_t": 10.0}],
        "facilities": [
            {"id": "s1", "location": {"x_km": 0, "y_km": 0}, "outages": _geometric(a1, b1),
             "outputs": [{"material": "waste", "rate_t_per_day": d}]},
            {"id": "s2", "location": {"x_km": 0, "y_km": 2}, "outages": _geometric(a2, b2),
             "outputs": [{"material": "waste", "rate_t_per_day": d}]},
            {"id": "buy", "location": {"x_km": 1, "y_km": 0}, "inputs": [inp]},
        ],
        "contracts": [{"id": f"c{k}", "supplier": f"s{k}", "buyer": "buy", "material": "waste",
                       "volume_t_per_day": d, "delivery_interval_days": 1} for k in (1, 2)],
    }
    if common:
        raw["common_causes"] = [{"id": "grid", "facilities": ["s1", "s2"], **_geometric(ac, bc)}]
    return raw


@dataclass(frozen=True)
class Estimate:
    """Per-run shares after the warm-up: neither supplier up, and the buyer's unmet share;
    `mapping_breaks` counts days where unmet on day t + 1 and neither up on day t disagree."""

    neither_runs: np.ndarray
    unmet_runs: np.ndarray
    mapping_breaks: int


def one_run(sc: Any, seed: np.random.SeedSequence, warmup: int) -> tuple[float, float, int]:
    """(neither share, unmet share, mapping breaks) of one run of the oracle scenario."""
    from sim.model import SymbiosisModel

    m = SymbiosisModel(sc, rng=seed, collect_series=False)
    m.run()
    ids = [f.fid for f in m.facilities]
    up = m.up_history[:, [ids.index("s1"), ids.index("s2")]]
    assert np.all((up == 0.0) | (up == 1.0)), "geometric laws switch at whole days"
    neither = up.max(axis=1) == 0.0
    required, used = m.inputs_flow["required_t"][:, 0], m.inputs_flow["from_secondary_t"][:, 0]
    short = used < required - 1e-9
    breaks = int(np.sum(short[warmup + 1:] != neither[warmup:-1]))
    window = slice(warmup, len(required))
    return float(neither[window].mean()), float(1.0 - used[window].sum() / required[window].sum()), breaks


def simulate(rates: tuple[float, ...], d: float, reps: int, horizon: int, warmup: int = 100,
             root: int = 1212, common: bool = True) -> Estimate:
    """Run the simulator `reps` times (seed r of `root`) on :func:`redundant_scenario`."""
    from sim.scenario import parse_scenario

    sc = parse_scenario(redundant_scenario(rates, d, horizon, warmup, common))
    runs = [one_run(sc, np.random.SeedSequence(root, spawn_key=(r,)), warmup) for r in range(reps)]
    arr = np.asarray(runs)
    return Estimate(arr[:, 0], arr[:, 1], int(arr[:, 2].sum()))


#: The oracle's case: q1 = 1/6, q2 = 1/7, q_c = 1/11 (P(neither) = 52/462 = 0.11255;
#: without the common cause 1/42 = 0.02381).
RATES = (1 / 20, 1 / 4, 1 / 30, 1 / 5, 1 / 60, 1 / 6)
