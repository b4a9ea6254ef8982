"""Lots of many stores in columns, and many of Python's sums at once, for the array day
(sim/arrayday.py).

:class:`Rings` holds the lots of many stores (source storages, buyers' buffers) as ring
buffers, one row per store, and repeats :class:`sim.streams.LotQueue`'s per-lot arithmetic
elementwise over the stores an operation names, one lot depth at a time (or store by store on
Python floats when at most SCALAR_MAX stores are left). :class:`Sums` reproduces Python's compensated
`sum()` of floats for many sums at once. tests/test_arrayday.py checks both against the
originals.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12  # the object core's snapping of near-empty lots (sim/streams.py)
# Below this many stores a ring operation runs store by store on Python floats: numpy's cost
# per call (1-3 us here, some 15 calls a lot depth) is more than the arithmetic of that many
# stores (bench_ab.py --engine arrays chose 16 over 6 and 32).
SCALAR_MAX = 16

Pieces = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # position, t, born, quality row, depth
_NO_PIECES: Pieces = (
    np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
)


def pieces_of(out: tuple[list, list, list, list, list]) -> Pieces:
    return (
        np.array(out[0], dtype=np.int64), np.array(out[1], dtype=float), np.array(out[2], dtype=float),
        np.array(out[3], dtype=np.int64), np.array(out[4], dtype=np.int64),
    )


class Rings:
    """The lots of many stores, first in first out: store s holds `count[s]` lots in the slots
    `head[s]`, `head[s] + 1`, ... of its row (modulo the width), and `total[s]` tonnes.

    Each operation takes an array of distinct stores and repeats the object core's per-lot
    arithmetic (sim/streams.py, LotQueue) elementwise, one lot depth at a time."""

    def __init__(self, n: int, width: int = 8):
        self.width = width
        self.qty = np.zeros((n, width))
        self.born = np.zeros((n, width))
        self.qrow = np.full((n, width), -1, dtype=np.int64)  # row of a quality table (-1: none)
        self.head = np.zeros(n, dtype=np.int64)
        self.count = np.zeros(n, dtype=np.int64)
        self.total = np.zeros(n)

    def _grow(self) -> None:
        """Double the width, each ring unrolled into the first slots of its row."""
        w = self.width
        rows = np.arange(len(self.head))[:, None]
        slots = (self.head[:, None] + np.arange(w)[None, :]) % w
        qty, born = np.zeros((len(self.head), 2 * w)), np.zeros((len(self.head), 2 * w))
        qrow = np.full((len(self.head), 2 * w), -1, dtype=np.int64)
        qty[:, :w], born[:, :w], qrow[:, :w] = self.qty[rows, slots], self.born[rows, slots], self.qrow[rows, slots]
        self.qty, self.born, self.qrow, self.width = qty, born, qrow, 2 * w
        self.head[:] = 0

    def load(self, s: int, lots: list[tuple[float, float, int]], total: float) -> None:
        """Store `s` takes lots (tonnes, born day, quality row), oldest first, and its total."""
        while len(lots) > self.width:
            self._grow()
        for j, (q, born, row) in enumerate(lots):
            self.qty[s, j], self.born[s, j], self.qrow[s, j] = q, born, row
        self.head[s], self.count[s], self.total[s] = 0, len(lots), total

    def lots(self, s: int) -> list[tuple[float, float, int]]:
        """Store `s`'s lots (tonnes, born day, quality row), oldest first."""
        w, h = self.width, int(self.head[s])
        slots = [(h + j) % w for j in range(int(self.count[s]))]
        return [(float(self.qty[s, k]), float(self.born[s, k]), int(self.qrow[s, k])) for k in slots]

    def put(self, stores: np.ndarray, qty: np.ndarray, born: np.ndarray, qrow: np.ndarray) -> None:
        """Append a lot to each store (distinct stores); LotQueue.put skips a lot of no mass."""
        keep = qty > 0.0
        if not keep.all():
            stores, qty, born, qrow = stores[keep], qty[keep], born[keep], qrow[keep]
        if not len(stores):
            return
        if len(stores) <= SCALAR_MAX:
            for st, q, b, r in zip(stores.tolist(), qty.tolist(), born.tolist(), qrow.tolist(), strict=True):
                if self.count[st] >= self.width:
                    self._grow()
                slot = (self.head[st] + self.count[st]) % self.width
                self.qty[st, slot], self.born[st, slot], self.qrow[st, slot] = q, b, r
                self.count[st] += 1
                self.total[st] = float(self.total[st]) + q
            return
        while (self.count[stores] >= self.width).any():
            self._grow()
        slot = (self.head[stores] + self.count[stores]) % self.width
        self.qty[stores, slot] = qty
        self.born[stores, slot] = born
        self.qrow[stores, slot] = qrow
        self.count[stores] += 1
        self.total[stores] = self.total[stores] + qty

    def put_in_order(self, stores: np.ndarray, qty: np.ndarray, born: np.ndarray, qrow: np.ndarray) -> None:
        """Append lots in the given order; a store may appear more than once."""
        if not len(stores):
            return
        for part in occurrences(stores):
            self.put(stores[part], qty[part], born[part], qrow[part])

    def take(self, stores: np.ndarray, qty: np.ndarray, pieces: bool = True) -> Pieces | None:
        """Take `qty` from each store (distinct stores), oldest lots first, as LotQueue.take.
        Returns the pieces taken (positions in `stores`, tonnes, born day, quality row, depth:
        the piece's number in its store's take), each store's in the order taken; None without
        `pieces`."""
        if len(stores) <= SCALAR_MAX:
            return self._take_each(stores.tolist(), qty.tolist(), pieces)
        total, lq, lb, lr, w = self.total, self.qty, self.born, self.qrow, self.width
        out: list[Pieces] = []
        count = self.count[stores]
        head = self.head[stores]
        first = lq[stores, head]
        # LotQueue.take's shortcut: the oldest lot covers it (taken even below EPS)
        fast = (count > 0) & (qty < first - EPS) & (qty <= total[stores])
        if fast.any():
            s, h, q = stores[fast], head[fast], qty[fast]
            lq[s, h] = first[fast] - q
            total[s] = total[s] - q
            out.append((np.flatnonzero(fast), q, lb[s, h], lr[s, h], np.zeros(len(q), dtype=np.int64)))
        pos = np.flatnonzero(~fast)
        want = np.minimum(qty[pos], total[stores[pos]])
        active = (want > EPS) & (count[pos] > 0)
        depth = 0
        while active.any():
            pos, want = pos[active], want[active]
            if len(pos) <= SCALAR_MAX:  # few stores hold the deeper lots: finish them one by one
                tail: tuple[list, list, list, list, list] = ([], [], [], [], [])
                for j, st, rest in zip(pos.tolist(), stores[pos].tolist(), want.tolist(), strict=True):
                    self._go_on_taking(st, j, rest, depth, tail)
                if tail[0]:
                    out.append(pieces_of(tail))
                break
            s = stores[pos]
            h = self.head[s]
            left = lq[s, h]
            q = np.minimum(left, want)
            out.append((pos, q, lb[s, h], lr[s, h], np.full(len(pos), depth)))
            depth += 1
            left = left - q
            want = want - q
            total[s] = total[s] - q
            gone = left <= EPS
            if gone.any():
                sg = s[gone]
                total[sg] = total[sg] - left[gone]
                self.head[sg] = (h[gone] + 1) % w
                self.count[sg] -= 1
            kept = ~gone
            lq[s[kept], h[kept]] = left[kept]
            active = (want > EPS) & (self.count[s] > 0)
        self._zero_empty(stores)
        if not pieces:
            return None
        if not out:
            return _NO_PIECES
        return (
            np.concatenate([o[0] for o in out]),
            np.concatenate([o[1] for o in out]),
            np.concatenate([o[2] for o in out]),
            np.concatenate([o[3] for o in out]),
            np.concatenate([o[4] for o in out]),
        )

    def _take_each(self, stores: list[int], qty: list[float], pieces: bool) -> Pieces | None:
        """`take` for at most SCALAR_MAX stores: LotQueue.take's loop on Python floats, store
        by store (cheaper than numpy's per-call cost for so few; the same arithmetic).
        A store may appear more than once: each take starts where the one before left it."""
        out: tuple[list, list, list, list, list] = ([], [], [], [], [])
        self.take_in_turn(stores, qty, out if pieces else None)
        if not pieces:
            return None
        return pieces_of(out)

    def take_in_turn(
        self, stores: list[int], qty: list[float], out: tuple[list, list, list, list, list] | None
    ) -> None:
        """Take `qty[j]` from `stores[j]`, for j in order, appending the pieces to `out`'s
        lists (position j, tonnes, born day, quality row, depth)."""
        lq, lb, lr, total, count, head = self.qty, self.born, self.qrow, self.total, self.count, self.head
        for j, (s, want) in enumerate(zip(stores, qty, strict=True)):
            tot = float(total[s])
            if count[s]:
                h = int(head[s])
                left = float(lq[s, h])
                if want < left - EPS and want <= tot:  # the shortcut
                    lq[s, h] = left - want
                    total[s] = tot - want
                    if out is not None:
                        out[0].append(j)
                        out[1].append(want)
                        out[2].append(float(lb[s, h]))
                        out[3].append(int(lr[s, h]))
                        out[4].append(0)
                    continue
            self._go_on_taking(s, j, min(want, tot), 0, out)
            if not count[s]:
                total[s] = 0.0

    def _go_on_taking(self, s: int, j: int, want: float, depth: int, out: tuple[list, ...] | None) -> None:
        """LotQueue.take's loop for store `s` from lot depth `depth` on, `want` still to take
        (its shortcut and its `min(qty, total)` are behind it); pieces to `out` as position
        `j`. Leaves the total of an emptied store to the caller (LotQueue zeroes it)."""
        lq, w = self.qty, self.width
        n, h, tot = int(self.count[s]), int(self.head[s]), float(self.total[s])
        while want > EPS and n:
            left = float(lq[s, h])
            q = min(left, want)
            if out is not None:
                out[0].append(j)
                out[1].append(q)
                out[2].append(float(self.born[s, h]))
                out[3].append(int(self.qrow[s, h]))
                out[4].append(depth)
            depth += 1
            left -= q
            want -= q
            tot -= q
            if left <= EPS:
                tot -= left
                h = (h + 1) % w
                n -= 1
            else:
                lq[s, h] = left
        self.head[s], self.count[s], self.total[s] = h, n, tot

    def expire(self, stores: np.ndarray, shelf: np.ndarray, day: int) -> np.ndarray:
        """Remove the lots that reach their shelf life at the end of `day` (LotQueue.expire);
        returns the tonnes spoiled per store."""
        spoiled = np.zeros(len(stores))
        pos = np.arange(len(stores))
        while len(pos):
            s = stores[pos]
            h = self.head[s]
            due = (self.count[s] > 0) & (day + 1 - self.born[s, h] >= shelf[pos])
            if not due.any():
                break
            pos, s, h = pos[due], s[due], h[due]
            spoiled[pos] += self.qty[s, h]
            self.head[s] = (h + 1) % self.width
            self.count[s] -= 1
        self.total[stores] = self.total[stores] - spoiled
        self._zero_empty(stores)
        return spoiled

    def trim_newest(self, stores: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Remove the newest material above `keep` (LotQueue.trim_newest); returns the tonnes
        removed per store."""
        excess = self.total[stores] - keep
        removed = np.zeros(len(stores))
        pos = np.arange(len(stores))
        while len(pos):
            s = stores[pos]
            more = (excess[pos] > EPS) & (self.count[s] > 0)
            if not more.any():
                break
            pos, s = pos[more], s[more]
            tail = (self.head[s] + self.count[s] - 1) % self.width
            left = self.qty[s, tail]
            q = np.minimum(left, excess[pos])
            left = left - q
            excess[pos] = excess[pos] - q
            removed[pos] += q
            gone = left <= EPS
            self.count[s[gone]] -= 1
            kept = ~gone
            self.qty[s[kept], tail[kept]] = left[kept]
        self.total[stores] = self.total[stores] - removed
        self._zero_empty(stores)
        return removed

    def _zero_empty(self, stores: np.ndarray) -> None:
        empty = stores[self.count[stores] == 0]
        if len(empty):
            self.total[empty] = 0.0


class Sums:
    """Many of Python's `sum()` of floats at once. CPython (3.12 on) sums floats with Neumaier's
    compensation, not one addition after another; the object core's sums (of the contracts due
    from a stream, of a delivery window's up-time, of an input's buffers) come out of `sum()`,
    so these must too. Terms are added in order, one array of sums at a time."""

    def __init__(self, n: int):
        self.f = np.zeros(n)
        self.c = np.zeros(n)

    def first(self, idx: np.ndarray, x: np.ndarray) -> None:
        """The first term of the sums at `idx` (distinct)."""
        self.f[idx] = x

    def add(self, idx: np.ndarray, x: np.ndarray) -> None:
        """The next term of the sums at `idx` (distinct)."""
        f = self.f[idx]
        t = f + x
        self.c[idx] = self.c[idx] + np.where(np.abs(f) >= np.abs(x), (f - t) + x, (x - t) + f)
        self.f[idx] = t

    def result(self) -> np.ndarray:
        c = self.c
        return np.where((c != 0.0) & np.isfinite(c), self.f + c, self.f)


def occurrences(keys: np.ndarray) -> list[np.ndarray]:
    """Positions of `keys` split so that each part holds a key at most once, and the k-th
    occurrence of a key is in part k (order kept within each part)."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    starts = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    run = np.repeat(starts, np.diff(np.r_[starts, len(sk)]))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - run
    return [np.flatnonzero(rank == j) for j in range(int(rank.max()) + 1)]
