"""Where runs execute: any ``concurrent.futures.Executor``, opened as a context manager.

- ``workers = 1``: :class:`InlineExecutor`, in this process, one run after the other;
- ``workers = N``: a ``ProcessPoolExecutor`` of N processes, replaced if a worker dies
  (:class:`RenewingPool`, which also tells which run was in the worker that died);
- ``scheduler = "local"``: a Dask ``LocalCluster`` of 2 single-threaded worker processes bound
  to 127.0.0.1 with no dashboard; ``scheduler = "tcp://host:8786"``: an existing Dask cluster.
  Dask is an optional extra (``pip install .[dask]``), imported only when asked for.

:func:`map_bounded` submits tasks in a bounded window, so the memory held by pending futures
does not grow with the number of runs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager, suppress
from typing import Any


class InlineExecutor(Executor):
    """Runs each submitted call at once, in the calling process (no pool, no pickling)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run `fn` now and return a completed future."""
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:
            future.set_exception(err)
        return future


@contextmanager
def open_executor(workers: int = 1, scheduler: str | None = None) -> Iterator[tuple[Executor, str, int]]:
    """Open the executor asked for; yield it, a description for the manifest and its width."""
    if scheduler is not None:
        with _dask_executor(scheduler) as opened:
            yield opened
    elif workers <= 1:
        yield InlineExecutor(), "in-process (serial)", 1
    else:
        # Never fork a process that may hold threads (Dask, tqdm's monitor): forkserver on
        # Linux, the platform's default elsewhere.
        method = "forkserver" if sys.platform.startswith("linux") else None
        with RenewingPool(workers, multiprocessing.get_context(method)) as pool:
            try:
                yield pool, f"ProcessPoolExecutor(max_workers={workers})", workers
            except KeyboardInterrupt:
                pool.shutdown(wait=True, cancel_futures=True)
                raise


class RenewingPool(Executor):
    """A process pool that replaces itself when one of its workers dies.

    A ``ProcessPoolExecutor`` whose worker is killed (the out-of-memory killer, kill -9) is
    broken for good: the calls in flight fail with ``BrokenProcessPool`` and every later submit
    raises it, which would stop the study. Here a submit to a broken pool first opens a new
    one, and :func:`map_bounded` submits the calls that failed with the pool again.

    Its workers ignore Ctrl-C (a terminal sends it to the whole process group: the parent
    stops, keeps what finished, and cancels what has not started), and each exits if the
    process that opened the pool is gone (killed with kill -9, it cannot shut them down).

    When the pool breaks, every call in it fails alike, but only one was running in the
    worker that died: the others were running in workers the pool then terminated itself
    (SIGTERM), or still waiting. Each call records, as it starts, which worker runs it (a
    file per call in a private folder); :meth:`died_with_worker` reads that and the workers'
    exit codes, so that a retry is charged only to the call that was in the dead worker."""

    def __init__(self, workers: int, context: Any):
        self._open = lambda: ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_worker_start, initargs=(os.getpid(),)
        )
        self._pool = self._open()
        self._generation = _Generation(self._pool)
        self._calls: dict[Future[Any], tuple[int, _Generation]] = {}
        self._serial = 0
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self._started = tempfile.mkdtemp(prefix="sim-pool-", dir=shm)
        self.renewals = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Submit to the pool, opening a new one first if the current one is broken."""
        self._serial += 1
        call = (_tracked, self._started, self._serial, fn, *args)
        try:
            future = self._pool.submit(*call, **kwargs)
        except BrokenExecutor:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._open()
            self._generation = _Generation(self._pool)
            self.renewals += 1
            future = self._pool.submit(*call, **kwargs)
        self._generation.saw_submit()
        self._calls[future] = (self._serial, self._generation)
        future.add_done_callback(self._forget_later)
        return future

    def _forget_later(self, future: Future[Any]) -> None:
        if not isinstance(future.exception() if not future.cancelled() else None, BrokenExecutor):
            self._drop(future)

    def _drop(self, future: Future[Any]) -> None:
        serial, _ = self._calls.pop(future, (None, None))
        if serial is not None:
            with suppress(OSError):
                os.unlink(os.path.join(self._started, str(serial)))

    def died_with_worker(self, future: Future[Any]) -> bool | None:
        """For a call that failed because the pool broke: True if it was running in the worker
        that died, False if it was innocent (waiting, or in a worker the pool terminated
        itself with SIGTERM), None if that cannot be told (the call's record or the workers' exit
        codes are missing). A worker that someone else killed with SIGTERM looks like one the
        pool terminated, so its call counts as innocent; map_bounded bounds such free retries."""
        serial, generation = self._calls.get(future, (None, None))
        if serial is None or generation is None:
            return None
        try:
            with open(os.path.join(self._started, str(serial)), encoding="ascii") as fh:
                pid = int(fh.read().strip() or 0)
        except FileNotFoundError:
            pid = 0  # never started (waiting in the queue), or returned before the worker died
        except (OSError, ValueError):
            return None
        finally:
            self._drop(future)
        if not pid:
            return False
        code = generation.exit_codes().get(pid)
        if code is None:
            return None
        return code != -signal.SIGTERM

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the current pool down."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:
            shutil.rmtree(self._started, ignore_errors=True)


class _Generation:
    """One ProcessPoolExecutor of a RenewingPool, with what is needed to read its workers'
    exit codes after it broke. This reads two private attributes of ProcessPoolExecutor
    (``_processes``, ``_executor_manager_thread``, stable since Python 3.9); without them
    every exit code is unknown, and a lost call is charged as it was before."""

    def __init__(self, pool: ProcessPoolExecutor):
        self.pool = pool
        self.processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
        self.manager: threading.Thread | None = None
        self._codes: dict[int, int | None] | None = None

    def saw_submit(self) -> None:
        if self.manager is None:
            self.manager = getattr(self.pool, "_executor_manager_thread", None)

    def exit_codes(self) -> dict[int, int | None]:
        """Worker pid -> exit code, once the broken pool has terminated and joined them all."""
        if self._codes is None:
            if self.manager is not None:
                self.manager.join(timeout=60)
            done = self.manager is None or not self.manager.is_alive()
            self._codes = {pid: (proc.exitcode if done else None) for pid, proc in list(self.processes.items())}
        return self._codes


def _tracked(started: str, serial: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """In a pool worker: record that this worker runs call `serial`, run it, and remove the
    record once it has returned. A call whose result was on its way back when the worker died
    (a run's per-run tables make that a wider window) then counts as innocent, not as the
    call that killed the worker."""
    record = os.path.join(started, str(serial))
    with open(record, "w", encoding="ascii") as fh:
        fh.write(str(os.getpid()))
    try:
        return fn(*args, **kwargs)
    finally:
        with suppress(OSError):
            os.unlink(record)


def _worker_start(parent_pid: int) -> None:
    """A pool worker's start: Ctrl-C ignored, and a watch on the process that opened the pool."""
    _ignore_sigint()

    pool_parent = os.getppid()  # the forkserver (or the study itself), which exits with the study

    def gone() -> bool:
        if os.getppid() != pool_parent:
            return True
        try:
            os.kill(parent_pid, 0)
        except (ProcessLookupError, PermissionError):  # PermissionError: the pid reused by another user
            return True
        try:  # dead but not yet reaped by whoever started it (a zombie) is gone too
            with open(f"/proc/{parent_pid}/stat", encoding="ascii", errors="replace") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, IndexError):
            return False

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if gone():
                os._exit(1)

    threading.Thread(target=watch, name="sim-parent-watch", daemon=True).start()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _dask_executor(scheduler: str) -> Iterator[tuple[Executor, str, int]]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:
        raise RuntimeError(
            "--scheduler needs Dask distributed; install it with `pip install .[dask]`"
        ) from err
    if scheduler == "local":
        # The workers ignore Ctrl-C, as the process pool's do: a terminal sends it to the
        # whole process group, and workers dying of it spill tracebacks while the study stops.
        # Python leaves SIGINT ignored in a process started while it is ignored (and a
        # worker the nanny restarts later is told to by a plugin).
        with _sigint_ignored():
            cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        noisy = [logging.getLogger(name) for name in ("distributed", "tornado.application")]
        levels = [log.level for log in noisy]
        try:
            with cluster, Client(cluster) as client:
                client.register_plugin(_ignore_sigint_plugin())
                executor = client.get_executor(pure=False)
                try:
                    yield executor, "dask LocalCluster(n_workers=2, 127.0.0.1)", 2
                except KeyboardInterrupt:
                    # Stop: cancel what has not finished, and keep the shutdown's messages
                    # about connections it closes mid-reply (nothing is lost: the runs not
                    # stored are run again on resume) out of the terminal.
                    for log in noisy:
                        log.setLevel(logging.CRITICAL)
                    executor.shutdown(wait=False)
                    raise
        finally:
            for log, level in zip(noisy, levels, strict=True):
                log.setLevel(level)
    else:
        with Client(scheduler) as client:
            width = max(1, sum(client.nthreads().values()))
            yield client.get_executor(pure=False), f"dask scheduler {scheduler}", width


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile, in the main thread (elsewhere signals cannot be set). A
    Ctrl-C in those seconds (the cluster starting) is lost: pressing it again stops the study."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:  # None: a handler set outside Python, which Python cannot put back
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def _ignore_sigint_plugin() -> Any:
    """A Dask worker plugin: each worker ignores SIGINT from its start (restarts included)."""
    from distributed import WorkerPlugin

    class IgnoreSigint(WorkerPlugin):
        name = "sim-ignore-sigint"

        def setup(self, worker: object) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            # On Ctrl-C the scheduler may close while a worker's heartbeat is on the wire;
            # the worker then logs the lost connection with a traceback at ERROR. Nothing is
            # lost (unstored runs are run again on resume), so that one message is dropped.
            heartbeat = logging.getLogger("distributed.worker")
            if not any(isinstance(f, _LostSchedulerFilter) for f in heartbeat.filters):
                heartbeat.addFilter(_LostSchedulerFilter())

    return IgnoreSigint()


class _LostSchedulerFilter(logging.Filter):
    """Drops a worker's "Failed to communicate with scheduler" record caused by a closed
    connection (an ``OSError``, of which Dask's ``CommClosedError`` is one); keeps the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        lost = record.exc_info is not None and isinstance(record.exc_info[1], OSError)
        return not (lost and record.getMessage().startswith("Failed to communicate with scheduler"))


def usable_cpus() -> int:
    """The cores this process may run on (its CPU affinity, as a batch system sets it)."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13
        return max(1, os.process_cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """Worker processes to use when none are asked for: every core."""
    return usable_cpus()


def available_memory_bytes() -> int | None:
    """MemAvailable of /proc/meminfo (what can be used without swapping), or None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def map_bounded(
    executor: Executor, fn: Callable[[Any], Any], items: Iterable[Any], window: int, retries: int = 2
) -> Iterator[tuple[Any, Future[Any]]]:
    """Yield `(item, future of fn(item))` for every item as the calls complete (in completion
    order), keeping at most `window` calls in flight.

    A call that failed because its process pool broke (a worker died under it) is submitted
    again, up to `retries` times; after that its failed future is yielded like any other.
    Only the call that was running in the worker that died is charged a try when the
    executor can tell (:meth:`RenewingPool.died_with_worker`); the others, which were lost
    with the pool, are submitted again free. A pool that stays broken (a caller's plain
    ProcessPoolExecutor) fails the calls it can no longer take the same way, instead of
    raising."""
    blame = getattr(executor, "died_with_worker", None)
    # future -> (item, tries charged, free tries): free tries are bounded too, so that a pool
    # whose workers die before they start anything cannot retry a call forever
    pending: dict[Future[Any], tuple[Any, int, int]] = {}
    source = iter(items)
    exhausted = False
    while True:
        while not exhausted and len(pending) < window:
            try:
                item = next(source)
            except StopIteration:
                exhausted = True
                break
            try:
                pending[executor.submit(fn, item)] = (item, 0, 0)
            except BrokenExecutor as err:  # a broken pool that cannot renew itself: a lost call
                lost: Future[Any] = Future()
                lost.set_exception(err)
                pending[lost] = (item, retries, 0)
        if not pending:
            return
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            item, tries, free = pending.pop(future)
            if tries < retries and not future.cancelled() and isinstance(future.exception(), BrokenExecutor):
                innocent = blame is not None and blame(future) is False and free < 10 * (retries + 1)
                try:
                    pending[executor.submit(fn, item)] = (item, tries, free + 1) if innocent else (
                        item, tries + 1, free)
                    continue
                except BrokenExecutor:  # a pool that cannot renew itself (not a RenewingPool)
                    pass
            yield item, future
