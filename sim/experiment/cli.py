"""The `run` and `report` subcommands of ``run_experiments.py``, and the default study.

``run_experiments.py`` adds these parsers to its own, passes in the function that builds a
results folder's summary and report (it lives in :mod:`analysis`, which nothing in ``sim``
imports: DESIGN.md section 2) and calls ``args.func(args)``, which returns the exit status
or raises; ``run_experiments.main`` is the one place that turns errors into exit statuses:

- 0: success;
- 1: anything unexpected (one line; the traceback with ``--debug``), or every run failed;
- 2: bad input (:class:`BadInput` or any other ScenarioError: every problem on its own line
  ``FILE: path: message``, nothing written);
- 3: the study ended with some runs failed (they are stored as failed, the report says how
  many and why, and the next `run` runs them again);
- 130: interrupted (Ctrl-C); stored runs are kept.

Everything about the command line is checked before the study starts: the scheduler
address in full, the number of workers against this machine's cores and memory, and (in the
runner) the results folder: writable, holding space, and not in use by another `run`.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.experiment.design import build_design
from sim.experiment.executors import available_memory_bytes, default_workers, usable_cpus
from sim.experiment.lock import hold_results_folder
from sim.experiment.runner import Shard, run_study
from sim.experiment.store import StoreError
from sim.experiment.study import StudyError, checks_design_points, design_point_problems, load_study
from sim.scenario import ScenarioError

DEFAULT_STUDY = Path("scenarios/studies/default.toml")
DEFAULT_OUT = Path("results/default")
#: The arguments of `run` that a bare ``run_experiments.py`` stands for.
DEFAULT_ARGV = ["run", str(DEFAULT_STUDY), "--out", str(DEFAULT_OUT)]

EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_RUNS_FAILED = 3

#: A pool worker's peak resident memory on the default study, rounded up: measured 198 and
#: 199 MB (VmRSS of the two workers of `run scenarios/studies/default.toml --workers 2`,
#: sampled every 0.2 s; the parent, already running when this is checked, held 289 MB).
WORKER_MEMORY_MB = 250
#: A worker's memory grows with the network and the horizon (its flow tables hold a row per
#: entity and day): measured peaks of one-year runs of synthetic regions were 184 MB at 10
#: facilities (19 facilities + contracts), 240 MB at 300 (640) and 672 MB at 1,000 (1,900).
#: 200 MB plus 0.7 kB per entity-day bounds all three (685 MB at 1,000).
WORKER_BASE_MB = 200
WORKER_KB_PER_ENTITY_DAY = 0.7

# 'local', or a Dask scheduler address: [protocol://]host:port (an IPv6 host in brackets).
SCHEDULER = re.compile(r"^(?:([a-z][a-z0-9+.-]*)://)?(\[[^\]]*\]|[^\s:/\[\]]+):(\d{1,5})$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)"
                      r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")

RUN_HELP = """\
Run a study: every design point of the study file times its replications, each run a
simulation of the study's scenario with the design point's settings.

Replication k uses the same random seed at every design point (common random numbers), so
differences between design points come from the settings, not from luck, and paired
comparisons are tight.

Results go to --out (default results/<study file name>/): runs.parquet (one row per run),
summary.csv (means, confidence intervals, quantiles, paired differences), report.md and
manifest.json (what was run, with which code and seeds).

The study file may name the report's headline metrics and mark uncertainties:
  [study]  outcomes = ["waste_disposed_t", "facility:kiln:net_benefit", "contract:c1:short_t"]
  [design] uncertainties = ["facilities.beet.outputs.lime.rate_t_per_day"]
The first outcome ranks; factors not marked as uncertainties are levers, and the report picks
the best lever setting by its mean over the uncertainty levels, never an uncertainty level.

A study resumes by default: runs already stored are skipped, so a killed or interrupted study
is simply started again with the same command. Use --fresh to start over. One `run` at a
time writes into a results folder (a second is refused, naming the first one's process);
shards (--shard) of one study may run side by side.

A run whose worker process dies (killed, out of memory) is run again, up to twice; runs that
were only lost with the pool are run again without counting. Exit status: 0 every run ok,
2 bad input (nothing written), 3 some runs failed (stored as failed, counted in report.md,
run again by the next `run`), 1 every run failed or anything else, 130 interrupted.

examples:
  run_experiments.py run scenarios/studies/default.toml
  run_experiments.py run my-study.toml --out results/mine --workers 4
  run_experiments.py run my-study.toml --scheduler local          # Dask on this machine
  run_experiments.py run my-study.toml --scheduler tcp://head:8786
  run_experiments.py run my-study.toml --shard 3/10               # job 3 of a 10-job array
"""

REPORT_HELP = """\
Rebuild summary.csv and report.md of a results folder from its stored runs (for example after
a study was interrupted, after all shards of a job array finished, or after upgrading the
analysis code). The runs themselves are not re-simulated.

example:
  run_experiments.py report results/default
"""

#: What builds a results folder's summary, figures and report (analysis.report.build_report,
#: passed in by the shell); it returns the report's path and raises ScenarioError for a
#: folder it cannot read.
ReportBuilder = Callable[[Path], Path]


class BadInput(ScenarioError):
    """Bad command-line input: one line per problem, exit status 2, nothing written."""


def folder(text: str) -> Path:
    """An output folder argument: a name, not an empty string (which would mean the current
    folder for one command and nothing at all for another)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a folder name (given an empty one)")
    return Path(text)


def add_run_parser(subparsers: Any, report: ReportBuilder) -> argparse.ArgumentParser:
    """Add the `run` subcommand; `report` builds the report when the study has run."""
    parser = subparsers.add_parser(
        "run", help="run a study (design points x replications) and summarise it",
        description=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("study", type=Path, metavar="STUDY.toml", help="the study file")
    _add_where(parser, "study")
    parser.add_argument("--shard", metavar="K/N",
                        help="run only part K of N (for job arrays with no scheduler); all parts "
                             "write into the same results folder, and the last to finish (or "
                             "`report`) consolidates")
    parser.add_argument("--fresh", action="store_true",
                        help="delete this study's stored runs and results first, instead of resuming")
    _add_flush_every(parser)
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=run_command, report=report)
    return parser


def add_report_parser(subparsers: Any, report: ReportBuilder) -> argparse.ArgumentParser:
    """Add the `report` subcommand."""
    parser = subparsers.add_parser(
        "report", help="rebuild summary.csv and report.md from stored runs",
        description=REPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", type=Path, metavar="RESULTS_DIR", help="a study's results folder")
    parser.set_defaults(func=report_command, report=report)
    return parser


def scheduler_problem(address: str) -> str | None:
    """What is wrong with a --scheduler value, or None: 'local', or [protocol://]host:port with
    a host name or an IP address (IPv4 octets at most 255, IPv6 in brackets) and a port from 1
    to 65535. Checked in full, so that a typo fails at once instead of after a connect timeout."""
    if address == "local":
        return None
    usage = f"'local' or an address such as tcp://host:8786 (given '{_short(address)}')"
    match = SCHEDULER.match(address)
    if not match:
        return usage
    host, port = match.group(2), int(match.group(3))
    if not 1 <= port <= 65535:
        return f"the port must be 1 to 65535 (given {port} in '{_short(address)}')"
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"'{_short(host)}' is not an IPv6 address (given '{_short(address)}')"
        return None
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"'{host}' is not an IPv4 address (four numbers 0 to 255; given '{_short(address)}')"
        return None
    if not HOSTNAME.match(host):
        return f"'{_short(host)}' is not a host name (given '{_short(address)}')"
    return None


def scheduler_unresolved(address: str) -> str | None:
    """For a well-formed --scheduler address: why its host cannot be found, or None. A name that
    does not resolve would otherwise cost Dask's 30 s connect timeout and then exit 1."""
    match = SCHEDULER.match(address)
    if address == "local" or not match:
        return None
    host = match.group(2).strip("[]")
    try:
        socket.getaddrinfo(host, int(match.group(3)), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        return f"cannot find the host '{_short(host)}' ({getattr(err, 'strerror', None) or err})"
    return None


def worker_memory_mb(study: Any | None = None) -> int:
    """A pool worker's expected peak memory for `study`'s runs (WORKER_MEMORY_MB without one)."""
    if study is None:
        return WORKER_MEMORY_MB
    sc = study.scenario
    entities = len(sc.facilities) + len(sc.contracts)
    days = study.spec.study.horizon_days or sc.scenario.horizon_days
    return max(WORKER_MEMORY_MB, int(WORKER_BASE_MB + entities * days * WORKER_KB_PER_ENTITY_DAY / 1024))


def worker_problems(workers: int, study: Any | None = None) -> list[str]:
    """Why `workers` processes cannot run here: more than the cores this process may use, or
    more than the available memory holds at :func:`worker_memory_mb` each."""
    each_mb = worker_memory_mb(study)
    if workers < 1:
        return [f"--workers: needs a whole number >= 1 (given {workers})"]
    cores = usable_cpus()
    if workers > cores:
        return [f"--workers: at most {cores}, the cores this machine lets the study use (given {workers}); "
                "more workers than cores only share them and take more memory"]
    available = available_memory_bytes()
    need = workers * each_mb * 2**20
    if workers > 1 and available is not None and need > available:
        fits = available // (each_mb * 2**20)
        return [f"--workers: {workers} workers need about {need // 2**20} MB ({each_mb} MB each) and "
                f"{available // 2**20} MB is available; use --workers {max(1, fits)} or free memory"]
    return []


def run_command(args: argparse.Namespace) -> int:
    """Handle `run`; return the exit status (bad input raises BadInput or StudyError)."""
    problems = []
    shard = None
    if args.shard is not None:
        try:
            shard = Shard.parse(args.shard)
        except ValueError as err:
            problems.append(f"--shard: {err}")
    if args.scheduler is not None:
        said = scheduler_problem(args.scheduler) or scheduler_unresolved(args.scheduler)
        if said:
            problems.append(f"--scheduler: {said}")
    problems += _flush_problems(args)
    study = None
    try:
        study = load_study(args.study)
    except StudyError as err:
        problems += err.problems
    else:
        if checks_design_points(study):
            problems += design_point_problems(study, build_design(study.design, study.seed, str(study.path)).points)
    if args.workers is not None:
        problems += worker_problems(args.workers, study)
    if problems:
        raise BadInput(problems)
    out = args.out or Path("results") / args.study.stem
    workers = args.workers if args.workers is not None else min(default_workers(), _workers_that_fit(study))
    try:
        # Held through the report too: a second `run` must not rewrite the folder meanwhile.
        with hold_results_folder(out, shard=str(shard) if shard else None, exclusive=args.fresh or shard is None):
            result = run_study(study, out, workers=workers, scheduler=args.scheduler, shard=shard,
                               fresh=args.fresh, flush_every=args.flush_every, quiet=args.quiet)
            args.report(result.out)
    except StoreError as err:
        raise BadInput([f"--out: {err}"]) from None
    if not args.quiet:
        print(f"results in {result.out}/ (runs.parquet, summary.csv, report.md, manifest.json)")
    failed = result.runs[result.runs["status"] != "ok"]
    if failed.empty:
        return 0
    first = _short(str(failed["error"].iloc[0]), 300)
    if len(failed) == len(result.runs):
        print(f"error: every run failed (the first: {first}); see {result.out}/report.md", file=sys.stderr)
        return EXIT_ERROR
    print(f"error: {len(failed)} of {len(result.runs)} runs failed (the first: {first}); see {result.out}/report.md; "
          "the next `run` runs them again", file=sys.stderr)
    return EXIT_RUNS_FAILED


def report_command(args: argparse.Namespace) -> int:
    """Handle `report`; return the exit status."""
    path = args.report(args.results)
    print(f"wrote {path.parent / 'summary.csv'} and {path}")
    return 0


def _workers_that_fit(study: Any) -> int:
    available = available_memory_bytes()
    return max(1, available // (worker_memory_mb(study) * 2**20)) if available is not None else default_workers()


def _short(text: str, limit: int = 120) -> str:
    """`text`, or its start and end around '...' when longer than `limit`."""
    if len(text) <= limit:
        return text
    keep = (limit - 3) // 2
    return f"{text[:keep]}...{text[-keep:]}"


SEARCH_HELP = """\
Search for a policy: the levers (buffers, penalty clauses, take-or-pay, backup contracts, redundancy,
intermediary membership, refill rule) that meet the file's constraints, e.g. P(fill >= 0.98) >= 0.95,
at the best objective, e.g. the least cost, with stated confidence (docs/search.md).

The candidates are every combination of the levers' levels. They are raced on common random
numbers (replication r has the same seed for every candidate, and runs at uncertainty level
r mod the number of levels): runs go where decisions are close, and a candidate is dropped
once its confidence bounds rule it out (docs/search-method.md). The budget caps the runs.

Results go to --out (default results/<search file name>/): search.json (the answer, every
candidate's estimate, the rounds), runs.parquet, report.md and figures/frontier.png.

A search resumes by default: stored runs answer the race again, so a killed search is started
again with the same command and reaches the same answer. --fresh starts over. Exit status: 0
done, 2 bad input (nothing written), 3 some runs failed (the race reports those candidates as
unresolved), 1 anything else, 130 interrupted.

examples:
  run_experiments.py search scenarios/searches/brewery_south_reliability.toml --workers 2
  run_experiments.py search my-search.toml --out results/mine --scheduler local
"""

#: What builds a search's report (analysis.search_report.build_search_report, passed in by the shell).
SearchReportBuilder = Callable[[Path], Path]


def add_search_parser(subparsers: Any, report: SearchReportBuilder) -> argparse.ArgumentParser:
    """Add the `search` subcommand; `report` builds the report when the search is done."""
    parser = subparsers.add_parser(
        "search", help="search the levers that meet reliability constraints at the best objective",
        description=SEARCH_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("search", type=Path, metavar="SEARCH.toml", help="the search file")
    _add_where(parser, "search")
    parser.add_argument("--fresh", action="store_true",
                        help="delete this search's stored runs and results first, instead of resuming")
    _add_flush_every(parser)
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=search_command, report=report)
    return parser


def _add_where(parser: argparse.ArgumentParser, what: str) -> None:
    """--out, and --workers or --scheduler: where the runs go and where they run."""
    parser.add_argument("--out", type=folder, metavar="DIR",
                        help=f"results folder (default: results/<{what} file name without .toml>)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help=f"worker processes on this machine, at most its cores (default: all cores, "
                            f"here {default_workers()}; 1 runs everything in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on Dask: 'local' starts a 2-worker cluster on 127.0.0.1, or give "
                            "a scheduler address such as tcp://host:8786 (needs the dask extra)")


def _add_flush_every(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flush-every", type=int, default=100, metavar="N",
                        help="write finished runs to disk every N runs (default 100); smaller "
                             "loses less on a crash")


def _flush_problems(args: argparse.Namespace) -> list[str]:
    if args.flush_every < 1:
        return [f"--flush-every: needs a whole number >= 1 (given {args.flush_every})"]
    return []


def search_command(args: argparse.Namespace) -> int:
    """Handle `search`; return the exit status (bad input raises BadInput or SearchError)."""
    from sim.experiment.search import SearchError, load_search, run_search

    problems = []
    if args.scheduler is not None:
        said = scheduler_problem(args.scheduler) or scheduler_unresolved(args.scheduler)
        if said:
            problems.append(f"--scheduler: {said}")
    search = None
    try:
        search = load_search(args.search)
    except SearchError as err:
        problems += err.problems
    if args.workers is not None:
        problems += worker_problems(args.workers)
    problems += _flush_problems(args)
    if problems:
        raise BadInput(problems)
    assert search is not None
    out = args.out or Path("results") / args.search.stem
    workers = args.workers if args.workers is not None else min(default_workers(), _workers_that_fit(None))
    try:
        with hold_results_folder(out, exclusive=True):
            done = run_search(search, out, workers=workers, scheduler=args.scheduler, fresh=args.fresh,
                              quiet=args.quiet, flush_every=args.flush_every)
            path = args.report(done.out)
    except StoreError as err:
        raise BadInput([f"--out: {err}"]) from None
    if not args.quiet:
        result = done.result
        chosen = "none shown feasible within the budget" if result.chosen is None else \
            f"candidate {result.chosen} ({_levers_text(search.candidates[result.chosen])})"
        print(f"chosen: {chosen}; {result.runs_used} runs used of a full grid of "
              f"{len(search.candidates)} x {_max_reps(search)}; {done.elapsed_s:.1f} s")
        print(f"results in {done.out}/ (search.json, runs.parquet, {path.name}, figures/)")
    if done.failed and done.failed == done.made:
        print(f"error: every run failed; see {done.out}/runs.parquet", file=sys.stderr)
        return EXIT_ERROR
    if done.failed:
        print(f"error: {done.failed} of {done.made} runs failed; their candidates are reported unresolved",
              file=sys.stderr)
        return EXIT_RUNS_FAILED
    return 0


def _levers_text(point: dict[str, Any]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in point.items())


def _max_reps(search: Any) -> int:
    from sim.experiment.search.runner import replication_bounds

    return replication_bounds(search)[1]
