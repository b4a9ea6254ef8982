"""Run views (sim.scenario.run_view): the slots copies of contract terms and input specs that
the daily loop reads. They must read exactly like the scenario values they copy, stay
read-only, and change only through replaced()."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model import SymbiosisModel
from sim.scenario import Contract, load_scenario, replaced, run_view

KALUNDBORG = Path(__file__).parent.parent / "scenarios" / "kalundborg.toml"


def test_a_view_reads_every_field_of_its_value() -> None:
    sc = load_scenario(KALUNDBORG)
    for value in [*sc.contracts, *(i for f in sc.facilities for i in f.inputs)]:
        view = run_view(value)
        assert type(view) is not type(value)
        for name in type(value).model_fields:
            assert getattr(view, name) == getattr(value, name), name
        assert run_view(view) is view


def test_a_view_is_read_only() -> None:
    view = run_view(load_scenario(KALUNDBORG).contracts[0])
    with pytest.raises(AttributeError, match="immutable"):
        view.price_per_t = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        view.not_a_field = 1.0  # type: ignore[attr-defined]


def test_replaced_changes_only_the_named_fields() -> None:
    terms = load_scenario(KALUNDBORG).contracts[0]
    view = run_view(terms)
    cheaper = replaced(view, price_per_t=terms.price_per_t / 2)
    assert cheaper.price_per_t == terms.price_per_t / 2
    assert view.price_per_t == terms.price_per_t  # the original is untouched
    assert cheaper != view and replaced(view) == view
    assert all(getattr(cheaper, n) == getattr(view, n) for n in Contract.model_fields if n != "price_per_t")
    with pytest.raises(AttributeError, match="no field"):
        replaced(view, price=1.0)
    # on the pydantic value itself it is model_copy
    assert isinstance(replaced(terms, price_per_t=1.0), Contract)
    assert replaced(terms, price_per_t=1.0).price_per_t == 1.0


def test_the_model_reads_views_and_the_scenario_is_untouched() -> None:
    sc = load_scenario(KALUNDBORG)
    before = sc.model_dump()
    m = SymbiosisModel(sc, rng=0, horizon_days=30, collect_series=False)
    assert all(type(c.terms) is not Contract and c.terms == run_view(sc.contract(c.terms.id)) for c in m.contracts)
    m.start_contract(m.contracts[0], 7)
    assert m.contracts[0].terms.start_day == 7
    m.run()
    assert sc.model_dump() == before
