"""Common-cause shocks as SimPy processes (issue 23; the `[[common_causes]]` section).

A shock takes every facility of its set down together: each facility's :class:`UpState`
gets the cause ``"common:<id>"`` while the shock lasts, on top of its own causes, so a
facility is down if either its own outages or a shock hold it. The times between shocks and
their lengths follow the outage laws (:func:`sim.outages.draw_duration`) and come from the
shock's own keyed stream ``common/<id>``: adding a common cause moves no other draw.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.outages import UpState, draw_duration
from sim.rng import stream as rng_stream
from sim.scenario import CommonCause, Facility, common_cause_members


def cause_name(cause_id: str) -> str:
    """How the outages a shock causes are recorded (the outages table's `cause`)."""
    return f"common:{cause_id}"


def shock(
    env: simpy.Environment, states: list[UpState], cause: CommonCause, rng: np.random.Generator
) -> Generator[Any, Any, None]:
    """Up-time, then every facility of the set down for a repair time, repeat (an
    alternating renewal process, as a facility's own failures)."""
    spec = cause.outages
    assert spec.mtbf_days is not None
    name = cause_name(cause.id)
    while True:
        yield env.timeout(draw_duration(rng, spec.failure, spec.mtbf_days, spec.failure_shape, spec.failure_cv))
        for state in states:
            state.start(name)
        yield env.timeout(draw_duration(rng, spec.repair, spec.mttr_days, spec.repair_shape, spec.repair_cv))
        for state in states:
            state.end(name)


def start_common_causes(
    env: simpy.Environment, causes: list[CommonCause], facilities: list[Facility],
    states: dict[str, UpState], seed: np.random.SeedSequence,
) -> None:
    """Start the process of every enabled common cause, each on its own keyed stream."""
    for cause in causes:
        if not cause.enabled:
            continue
        members = [states[fid] for fid in common_cause_members(cause, facilities)]
        env.process(shock(env, members, cause, rng_stream(seed, f"common/{cause.id}")))
