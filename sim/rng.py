"""Per-entity random streams (common random numbers).

Every stochastic source (a stream's output, a facility's outages, a stream's quality draws)
gets its own ``numpy.random.Generator``. It is derived from the run's ``SeedSequence`` and a
stable text key such as ``"outages/brewery"``, by appending a hash of the key to the run's
spawn key. So:

- a run is fully described by ``(entropy, spawn_key)`` and can be rebuilt in any worker;
- replication k sees the same draws at every design point of a sweep;
- adding a facility does not shift the draws of the others (keys, not creation order).
"""

from __future__ import annotations

import hashlib

import numpy as np

#: Recorded in manifests so that results say how their seeds were made.
SCHEME = (
    "run seed = SeedSequence(entropy, spawn_key=(replication,)); each stochastic source draws "
    "from SeedSequence(entropy, spawn_key=run_spawn_key + (blake2b32(source_key),)) with PCG64"
)


def run_seed(entropy: int, replication: int) -> np.random.SeedSequence:
    """The seed of replication `replication` of a study rooted at `entropy`.

    It depends on the replication index only, never on the design point, so every design point
    sees the same outages and outputs in replication k (common random numbers).
    """
    return np.random.SeedSequence(entropy, spawn_key=(int(replication),))


def key_hash(key: str) -> int:
    """A stable 32-bit integer for a text key (independent of Python's hash seed)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "little")


def stream(seed: np.random.SeedSequence, key: str) -> np.random.Generator:
    """The generator of one stochastic source, named by a stable key."""
    child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, key_hash(key)))
    return np.random.Generator(np.random.PCG64(child))


def as_seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """Accept a plain integer (entropy) or a SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    return np.random.SeedSequence(int(seed))
