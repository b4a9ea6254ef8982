"""What the step modules see of a run: the model as a :class:`typing.Protocol`.

The steps of the day (sim/day/) and the agents read and write the run's state through these
names only; :class:`sim.model.SymbiosisModel` provides them. Typing against this protocol, not
the model class, keeps the import graph one-way: the model imports the steps, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import simpy

from sim.contracts import ContractState
from sim.ledger import FlowTable, MoneyLedger
from sim.market import PricePaths


class World(Protocol):
    """The run as the day's steps, the agents and the metrics see it."""

    spec: Any  # the resolved scenario (sim.scenario.Scenario)
    env: simpy.Environment
    horizon: int
    warmup: int
    today: int
    money: MoneyLedger
    prices: PricePaths
    facilities: list[Any]  # sim.agents.Facility, in file order
    facility_by_id: dict[str, Any]
    facility_index: dict[str, int]
    stream_states: list[Any]  # sim.agents.StreamState
    input_states: list[Any]  # sim.agents.InputState
    contracts: list[ContractState]
    live_contracts: list[ContractState]  # those not latent, in contract order
    indexed_contracts: list[ContractState]  # with a price indexation clause (sim/indexation.py)
    materials: dict[str, Any]
    hub: Any  # sim.intermediary.Intermediary or None
    decisions: Any  # sim.behaviour.Decisions or None
    dock: dict[int, list]  # shipments on the road, by landing day
    contracts_by_input: dict[int, tuple[list[ContractState], list[ContractState]]]  # (primaries, backups)
    primaries_by_supplier: dict[str, list[ContractState]]
    up_history: np.ndarray
    operating_history: np.ndarray
    streams_flow: FlowTable
    inputs_flow: FlowTable
    contracts_flow: FlowTable
    hub_flow: FlowTable
    settlements: list[dict[str, Any]]
    penalties_to_date: float
    opening_stocks: Any  # sim.stocks.Stocks at the start of day `warmup`, or None before it
    stock_value_history: np.ndarray | None  # days x facilities, when tracked

    @property
    def next_day(self) -> int: ...

    def record_stock_values(self, day: int, stocks: Any) -> None: ...

    @property
    def now(self) -> float: ...

    def schedule(self, delay: float, fn: Callable[..., None], *args: Any) -> None: ...

    def ship(self, c: ContractState, pieces: list, lag_days: int, from_hub: bool = False) -> None: ...

    def contract_changed(self, c: ContractState) -> None: ...

    def give_notice(self, c: ContractState, party: str, for_cause: bool = False) -> None: ...
