"""The `run` and `report` subcommands of ``run_experiments.py``, and the default study.

``run_experiments.py`` adds these parsers to its own and calls ``args.func(args)``, which
returns the exit status: 0 success, 2 bad input (every problem on its own line
``FILE: path: message``, nothing written), 1 anything else (one line; the traceback only when
the namespace has ``debug = True``).

This module is the command shell over two libraries: it runs studies with
:mod:`sim.experiment` and then, like ``run_experiments.py`` would, asks :mod:`analysis` for
the summary and report (imported when needed; nothing in ``sim`` below this shell depends on
``analysis``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from sim.experiment.design import build_design
from sim.experiment.executors import default_workers
from sim.experiment.runner import Shard, run_study
from sim.experiment.store import StoreError
from sim.experiment.study import StudyError, checks_design_points, design_point_problems, load_study

DEFAULT_STUDY = Path("scenarios/studies/default.toml")
# 'local', or a Dask scheduler address: [protocol://]host:port (an IPv6 host in brackets).
SCHEDULER = re.compile(r"^(local|([a-z]+://)?(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):\d{1,5})$")
DEFAULT_OUT = Path("results/default")

RUN_HELP = """\
Run a study: every design point of the study file times its replications, each run a
simulation of the study's scenario with the design point's settings.

Replication k uses the same random seed at every design point (common random numbers), so
differences between design points come from the settings, not from luck, and paired
comparisons are tight.

Results go to --out (default results/<study file name>/): runs.parquet (one row per run),
summary.csv (means, confidence intervals, quantiles, paired differences), report.md and
manifest.json (what was run, with which code and seeds).

A study resumes by default: runs already stored are skipped, so a killed or interrupted study
is simply started again with the same command. Use --fresh to start over.

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


def folder(text: str) -> Path:
    """An output folder argument: a name, not an empty string (which would mean the current
    folder for one command and nothing at all for another)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a folder name (given an empty one)")
    return Path(text)


def add_run_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `run` subcommand."""
    parser = subparsers.add_parser(
        "run", help="run a study (design points x replications) and summarise it",
        description=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("study", type=Path, metavar="STUDY.toml", help="the study file")
    parser.add_argument("--out", type=folder, metavar="DIR",
                        help="results folder (default: results/<study file name without .toml>)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help=f"worker processes on this machine (default: all cores, here "
                            f"{default_workers()}; 1 runs everything in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on Dask: 'local' starts a 2-worker cluster on 127.0.0.1, or give "
                            "a scheduler address such as tcp://host:8786 (needs the dask extra)")
    parser.add_argument("--shard", metavar="K/N",
                        help="run only part K of N (for job arrays with no scheduler); all parts "
                             "write into the same results folder, and the last to finish (or "
                             "`report`) consolidates")
    parser.add_argument("--fresh", action="store_true",
                        help="delete this study's stored runs and results first, instead of resuming")
    parser.add_argument("--flush-every", type=int, default=100, metavar="N",
                        help="write finished runs to disk every N runs (default 100); smaller "
                             "loses less on a crash")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=run_command)
    return parser


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `report` subcommand."""
    parser = subparsers.add_parser(
        "report", help="rebuild summary.csv and report.md from stored runs",
        description=REPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", type=Path, metavar="RESULTS_DIR", help="a study's results folder")
    parser.set_defaults(func=report_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Handle `run`; return the exit status."""
    problems = []
    shard = None
    if args.shard is not None:
        try:
            shard = Shard.parse(args.shard)
        except ValueError as err:
            problems.append(f"--shard: {err}")
    if args.workers is not None and args.workers < 1:
        problems.append(f"--workers: needs a whole number >= 1 (given {args.workers})")
    if args.scheduler is not None and not SCHEDULER.match(args.scheduler):
        problems.append(f"--scheduler: 'local' or an address such as tcp://host:8786 (given '{args.scheduler}')")
    if args.flush_every < 1:
        problems.append(f"--flush-every: needs a whole number >= 1 (given {args.flush_every})")
    try:
        study = load_study(args.study)
    except StudyError as err:
        problems += err.problems
    else:
        if checks_design_points(study):
            problems += design_point_problems(study, build_design(study.design, study.seed, str(study.path)).points)
    if problems:
        return _bad_input(problems)
    out = args.out or Path("results") / args.study.stem
    workers = args.workers if args.workers is not None else default_workers()
    return _guarded(args, lambda: _run_and_report(study, out, workers, args.scheduler, shard, args))


def _run_and_report(study: Any, out: Path, workers: int, scheduler: str | None, shard: Shard | None,
                    args: argparse.Namespace) -> int:
    try:
        result = run_study(study, out, workers=workers, scheduler=scheduler, shard=shard,
                           fresh=args.fresh, flush_every=args.flush_every, quiet=args.quiet)
    except StoreError as err:
        return _bad_input([f"--out: {err}"])
    from analysis.report import build_report  # the shell joins the two libraries

    build_report(result.out)
    if not args.quiet:
        print(f"results in {result.out}/ (runs.parquet, summary.csv, report.md, manifest.json)")
    if len(result.runs) and not result.runs["status"].eq("ok").any():
        first = result.runs["error"].iloc[0]
        print(f"error: every run failed (the first: {first}); see {result.out}/report.md", file=sys.stderr)
        return 1
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Handle `report`; return the exit status."""
    from analysis.report import ReportError, build_report

    def work() -> int:
        try:
            path = build_report(args.results)
        except ReportError as err:
            return _bad_input([str(err)])
        print(f"wrote {path.parent / 'summary.csv'} and {path}")
        return 0

    return _guarded(args, work)


def main(argv: list[str] | None = None) -> int:
    """`python -m sim.experiment run|report ...`: the two subcommands without the rest of
    run_experiments.py (used by tests and batch scripts)."""
    parser = argparse.ArgumentParser(prog="python -m sim.experiment",
                                     description="Run studies and report on their results.")
    sub = parser.add_subparsers(required=True, metavar="{run,report}")
    add_run_parser(sub)
    add_report_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def main_default() -> int:
    """Run the default study into results/default/ on every core (what `make run` does)."""
    parser = argparse.ArgumentParser(prog="run_experiments.py")
    sub = parser.add_subparsers()
    add_run_parser(sub)
    args = parser.parse_args(["run", str(DEFAULT_STUDY), "--out", str(DEFAULT_OUT)])
    return int(args.func(args))


def _bad_input(problems: list[str]) -> int:
    for line in problems:
        print(line, file=sys.stderr)
    return 2


def _guarded(args: argparse.Namespace, work: Any) -> int:
    """Run `work`; turn an unexpected error into one line and status 1 (unless --debug)."""
    try:
        return int(work())
    except KeyboardInterrupt:
        print("interrupted; stored runs are kept and the next `run` resumes", file=sys.stderr)
        return 130
    except Exception as err:
        if getattr(args, "debug", False):
            raise
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
