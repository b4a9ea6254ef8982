"""Run seeds of a study: common random numbers across design points.

Replication k of every design point uses ``sim.rng.run_seed(study_seed, k)``: the same
outages, outputs and quality draws, so differences between design points are the policies'
doing and paired comparisons are tight. A run is rebuilt anywhere from `(entropy, spawn_key)`,
which the results table stores as text (`seed` column, ``"ENTROPY:KEY"``).
"""

from __future__ import annotations

import numpy as np

from sim.rng import SCHEME as STREAM_SCHEME
from sim.rng import run_seed

SCHEME = (
    "common random numbers: replication k uses the same run seed at every design point; "
    + STREAM_SCHEME
)


def replication_seed(entropy: int, replication: int) -> np.random.SeedSequence:
    """The SeedSequence of replication `replication` (any design point)."""
    return run_seed(entropy, replication)


def seed_text(seed: np.random.SeedSequence) -> str:
    """`ENTROPY:K1,K2...`: enough to rebuild the SeedSequence."""
    return f"{seed.entropy}:{','.join(str(k) for k in seed.spawn_key)}"


def seed_from_text(text: str) -> np.random.SeedSequence:
    """Inverse of :func:`seed_text`."""
    entropy, _, key = text.partition(":")
    spawn_key = tuple(int(k) for k in key.split(",") if k)
    return np.random.SeedSequence(int(entropy), spawn_key=spawn_key)
