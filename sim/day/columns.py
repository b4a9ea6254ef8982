"""What the array day's steps share: the order of a day's payments, and batches of shipments.

The array day (sim/arrayday.py) holds the day's state in columns; its steps are the
``*_arrays`` modules beside the object core's steps in sim/day/. Money entries are sorted by
facility, then by step of the facility's turn, then by item, so that they are booked in the
object core's order. Keys: ``facility << FAC_SHIFT | step << STEP_SHIFT | item``.
"""

from __future__ import annotations

import numpy as np

CONSUME, PRODUCE, DISPATCH, TIDY, HOLD = 1, 2, 3, 4, 5
FAC_SHIFT, STEP_SHIFT = 40, 36


class Batch:
    """Shipments sent on one day that land on the same day, in dispatch order, and their
    pieces (lots taken from source storage: shipment, tonnes, born day, quality row), each
    shipment's pieces oldest first."""

    __slots__ = ("contracts", "piece_born", "piece_qrow", "piece_qty", "piece_ship")

    def __init__(self, contracts, piece_ship, piece_qty, piece_born, piece_qrow):
        self.contracts, self.piece_ship = contracts, piece_ship
        self.piece_qty, self.piece_born, self.piece_qrow = piece_qty, piece_born, piece_qrow


def join(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Shipments of several parts as one: (contracts, piece shipment numbers, other piece
    columns...), the contracts in order, each piece's shipment number shifted by the
    shipments of the parts before its own."""
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] + o for p, o in zip(parts, offsets, strict=True)]),
        *(np.concatenate([p[k] for p in parts]) for k in range(2, len(parts[0]))),
    )


class QualityRows:
    """Lot quality on the array day: a lot holds a row of one table, a stream's draws for the
    horizon (the stream's row offset + the day it was made) or a row added for a lot loaded
    from the objects (initial buffers, shipments on the road). Streams are added first."""

    def __init__(self, n_props: int):
        self.n_props = n_props
        self.parts: list[np.ndarray] = []
        self.rows = 0  # rows of the streams' draws
        self.extra: list[np.ndarray] = []
        self._table: np.ndarray | None = None

    def add_stream(self, draws: np.ndarray) -> int:
        """Add a stream's draws (days x properties); returns its row offset."""
        offset = self.rows
        self.parts.append(draws)
        self.rows += len(draws)
        return offset

    def row_of(self, quality: np.ndarray | None) -> int:
        """The row for a lot loaded from the objects (a row added; -1 for a lot without quality)."""
        if quality is None:
            return -1
        self.extra.append(np.asarray(quality, dtype=float))
        return self.rows + len(self.extra) - 1

    def table(self) -> np.ndarray:
        """The table (rows x properties, NaN past a material's properties), made on first use."""
        if self._table is None:
            rows = [*self.parts, *(x[None, :] for x in self.extra)]
            table = np.full((sum(len(r) for r in rows), max(self.n_props, 1)), np.nan)
            at = 0
            for r in rows:
                table[at : at + len(r), : r.shape[1]] = r
                at += len(r)
            self._table = table
        return self._table

    def quality(self, row: int, n_props: int) -> np.ndarray | None:
        """A lot's quality as the objects hold it (None for -1)."""
        return None if row < 0 else self.table()[row, :n_props]
