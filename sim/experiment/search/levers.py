"""The contract designer's levers, each written as scenario overrides, and the candidate grid.

A lever names what a contract designer decides, in their words; :func:`lever_overrides` turns
one lever value into the scenario override paths of :func:`sim.scenario.apply_override`, the
same paths a study's factors use:

==================  ===================================  ==============================================
kind                target                               override paths
==================  ===================================  ==============================================
buffer_days         input = "facility.material"          facilities.F.inputs.M.buffer_t (days x the
                                                         input's secondary use per day at full supply)
                                                         and initial_buffer_t (full)
buffer_days         (none: every input)                  policy.buffer_days
penalty_per_t_short contract = "id"                      contracts.ID.penalty_per_t_short
penalty_per_t_short (none: every contract)               policy.penalty_per_t_short
tolerance           contract = "id" (none: every one)    contracts.ID.tolerance (contracts.*.tolerance)
take_or_pay         contract = "id" (none: every one)    contracts.ID.take_or_pay (contracts.*...)
backup              contract = "id" (a backup contract)  contracts.ID.enabled (true / false)
standby_fee         contract = "id" (a backup contract)  contracts.ID.standby_fee_per_day
redundancy          (none)                               policy.redundancy (sources per input)
intermediary        contract = "id"                      contracts.ID.via_intermediary and
                                                         intermediary.enabled (on while any member)
intermediary        (none: every road contract)          policy.intermediary
refill              input = "facility.material"          facilities.F.inputs.M.refill
==================  ===================================  ==============================================

The candidates are the full grid of the levers' levels (every combination), in the order of
:func:`itertools.product` over the levers as listed in the file.
"""

from __future__ import annotations

import itertools
from typing import Any

from sim.scenario import Scenario
from sim.scenario.load import secondary_need_t_per_day

#: Lever kinds -> (what it must name: "input" | "contract" | "either-contract" | "either-input" | "none",
#: the kind of its levels: "number" | "int" | "bool" | "refill").
KINDS: dict[str, tuple[str, str]] = {
    "buffer_days": ("either-input", "number"),
    "penalty_per_t_short": ("either-contract", "number"),
    "tolerance": ("either-contract", "number"),
    "take_or_pay": ("either-contract", "number"),
    "backup": ("contract", "bool"),
    "standby_fee": ("contract", "number"),
    "redundancy": ("none", "int"),
    "intermediary": ("either-contract", "bool"),
    "refill": ("input", "refill"),
}
REFILL_RULES = ("use_less", "catch_up", "none")
#: Per-contract field of each contract lever.
CONTRACT_FIELD = {
    "penalty_per_t_short": "penalty_per_t_short",
    "tolerance": "tolerance",
    "take_or_pay": "take_or_pay",
    "backup": "enabled",
    "standby_fee": "standby_fee_per_day",
    "intermediary": "via_intermediary",
}
#: Network-wide path of each lever with no target.
POLICY_PATH = {
    "buffer_days": "policy.buffer_days",
    "penalty_per_t_short": "policy.penalty_per_t_short",
    "tolerance": "contracts.*.tolerance",
    "take_or_pay": "contracts.*.take_or_pay",
    "redundancy": "policy.redundancy",
    "intermediary": "policy.intermediary",
}


def lever_overrides(kind: str, value: Any, scenario: Scenario, *, input: str | None = None,
                    contract: str | None = None) -> dict[str, Any]:
    """The override paths and values that set lever `kind` to `value` on `scenario` (the
    scenario as the search reads it: file plus the search's fixed overrides). Targets are
    assumed checked (:func:`target_problems`)."""
    if input is not None:
        facility, material = input.split(".", 1)
        base = f"facilities.{facility}.inputs.{material}"
        if kind == "refill":
            return {f"{base}.refill": value}
        spec = next(i for i in scenario.facility(facility).inputs if i.material == material)
        tonnes = float(value) * secondary_need_t_per_day(spec)
        return {f"{base}.buffer_t": tonnes, f"{base}.initial_buffer_t": tonnes}
    if contract is not None:
        out: dict[str, Any] = {f"contracts.{contract}.{CONTRACT_FIELD[kind]}": value}
        if kind == "intermediary":
            out["intermediary.enabled"] = bool(value)
        return out
    return {POLICY_PATH[kind]: value}


def merge_overrides(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One candidate's overrides from its levers' (in file order). `intermediary.enabled` is on
    when any membership lever puts a contract in; other paths are each one lever's."""
    out: dict[str, Any] = {}
    for part in parts:
        for path, value in part.items():
            if path == "intermediary.enabled":
                out[path] = bool(out.get(path, False)) or bool(value)
            else:
                out[path] = value
    return out


def target_problems(kind: str, scenario: Scenario, input: str | None, contract: str | None) -> list[str]:
    """What is wrong with a lever's target (field, message) pairs as one-line messages
    `field: message`: a missing or unknown facility, input or contract, or a target the kind
    does not take."""
    need, _ = KINDS[kind]
    out: list[str] = []
    if input is not None and contract is not None:
        return ["input: give an input or a contract, not both"]
    if need == "none" and (input or contract):
        return [f"{'input' if input else 'contract'}: kind '{kind}' is network-wide; remove the target"]
    if need in ("input", "either-input") and contract is not None:
        return [f"contract: kind '{kind}' applies to an input; write input = \"facility.material\""]
    if need in ("contract", "either-contract") and input is not None:
        return [f"input: kind '{kind}' applies to a contract; write contract = \"id\""]
    if need == "input" and input is None:
        return [f"input: kind '{kind}' needs input = \"facility.material\" (e.g. "
                f"\"{_first_input(scenario)}\")"]
    if need == "contract" and contract is None:
        return [f"contract: kind '{kind}' needs contract = \"id\" (a backup contract)"]
    if input is not None:
        facility, _, material = input.partition(".")
        ids = [f.id for f in scenario.facilities]
        if not material:
            out.append(f"input: '{input}' is not of the form facility.material (e.g. \"{_first_input(scenario)}\")")
        elif facility not in ids:
            out.append(f"input: unknown facility '{facility}' (known: {', '.join(ids)})")
        else:
            inputs = [i.material for i in scenario.facility(facility).inputs]
            if material not in inputs:
                out.append(f"input: facility '{facility}' has no input '{material}' (its inputs: "
                           f"{', '.join(inputs) or 'none'})")
    if contract is not None:
        ids = [c.id for c in scenario.contracts]
        if contract not in ids:
            out.append(f"contract: unknown contract '{contract}' (known: {', '.join(ids) or 'none'})")
        elif kind in ("backup", "standby_fee") and scenario.contracts[ids.index(contract)].role != "backup":
            out.append(f"contract: '{contract}' is a primary contract; kind '{kind}' needs a backup contract "
                       "(role = \"backup\")")
    if kind == "intermediary" and scenario.intermediary is None:
        out.append("kind: the scenario has no [intermediary] to be a member of")
    return out


def _first_input(scenario: Scenario) -> str:
    return next((f"{f.id}.{i.material}" for f in scenario.facilities for i in f.inputs if i.substitutes), "plant.feed")


def candidate_grid(levels: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the levers' levels, as {lever name: value}, the last lever fastest."""
    names = list(levels)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(levels[n] for n in names))]


def uncertainty_strata(levels: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the uncertainties' levels (one stratum each); [{}] without any.
    Replication r runs in stratum r % len(strata)."""
    return candidate_grid(levels) if levels else [{}]
