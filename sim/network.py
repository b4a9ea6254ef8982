"""The contract network a run uses: formation, redundancy, intermediary routing, policy levers.

:func:`resolve_network` is the one function the model calls on a loaded scenario (in place of
`apply_policy`). It is pure and deterministic: the same scenario gives the same network.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sim.matching import apply_redundancy, form_network
from sim.scenario import Scenario, apply_policy


def intermediary_usable(sc: Scenario) -> bool:
    """An `[intermediary]` section is present and switched on: by `policy.intermediary` when
    that is set, else by its own `enabled`."""
    if sc.intermediary is None:
        return False
    lever = sc.policy.intermediary
    return sc.intermediary.enabled if lever is None else lever


def route_contracts(sc: Scenario) -> Scenario:
    """Set each contract's `via_intermediary`: all when `policy.intermediary = true`, none when
    false, as listed when unset; none at all when the intermediary is absent or disabled. A
    pipe contract stays direct (the intermediary consolidates trucks; a pipe is a fixed line
    between the two plants, so routing it through a depot would be a different exchange)."""
    if not intermediary_usable(sc):
        routed: bool | None = False
    else:
        routed = sc.policy.intermediary
    if routed is None:
        return sc
    contracts = [
        c if c.via_intermediary == (routed and c.mode == "road") else
        c.model_copy(update={"via_intermediary": routed and c.mode == "road"})
        for c in sc.contracts
    ]
    return sc.model_copy(update={"contracts": contracts})


# Networks that formation or redundancy made, for the last few scenario objects (by identity;
# a scenario is frozen). A study's worker keeps one scenario object per design point and builds
# every replication from it (sim.experiment.tasks), and forming or adding backups to a
# 1,000-plant region takes seconds: more than a third of a one-year run.
_MADE: OrderedDict[int, tuple[Scenario, Scenario]] = OrderedDict()
_KEEP = 8
_MADE_LOCK = threading.Lock()


def resolve_network(sc: Scenario) -> Scenario:
    """The scenario as the model should run it (the same object for the same scenario object,
    when formation or redundancy had work to do; see `_MADE`):

    1. formation: `formation.rule` `system_optimal` or `greedy` replaces the listed contracts
       (sim.matching.form_network); `explicit` keeps them;
    2. redundancy: with `policy.redundancy = k`, each input gets up to k sources
       (sim.matching.apply_redundancy);
    3. intermediary routing (:func:`route_contracts`);
    4. `apply_policy`: `policy.buffer_days` and `policy.penalty_per_t_short` override the
       items, formed contracts included.
    """
    if sc.formation.rule == "explicit" and sc.policy.redundancy is None:
        return apply_policy(route_contracts(sc))  # quick: nothing worth keeping
    with _MADE_LOCK:  # the dashboard's server may build models in several threads
        hit = _MADE.get(id(sc))
        if hit is not None and hit[0] is sc:
            _MADE.move_to_end(id(sc))
            return hit[1]
    out = form_network(sc)
    if out.policy.redundancy is not None:
        out = apply_redundancy(out, out.policy.redundancy)
    out = apply_policy(route_contracts(out))
    with _MADE_LOCK:
        _MADE[id(sc)] = (sc, out)
        while len(_MADE) > _KEEP:
            _MADE.popitem(last=False)
    return out
