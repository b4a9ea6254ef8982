"""Issue 22: every closed-form group of the validation page fails on a deliberately broken
model, and passes on the model as it is, in the same reduced settings.

The checks run the simulator in-process (analysis/validation/oracles.py), so a fixture breaks
the model with monkeypatch:

- ``leaky_buffer``: every secondary buffer loses 10 % of its content at the end of each day
  (O2, O2d, O10 must fail);
- ``wrong_repair_mean``: the repair law's mean is 1.5 x the file's MTTR (O1, O5, O12 must fail);
- ``penalty_twice``: every penalty is booked twice in the money ledger (the money rows must fail).

Margin: the broken model's largest deviation from a reference is at least MARGIN = 2 times
that row's tolerance (4 SE of the reduced run), so each failure is not a near miss. Measured
(reps, horizon as in GROUPS): leaky O2 2.45 x, O2d 3.6 x, O10 far beyond (a 5-day buffer that
loses 2 t/day refills at 1 t/day, so a share that is 0 in every run is not); repair mean O1
2.2 x, O5 4.0 x, O12 3.0 x; penalty twice 1e9 x (the ledger identity's tolerance is float
rounding; the income row misses by 338 EUR/day, 623 against 286, with a tolerance of 52). The unbroken
model's largest deviation in the same settings is 0.10-0.67 of the tolerance.
"""

from __future__ import annotations

import math

import pytest

import sim.ledger
import sim.model
import sim.outages
from analysis.checks import Check
from analysis.validation import oracles

MARGIN = 2.0

#: group -> (function with the reduced settings); O2 and O2d keep the 7-day buffer (a 0-day buffer
#: cannot leak) and O12 the independent pair (the common-cause shock has its own law).
GROUPS = {
    "O1": lambda: oracles.o1(10, 2000),
    "O2": lambda: oracles.o2(32, 4000, ks=(7,)),
    "O2d": lambda: oracles.o2d(16, 4000, ks=(7,)),
    "O5": lambda: oracles.o5(10, 2000),
    "O10": lambda: oracles.o10(5, 1000),
    "O12": lambda: oracles.o12(40, 2000, commons=(False,)),
    "money": lambda: oracles.money(10, 2000),
}

BREAKS = {"leaky_buffer": ("O2", "O2d", "O10"), "wrong_repair_mean": ("O1", "O5", "O12"), "penalty_twice": ("money",)}


@pytest.fixture
def leaky_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    settle = sim.model.settle_day

    def leak_then_settle(m, day: int) -> None:
        for inp in m.input_states:
            for s in inp.substitutes:
                if s.lots.total > 0.0:
                    s.lots.take(0.1 * s.lots.total)
        settle(m, day)

    monkeypatch.setattr(sim.model, "settle_day", leak_then_settle)


@pytest.fixture
def wrong_repair_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    break_down = sim.outages.break_down

    def slow_repairs(env, state, spec, rng):
        return break_down(env, state, spec.model_copy(update={"mttr_days": spec.mttr_days * 1.5}), rng)

    monkeypatch.setattr(sim.outages, "break_down", slow_repairs)


@pytest.fixture
def penalty_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    book = sim.ledger.MoneyLedger.book

    def book_penalty_twice(self, day, payer, payee, amount, category, contract=-1):
        book(self, day, payer, payee, amount, category, contract)
        if category == "penalty":
            book(self, day, payer, payee, amount, category, contract)

    monkeypatch.setattr(sim.ledger.MoneyLedger, "book", book_penalty_twice)


def worst(checks: list[Check]) -> float:
    """The largest |simulated - reference| / tolerance over the rows (inf for a miss of a zero
    tolerance, as when a share is 0 in every run)."""
    out = 0.0
    for c in checks:
        assert isinstance(c.reference, float)
        dev = abs(c.simulated - c.reference)
        out = max(out, dev / c.tolerance if c.tolerance > 0 else (math.inf if dev > 0 else 0.0))
    return out


@pytest.mark.parametrize("group", list(GROUPS))
def test_the_unbroken_model_passes_in_the_reduced_settings(group: str) -> None:
    checks = GROUPS[group]()
    assert checks and all(c.passed for c in checks), [(c.name, c.simulated, c.reference, c.tolerance) for c in checks]
    assert worst(checks) < 1.0


@pytest.mark.parametrize(("breakage", "group"), [(b, g) for b, gs in BREAKS.items() for g in gs])
def test_each_group_fails_on_a_broken_model(breakage: str, group: str, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(breakage)
    checks = GROUPS[group]()
    assert not all(c.passed for c in checks), f"{group} passes with {breakage}"
    assert worst(checks) >= MARGIN, f"{group} with {breakage}: worst deviation {worst(checks):.2f} x tolerance"


def test_the_penalty_break_leaves_the_physical_checks_alone(penalty_twice: None) -> None:
    """The fixtures break what they say: booking a penalty twice does not move a fill rate."""
    assert all(c.passed for c in oracles.o5(10, 2000))
