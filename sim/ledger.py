"""Material and money ledgers.

Money: every flow is an entry (day, payer, payee, amount, category, contract), amount >= 0.
Parties are facility ids or external accounts (``market``, ``disposal``, ``haulier``,
``processing``, ``lost_output``). Transfers therefore sum to zero over all parties by
construction, and every cost breakdown is a sum of entries.

Material: daily flow arrays per stream, per input and per contract (days x items), so that
mass balances and metrics are sums over the same numbers the model moved.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import pandas as pd

#: External accounts (not agents).
MARKET, DISPOSAL, HAULIER, PROCESSING, LOST = "market", "disposal", "haulier", "processing", "lost_output"
EXTERNAL = (MARKET, DISPOSAL, HAULIER, PROCESSING, LOST)

#: Money categories and the side of the business each belongs to for a facility that pays or
#: receives it: "supply" (its waste streams) or "buy" (its inputs). Contract categories take
#: the side of the party's role in the contract instead.
CATEGORY_SIDE = {
    "disposal": "supply",
    "preprocessing": "supply",
    "virgin": "buy",
    "emergency": "buy",
    "secondary_processing": "buy",
    "buffer_disposal": "buy",
    "buffer_holding": "buy",  # the buyer's secondary buffer
    "stockpile_holding": "buy",  # the buyer's virgin stockpile
    "lost_margin": "buy",
    "holding": "supply",  # source storage; also the intermediary's pool
    # the intermediary's own costs (it is not a facility; the side is never used for it)
    "hub_disposal": "supply",
    "emergency_purchase": "buy",
}
CONTRACT_CATEGORIES = (
    "price",
    "transport",
    "penalty",
    "take_or_pay",
    "min_offtake",
    "standby_fee",
    "termination_fee",
    "rejection_disposal",
)

STREAM_FLOWS = (
    "generated_raw_t",  # before preprocessing
    "generated_t",  # after preprocessing: what enters source storage
    "shipped_t",
    "spoiled_t",
    "overflow_t",  # did not fit source storage: disposed
    "rejected_t",  # shipped but refused for quality: disposed at supplier cost
    "stock_t",  # end of day
)
INPUT_FLOWS = (
    "required_t",
    "secondary_full_t",  # functional t the contracted substitutes would cover at full supply
    "planned_t",  # planned secondary use today, functional t (sim/day/consumption.py)
    "secondary_short_t",  # planned_t the buffer could not cover today, functional t
    "from_secondary_t",  # functional (virgin-equivalent) t
    "secondary_used_t",  # tonnes of secondary material consumed
    "from_virgin_t",  # from stockpile or market, emergency excluded
    "from_emergency_t",
    "unmet_t",
    "accepted_t",  # secondary tonnes received into the buffer
    "buffer_overflow_t",
    "buffer_spoiled_t",
    "buffer_t",  # secondary buffer level, end of day
    "virgin_stock_t",  # end of day
    "virgin_received_t",
)
CONTRACT_FLOWS = (
    "due_t",
    "shipped_t",
    "accepted_t",
    "rejected_t",
    "short_t",  # due - shipped + rejected (for a routed contract: the supplier's inbound leg)
    "excused_t",  # of the short tonnes, those the contract's terms excuse (sim/day/dispatch.py excused_by_terms)
    "in_force",  # 1 on days the contract is in force
    "called",  # backups: 1 on days delivering
    # outbound leg of a contract routed through the intermediary (zero otherwise)
    "out_due_t",  # the buyer's call-off
    "out_shipped_t",
    "out_accepted_t",
    "out_rejected_t",
    "out_short_t",
    "caught_up_t",  # backlog shipped under a catch-up term (also counted in shipped_t)
)
HUB_FLOWS = ("received_t", "shipped_t", "rejected_t", "spoiled_t", "overflow_t", "stock_t")


class FlowTable(dict):
    """Daily flows of one kind of item: one (days x items) array per flow name (a dict, so
    that the many look-ups of the daily loop cost no Python call)."""

    def __init__(self, flows: tuple[str, ...], days: int, items: int):
        super().__init__((f, np.zeros((days, items))) for f in flows)
        self.names = flows
        self.days = days

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by flow name."""
        return dict(self)


class MoneyLedger:
    """Append-only money entries, and their running totals by account from day `from_day` on
    (the metrics need only those totals, and summing while booking is cheaper than a pass over
    every entry at the end).

    An account is one (payer, payee, category, contract) and gets a number the first time it is
    booked to. Entries are kept as three columns of machine numbers (day, account, amount), not
    as a tuple per entry: a 1,000-facility region books about 3,000 entries a day, which as
    tuples would hold about 400 kB of new objects a day (1.4 GB over ten years) and crowd the
    day's working set out of the processor's caches.
    """

    def __init__(self, from_day: int = 0) -> None:
        self.from_day = from_day
        self.accounts: list[tuple[str, str, str, int]] = []  # account number -> its key
        self._number: dict[tuple[str, str, str, int], int] = {}
        # per account, entries from from_day on (an array while the array day books columns)
        self._sums: list[float] | np.ndarray = []
        self._days = array("q")
        self._accounts = array("q")
        self._amounts = array("d")
        self._rows: list[tuple[int, str, str, float, str, int]] = []  # materialised on demand
        self.contract_cash: list[dict[str, float]] | None = None  # per contract, when tracked

    def account(self, payer: str, payee: str, category: str, contract: int = -1) -> int:
        """The number of the account (payer, payee, category, contract), opened if new. The
        daily loop looks its accounts up once and pays on them with :meth:`pay`."""
        key = (payer, payee, category, contract)
        number = self._number.get(key)
        if number is None:
            number = self._number[key] = len(self.accounts)
            self.accounts.append(key)
            if isinstance(self._sums, list):
                self._sums.append(0.0)
            else:  # held in an array (column booking): grown by one
                self._sums = np.r_[self._sums, 0.0]
        return number

    def number(self, payer: str, payee: str, category: str, contract: int = -1) -> int | None:
        """The number of the account (payer, payee, category, contract) if it has been
        opened, else None (looking does not open it)."""
        return self._number.get((payer, payee, category, contract))

    # --- booking whole columns at once (the array day, sim/arrayday.py) ----------------------

    def hold_totals_in_array(self) -> None:
        """Keep the running totals in a numpy array until :meth:`release_totals`, so that
        :meth:`pay_columns` adds a day's entries in one operation. :meth:`pay` and
        :meth:`book` work as before meanwhile, and every total is the same float64 sum in the
        same order."""
        if isinstance(self._sums, list):
            self._sums = np.array(self._sums, dtype=float)

    def release_totals(self) -> None:
        """Back to totals in a list (see :meth:`hold_totals_in_array`)."""
        if not isinstance(self._sums, list):
            self._sums = self._sums.tolist()

    def pay_columns(self, day: int, accounts: np.ndarray, amounts: np.ndarray) -> None:
        """Record payments on day `day`, in the order given: what :meth:`pay` does for each
        (amounts > 0; the caller has dropped those of 0). The totals must be held in an array."""
        if not len(amounts):
            return
        assert not isinstance(self._sums, list), "pay_columns needs hold_totals_in_array()"
        assert self.contract_cash is None, "pay_columns does not track cash per contract"
        self._days.extend([day] * len(amounts))
        self._accounts.frombytes(accounts.astype(np.int64).tobytes())
        self._amounts.frombytes(amounts.astype(np.float64).tobytes())
        if day >= self.from_day:
            np.add.at(self._sums, accounts, amounts)

    def pay(self, day: int, account: int, amount: float) -> None:
        """Record a payment of `amount` >= 0 on an account from :meth:`account` (what
        :meth:`book` does, without looking the account up: a large network's accounts are
        a large table, and the look-up a cache miss)."""
        if amount == 0.0:
            return
        self._days.append(day)
        self._accounts.append(account)
        self._amounts.append(amount)
        if day >= self.from_day:
            self._sums[account] += amount
        if self.contract_cash is not None:
            payer, payee, _, contract = self.accounts[account]
            if contract >= 0:
                cash = self.contract_cash[contract]
                cash[payer] = cash.get(payer, 0.0) - amount
                cash[payee] = cash.get(payee, 0.0) + amount

    def book(
        self, day: int, payer: str, payee: str, amount: float, category: str, contract: int = -1
    ) -> None:
        """Record a payment; a negative amount is booked as the reverse payment."""
        if amount == 0.0:
            return
        if amount < 0.0:
            payer, payee, amount = payee, payer, -amount
        self.pay(day, self.account(payer, payee, category, contract), amount)

    def __len__(self) -> int:
        return len(self._amounts)

    @property
    def totals(self) -> dict[tuple[str, str, str, int], float]:
        """Sum of the entries from `from_day` on, by (payer, payee, category, contract), in the
        order the accounts were first booked to from that day."""
        days = np.array(self._days, dtype=np.int64)  # copies: a view would pin the columns' size
        numbers = np.array(self._accounts, dtype=np.int64)
        booked = numbers[days >= self.from_day]
        _, first = np.unique(booked, return_index=True)
        order = booked[np.sort(first)].tolist()
        return {self.accounts[n]: self._sums[n] for n in order}

    @property
    def rows(self) -> list[tuple[int, str, str, float, str, int]]:
        """Every entry as (day, payer, payee, amount, category, contract), in booking order."""
        if len(self._rows) != len(self._amounts):
            keys = self.accounts
            columns = (self._days.tolist(), self._accounts.tolist(), self._amounts.tolist())
            self._rows = [
                (day, keys[n][0], keys[n][1], amount, keys[n][2], keys[n][3])
                for day, n, amount in zip(*columns, strict=True)
            ]
        return self._rows

    def frame(self) -> pd.DataFrame:
        """All entries as a table."""
        keys = self.accounts
        numbers = np.array(self._accounts, dtype=np.int64)
        column = lambda j: np.array([key[j] for key in keys] or [""], dtype=object)[numbers]  # noqa: E731
        return pd.DataFrame(
            {
                "day": np.array(self._days, dtype=np.int64),
                "payer": column(0),
                "payee": column(1),
                "amount": np.array(self._amounts, dtype=np.float64),
                "category": column(2),
                "contract": np.array([key[3] for key in keys] or [0], dtype=np.int64)[numbers],
            }
        )


def open_accounts(money: MoneyLedger, facilities: list[Any], contracts: list[Any]) -> None:
    """Look up once the money accounts the day pays on (MoneyLedger.pay), and give them to the
    run states that pay (sim.agents' streams, inputs and stores; sim.contracts.ContractState).
    Parties, and who pays the haulage, never change during a run; terms that do (volume,
    price, penalty) are amounts, not accounts."""
    account = money.account
    for fac in facilities:
        fid = fac.fid
        for st in fac.streams:
            st.pay_preprocessing = account(fid, PROCESSING, "preprocessing")
            st.pay_disposal = account(fid, DISPOSAL, "disposal")
            if st.holding_cost > 0.0:  # holding is booked only at a positive rate
                st.pay_holding = account(fid, PROCESSING, "holding")
                fac.pays_holding = True
        for inp in fac.inputs:
            inp.pay_virgin = account(fid, MARKET, "virgin")
            inp.pay_lost = account(fid, LOST, "lost_margin")
            if inp.stockpile_holding_cost > 0.0:
                inp.pay_stockpile_holding = account(fid, PROCESSING, "stockpile_holding")
                fac.pays_holding = True
            for s in inp.substitutes:
                s.pay_processing = account(fid, PROCESSING, "secondary_processing")
                s.pay_disposal = account(fid, DISPOSAL, "buffer_disposal")
                if s.holding_cost > 0.0:
                    s.pay_holding = account(fid, PROCESSING, "buffer_holding")
                    fac.pays_holding = True
    for c in contracts:
        t, k = c.terms, c.index
        c.pay_price = account(t.buyer, t.supplier, "price", k)
        c.pay_rejection = account(t.supplier, DISPOSAL, "rejection_disposal", k)
        haulage_payer = t.supplier if t.transport_paid_by == "supplier" else t.buyer
        c.pay_transport = account(haulage_payer, HAULIER, "transport", k)
