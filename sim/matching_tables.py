"""Tables of candidate exchanges and formed networks, as the `match` command prints and
writes them (candidates.csv): where, how much, and each margin component per delivered t
(see :mod:`sim.matching` for the formulas)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from sim.matching import Candidate, contract_key, exchange_value, total_value
from sim.scenario import Scenario

CANDIDATE_COLUMNS = (
    "supplier",
    "buyer",
    "material",
    "input",
    "category",
    "distance_km",
    "supply_t_per_day",
    "max_take_t_per_day",
    "avoided_disposal_per_t",
    "avoided_procurement_per_t",
    "processing_per_t",
    "quality_assurance_per_t",
    "margin_per_t",
    "transport_per_t",
    "net_value_per_t",
    "break_even_km",
    "via_intermediary",
    "mode",
)


def candidate_row(c: Candidate) -> dict[str, object]:
    """One candidate as a flat record (the columns of candidates.csv)."""
    extra = {"margin_per_t": c.margin.per_t, "net_value_per_t": c.net_value_per_t}
    return {k: extra[k] if k in extra else getattr(c, k) for k in CANDIDATE_COLUMNS}


def candidates_frame(cands: Iterable[Candidate]):
    """The candidates as a pandas DataFrame with CANDIDATE_COLUMNS."""
    import pandas as pd

    return pd.DataFrame([candidate_row(c) for c in cands], columns=list(CANDIDATE_COLUMNS))


def _fixed_width(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]).rstrip()


def candidates_table(cands: Iterable[Candidate], currency: str = "EUR") -> str:
    """A fixed-width table of candidates (in the order given): where, how much, and each
    margin component per delivered t; margin = disposal + procure - process - QA,
    net = margin - transport, break-even where transport = margin ("pipe" for a pipe, whose
    cost does not grow with distance: its net is the margin after the pipe cost)."""
    header = [
        "supplier",
        "buyer",
        "material -> input",
        "cat",
        "km",
        "supply t/d",
        "take t/d",
        "disposal",
        "procure",
        "process",
        "QA",
        "margin",
        "transport",
        "net",
        "break-even km",
    ]
    rows = []
    any_pipe = False
    for c in cands:
        any_pipe = any_pipe or c.mode == "pipe"
        if c.mode == "pipe":
            be = "pipe" + (" *" if c.net_value_per_t < 0 else "")
        else:
            be = "inf" if math.isinf(c.break_even_km) else f"{c.break_even_km:,.1f}"
            be += " *" if c.distance_km > c.break_even_km else ""
        rows.append(
            [
                c.supplier,
                c.buyer,
                f"{c.material} -> {c.input}",
                c.category,
                f"{c.distance_km:,.1f}",
                f"{c.supply_t_per_day:,.2f}",
                f"{c.max_take_t_per_day:,.2f}",
                f"{c.avoided_disposal_per_t:,.2f}",
                f"{c.avoided_procurement_per_t:,.2f}",
                f"{c.processing_per_t:,.2f}",
                f"{c.quality_assurance_per_t:,.2f}",
                f"{c.margin.per_t:,.2f}",
                f"{c.transport_per_t:,.2f}",
                f"{c.net_value_per_t:,.2f}",
                be,
            ]
        )
    note = (
        f"money in {currency} per t delivered; margin = disposal + procure - process - QA; "
        "net = margin - transport; * = beyond break-even (unviable)"
    )
    if any_pipe:
        note += "; pipe = carried by a listed pipe (transport = its cost per t, no break-even distance)"
    return _fixed_width(header, rows, set(range(4, len(header)))) + "\n" + note


def network_table(sc: Scenario, rule: str) -> str:
    """The contracts of a network with their exchange's value, and the total value per day."""
    by_key = exchange_value(sc)
    header = ["contract", "role", "on", "via hub", "t/day", "price/t", "net/t", "value/day"]
    facilities = {f.id: f for f in sc.facilities}
    rows = []
    for c in sc.contracts:
        v = by_key[contract_key(sc, c, facilities)].net_value_per_t
        counts = c.enabled and c.role == "primary"
        rows.append(
            [
                c.id,
                c.role,
                "yes" if c.enabled else "no",
                "yes" if c.via_intermediary else "no",
                f"{c.volume_t_per_day:,.2f}",
                f"{c.price_per_t:,.2f}",
                f"{v:,.2f}",
                f"{c.volume_t_per_day * v:,.2f}" if counts else "-",
            ]
        )
    cur = sc.scenario.currency
    title = f"network formed by rule '{rule}' ({len(sc.contracts)} contracts)"
    total = (
        f"total net value at contracted volumes (enabled primaries): {total_value(sc):,.2f} {cur}/day"
        f" = {365 * total_value(sc):,.0f} {cur}/year"
    )
    return "\n".join([title, _fixed_width(header, rows, set(range(4, len(header)))), total])
