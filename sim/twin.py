"""The world without symbiosis, simulated: the twin run a run's benefits are measured against.

The twin is the same scenario, run with the same seed, horizon and engine, with:

- every listed contract disabled (`enabled = false`), and no contract formed by a rule
  (`formation.rule = "explicit"`, no `policy.redundancy`);
- no contract formed during the run: when the agents decide, `discovery_probability = 0`, so
  no candidate exchange is ever discovered (its latent contract never starts);
- the intermediary off (`policy.intermediary = false`), so it neither routes nor sources
  emergency virgin material.

Everything else is the scenario's own: the virgin supply policy of every input (market,
stockpile with its (s, S) review and lead time, emergency purchase, unmet demand at the lost
margin), the opening stocks, the outages, outputs, quality and market draws (each from its own
keyed random stream, sim/rng.py, so no draw depends on a contract: the only draws that do are
the formation rounds' and the intermediary's, both absent from the twin), and the agents'
decisions that are not about contracts (buffer adaptation, closure of a plant whose critical
input has been unmet too long). So a run whose contracts are all off, with no formation and no
intermediary, is the same run as its twin, and every party's benefit is exactly 0
(tests/test_counterfactual.py).

A model with no contract at all (not even a latent one) and no intermediary is its own twin,
and is not run again: the changes above change nothing in it.
"""

from __future__ import annotations

from typing import Any

from sim.scenario import Behaviour, Scenario


def twin_scenario(sc: Scenario, engine: str) -> Scenario:
    """`sc` without symbiosis (see the module docstring), on `engine` ("objects" or "arrays")."""
    policy = sc.policy.model_copy(update={"intermediary": False, "redundancy": None, "engine": engine})
    update: dict[str, object] = {
        "contracts": [c.model_copy(update={"enabled": False}) for c in sc.contracts],
        "formation": sc.formation.model_copy(update={"rule": "explicit"}),
        "policy": policy,
    }
    adaptive = sc.policy.adaptive
    if adaptive or (adaptive is None and sc.behaviour is not None):
        update["behaviour"] = (sc.behaviour or Behaviour()).model_copy(update={"discovery_probability": 0.0})
    return sc.model_copy(update=update)


def is_own_twin(m: Any) -> bool:
    """Whether the model is already the world without symbiosis."""
    return not m.contracts and m.hub is None


def twin_of(m: Any, model_class: Any) -> Any:
    """The twin of the model `m` (a sim.model.SymbiosisModel), built as a `model_class`
    and simulated to the same day as `m` (kept on the model and stepped on when `m` has moved
    on, as the dashboard does)."""
    if is_own_twin(m):
        return m
    twin = getattr(m, "_twin", None)
    if twin is None:
        twin = model_class(
            twin_scenario(m.given_scenario, m.engine), rng=m.seed, horizon_days=m.horizon, collect_series=False
        )
        twin.track_stock_values(m.stock_value_history is not None)
        m._twin = twin
    if m.next_day >= m.horizon:
        if twin.next_day < twin.horizon:
            twin.run()
    else:
        while twin.next_day < m.next_day:
            twin.step()
    return twin
