"""One validation check: what it compares, its tolerance and where that comes from, what it
would detect, and its verdict. Shared by analysis.validation (closed forms) and
analysis.real_cases (published findings re-examined).

Kinds:
- ``closed form``: |simulated - reference| <= tolerance, the tolerance derived from the
  replications' standard error;
- ``direction``: a paired difference beyond the tolerance on the stated side;
- ``calibration``: a model input was tuned to hit the reference, so agreement is not evidence;
  listed apart, never counted as a pass;
- ``not reproduced``: a published finding the model does not show (evidence in ``note``).

``detects`` is the smallest deviation from the reference the check would flag with 80 %
power: (z_tol + z_0.80) x SE for a tolerance of z_tol SE (4 + 0.84 = 4.84 SE), plus any fixed
slack in the tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Z_TOL = 4.0  #: tolerance in standard errors
Z_POWER = 0.8416  #: one-sided z of 80 % power
KINDS = ("closed form", "direction", "calibration", "not reproduced")


@dataclass
class Check:
    group: str
    name: str
    simulated: float
    se: float
    reference: float | str
    passed: bool
    note: str = ""
    kind: str = "closed form"
    compares: str = ""  #: what is compared, in words (the two quantities)
    tolerance: float = math.nan  #: half-width of the pass band (closed form) or threshold (direction)
    tolerance_source: str = "4 SE, SE = sd / sqrt(R) over R independent replications"
    slack: float = 0.0  #: a fixed part of the tolerance not derived from the SE (stated in the source)
    n: int = 0  #: replications behind `se` (0: not given; the CI then uses the normal quantile)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"check kind {self.kind!r} is not one of {KINDS}")
        if math.isnan(self.tolerance):
            self.tolerance = Z_TOL * self.se + self.slack

    @property
    def detects(self) -> float:
        """Smallest deviation flagged with 80 % power."""
        return (Z_TOL + Z_POWER) * self.se + self.slack

    @property
    def ci(self) -> tuple[float, float]:
        """95 % interval of `simulated`: Student t on n - 1 degrees of freedom (normal when n is not given)."""
        from scipy import stats

        q = float(stats.t.ppf(0.975, self.n - 1)) if self.n > 1 else 1.959964
        return self.simulated - q * self.se, self.simulated + q * self.se

    @property
    def counted(self) -> bool:
        """Whether the check counts towards "N of M pass" (calibrations and findings do not)."""
        return self.kind in ("closed form", "direction")


def run_model(sc: Any, root: int, r: int) -> Any:
    """Replication `r` of scenario `sc` under root seed `root` (SeedSequence(root, spawn_key=(r,))),
    run to its horizon without daily series; the model, for its ledgers."""
    from sim.model import SymbiosisModel

    m = SymbiosisModel(sc, rng=np.random.SeedSequence(root, spawn_key=(r,)), collect_series=False)
    m.run()
    return m


def mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def closeness(group: str, name: str, x: np.ndarray, ref: float, note: str = "", compares: str = "") -> Check:
    m, se = mean_se(x)
    return Check(group, name, m, se, ref, abs(m - ref) <= Z_TOL * se, note, compares=compares, n=len(x))
