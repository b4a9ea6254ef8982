"""What a scenario file implies, before any run: each stream's yearly output and its rate on
the days it produces, each contract's volume against what its supplier can be expected to
put out, each buffer and store in days of use, and what is over-committed (a stream, or a
pipe's capacity) or never used.

``run_experiments.py validate`` prints :func:`implied_lines` below its "ok" line. The figures
are closed-form expectations from the file alone:

- a stream's output is ``rate_t_per_day`` on average over all days; its pattern
  (:func:`sim.streams.pattern_factors`, the rule the run uses) packs it into its producing
  days, so a campaign of `on_days` in `on_days + off_days` puts out
  ``rate x (on + off) / on`` on each producing day;
- expected output = mean rate x availability x the dewatering mass factor, where
  availability = ``mtbf / (mtbf + mttr)`` (the long-run up share of an alternating renewal
  process, whatever the laws of up and repair times) x (1 - the share of days in planned
  maintenance), and 1 for a facility without random failures or maintenance;
- a buffer's days of use are its tonnes over the input's secondary use at full supply (at the
  mean demand: a `demand_pattern` has mean 1, so its seasons are not in this figure); a
  source store's, its tonnes over the stream's contracted volume per day (how long it keeps
  contracts supplied while the plant is down);
- an input with a `demand_pattern` fed by fixed volumes is flagged with the tonnes a year that
  arrive above the day's use (the substitutes' max shares of the day's need): the low season's
  surplus, which overflows its buffer at the buyer's cost once the buffer is full.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.logistics import dewatered_mass_t
from sim.scenario import Facility, OutputStream, Scenario, apply_policy, contract_input, secondary_need_t_per_day
from sim.streams import pattern_factors

DAYS_PER_YEAR = 365
#: Rows printed per part of the table (every flag is counted; a large network is summarised).
MAX_ROWS = 25


def availability(fac: Facility, horizon_days: int) -> float:
    """Expected share of days a facility is up: mtbf / (mtbf + mttr) for random failures,
    times the share of days outside planned maintenance (a window that repeats every
    `every_days` takes duration / every; a single window, its duration over the horizon)."""
    out = fac.outages
    up = 1.0 if out.mtbf_days is None else out.mtbf_days / (out.mtbf_days + out.mttr_days)
    for window in out.maintenance:
        share = window.duration_days / (window.every_days if window.every_days is not None else horizon_days)
        up *= max(0.0, 1.0 - share)
    return up


def expected_output_t_per_day(sc: Scenario, fac: Facility, o: OutputStream) -> float:
    """What a stream can be expected to put out per day over the long run: mean rate x the
    dewatering mass factor x :func:`availability` (mtbf / (mtbf + mttr) x the share of days
    outside planned maintenance). Closure hazards and common causes are not counted."""
    mass = 1.0
    if o.preprocessing is not None:
        mass = dewatered_mass_t(1.0, sc.material(o.material).moisture, o.preprocessing.target_moisture)
    return o.rate_t_per_day * mass * availability(fac, sc.scenario.horizon_days)


def commitment_capacity_t_per_day(sc: Scenario, fac: Facility, o: OutputStream) -> float:
    """The most a supplier commits across its primary contracts on one stream (issue 21): what
    it expects to make, (1 + `formation.commitment_allowance`) x :func:`expected_output_t_per_day`.
    Formation (sim.matching's rules and the agents' rounds) and volume renegotiation keep to it;
    validate flags listed contracts beyond it. Backups are not counted: they are served only
    from what the supplier has left after its primaries (sim.contracts.allocate)."""
    return (1.0 + sc.formation.commitment_allowance) * expected_output_t_per_day(sc, fac, o)


@dataclass(frozen=True)
class StreamFigures:
    """One output stream's implied figures (t/day unless named otherwise)."""

    facility: str
    material: str
    pattern: str
    mean_t_per_day: float
    producing_t_per_day: float
    producing_days_per_year: float
    availability: float
    expected_t_per_day: float
    contracted_t_per_day: float
    storage_t: float
    capacity_t_per_day: float = 0.0  # commitment_capacity_t_per_day: expected x (1 + allowance)


def stream_figures(sc: Scenario, fac: Facility, o: OutputStream, contracted_t_per_day: float) -> StreamFigures:
    """The figures of one stream, its pattern read over whole years (and whole cycles)."""
    pat = o.pattern
    cycle = {"batch": pat.every_days, "campaign": (pat.on_days or 0) + (pat.off_days or 0)}.get(pat.kind) or 1
    factors = pattern_factors(pat, DAYS_PER_YEAR * cycle)
    producing = factors > 0.0
    mass = 1.0
    if o.preprocessing is not None:
        mass = dewatered_mass_t(1.0, sc.material(o.material).moisture, o.preprocessing.target_moisture)
    mean = o.rate_t_per_day * mass
    up = availability(fac, sc.scenario.horizon_days)
    return StreamFigures(
        facility=fac.id,
        material=o.material,
        pattern=_pattern_text(o),
        mean_t_per_day=mean,
        producing_t_per_day=mean * float(factors.max()),
        producing_days_per_year=DAYS_PER_YEAR * float(producing.mean()),
        availability=up,
        expected_t_per_day=expected_output_t_per_day(sc, fac, o),
        contracted_t_per_day=contracted_t_per_day,
        storage_t=o.storage_t,
        capacity_t_per_day=commitment_capacity_t_per_day(sc, fac, o),
    )


def _pattern_text(o: OutputStream) -> str:
    p = o.pattern
    if p.kind == "campaign":
        return f"campaign {p.on_days} on/{p.off_days} off"
    if p.kind == "batch":
        return f"batch every {p.every_days} d"
    if p.kind == "seasonal":
        return "seasonal (peak shown)"
    return "continuous"


def _num(x: float) -> str:
    return f"{x:,.1f}" if abs(x) < 1000 else f"{x:,.0f}"


def _table(header: list[str], rows: Iterable[list[str]], total: int) -> list[str]:
    """The first MAX_ROWS of `total` rows under a header, columns aligned (text left, figures
    right); only the rows shown are formatted, so a large network costs little."""
    shown = list(itertools.islice(rows, MAX_ROWS))
    widths = [max(len(r[k]) for r in [header, *shown]) for k in range(len(header))]

    def line(r: list[str]) -> str:
        return "  " + "  ".join(c.ljust(w) if k == 0 or k == 1 else c.rjust(w) for k, (c, w) in
                                enumerate(zip(r, widths, strict=True))).rstrip()

    out = [line(header), *map(line, shown)]
    if total > MAX_ROWS:
        out.append(f"  ... and {total - MAX_ROWS:,} more")
    return out


def implied_lines(sc: Scenario) -> list[str]:
    """The table printed below validate's "ok" line (see the module docstring)."""
    sc = apply_policy(sc)
    facilities = {f.id: f for f in sc.facilities}
    explicit = sc.formation.rule == "explicit"
    live = [c for c in sc.contracts if c.enabled and explicit]
    primary_by_stream: dict[tuple[str, str], float] = defaultdict(float)
    for c in live:
        if c.role == "primary":
            primary_by_stream[(c.supplier, c.material)] += c.volume_t_per_day
    streams = {
        (f.id, o.material): stream_figures(sc, f, o, primary_by_stream.get((f.id, o.material), 0.0))
        for f in sc.facilities
        for o in f.outputs
    }
    cur = sc.scenario.currency
    out = ["", "Streams (rate_t_per_day is the long-run mean; a pattern packs it into its producing days):"]
    out += _table(
        ["stream", "pattern", "mean t/d", "t/d producing", "days/yr", "t/yr", "avail.", "expected t/d",
         "contracted t/d"],
        ([s.facility + "." + s.material + _unit(sc, s.material), s.pattern, _num(s.mean_t_per_day),
          _num(s.producing_t_per_day), f"{s.producing_days_per_year:.0f}", _num(s.mean_t_per_day * DAYS_PER_YEAR),
          f"{s.availability:.3f}",
          _num(s.expected_t_per_day), _num(s.contracted_t_per_day)] for s in streams.values()),
        len(streams),
    )
    if live:
        out += ["", "Contracts (volume against the supplier's expected output = mean x availability):"]
        out += _table(
            ["contract", "supplier -> buyer", "t/d", "t/yr", f"{cur}/t", "supplier expected t/d", "share"],
            ([c.id + _unit(sc, c.material),
              f"{c.supplier}.{c.material} -> {c.buyer}" + (" (backup)" if c.role == "backup" else ""),
              _num(c.volume_t_per_day), _num(c.volume_t_per_day * DAYS_PER_YEAR), _num(c.price_per_t),
              _num(streams[(c.supplier, c.material)].expected_t_per_day),
              _share(c.volume_t_per_day, streams[(c.supplier, c.material)].expected_t_per_day)] for c in live),
            len(live),
        )
    out += ["", "Buffers and stores in days of use:"]
    stores = _stores(sc, streams, live, facilities)
    out += _table(["where", "what", "t", "use t/d", "days"], (_store_row(*x) for x in stores), len(stores))
    flags = _flags(sc, streams, live, explicit)
    out += ["", f"Flags: {len(flags)}" if flags else "Flags: none (nothing over-committed or unused)"]
    out += [f"  ! {f}" for f in flags[:MAX_ROWS]]
    if len(flags) > MAX_ROWS:
        out.append(f"  ... and {len(flags) - MAX_ROWS:,} more")
    return out


def _unit(sc: Scenario, material: str) -> str:
    """A label's unit mark: nothing for t (the heading's unit), else ` [m3]` or ` [MWh]` (the
    row's quantities are in that unit; a buffer's in its substitutes')."""
    unit = sc.material(material).unit
    return "" if unit == "t" else f" [{unit}]"


def _share(volume: float, expected: float) -> str:
    return f"{volume / expected:.0%}" if expected > 0 else "no output"


def _stores(sc: Scenario, streams: dict, live: list, facilities: dict) -> list[tuple[str, str, float, float]]:
    """Buyer buffers (tonnes, secondary use per day at full supply) and source stores (tonnes,
    contracted volume per day): (where, what, t, use t/d)."""
    out = []
    fed = {(c.buyer, contract_input(sc, c, facilities).material) for c in live}
    for f in sc.facilities:
        for i in f.inputs:
            if i.buffer_t > 0 or (f.id, i.material) in fed:
                unit = _unit(sc, i.substitutes[0].material) if i.substitutes else ""
                need = secondary_need_t_per_day(i)
                out.append((f"{f.id}.{i.material}{unit}", "buffer (secondary)", i.buffer_t, need))
    for s in streams.values():
        if s.storage_t > 0 or s.contracted_t_per_day > 0:
            out.append((f"{s.facility}.{s.material}{_unit(sc, s.material)}", "source store (contracted)", s.storage_t,
                        s.contracted_t_per_day))
    return out


def _store_row(where: str, what: str, tonnes: float, use: float) -> list[str]:
    return [where, what, _num(tonnes), _num(use), f"{tonnes / use:.1f}" if use > 0 else "-"]


def _flags(sc: Scenario, streams: dict, live: list, explicit: bool) -> list[str]:
    """Over-committed streams, pipes smaller than their contract, and (with explicit contracts)
    streams and inputs no contract uses."""
    out = []
    for s in streams.values():
        if s.contracted_t_per_day > s.capacity_t_per_day * (1.0 + 1e-9):
            allowance = sc.formation.commitment_allowance
            extra = f" x (1 + allowance {allowance:g})" if allowance else ""
            out.append(
                f"over-committed: {s.facility}.{s.material}: primary contracts take {_num(s.contracted_t_per_day)} "
                f"t/d, expected output {_num(s.expected_t_per_day)} t/d (mean {_num(s.mean_t_per_day)} x "
                f"availability {s.availability:.3f}{extra}); lower the volumes or add a supplier"
            )
    out += _campaign_flags(sc, streams, live)
    out += _demand_flags(sc, live)
    for c in live:
        cap = c.pipe_capacity_t_per_day if c.mode == "pipe" else None
        if cap is not None and c.volume_t_per_day > cap:
            out.append(f"pipe too small: {c.id}: {_num(c.volume_t_per_day)} t/d contracted, pipe carries "
                       f"{_num(cap)} t/d: {_num(c.volume_t_per_day - cap)} t/d fall short at the supplier "
                       "every delivery; raise pipe_capacity_t_per_day or lower volume_t_per_day")
    if not explicit:
        return out
    supplied = {(c.supplier, c.material) for c in live}
    for s in streams.values():
        if (s.facility, s.material) not in supplied:
            out.append(f"never used: {s.facility}.{s.material}: no contract takes it "
                       f"({_num(s.mean_t_per_day * DAYS_PER_YEAR)} t/yr disposed of)")
    facilities = {f.id: f for f in sc.facilities}
    fed = {(c.buyer, contract_input(sc, c, facilities).material) for c in live}
    for f in sc.facilities:
        for i in f.inputs:
            if i.substitutes and (f.id, i.material) not in fed:
                out.append(f"never used: {f.id}.{i.material}: accepts "
                           f"{', '.join(x.material for x in i.substitutes)} but no contract supplies it")
    return out


def _campaign_flags(sc: Scenario, streams: dict, live: list) -> list[str]:
    """Fixed-volume contracts call for the same volume every day, in season or not (those with
    `volume_basis = "share_of_output"` follow the output, so nothing is due off season): a
    campaign stream's idle days are bridged only by its source store (what is short is the
    supplier's shortfall, whatever the buyers hold), and what its producing days put out beyond
    the contracts must fit in that store or be disposed of."""
    out = []
    facilities = {f.id: f for f in sc.facilities}
    for f in sc.facilities:
        for o in f.outputs:
            s, pat = streams[(f.id, o.material)], o.pattern
            if pat.kind != "campaign" or s.contracted_t_per_day <= 0 or not pat.off_days:
                continue
            assert pat.on_days is not None
            mine = [c for c in live if (c.supplier, c.material) == (f.id, o.material) and c.role == "primary"]
            buffers = sum(contract_input(sc, c, facilities).buffer_t for c in mine)
            # a volume that follows the output (volume_basis = "share_of_output") is not due off season
            fixed = sum(c.volume_t_per_day for c in mine if c.volume_basis == "fixed")
            shared = sum(c.output_share or 0.0 for c in mine if c.volume_basis != "fixed")
            gap = pat.off_days * fixed
            name, per_day, store = f"{f.id}.{o.material}", _num(fixed), _num(s.storage_t)
            if gap > s.storage_t:
                out.append(f"campaign gap: {name}: {pat.off_days} idle days x {per_day} t/d contracted = "
                           f"{_num(gap)} t against {store} t of source store: contracts fall about "
                           f"{_num(gap - s.storage_t)} t short each off season (the buyers' {_num(buffers)} t of "
                           "buffers bridge part of their use); raise storage_t or lower the volumes")
            taken = fixed + shared * s.producing_t_per_day
            surplus = (s.producing_t_per_day - taken) * pat.on_days
            if surplus > s.storage_t:
                out.append(f"campaign surplus: {name}: {_num(s.producing_t_per_day)} t/d produced less {_num(taken)} "
                           f"t/d contracted over {pat.on_days} days = {_num(surplus)} t, beyond {store} t of "
                           f"source store: about {_num(surplus - s.storage_t)} t a year is disposed of")
    return out


def _demand_flags(sc: Scenario, live: list) -> list[str]:
    """Fixed-volume primary contracts deliver the same every day; an input with a
    `demand_pattern` uses on each day at most its substitutes' max shares of that day's need
    (secondary_need_t_per_day x the day's factor, at full operation). What arrives above that,
    summed over a year of factors, goes to its buffer and, once the buffer is full, overflows
    at the buyer's cost (the plan is capped at the day's use, so a low season's surplus is
    carried to a high one only as far as the buffer holds it and the plan exceeds the
    deliveries there)."""
    out = []
    facilities = {f.id: f for f in sc.facilities}
    for f in sc.facilities:
        for i in f.inputs:
            if i.demand_pattern is None:
                continue
            fixed = sum(c.volume_t_per_day for c in live if c.role == "primary" and c.volume_basis == "fixed"
                        and c.buyer == f.id and contract_input(sc, c, facilities).material == i.material)
            use = secondary_need_t_per_day(i) * pattern_factors(i.demand_pattern, DAYS_PER_YEAR)
            above = float(np.maximum(0.0, fixed - use).sum())
            if fixed <= 0.0 or above <= 1e-9 * fixed * DAYS_PER_YEAR:
                continue
            out.append(f"seasonal surplus: {f.id}.{i.material}: {_num(fixed)} t/d contracted against a use of "
                       f"{_num(float(use.min()))} to {_num(float(use.max()))} t/d under its demand_pattern: about "
                       f"{above:,.0f} t a year arrives above the day's use; what its {_num(i.buffer_t)} t buffer "
                       "cannot carry to days of higher use overflows at the buyer's cost")
    return out
