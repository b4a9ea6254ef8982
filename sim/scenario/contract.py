"""A contract: the terms of one supplier stream's exchange into one buyer input, as an
immutable pydantic value (the schema's quantities and base are in :mod:`sim.scenario.schema`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.scenario.schema import BIG, Frozen, Ident, Limit, NonNeg, Pos, Share


class Indexation(Frozen):
    """A price-adjustment clause (the `[contracts.indexation]` sub-table of a contract): the
    price follows the virgin price of the material the supplied material replaces at the
    buyer's input (the index): it passes `share` of the index's change since the start on to
    the price, within a floor and a cap in EUR/t:

        price(d) = clamp(P0 + share x (I(r) - I(start_day)), floor_per_t, cap_per_t)

    with P0 the contract's `price_per_t`, I the index (that input's virgin price per t, as the
    `[market]` moves it), start_day the contract's, and r the last review day on or before d:
    start_day + review_days x floor((d - start_day) / review_days). The price is re-set on each
    review day from that day's index and held until the next; it is paid at landing, and
    take-or-pay, the agents' value estimates and the intermediary's purchases read the same
    current price. An index that never moves gives P0 exactly (I(r) - I(start) = 0), so an
    indexed contract in a calm market pays to the bit what a fixed price pays. The form is the
    lawyer's escalation clause P0 x (a + b x I / I0) written per t (share = P0 b / I0), and it
    holds for a gate fee (P0 < 0) too: the supplier pays less as the buyer's avoided virgin
    price rises. share = 0.5 splits the virgin-price risk evenly; 1 hands all of it to the
    supplier (per t of the substitute). A renegotiated price (behaviour's price rule) becomes
    the new P0; the index base stays I(start_day)."""

    to: Literal["virgin"] = "virgin"
    """The index: "virgin" (the virgin price of the buyer input's material)."""
    share: Share = 1.0
    """Share of the index's change (EUR/t of virgin material) passed on to the price per t: 1
    moves the price one for one with the virgin price, 0 fixes it."""
    review_days: Annotated[int, Field(ge=1)] = 30
    """Days between price reviews (from the contract's start_day); the price is held between them."""
    floor_per_t: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] | None = None
    """Lowest price per t the clause can set; unset: no floor."""
    cap_per_t: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] | None = None
    """Highest price per t the clause can set; unset: no cap."""

    @model_validator(mode="after")
    def _floor_below_cap(self) -> Indexation:
        if self.floor_per_t is not None and self.cap_per_t is not None and self.floor_per_t > self.cap_per_t:
            raise ValueError(f"floor_per_t ({self.floor_per_t}) is above cap_per_t ({self.cap_per_t}); "
                             "give a floor at or below the cap")
        return self


class Contract(Frozen):
    """A bilateral exchange of one supplier stream into one buyer input, with its terms.

    Settlement runs every `settlement_days` (and at the horizon end): penalties
    `penalty_per_t_short * (shortfall - tolerance * committed)^+`, capped per period at
    `penalty_cap_per_period`, with outage-caused shortfall excused under `force_majeure`;
    take-or-pay tops the buyer's payment up to `take_or_pay * committed * price`, where what
    the buyer took counts what landed in spec in the period and what is on the road to it at
    the period's close (that lands, and is paid at the price, in the next period).
    A `backup` contract delivers only while a primary of the same input is failing,
    `activation_lead_time_days` after the failure, and earns `standby_fee_per_day` meanwhile.
    Terms of `min_term_days` run back to back from `start_day` (each renews at its end, which
    is when agents renegotiate). Notice runs for `notice_days`; a party whose notice stops the
    contract inside a term pays the other `early_termination_fee`, unless it gave the notice
    as a term ended (declining the renewal).
    Transport is by `mode`: "road" pays haulage per t-km and per truck trip and takes the
    road's transit time; "pipe" pays only `pipe_cost_per_t` per unit moved, carries at most
    `pipe_capacity_t_per_day` per day (the rest stays at the supplier and counts short), and
    delivers at the next day boundary. A pipe is always direct: it cannot be
    `via_intermediary`, and `policy.intermediary = true` leaves it direct.
    """

    id: Ident
    """Name of the contract (letters, digits, _ and -)."""
    supplier: Ident
    """Facility id of the supplier (must put out `material`)."""
    buyer: Ident
    """Facility id of the buyer (an input must list `material` as a substitute)."""
    material: Ident
    """The secondary material exchanged."""
    input: Ident | None = None
    """The buyer input it feeds; needed only when several inputs accept the material."""
    role: Literal["primary", "backup"] = "primary"
    """primary delivers every day; backup only while a primary of the same input fails."""
    enabled: bool = True
    """false: the contract is listed but does not run."""
    volume_t_per_day: Pos
    """Committed volume per day (validate compares it with the supplier's expected output)."""
    delivery_interval_days: Annotated[int, Field(ge=1)] = 1
    """Days between deliveries (each carries that many days of volume)."""
    price_per_t: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] = 0.0  # negative: a gate fee
    """Price the buyer pays per t; negative: a gate fee the supplier pays."""
    transport_paid_by: Literal["buyer", "supplier"] = "buyer"
    """Who pays the transport: road haulage, or a pipe's `pipe_cost_per_t` (ledger category "transport")."""
    distance_km: NonNeg | None = None
    """Road distance for this contract; unset: from transport.distances or coordinates (a pipe's
    cost and delivery lag do not depend on it; it is reported)."""
    quality_spec: dict[Ident, Limit] = {}  # noqa: RUF012 (pydantic copies defaults)
    """Acceptance band per quality property; off-spec lots are rejected."""
    penalty_per_t_short: NonNeg = 0.0
    """Supplier's penalty per t short of the committed volume."""
    tolerance: Share = 0.0
    """Share of the committed volume that may be short without penalty."""
    penalty_cap_per_period: NonNeg | None = None
    """Largest penalty per settlement period; unset: no cap."""
    force_majeure: bool = False
    """true: shortfall caused by the supplier's outages is excused."""
    take_or_pay: Share = 0.0
    """Share of the tonnes offered (committed less the supplier's shortfall) the buyer pays for
    even when it takes less."""
    min_offtake: Share = 0.0
    """Gate-fee contracts (negative price): share of the tonnes offered the buyer must take; it
    pays `refusal_cost_per_t` per t taken below it at settlement (ledger "min_offtake")."""
    refusal_cost_per_t: NonNeg | None = None
    """min_offtake: rate per t refused below the minimum; unset: the supplier's disposal cost per t."""
    planned_outage_excused: bool = False
    """true: a shortfall while the supplier is down for maintenance announced at least
    `planned_outage_notice_days` ahead is excused (no penalty, no breach)."""
    planned_outage_notice_days: NonNeg = 0.0
    """Notice a maintenance window needs (its `notice_days`) to be excused or to suspend deliveries."""
    suspend_for_buyer_maintenance: bool = False
    """true (direct contracts): deliveries that would land while the buyer is down for maintenance
    announced with the notice are not shipped; they count as offered and not taken."""
    volume_basis: Literal["fixed", "share_of_output"] = "fixed"
    """fixed: `volume_t_per_day` is due; share_of_output: `output_share` of the stream's output."""
    output_share: Share | None = None
    """share_of_output: the share of the stream's output over each delivery interval that is due."""
    force_majeure_causes: list[Ident] = []  # noqa: RUF012 (pydantic copies defaults)
    """Named outside causes (a stream_scale event's `cause`, e.g. "harvest") whose output cut
    excuses the shortfall it causes, with or without `force_majeure`."""
    settlement_days: Annotated[int, Field(ge=1)] = 30
    """Days between settlements (penalties, take-or-pay)."""
    standby_fee_per_day: NonNeg = 0.0
    """backup: fee paid to the supplier per day on standby."""
    activation_lead_time_days: NonNeg = 0.0
    """backup: days from a primary's failure to the first delivery."""
    priority: int = 0
    """Rank when policy.allocation = "priority" (highest served first)."""
    start_day: Annotated[int, Field(ge=0)] = 0
    """Day the contract starts."""
    min_term_days: Annotated[int, Field(ge=0)] = 0
    """Minimum term; terms renew back to back (0: none)."""
    notice_days: Annotated[int, Field(ge=0)] = 0
    """Notice a party must give to leave."""
    early_termination_fee: NonNeg = 0.0
    """Paid by a party that leaves inside a term."""
    via_intermediary: bool = False
    """Route through the `[intermediary]` (road only: a pipe is always direct)."""
    mode: Literal["road", "pipe"] = "road"
    """How the material moves: "road" (trucks: cost per t-km and per trip, transit time from
    the distance) or "pipe" (a fixed line: only `pipe_cost_per_t`, delivered at the next day
    boundary, never through the intermediary, which consolidates trucks)."""
    pipe_cost_per_t: NonNeg = 0.0
    """pipe: cost per unit moved, in the material's unit (no trips, no t-km); paid by
    `transport_paid_by`."""
    catch_up_t_per_day: NonNeg = 0.0
    """Catch-up term: the supplier keeps a backlog of every tonne this contract fell short (excused or not: catch-up
    restores volume; penalties already booked stand) and on each delivery day ships, on top of what is due, up to this
    rate x `delivery_interval_days` of it at the contract price, from what its source storage holds after the day's
    due volumes and at most what the buyer has room for (its buffer target plus cycle stock, less its buffer and what
    is on the road to it). 0: no catch-up. Direct contracts only (a routed one keeps no backlog)."""
    pipe_capacity_t_per_day: Pos | None = None
    """pipe: most it carries per day, in the material's unit; a delivery carries at most this
    times `delivery_interval_days`, the rest stays in the supplier's storage and counts as its
    shortfall. Unset: unlimited."""
    indexation: Indexation | None = None
    """Price indexation (`[contracts.indexation]`, see :class:`Indexation`); unset: the price is fixed."""

    @model_validator(mode="after")
    def _terms_fit_role(self) -> Contract:
        if self.role == "primary":
            for term in ("standby_fee_per_day", "activation_lead_time_days"):
                if getattr(self, term) != 0.0:
                    raise ValueError(f"{term} applies only to role = 'backup'; set role = 'backup' or remove {term}")
        if (self.volume_basis == "share_of_output") != (self.output_share is not None):
            raise ValueError("output_share goes with volume_basis = 'share_of_output' (set both, or neither)")
        if self.min_offtake > 0 and self.price_per_t >= 0:
            raise ValueError(
                f"min_offtake applies to a gate fee (negative price_per_t, given {self.price_per_t}); "
                "use take_or_pay for a positive price"
            )
        if self.take_or_pay > 0 and self.price_per_t <= 0:
            raise ValueError(
                f"take_or_pay needs a positive price_per_t (given {self.price_per_t}); "
                "a gate fee paid by the supplier has no take-or-pay: remove take_or_pay or give a positive price"
            )
        if self.mode != "pipe":
            for term in ("pipe_cost_per_t", "pipe_capacity_t_per_day"):
                if getattr(self, term) not in (None, 0.0):
                    raise ValueError(f"{term} applies only to mode = 'pipe'; set mode = 'pipe' or remove {term}")
        elif self.via_intermediary:
            raise ValueError(
                "via_intermediary cannot be true for mode = 'pipe' (the intermediary consolidates trucks); "
                "remove via_intermediary or set mode = 'road'"
            )
        if self.supplier == self.buyer:
            raise ValueError(f"supplier and buyer are the same facility ('{self.supplier}'); name two facilities")
        return self

