"""The race is a pure function of what `evaluate` returns, asked in a fixed order, so a search
killed midway and resumed from a store of finished runs gives the same answer (the search
command's resume relies on this)."""

from __future__ import annotations

import random

import pytest

from sim.experiment.racing import Constraint, Objective, race
from tests.search_stats._synthetic import Synthetic
from tests.search_stats.test_finds_best import problem

OBJECTIVE = Objective("cost", "min", 3.0)
CONSTRAINTS = [Constraint("reliable", ">=", 1.0, probability=0.95)]


def search(evaluate):
    return race(20, evaluate, OBJECTIVE, CONSTRAINTS, budget=20_000)


def test_same_evaluations_give_the_same_result():
    cost, p = problem(20, 8, reliable=(1.0, 0.995))
    first, second = Synthetic(cost, p, 8), Synthetic(cost, p, 8)
    assert search(first) == search(second)
    assert first.calls == second.calls


def test_pairs_are_asked_once_each_sorted_and_from_replication_zero_up():
    cost, p = problem(20, 8, reliable=(1.0, 0.995))
    evaluate = Synthetic(cost, p, 8)
    search(evaluate)
    seen: dict[int, list[int]] = {}
    for call in evaluate.calls:
        assert call == sorted(call)
        for c, r in call:
            seen.setdefault(c, []).append(r)
    assert all(reps == list(range(len(reps))) for reps in seen.values())


def test_the_order_of_the_answers_does_not_matter():
    cost, p = problem(20, 8, reliable=(1.0, 0.995))
    inner = Synthetic(cost, p, 8)
    shuffle = random.Random(8)

    def shuffled(pairs):
        answers = list(inner(pairs).items())
        shuffle.shuffle(answers)
        return dict(answers)

    assert search(shuffled) == search(Synthetic(cost, p, 8))


class Killed(Exception):
    """The search process dies."""


def test_a_search_killed_midway_resumes_from_its_store_to_the_same_answer():
    cost, p = problem(20, 8, reliable=(1.0, 0.995))
    model = Synthetic(cost, p, 8)
    store: dict[tuple[int, int], dict[str, float]] = {}
    computed: list[tuple[int, int]] = []

    def evaluate(pairs, die_after=None):
        answers = {}
        for pair in pairs:
            if pair not in store:
                if die_after is not None and len(computed) >= die_after:
                    raise Killed
                store[pair] = model.run(*pair)  # a finished run is stored at once
                computed.append(pair)
            answers[pair] = store[pair]
        return answers

    uninterrupted = search(Synthetic(cost, p, 8))
    with pytest.raises(Killed):
        search(lambda pairs: evaluate(pairs, die_after=uninterrupted.runs_used // 2))
    killed_at = len(computed)
    resumed = search(evaluate)
    assert resumed == uninterrupted
    assert 0 < killed_at < len(computed) == uninterrupted.runs_used  # no run done twice
