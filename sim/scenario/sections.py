"""The network-wide sections of a scenario (`[policy]`, `[intermediary]`, `[behaviour]`,
`[formation]`, `[market]`, `[[events]]`) and :class:`Scenario`, the whole content of a file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.scenario.common_cause import CommonCause
from sim.scenario.contract import Contract
from sim.scenario.schema import (
    BIG,
    Facility,
    Frozen,
    Ident,
    Location,
    Material,
    NonNeg,
    Pos,
    Share,
)
from sim.scenario.setting import ScenarioMeta, Transport


class Policy(Frozen):
    """Network-wide levers. When set, they override the per-item values.

    - `buffer_days`: every input's secondary buffer becomes this many days of its secondary use
      at full supply.
    - `penalty_per_t_short`: every contract's penalty.
    - `allocation`: how a short supplier splits its stock among contracts due the same day:
      `pro_rata` to the quantities due, or by contract `priority` (highest first).
    - `intermediary`: switch the `[intermediary]` on and route every road contract through it
      (true; pipe contracts stay direct), or switch it off (false); unset, its own `enabled` and each contract's
      `via_intermediary` decide.
    - `redundancy`: give each input up to this many sources (see `[formation]`).
    - `adaptive`: agents decide (trust, formation, exit, adaptation; see `[behaviour]`, whose
      defaults apply when the section is absent) or not (false: the network stays as given).
    - `engine`: how a run computes its days; every engine gives the same results to the bit.
      `objects` is the reference (a Python object per lot, shipment and open period);
      `arrays` holds the day's material balance in columns over whole facility sets
      (sim/arrayday.py), faster from about 100 facilities on, for every network without an
      intermediary, agents' decisions or an input of more than 13 substitutes; `auto` (the
      default) takes
      `arrays` for such networks of at least `sim.engine.AUTO_MIN_FACILITIES` facilities run
      without daily series, else `objects`.
    - `disruption_threshold`: the share of an input's planned secondary use a day's shortfall
      must exceed for that day to count as a disruption of the input (docs/metrics.md); a
      convention of the metrics, not of the simulation, and a study factor like any other.
    """

    buffer_days: NonNeg | None = None
    """Sets every input's buffer to this many days of its secondary use."""
    penalty_per_t_short: NonNeg | None = None
    """Sets every contract's penalty."""
    allocation: Literal["pro_rata", "priority"] = "pro_rata"
    """How a short supplier splits its stock among contracts due the same day."""
    intermediary: bool | None = None
    """true: route every contract through the intermediary; false: switch it off."""
    redundancy: Annotated[int, Field(ge=1, le=20)] | None = None
    """Sources per input (primaries, then backups; see `[formation]`)."""
    adaptive: bool | None = None
    """true: agents decide (see `[behaviour]`); false: the network stays as given."""
    engine: Literal["auto", "objects", "arrays"] = "auto"
    """How a run computes its days (same results; see the section text)."""
    disruption_threshold: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    """A day is a disruption of an input when its secondary shortfall exceeds this share of its
    planned secondary use (0.1: under a tenth of a day's plan is output noise; docs/metrics.md)."""


class IntermediarySpec(Frozen):
    """A neutral broker between suppliers and buyers (the `[intermediary]` section).

    Contracts with `via_intermediary = true` (all road contracts when `policy.intermediary = true`)
    deliver into its pooled storage; it tests every inbound lot (an off-spec lot is caught
    with `detection_probability` and sent back for disposal at the supplier's cost), holds
    the pool at `holding_cost_per_t_day`, blends when `blending` is on (the pile is mixed
    before each loading, so shipments have the pool's mass-weighted mean quality, which can
    meet a buyer's specification that single lots would fail; the oldest material still
    leaves first), and serves the buyers of its contracts from the pool, allocating a short
    pool by `reallocation`: `pro_rata` to what is due, `penalty_exposure` (highest penalty per
    t first) or `criticality` (critical inputs first, then by lost margin). It arranges all
    haulage: shipments on the same route and day share trucks, and `backhaul_discount` is the
    share of haulage cost saved by return loads. Buyers pay the contract price plus `fee_per_t`;
    it pays suppliers the contract price; short-delivery penalties are owed to it by suppliers
    and by it to buyers. With `emergency_premium` set it sources virgin material for member
    buyers short of supply, `emergency_lead_time_days` after the shortage begins.
    """

    id: Ident = "intermediary"
    """Its id (not a facility id)."""
    name: str = ""
    """Readable name."""
    enabled: bool = True
    """false: contracts go direct."""
    location: Location
    """Where its storage stands."""
    storage_t: NonNeg
    """Pooled storage."""
    holding_cost_per_t_day: NonNeg = 0.0
    """Cost of holding one t in the pool for a day."""
    initial_t: dict[Ident, NonNeg] = {}  # noqa: RUF012 (pydantic copies defaults)
    """Opening stock of the pool on day 0 by material (e.g. `{ ash = 40.0 }`, at most storage_t in all), made on
    day 0 for its shelf life; default: empty."""
    fee_per_t: NonNeg = 0.0
    """Fee buyers pay per t on top of the contract price."""
    test_cost_per_t: NonNeg = 0.0
    """Cost of testing one inbound t."""
    detection_probability: Share = 1.0
    """Chance an off-spec lot is caught."""
    blending: bool = True
    """Mix the pool before each loading."""
    backhaul_discount: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    """Share of haulage cost saved by return loads."""
    reallocation: Literal["pro_rata", "penalty_exposure", "criticality"] = "pro_rata"
    """How a short pool is shared among buyers."""
    emergency_premium: NonNeg | None = None
    """Premium share on virgin material it sources for short buyers; unset: none."""
    emergency_lead_time_days: NonNeg = 0.0
    """Days after a shortage begins before that supply arrives."""
    disposal_cost_per_t: NonNeg = 0.0
    """Its cost to dispose of rejected or spoilt material."""

    @model_validator(mode="after")
    def _opening_stock_fits(self) -> IntermediarySpec:
        total = sum(self.initial_t.values())
        if total > self.storage_t:
            raise ValueError(f"initial_t exceeds storage_t ({total} > {self.storage_t} in all); lower initial_t or "
                             "raise storage_t")
        return self


class Behaviour(Frozen):
    """The agents' decisions (the `[behaviour]` section); in force when the section is given
    (or `policy.adaptive = true`), frozen by `policy.adaptive = false`.

    Trust (per contract, in [0, 1]) moves at each settlement toward the period's delivery
    performance (1 - short / committed, outage shortfall excused only under a force-majeure
    clause) at `trust_learning_rate`, and drops by
    `dispute_trust_loss` when a penalty is claimed (times `intermediary_dispute_factor` when
    the contract runs through the intermediary, which settles disputes).
    Exit: a buyer gives notice when trust falls below `exit_trust_threshold`; either party
    gives notice when its benefit from the contract over the last `review_periods`
    settlements is negative (take-or-pay and penalties included). Notice periods and
    early-termination fees apply.
    A contract with a minimum term is judged differently. Within a term, a party leaves on
    negative benefit only when its loss per day over the review periods, borne until the term
    ends (when it could leave for free), would exceed the early-termination fee it pays by
    leaving now (a buyer that lost trust leaves whatever the fee). At each term end (terms renew; see `Contract`)
    the parties first renegotiate; unless a term changed (which starts the review afresh),
    a party whose benefit over the whole term was negative leaves.
    Renegotiation, at the end of each minimum term, of the terms listed in `renegotiate`, from
    the contract's own ledger over the term:
    - `volume`: moved, up or down, to what the supplier showed it makes: the stream's output
      per day over the term x (1 + `formation.commitment_allowance`) less its other primaries,
      at most its commitment capacity left and the buyer's remaining planned use (set from
      the term's evidence, not from the old volume, so terms do not ratchet down);
    - `penalty`: when the penalties the supplier paid exceeded what the exchange earned it
      before penalties (a gain turned into a loss by the penalty), the penalty per t short is
      cut to that earning per chargeable t short: the highest penalty it could have paid over
      the term without a loss (never raised, never below 0);
    - `price`: when the joint benefit over the term (as it would have been on a cut penalty)
      was positive but one party's was negative, the price moves by (`fair_share` x joint
      benefit - supplier benefit) / tonnes paid for, so that over the same term the supplier
      would have got `fair_share` of the joint benefit and the buyer the rest (the "simple
      contract scheme that shares benefits fairly" of Albino, Fraccascia & Giannoccaro 2016;
      exact for a bilateral contract, whose price moves both parties by the same tonnes).
      `fair_share` unset means `[formation].supplier_share`.
    After a renegotiation the benefit history that the exit rule reviews starts afresh.
    Formation: every `formation_interval_days` each candidate exchange without a contract is
    discovered with `discovery_probability` (once known, it stays known) and proposed on the
    `[formation]` terms, at a volume no larger than what the supplier has not yet promised of
    its commitment capacity ((1 + `formation.commitment_allowance`) x mean rate x expected
    availability; no room: it refuses); the supplier accepts if price plus avoided disposal
    less its haulage covers the penalty it expects from its delivery share (its availability
    so far, scaled down when its output is already promised); the buyer accepts if it still
    needs the material and its saving per t exceeds its dependence risk: `risk_aversion` x the
    shortage it expects beyond its buffer cover (P(outage > cover) = exp(-cover / MTTR) for the
    supplier's observed MTTR) x what a t short costs it, falling back (the virgin price of the
    day from the market, emergency purchase at its premium, or its lost margin, for the
    functional t replaced) less what the t would have cost and the penalty it would receive.
    A backup contract is judged by its buyer as insurance, not by its periods' cash: the
    primaries' shortfall it is expected to cover (their suppliers' observed availability and
    MTTR, after its activation lead time, from what its supplier has left after its own
    primaries), times what that shortfall would cost, against its standby fees over the
    review (or the term).
    Re-formation: with `reform_after_days` set, a link the agents formed that a party left
    becomes a candidate again that many days after it ended, known to both and proposed on
    its first terms at the next formation round (unset: an ended link never comes back).
    Adaptation: after a disruption episode with unmet demand, a buyer raises its buffer by
    `buffer_step_days` of secondary use, up to `buffer_budget_days` extra; a supplier that paid
    penalties in a period raises its source storage by `buffer_step_days` of its contracted
    volume, up to `buffer_budget_days`, when the penalties exceed the holding cost the stream's
    storage books (`outputs[].holding_cost_per_t_day`, else the material's) on that extra
    stock over the period.
    Cascades: a facility whose critical input has been unmet on `cascade_closure_days`
    consecutive days closes for good.
    """

    trust_initial: Share = 0.6
    """Trust of a new contract."""
    trust_learning_rate: Share = 0.3
    """How fast trust moves toward delivery performance."""
    dispute_trust_loss: Share = 0.1
    """Trust lost when a penalty is claimed."""
    intermediary_dispute_factor: Share = 0.3
    """Multiplies that loss for contracts through the intermediary."""
    exit_trust_threshold: Share = 0.3
    """A buyer gives notice below this trust."""
    review_periods: Annotated[int, Field(ge=1)] = 3
    """Settlements over which a party's benefit is reviewed."""
    formation_interval_days: Annotated[int, Field(ge=1)] = 60
    """Days between formation rounds."""
    discovery_probability: Share = 0.3
    """Chance a candidate exchange is discovered at a round."""
    risk_aversion: NonNeg = 1.0
    """Weight of the expected shortage in a buyer's acceptance."""
    buffer_step_days: NonNeg = 2.0
    """Buffer added after a disruption, in days of use."""
    buffer_budget_days: NonNeg = 10.0
    """Most buffer added over the run, in days of use."""
    cascade_closure_days: Pos | None = None
    """Consecutive days of unmet critical input after which a plant closes; unset: never."""
    renegotiate: list[Literal["volume", "price", "penalty"]] = []  # noqa: RUF012 (pydantic copies defaults)
    """Terms renegotiated at each term end; none by default (until issue 21: ["volume"]): a listed term moves only
    when the file asks."""
    fair_share: Share | None = None
    """Supplier's share of the joint benefit in price renegotiation; unset: formation.supplier_share."""
    reform_after_days: NonNeg | None = None
    """Days after which a link a party left becomes a candidate again; unset: never."""

    @model_validator(mode="before")
    @classmethod
    def _holding_rate_moved(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "source_holding_cost_per_t_day" in raw:
            raise ValueError(
                "source_holding_cost_per_t_day is no longer a [behaviour] field: a supplier now weighs the holding "
                "cost its storage books; write the rate as outputs[].holding_cost_per_t_day on the stream or "
                "holding_cost_per_t_day on its [[materials]], and remove it here"
            )
        return raw

    @field_validator("renegotiate")
    @classmethod
    def _each_term_once(cls, terms: list[str]) -> list[str]:
        if len(terms) != len(set(terms)):
            raise ValueError(f"name each term once (given {terms})")
        return terms


class Formation(Frozen):
    """How the contract network is formed (the `[formation]` section).

    `explicit` uses the listed contracts. `system_optimal` (a linear program over the candidate
    exchanges maximising total net value) and `greedy` (each supplier takes its best buyer)
    replace them with contracts formed by the rule, on the terms below; the price splits each
    exchange's margin per t so that the supplier gets `supplier_share` of it. A supplier is
    never given primaries beyond (1 + `commitment_allowance`) x its expected output. With
    `policy.redundancy = k` each input gets up to k sources: its primaries, then backup
    contracts from the best remaining candidates on the backup terms below. Contracts formed
    during a run by the agents (`[behaviour]`) get the same terms.
    """

    rule: Literal["explicit", "system_optimal", "greedy"] = "explicit"
    """explicit uses `[[contracts]]`; the others form contracts by the rule."""
    supplier_share: Share = 0.5
    """Supplier's share of each exchange's margin, which sets the price."""
    penalty_per_t_short: NonNeg = 0.0
    """Penalty of formed contracts."""
    tolerance: Share = 0.0
    """Tolerance of formed contracts."""
    settlement_days: Annotated[int, Field(ge=1)] = 30
    """Settlement interval of formed contracts."""
    min_term_days: Annotated[int, Field(ge=0)] = 0
    """Minimum term of formed contracts."""
    notice_days: Annotated[int, Field(ge=0)] = 0
    """Notice of formed contracts."""
    early_termination_fee: NonNeg = 0.0
    """Early-termination fee of formed contracts."""
    backup_standby_fee_per_day: NonNeg = 0.0
    """Standby fee of formed backup contracts."""
    backup_activation_lead_time_days: NonNeg = 0.0
    """Activation lead time of formed backup contracts."""
    commitment_allowance: NonNeg = 0.0
    """A supplier commits across its primary contracts at most (1 + this) x its expected output (mean rate x
    expected availability, sim.implied.commitment_capacity_t_per_day); formation and renegotiation keep to it,
    validate flags listed contracts beyond it. 0: no over-commitment."""
    index_share: Share = 0.0
    """Formed contracts index their price to the virgin price of the material replaced (a contract's
    `indexation`, sim.scenario.Indexation), passing on this share of its change; 0: fixed prices."""
    index_review_days: Annotated[int, Field(ge=1)] = 30
    """Days between price reviews of formed indexed contracts."""
    index_floor_per_t: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] | None = None
    """Floor of formed indexed contracts' price per t; unset: none."""
    index_cap_per_t: Annotated[float, Field(ge=-BIG, le=BIG, allow_inf_nan=False)] | None = None
    """Cap of formed indexed contracts' price per t; unset: none."""

    @model_validator(mode="after")
    def _index_floor_below_cap(self) -> Formation:
        lo, hi = self.index_floor_per_t, self.index_cap_per_t
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"index_floor_per_t ({lo}) is above index_cap_per_t ({hi}); "
                             "give a floor at or below the cap")
        return self


class Market(Frozen):
    """Market turbulence (the `[market]` section): virgin prices and disposal costs that shift
    at random times.

    Shifts come at exponential intervals of mean `shift_interval_days` (omitted: never) and take
    effect from the start of the day they fall in. At each shift every material's virgin price
    and disposal cost are set to their nominal values (as given in the file) times independent
    lognormal factors of mean 1 and coefficient of variation `virgin_price_cv` and
    `disposal_cost_cv`, one factor per material (a stream's own disposal cost moves with its
    material's factor). The level does not drift: each shift draws afresh around the nominal
    value. The intermediary's own disposal cost is its contract with a disposer and does not
    move. All shift times and factors are drawn up front from their own keyed random streams,
    so a market never shifts the draws of anything else.

    Besides the shifts, virgin prices may follow a mean-reverting path: the log of each
    material's price factor is an Ornstein-Uhlenbeck process X (X(0) = 0, mean 0, reversion
    `reversion_per_day`, volatility `volatility_per_sqrt_day`), drawn day by day with the exact
    discretisation from its own stream (``market/ou/<material>``); day d's virgin price is the
    nominal one times the shift factor in force times exp(X(d)).
    """

    shift_interval_days: Pos | None = None
    """Mean days between price shifts; unset: prices never move."""
    virgin_price_cv: NonNeg = 0.0
    """Coefficient of variation of the virgin-price factor at each shift."""
    disposal_cost_cv: NonNeg = 0.0
    """Coefficient of variation of the disposal-cost factor at each shift."""
    reversion_per_day: NonNeg = 0.0
    """Mean-reverting path: speed theta at which each material's log virgin price returns to
    the log of its virgin_price_per_t (an Ornstein-Uhlenbeck process; half-life ln 2 / theta days);
    0 with a volatility: a random walk (no long-run mean)."""
    volatility_per_sqrt_day: NonNeg = 0.0
    """Mean-reverting path: sigma of the log virgin price per sqrt(day); 0: no path. The path
    starts at the given price; its stationary log price has mean ln(virgin_price_per_t) and
    variance sigma^2 / (2 theta). It multiplies the shifts' virgin factors day by day."""

    @model_validator(mode="after")
    def _shifts_for_factors(self) -> Market:
        if self.shift_interval_days is None:
            moved = [f for f in ("virgin_price_cv", "disposal_cost_cv") if getattr(self, f) > 0.0]
            if moved:
                raise ValueError(
                    f"{' and '.join(moved)} need shift_interval_days (given none, so prices would never move)"
                )
        return self


class Event(Frozen):
    """A scripted event.

    - `closure`: the facility closes for good at `day`.
    - `outage`: the facility is down from `day` for `duration_days`.
    - `stream_end`: the facility's output of `material` stops for good.
    - `stream_scale`: the output of `material` is multiplied by `factor` from `day` on.
    - `notice`: `party` (buyer or supplier) gives notice on `contract`.
    """

    day: NonNeg
    """Day the event happens (below the horizon)."""
    kind: Literal["closure", "outage", "stream_end", "stream_scale", "notice"]
    """What happens (see the section text for the fields each kind needs)."""
    facility: Ident | None = None
    """The facility it happens to."""
    material: Ident | None = None
    """The output stream it changes."""
    duration_days: Pos | None = None
    """outage: its length."""
    factor: NonNeg | None = None
    """stream_scale: the output multiplier."""
    contract: Ident | None = None
    """notice: the contract."""
    party: Literal["buyer", "supplier"] | None = None
    """notice: who gives it."""
    cause: Ident | None = None
    """stream_scale: the outside cause it stands for (e.g. "harvest"); a contract whose
    `force_majeure_causes` names it excuses the shortfall the cut causes."""

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Event:
        needs = {
            "closure": {"facility"},
            "outage": {"facility", "duration_days"},
            "stream_end": {"facility", "material"},
            "stream_scale": {"facility", "material", "factor"},
            "notice": {"contract", "party"},
        }[self.kind]
        optional = {"facility", "material", "duration_days", "factor", "contract", "party"}
        given = {k for k in optional if getattr(self, k) is not None}
        if self.cause is not None and self.kind != "stream_scale":
            raise ValueError(f"cause applies only to kind 'stream_scale', not '{self.kind}'; remove it")
        if needs - given:
            raise ValueError(f"kind '{self.kind}' needs {', '.join(sorted(needs - given))}")
        if given - needs:
            raise ValueError(f"{', '.join(sorted(given - needs))} do not apply to kind '{self.kind}'; remove them")
        return self


class Scenario(Frozen):
    """One network: the whole content of a scenario file."""

    scenario: ScenarioMeta
    """Name, currency and horizon."""
    transport: Transport = Transport()
    """Haulage defaults."""
    materials: list[Material]
    """Every material, primary or secondary."""
    facilities: list[Facility]
    """Every plant."""
    contracts: list[Contract] = []  # noqa: RUF012 (pydantic copies defaults)
    """The exchanges (with formation.rule = "explicit")."""
    intermediary: IntermediarySpec | None = None
    """A broker with pooled storage."""
    formation: Formation = Formation()
    """How contracts are formed."""
    behaviour: Behaviour | None = None
    """Agents' decisions; absent: none (unless policy.adaptive)."""
    market: Market | None = None
    """Price turbulence; absent: prices stay as given."""
    policy: Policy = Policy()
    """Network-wide levers."""
    events: list[Event] = []  # noqa: RUF012 (pydantic copies defaults)
    """Scripted events."""
    common_causes: list[CommonCause] = []  # noqa: RUF012 (pydantic copies defaults)
    """Shocks that take several facilities down together."""

    @field_validator("materials", "facilities", "contracts", "common_causes")
    @classmethod
    def _unique_ids(cls, items: list[Any]) -> list[Any]:
        seen: set[str] = set()
        repeated: set[str] = set()
        for item in items:  # one pass: a 100,000-facility file validates in seconds
            (repeated if item.id in seen else seen).add(item.id)
        dup = sorted(repeated)
        if dup:
            raise ValueError(f"ids must be unique (repeated: {', '.join(dup)}); give each item its own id")
        return items

    # Convenience look-ups (the model builds its own indexes; these are for tools).
    def material(self, material_id: str) -> Material:
        """The material with this id."""
        return next(m for m in self.materials if m.id == material_id)

    def facility(self, facility_id: str) -> Facility:
        """The facility with this id."""
        return next(f for f in self.facilities if f.id == facility_id)

    def contract(self, contract_id: str) -> Contract:
        """The contract with this id."""
        return next(c for c in self.contracts if c.id == contract_id)

