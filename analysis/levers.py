"""Levers against uncertainties: which choice is best across the futures a study spans.

A study may mark factors as uncertainties (`[design] uncertainties = [...]`): levels that are
not a choice, such as a poor beet year or a virgin price. The other factors are levers. A
*lever setting* is one combination of lever levels; in a crossed design it appears at every
combination of uncertainty levels.

:func:`lever_scores` gives, per lever setting, each replication's mean of a metric over the
setting's design points (the uncertainty levels, weighted equally). Replication k has the same
seed at every design point (common random numbers), so these per-replication means pair
across lever settings: :func:`rank_levers` ranks the settings by their mean with a t CI, and
:func:`paired_gap` gives the paired CI of the difference between two settings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.summary import higher_is_better, t_interval


@dataclass(frozen=True)
class LeverSetting:
    """One combination of lever levels, the design points that have it, and its score per
    replication (mean over those points)."""

    levels: tuple
    points: list[int]
    per_replication: pd.Series

    @property
    def mean(self) -> float:
        """Mean over replications of the mean over uncertainty levels."""
        return float(self.per_replication.mean()) if len(self.per_replication) else math.nan

    @property
    def ci(self) -> tuple[float, float]:
        """95 % t CI of `mean` over replications."""
        return t_interval(self.per_replication.to_numpy(float))


def point_table(runs: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """Each design point's factor values (indexed by design point)."""
    return runs.drop_duplicates("design_point").set_index("design_point")[list(factors)].sort_index()


def combinations(points: pd.DataFrame, columns: Sequence[str]) -> list[tuple]:
    """Each design point's levels of `columns`, as the design wrote them (an integer stays an
    integer: a row of a mixed frame would turn it into a float)."""
    return list(zip(*(points[c].tolist() for c in columns), strict=True)) if columns else [()] * len(points)


def lever_scores(runs: pd.DataFrame, factors: Sequence[str], levers: Sequence[str], metric: str) -> list[LeverSetting]:
    """Per lever setting (in design-point order): its points and per-replication scores. A
    replication counts for a setting only when it completed at every one of its points."""
    ok = runs[runs["status"] == "ok"]
    points = point_table(runs, factors)
    groups: dict[tuple, list[int]] = {}
    for dp, levels in zip(points.index, combinations(points, levers), strict=True):
        groups.setdefault(levels, []).append(int(dp))
    out = []
    for levels, dps in groups.items():
        mine = ok[ok["design_point"].isin(dps)]
        if metric in mine.columns and not mine.empty:
            wide = mine.pivot(index="replication", columns="design_point", values=metric)
            wide = wide.reindex(columns=dps).dropna()
            scores = wide.mean(axis=1)
        else:
            scores = pd.Series(dtype=float)
        out.append(LeverSetting(levels=levels, points=dps, per_replication=scores))
    return out


def rank_levers(settings: list[LeverSetting], metric: str) -> list[LeverSetting]:
    """The settings seen at every uncertainty combination (the most points any setting has)
    and with scores, best first by `metric`'s direction (:func:`analysis.summary.higher_is_better`)."""
    full = max((len(s.points) for s in settings), default=0)
    complete = [s for s in settings if len(s.points) == full and len(s.per_replication)]
    sign = -1.0 if higher_is_better(metric) else 1.0
    return sorted(complete, key=lambda s: sign * s.mean)


def paired_gap(a: LeverSetting, b: LeverSetting) -> tuple[float, float, float] | None:
    """Mean of a - b over the replications both have, with its paired 95 % t CI (None with
    fewer than 2 pairs)."""
    both = pd.concat({"a": a.per_replication, "b": b.per_replication}, axis=1).dropna()
    d = (both["a"] - both["b"]).to_numpy(float)
    if len(d) < 2:
        return None
    low, high = t_interval(d)
    return float(np.mean(d)), low, high
