"""Step 5b of the day: production, one facility at a time (Facility.produce delegates here).

**Production.** Each stream puts out rate x pattern x noise x operating level (after
preprocessing) into source storage, as one lot with today's quality draw.

`fac` is a :class:`sim.agents.Facility` (typed loosely: the agents import this module). The
array day's column version is sim/day/production_arrays.py.
"""

from __future__ import annotations

from typing import Any


def produce(fac: Any, day: int) -> None:
    """Put today's output into source storage, at today's operating level."""
    m = fac.model
    flows = m.streams_flow
    generated_raw, generated = flows["generated_raw_t"][day], flows["generated_t"][day]
    operating = fac.operating
    for st in fac.streams:
        k = st.index
        base = st.base.item(day) * st.scale
        raw = base * operating
        generated_raw[k] = raw
        if raw <= 0.0:
            continue
        if st.preprocessing_cost > 0.0:
            m.money.pay(day, st.pay_preprocessing, raw * st.preprocessing_cost)
        out = raw * st.mass_factor
        generated[k] = out
        quality = st.quality
        st.storage.put(out, day, quality[day] if quality is not None else None)
