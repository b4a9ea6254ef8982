"""One writer per results folder: an advisory lock file inside it.

A `run` holds ``.run.lock`` in its results folder with ``fcntl.flock`` for as long as it
writes there, so a second `run` on the same folder is refused at once (naming the first one's
process id, which the holder writes into the file) instead of doing all the work twice, and
``--fresh`` cannot delete a folder another live `run` is filling. Shards of one study write
into one folder side by side: each holds the folder lock shared and its own shard's lock
(``.run-shard-K-of-N.lock``) exclusively; an unsharded or ``--fresh`` run holds the folder
lock exclusively.

The kernel releases a flock when its process dies, so the lock of a killed study is simply
taken over by the next `run` (as resume needs). The holder removes the file when it is done,
while still holding the lock; whoever locks a file checks that it is still the one named
``.run.lock`` (not a removed one) and tries again otherwise.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sim.experiment.store import StoreError

LOCK_NAME = ".run.lock"


class FolderBusy(StoreError):
    """Another live `run` writes into the results folder."""


# (folder, shard) -> how many times this process holds it: run_study inside `run` takes it again.
_HELD: dict[tuple[str, str | None], int] = {}


@contextmanager
def hold_results_folder(root: str | Path, *, shard: str | None = None, exclusive: bool = True) -> Iterator[None]:
    """Hold the results folder `root` (created if needed) for this process; raise FolderBusy
    when another process holds it, StoreError when the folder cannot be made or written."""
    root = Path(root)
    key = (os.path.realpath(root), shard)
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not root.is_dir():
            raise StoreError(f"{root}: exists and is not a folder")
        held = [(*_take(root / LOCK_NAME, exclusive, root), exclusive)]
        if shard is not None:
            try:
                held.append((*_take(root / f".run-shard-{shard.replace('/', '-of-')}.lock", True, root), True))
            except BaseException:
                _release(*held[0])
                raise
    except OSError as err:
        raise StoreError(f"{root}: cannot write results here ({err.strerror or err})") from None
    _HELD[key] = 1
    try:
        yield
    finally:
        del _HELD[key]
        for fd, path, excl in reversed(held):
            _release(fd, path, excl)


def _take(path: Path, exclusive: bool, root: Path) -> tuple[int, Path]:
    """Lock `path` without waiting and write this process's id into it (when exclusive)."""
    for _ in range(100):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderBusy(f"{root}: another `run` is writing here (pid {_holders(root)}); wait for it to "
                             "end, or give another --out") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # removed by its last holder between our open and our lock: open it anew
            os.close(fd)
            continue
        if exclusive:
            with suppress(OSError):  # only for the message; a full disk is reported by the write probe
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd, path
    raise StoreError(f"{root}: could not take {path.name}")


def _release(fd: int, path: Path, exclusive: bool) -> None:
    """Remove the lock file if no one else holds it, then let go."""
    try:
        if not exclusive:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                exclusive = True
            except BlockingIOError:
                pass  # another shard still holds it
        if exclusive:
            with suppress(OSError):
                path.unlink()
    finally:
        os.close(fd)


def _holders(root: Path) -> str:
    """The process ids written in the folder's lock files ('unknown' if none can be read)."""
    pids = []
    for lock in sorted(root.glob(".run*.lock")):
        with suppress(OSError, ValueError):
            pid = int(lock.read_text(encoding="ascii").strip() or 0)
            if pid and pid not in pids:
                pids.append(pid)
    return ", ".join(map(str, pids)) or "unknown"
