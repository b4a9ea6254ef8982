"""Cross-reference checks: the problems a per-field schema cannot see (undefined ids,
inconsistent links between facilities, contracts, materials, the intermediary and events).

Each check returns ``(path, message)`` pairs; :func:`sim.scenario.load.parse_scenario` makes
them lines. A file whose fields are not all valid is checked on the items that are valid on
their own (:func:`partial_reference_problems`), so one pass reports both kinds of problem.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sim.scenario.common_cause import CommonCause, common_cause_problems
from sim.scenario.contract import Contract
from sim.scenario.errors import _printable
from sim.scenario.schema import Facility, Frozen, InputSpec, Material
from sim.scenario.sections import Event, Formation, IntermediarySpec, Policy, Scenario
from sim.scenario.setting import ScenarioMeta, Transport

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class DefinedIds:
    """Every id a file defines, including items whose own fields are invalid, so that a
    reference to them is not reported as undefined."""

    materials: tuple[str, ...]
    facilities: frozenset[str]
    contracts: frozenset[str]


def cross_reference_problems(
    sc: Scenario, defined: DefinedIds | None = None, event_index: list[int] | None = None
) -> Problems:
    """Problems a per-field schema cannot see: undefined ids and inconsistent links.

    `sc` may be partial (only the items that are valid on their own, see
    :func:`partial_reference_problems`); `defined` then names every id of the file and
    `event_index` the file position of each event kept. Links from or to an item that is
    itself invalid are not followed.
    """
    materials = {m.id: m for m in sc.materials}
    facilities = {f.id: f for f in sc.facilities}
    if defined is None:
        defined = DefinedIds(tuple(materials), frozenset(facilities), frozenset(c.id for c in sc.contracts))
    out: Problems = []
    known = frozenset(defined.materials)
    for f in sc.facilities:
        out += _facility_problems(f, materials, defined, known)
        out += [p for i in f.inputs for p in _input_unit_problems(f.id, i, materials)]
    out += _distance_problems(sc, defined)
    for c in sc.contracts:
        out += _contract_problems(c, materials, facilities, defined)
    out += _intermediary_problems(sc, defined, known)
    out += _pool_unit_problems(sc, materials)
    out += _event_problems(sc, facilities, defined, event_index)
    out += common_cause_problems(sc.common_causes, facilities, defined.facilities)
    if len(facilities) == len(defined.facilities):  # every facility valid: every input is known
        out += _credit_problems(sc)
        out += _catch_up_problems(sc)
    return out


def _unknown_material(path: str, mid: str, defined: DefinedIds, known: frozenset[str]) -> Problems:
    if mid in known:
        return []
    return [(path, f"unknown material '{mid}' (defined: {', '.join(map(_printable, defined.materials))})")]


def _no_property(mat: Material, q: str) -> str:
    return f"material '{mat.id}' has no quality property '{q}' (it has: {', '.join(mat.quality) or 'none'})"


def _facility_problems(
    f: Facility, materials: Mapping[str, Material], defined: DefinedIds, known: frozenset[str]
) -> Problems:
    """A facility's streams and inputs name defined materials (`known`: the set of them) and
    their quality properties."""
    out: Problems = []
    for o in f.outputs:
        p = f"facilities.{f.id}.outputs.{o.material}"
        out += _unknown_material(f"{p}.material", o.material, defined, known)
        mat = materials.get(o.material)
        if mat is None:
            continue
        out += [(f"{p}.quality.{q}", _no_property(mat, q)) for q in o.quality if q not in mat.quality]
        if o.preprocessing is not None and o.preprocessing.target_moisture >= mat.moisture:
            out.append((f"{p}.preprocessing.target_moisture",
                        f"dewatering must lower the moisture (given {o.preprocessing.target_moisture}"
                        f", material moisture {mat.moisture}); set target_moisture below {mat.moisture}"))
    for i in f.inputs:
        p = f"facilities.{f.id}.inputs.{i.material}"
        out += _unknown_material(f"{p}.material", i.material, defined, known)
        for s in i.substitutes:
            out += _unknown_material(f"{p}.substitutes.{s.material}.material", s.material, defined, known)
            sub_mat = materials.get(s.material)
            for q in s.quality_limits if sub_mat is not None else ():
                if q not in sub_mat.quality:
                    out.append((f"{p}.substitutes.{s.material}.quality_limits.{q}", _no_property(sub_mat, q)))
    return out


def _input_unit_problems(fid: str, i: InputSpec, materials: Mapping[str, Material]) -> Problems:
    """Units an input can be read in: a substitute in another unit than the input's says its
    ratio (the default 1.0 would equate, say, one MWh with one t), and all substitutes share
    one unit (the buffer, the deliveries and the overflow of an input are each one number)."""
    p = f"facilities.{fid}.inputs.{i.material}"
    mat = materials.get(i.material)
    subs = [(s, materials[s.material]) for s in i.substitutes if s.material in materials]
    out: Problems = []
    for s, sub in subs:
        if mat is not None and sub.unit != mat.unit and "ratio" not in s.model_fields_set:
            out.append((f"{p}.substitutes.{s.material}.ratio",
                        f"'{s.material}' is in {sub.unit} and '{i.material}' in {mat.unit}: ratio is {mat.unit} of "
                        f"{i.material} replaced per {sub.unit} of {s.material}; write it explicitly"))
    units = sorted({sub.unit for _, sub in subs})
    if len(units) > 1:
        listed = ", ".join(f"{s.material} ({sub.unit})" for s, sub in subs)
        store = (f"its buffer (buffer_t = {i.buffer_t}) sums them" if i.buffer_t > 0 or i.initial_buffer_t
                 else "its deliveries and overflow are summed in one number")
        out.append((f"{p}.substitutes", f"substitutes in different units ({listed}) and {store}; split the input "
                    "into one input per unit, or keep its substitutes in one unit"))
    return out


def _pool_unit_problems(sc: Scenario, materials: Mapping[str, Material]) -> Problems:
    """The intermediary's pool is one store (storage_t): what is routed through it shares one unit."""
    hub, lever = sc.intermediary, sc.policy.intermediary
    if hub is None or not (hub.enabled if lever is None else lever):
        return []
    if sc.policy.intermediary:  # every exchange may be routed, formed ones too
        put_out = {o.material for f in sc.facilities for o in f.outputs}
        routed = {s.material for f in sc.facilities for i in f.inputs for s in i.substitutes} & put_out
    else:
        routed = {c.material for c in sc.contracts if c.via_intermediary and c.enabled}
    units = {materials[m].unit: m for m in sorted(routed) if m in materials}
    if len(units) < 2:
        return []
    listed = ", ".join(f"{m} ({materials[m].unit})" for m in sorted(routed) if m in materials)
    return [("intermediary.storage_t", f"the pool sums every material routed through it, and they are in different "
             f"units ({listed}); route only materials of one unit through the intermediary")]


def _distance_problems(sc: Scenario, defined: DefinedIds) -> Problems:
    """Explicit distances join facilities or the intermediary."""
    hub_id = sc.intermediary.id if sc.intermediary is not None else None
    return [
        (f"transport.distances.{d.a}-{d.b}", f"unknown facility or intermediary '{end}'")
        for d in sc.transport.distances
        for end in (d.a, d.b)
        if end not in defined.facilities and end != hub_id
    ]


def _contract_problems(
    c: Contract, materials: Mapping[str, Material], facilities: Mapping[str, Facility], defined: DefinedIds
) -> Problems:
    """A contract joins defined facilities, its supplier puts out its material, and exactly
    one input of its buyer accepts it."""
    out: Problems = []
    p = f"contracts.{c.id}"
    sup, buy = facilities.get(c.supplier), facilities.get(c.buyer)
    if c.supplier not in defined.facilities:
        out.append((f"{p}.supplier", f"unknown facility '{c.supplier}'"))
    elif sup is not None and c.material not in {o.material for o in sup.outputs}:
        out.append((f"{p}.material", f"supplier '{sup.id}' has no output of '{c.material}' "
                    f"(it puts out: {', '.join(o.material for o in sup.outputs) or 'nothing'})"))
    if c.buyer not in defined.facilities:
        out.append((f"{p}.buyer", f"unknown facility '{c.buyer}'"))
    if buy is None:
        return out
    out += _buyer_input_problems(c, buy)
    mat = materials.get(c.material)
    if mat is not None:
        out += [(f"{p}.quality_spec.{q}", f"material '{mat.id}' has no quality property '{q}'")
                for q in c.quality_spec if q not in mat.quality]
        if mat.unit == "MWh" and c.mode == "road":
            out.append((f"{p}.mode", f"'{mat.id}' is in MWh and energy does not travel by truck "
                        "(given mode = 'road', the default); set mode = 'pipe'"))
    return out


def _buyer_input_problems(c: Contract, buy: Facility) -> Problems:
    """The buyer input a contract feeds: the one named, or the only one accepting its material."""
    p = f"contracts.{c.id}"
    accepting = [i for i in buy.inputs if c.material in {s.material for s in i.substitutes}]
    if c.input is not None:
        chosen = [i for i in buy.inputs if i.material == c.input]
        if not chosen:
            return [(f"{p}.input", f"buyer '{buy.id}' has no input '{c.input}'")]
        if chosen[0] not in accepting:
            return [(f"{p}.material", f"buyer input '{buy.id}.{c.input}' does not accept '{c.material}' as a "
                     "substitute (list it under that input's substitutes, or name another input)")]
        return []
    if not accepting:
        return [(f"{p}.material", f"buyer '{buy.id}' has no input that accepts '{c.material}' "
                 "(list it under an input's substitutes)")]
    if len(accepting) > 1:
        return [(f"{p}.input", f"buyer '{buy.id}' accepts '{c.material}' in several inputs "
                 f"({', '.join(i.material for i in accepting)}); name one with input = ...")]
    return []


def _intermediary_problems(sc: Scenario, defined: DefinedIds, known: frozenset[str]) -> Problems:
    """The intermediary has its own id, exists when contracts or the policy route through it,
    and holds opening stock of defined materials."""
    out: Problems = []
    hub = sc.intermediary
    for mid in hub.initial_t if hub is not None else ():
        out += _unknown_material(f"intermediary.initial_t.{mid}", mid, defined, known)
    if hub is not None and hub.id in defined.facilities:
        out.append(("intermediary.id", f"'{hub.id}' is also a facility id; give the intermediary its own id"))
    routed = [c.id for c in sc.contracts if c.via_intermediary]
    if hub is None and (routed or sc.policy.intermediary):
        what = f"contracts {', '.join(routed)} are routed through it" if routed else "policy.intermediary = true"
        out.append(("intermediary", f"missing: {what}; add an [intermediary] section"))
    return out


def _event_problems(
    sc: Scenario, facilities: Mapping[str, Facility], defined: DefinedIds, event_index: list[int] | None
) -> Problems:
    """Scripted events name defined facilities, outputs and contracts, within the horizon."""
    out: Problems = []
    for k, e in zip(event_index or range(len(sc.events)), sc.events, strict=True):
        p = f"events.[{k}]"
        if e.facility is not None and e.facility not in defined.facilities:
            out.append((f"{p}.facility", f"unknown facility '{e.facility}'"))
        elif e.material is not None and e.facility in facilities:
            if e.material not in {o.material for o in facilities[e.facility].outputs}:
                out.append((f"{p}.material", f"facility '{e.facility}' has no output '{e.material}'"))
        if e.contract is not None and e.contract not in defined.contracts:
            out.append((f"{p}.contract", f"unknown contract '{e.contract}'"))
        if e.day >= sc.scenario.horizon_days:
            out.append((f"{p}.day", f"after the horizon (given {e.day}, horizon {sc.scenario.horizon_days}); "
                        f"give a day below {sc.scenario.horizon_days}"))
    return out


def _credit_problems(sc: Scenario) -> Problems:
    """An emission credit is given only on a material some input consumes."""
    consumed = {i.material for f in sc.facilities for i in f.inputs}
    return [
        (f"materials.{m.id}.co2e_t_per_t", "credited only on a material an input consumes (the virgin material "
         f"a secondary replaces), and no input consumes '{m.id}'")
        for m in sc.materials
        if m.co2e_t_per_t > 0 and m.id not in consumed
    ]


def _catch_up_problems(sc: Scenario) -> Problems:
    """refill = "catch_up" needs a contract of the input with a catch-up term."""
    out: Problems = []
    for f in sc.facilities:
        for i in f.inputs:
            if i.refill != "catch_up":
                continue
            subs = {s.material for s in i.substitutes}
            feeds = [c for c in sc.contracts if c.buyer == f.id and c.catch_up_t_per_day > 0
                     and (c.input == i.material or (c.input is None and c.material in subs))]
            if not feeds:
                out.append((f"facilities.{f.id}.inputs.{i.material}.refill",
                            "refill = 'catch_up' needs a contract into this input with catch_up_t_per_day > 0 "
                            "(none has one); add the term to a contract or choose refill 'use_less' or 'none'"))
    return out


def partial_reference_problems(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Reference problems of a file whose fields are not all valid: the checks run on the
    items that are valid on their own, so one pass reports field and reference problems."""

    def valid(cls: type[Frozen], key: str) -> list[tuple[int, Any]]:
        items = raw.get(key)
        kept = []
        for k, item in enumerate(items if isinstance(items, list) else []):
            try:
                kept.append((k, cls.model_validate(item)))
            except ValidationError:
                pass
        return kept

    def ids(key: str) -> list[str]:
        items = raw.get(key)
        items = items if isinstance(items, list) else []
        return [str(i["id"]) for i in items if isinstance(i, Mapping) and isinstance(i.get("id"), str)]

    try:
        meta = ScenarioMeta.model_validate(raw.get("scenario"))
    except ValidationError:  # no horizon to check events against
        meta = ScenarioMeta.model_construct(name="", horizon_days=sys.maxsize)
    try:
        transport = Transport.model_validate(raw.get("transport", {}))
    except ValidationError:
        transport = Transport()
    events = valid(Event, "events")
    try:
        hub = IntermediarySpec.model_validate(raw["intermediary"]) if "intermediary" in raw else None
    except ValidationError:  # present but invalid: its own lines say so; links to it are not missing
        hub = IntermediarySpec.model_construct(id="")
    partial = Scenario.model_construct(
        scenario=meta,
        transport=transport,
        materials=[m for _, m in valid(Material, "materials")],
        facilities=[f for _, f in valid(Facility, "facilities")],
        contracts=[c for _, c in valid(Contract, "contracts")],
        intermediary=hub,
        formation=Formation(),
        policy=Policy(),
        events=[e for _, e in events],
        common_causes=[c for _, c in valid(CommonCause, "common_causes")],
    )
    defined = DefinedIds(
        tuple(dict.fromkeys(ids("materials"))), frozenset(ids("facilities")), frozenset(ids("contracts"))
    )
    return cross_reference_problems(partial, defined, [k for k, _ in events])

