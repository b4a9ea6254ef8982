"""Step 5b on the array day's columns: production (sim/day/production.py is the object
core's, and the reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.day.columns import PRODUCE


def produce(a: Any, day: int, up: np.ndarray, operating: np.ndarray) -> None:
    """Facility.produce for every stream."""
    if a.base is None:
        return
    flows = a.m.streams_flow
    base = a.base[day] * a.scale
    raw = base * operating[a.st_fac]
    flows["generated_raw_t"][day] = raw
    made = np.flatnonzero(raw > 0.0)
    raw = raw[made]
    pre = a.pre_cost[made] > 0.0
    if pre.any():
        s = made[pre]
        a.queue_payments(a.st_fac[s], PRODUCE, s, a.pay_pre[s], raw[pre] * a.pre_cost[s])
    out = raw * a.mass[made]
    flows["generated_t"][day, made] = out
    offset = a.q_offset[made]
    a.src.put(made, out, np.full(len(made), float(day)), np.where(offset >= 0, offset + day, -1))
