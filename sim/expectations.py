"""What a party expects of a contract before it happens (issue 21): the cost of falling back
when secondary supply fails, the dependence risk that puts on a buyer, and a backup's value as
insurance. Pure functions of numbers; sim/behaviour.py feeds them the agents' evidence.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np


def fallback_per_t(virgin: str, virgin_price: float, premium: float | None, lost_margin_per_t: float) -> float:
    """What a buyer pays per functional t its secondary supply falls short by, by its fallback:
    the virgin price of the day (the price path as it stands) from the market
    (`virgin = "market"`); else emergency purchase at the virgin price x (1 + premium) when the
    input has one; else its lost margin per t (the line goes short)."""
    if virgin == "market":
        return virgin_price
    if premium is not None:
        return virgin_price * (1.0 + premium)
    return lost_margin_per_t


def dependence_cost_per_t(ratio: float, fallback: float, cost_per_t: float, penalty_per_t: float) -> float:
    """What one contracted t that does not come costs its buyer: the fallback for the functional
    t it would have replaced (ratio x fallback) less what the t would have cost it under the
    contract (price, processing, its haulage: `cost_per_t`, not paid when nothing comes) and
    less the penalty it receives; never below 0. With a market fallback this is the saving
    the contract would have made on that t, not 0."""
    return max(0.0, ratio * fallback - cost_per_t - penalty_per_t)


def dependence_risk_per_t(
    risk_aversion: float, availability: float, cover_days: float, mttr_days: float, cost_per_t: float
) -> float:
    """A buyer's dependence risk per contracted t: risk aversion x the chance the supplier is
    down (1 - availability) x the chance an outage outlasts the buffer's cover
    (exp(-cover / MTTR), exponential repairs) x the dependence cost per t."""
    exceed = math.exp(-cover_days / mttr_days) if mttr_days > 0 else 0.0
    return risk_aversion * (1.0 - availability) * exceed * cost_per_t


def backup_cover_t_per_day(
    primaries: list[tuple[float, float, float]], backup_supply_t_per_day: float, lead_days: float
) -> float:
    """Expected t per day a backup delivers in place of failing primaries: for each primary
    (volume, its supplier's availability, its MTTR), the chance it is down (1 - availability)
    x the share of an outage left after the activation lead time (exp(-lead / MTTR) for
    exponential repairs) x min(volume, what the backup can supply). `backup_supply_t_per_day`
    is what the buyer expects the backup's supplier to have for it: its availability x
    min(backup volume, expected output left after its own primaries)."""
    total = 0.0
    for volume, availability, mttr in primaries:
        after_lead = math.exp(-lead_days / mttr) if mttr > 0 else 0.0
        total += (1.0 - availability) * after_lead * min(volume, backup_supply_t_per_day)
    return min(total, backup_supply_t_per_day)


def backup_insurance_value(
    cover_t_per_day: float, dependence_cost_per_t: float, standby_fee_per_day: float, days: float
) -> float:
    """A backup's value to its buyer over `days` (its term, or the review window), judged as
    insurance: expected shortfall covered x what that shortfall would cost, less the standby
    fees. Not one period's cash, which shows a loss whenever no primary happened to fail."""
    return (cover_t_per_day * dependence_cost_per_t - standby_fee_per_day) * days


def planned_secondary_share(model: Any) -> np.ndarray:
    """Per input, the share of its requirement its secondary materials are planned to cover:
    `secondary_fill_rate`'s yardstick (issue 21), the same for every design point that keeps
    the facilities, whatever contracts are in force, formed, added as backups or left. It is
    min(1, sum of max_share over the substitutes some facility of the network puts out,
    sum over those of ratio x their mean output (t/day, after preprocessing) / demand):
    planned use is the max shares, capped by what the region makes at all. Before issue 21
    the yardstick was `secondary_full_t` (what the primaries in force would supply at full
    volume), which moves with redundancy, exits and formation."""
    made: dict[str, float] = defaultdict(float)
    for st in model.stream_states:
        made[st.spec.material] += st.spec.rate_t_per_day * st.mass_factor
    share = np.zeros(len(model.input_states))
    for inp in model.input_states:
        subs = [s for s in inp.substitutes if made.get(s.material, 0.0) > 0.0]
        demand = inp.spec.demand_t_per_day  # the mean (a demand_pattern is mean 1), as the output rates are
        by_supply = sum(s.ratio * made[s.material] for s in subs) / demand if demand > 0 else 0.0
        share[inp.index] = min(1.0, sum(s.max_share for s in subs), by_supply)
    return share
