"""Material and money ledgers.

Money: every flow is an entry (day, payer, payee, amount, category, contract), amount >= 0.
Parties are facility ids or external accounts (``market``, ``disposal``, ``haulier``,
``processing``, ``lost_output``). Transfers therefore sum to zero over all parties by
construction, and every cost breakdown is a sum of entries.

Material: daily flow arrays per stream, per input and per contract (days x items), so that
mass balances and metrics are sums over the same numbers the model moved.
"""

from __future__ import annotations

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
    "lost_margin": "buy",
    # the intermediary's own costs (it is not a facility; the side is never used for it)
    "holding": "supply",
    "hub_disposal": "supply",
    "emergency_purchase": "buy",
}
CONTRACT_CATEGORIES = (
    "price",
    "transport",
    "penalty",
    "take_or_pay",
    "standby_fee",
    "termination_fee",
    "rejection_disposal",
)

STREAM_FLOWS = (
    "generated_raw_t",  # before preprocessing
    "generated_t",  # after preprocessing: what enters source storage
    "generated_cf_t",  # counterfactual output (no line stops), before preprocessing
    "shipped_t",
    "spoiled_t",
    "overflow_t",  # did not fit source storage: disposed
    "rejected_t",  # shipped but refused for quality: disposed at supplier cost
    "stock_t",  # end of day
)
INPUT_FLOWS = (
    "required_t",
    "required_cf_t",  # counterfactual requirement (no line stops)
    "secondary_full_t",  # functional t the contracted substitutes would cover at full supply
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
    "excused_t",
    "in_force",  # 1 on days the contract is in force
    "called",  # backups: 1 on days delivering
    # outbound leg of a contract routed through the intermediary (zero otherwise)
    "out_due_t",  # the buyer's call-off
    "out_shipped_t",
    "out_accepted_t",
    "out_rejected_t",
    "out_short_t",
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
    """Append-only list of money entries, and their running totals by (payer, payee,
    category, contract) from day `from_day` on (the metrics need only those totals, and
    summing while booking is cheaper than a pass over every entry at the end)."""

    def __init__(self, from_day: int = 0) -> None:
        self.rows: list[tuple[int, str, str, float, str, int]] = []
        self.from_day = from_day
        self.totals: dict[tuple[str, str, str, int], float] = {}
        self.contract_cash: list[dict[str, float]] | None = None  # per contract, when tracked

    def book(
        self, day: int, payer: str, payee: str, amount: float, category: str, contract: int = -1
    ) -> None:
        """Record a payment; a negative amount is booked as the reverse payment."""
        if amount == 0.0:
            return
        if amount < 0.0:
            payer, payee, amount = payee, payer, -amount
        self.rows.append((day, payer, payee, amount, category, contract))
        if day >= self.from_day:
            key = (payer, payee, category, contract)
            self.totals[key] = self.totals.get(key, 0.0) + amount
        if contract >= 0 and self.contract_cash is not None:
            cash = self.contract_cash[contract]
            cash[payer] = cash.get(payer, 0.0) - amount
            cash[payee] = cash.get(payee, 0.0) + amount

    def frame(self) -> pd.DataFrame:
        """All entries as a table."""
        return pd.DataFrame(
            self.rows, columns=["day", "payer", "payee", "amount", "category", "contract"]
        ).astype({"day": "int64", "amount": "float64", "contract": "int64"})
