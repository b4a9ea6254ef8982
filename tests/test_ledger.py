"""The money ledger's running totals are the sums of its entries (the metrics read them)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pytest import approx

from sim.ledger import MoneyLedger
from sim.metrics import sum_money
from sim.model import SymbiosisModel
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def test_totals_count_entries_from_their_first_day_reversed_when_negative() -> None:
    led = MoneyLedger(from_day=2)
    led.book(1, "a", "b", 5.0, "price", 0)  # before from_day: a row, not in the totals
    led.book(2, "a", "b", 3.0, "price", 0)
    led.book(3, "a", "b", 4.0, "price", 0)
    led.book(3, "a", "b", -2.0, "price", 0)  # booked as b paying a
    led.book(3, "a", "market", 0.0, "virgin")  # nothing happens
    assert len(led.rows) == 4
    assert led.totals == {("a", "b", "price", 0): 7.0, ("b", "a", "price", 0): 2.0}


def test_run_metrics_from_totals_equal_a_pass_over_every_entry() -> None:
    sc = load_scenario(ROOT / "scenarios" / "kalundborg.toml", {"scenario.warmup_days": 30})
    m = SymbiosisModel(sc, rng=4, horizon_days=200, collect_series=False)
    m.run()
    assert m.money.from_day == m.warmup == 30
    by_key: dict[tuple, float] = defaultdict(float)
    for day, payer, payee, amount, cat, k in m.money.rows:
        if day >= 30:
            by_key[(payer, payee, cat, k)] += amount
    assert m.money.totals == approx(dict(by_key), rel=1e-12)
    from_totals = sum_money(m, 30)
    m.money.from_day = -1  # forces the pass over the rows
    from_rows = sum_money(m, 30)
    assert from_totals.category == approx(from_rows.category, rel=1e-12)
    assert from_totals.party == approx(from_rows.party, rel=1e-12)
    assert from_totals.contract == approx(from_rows.contract, rel=1e-12)


def test_rows_and_frame_are_the_entries_in_booking_order() -> None:
    led = MoneyLedger(from_day=1)
    led.book(0, "a", "b", 1.5, "price", 3)
    led.book(1, "c", "market", 2.0, "virgin")
    assert led.rows == [(0, "a", "b", 1.5, "price", 3), (1, "c", "market", 2.0, "virgin", -1)]
    led.book(2, "a", "b", -0.5, "price", 3)  # rows seen before stay valid and grow
    assert led.rows[-1] == (2, "b", "a", 0.5, "price", 3)
    frame = led.frame()
    assert list(frame.itertuples(index=False, name=None)) == led.rows
    assert list(frame.columns) == ["day", "payer", "payee", "amount", "category", "contract"]
    assert [str(frame[c].dtype) for c in ("day", "amount", "contract")] == ["int64", "float64", "int64"]
    # totals: from day 1 on, in the order the accounts were first booked to from then
    assert list(led.totals) == [("c", "market", "virgin", -1), ("b", "a", "price", 3)]
    assert len(led) == 3 and MoneyLedger().frame().empty and MoneyLedger().totals == {}


def test_pay_on_an_account_is_book_without_the_look_up() -> None:
    booked, paid = MoneyLedger(from_day=1), MoneyLedger(from_day=1)
    entries = [(0, "a", "b", 2.0, "price", 0), (1, "a", "b", 3.0, "price", 0), (1, "c", "market", 0.0, "virgin", -1),
               (2, "c", "market", 1.25, "virgin", -1)]
    for day, payer, payee, amount, cat, k in entries:
        booked.book(day, payer, payee, amount, cat, k)
        paid.pay(day, paid.account(payer, payee, cat, k), amount)
    assert paid.rows == booked.rows and paid.totals == booked.totals  # zero skipped by both
    assert paid.account("a", "b", "price", 0) == paid.account("a", "b", "price", 0)  # opened once
    # the per-contract cash that agents' decisions read moves the same way
    booked.contract_cash, paid.contract_cash = [{}], [{}]
    booked.book(3, "a", "b", 4.0, "price", 0)
    paid.pay(3, paid.account("a", "b", "price", 0), 4.0)
    assert paid.contract_cash == booked.contract_cash == [{"a": -4.0, "b": 4.0}]


def test_accounts_opened_but_never_paid_on_are_not_in_the_totals() -> None:
    led = MoneyLedger()
    led.account("a", "haulier", "transport", 2)
    led.book(0, "a", "b", 1.0, "price", 0)
    assert led.totals == {("a", "b", "price", 0): 1.0}
    assert led.rows == [(0, "a", "b", 1.0, "price", 0)]
