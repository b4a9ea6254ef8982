"""Design points: from a study's `[design]` table to an ordered list of factor settings.

- `grid`: the full factorial, the last factor varying fastest (like nested loops in file order).
- `rows`: the rows as written.
- `lhs`: a Latin hypercube (`scipy.stats.qmc.LatinHypercube`) of `samples` points.
- `sobol`: Saltelli's scheme via SALib, `samples * (D + 2)` rows (`samples * (2D + 2)` with
  `second_order = true`); `morris`: `samples` trajectories of `D + 1` rows via SALib.

Sampled designs are drawn on the unit cube and mapped to each factor: a range
`{low, high}` linearly (integer ranges by flooring onto `low..high`, each integer an equal
share of the cube), a list of levels by splitting [0, 1) into equal parts. SALib's row order is
kept exactly (its analysis depends on it), so design point i is SALib row i. A named
`reference` that is not among the sampled points is appended as the last design point.

All randomness comes from Generators seeded by the study seed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.experiment.study import Design, Range, StudyError


@dataclass(frozen=True)
class DesignTable:
    """The design points of a study, in order, and which one is the reference (if any).

    `sampled` counts the points that came from the sampler (SALib analyses use rows
    0..sampled-1); an appended reference point follows them.
    """

    factors: list[str]
    points: list[dict[str, Any]]
    reference: int | None
    sampled: int


def build_design(design: Design, seed: int, source: str = "<study>") -> DesignTable:
    """The design points of `design`, sampled (when sampled) from the study `seed`."""
    if design.kind == "grid":
        factors = list(design.factors)
        levels = [design.factors[f] for f in factors]
        points = [dict(zip(factors, combo, strict=True)) for combo in itertools.product(*levels)]
    elif design.kind == "rows":
        factors = list(design.rows[0])
        points = [{f: row[f] for f in factors} for row in design.rows]
    else:
        factors = list(design.factors)
        unit = _unit_sample(design, seed)
        points = [
            {f: _map_unit(design.factors[f], u) for f, u in zip(factors, row, strict=True)}
            for row in unit
        ]
    sampled = len(points)
    reference = None
    if design.reference is not None:
        wanted = {f: design.reference[f] for f in factors}
        reference = next((i for i, p in enumerate(points) if _same_point(p, wanted)), None)
        if reference is None:
            if design.kind in ("grid", "rows"):
                raise StudyError([f"{source}: design.reference: not one of the design points"
                                  f" (given {wanted})"])
            points.append(wanted)
            reference = len(points) - 1
    return DesignTable(factors=factors, points=points, reference=reference, sampled=sampled)


def _same_point(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(type(a[k]) is type(b[k]) or _both_numbers(a[k], b[k]) for k in a) and a == b


def _both_numbers(x: Any, y: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))


def _unit_sample(design: Design, seed: int) -> np.ndarray:
    """Rows of points in [0, 1)^D from the design's sampler."""
    dim = len(design.factors)
    n = int(design.samples or 0)
    if design.kind == "lhs":
        from scipy.stats import qmc

        sampler = qmc.LatinHypercube(d=dim, rng=np.random.default_rng(seed))
        return sampler.random(n)
    problem = {"num_vars": dim, "names": list(design.factors), "bounds": [[0.0, 1.0]] * dim}
    if design.kind == "sobol":
        from SALib.sample import sobol

        return np.asarray(sobol.sample(problem, n, calc_second_order=design.second_order, seed=seed))
    from SALib.sample import morris

    return np.asarray(morris.sample(problem, n, num_levels=design.levels, seed=seed))


def _map_unit(spec: Range | list[Any], u: float) -> Any:
    """Map a unit-cube coordinate to a factor value."""
    u = min(max(float(u), 0.0), math.nextafter(1.0, 0.0))
    if isinstance(spec, list):
        return spec[int(u * len(spec))]
    if spec.integer:
        low, high = int(spec.low), int(spec.high)
        return low + int(u * (high - low + 1))
    return spec.low + u * (spec.high - spec.low)
