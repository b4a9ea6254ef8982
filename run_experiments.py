#!/usr/bin/env python3
"""Command line of the industrial-symbiosis resilience simulator.

With no arguments it runs the default study (scenarios/studies/default.toml) into
results/default/. See `python run_experiments.py --help` and `... COMMAND --help`.

This file only parses, calls the library and prints, and :func:`main` is the one place that
turns errors into exit statuses (it is also the `symbiosis-sim` console script): 0 success,
2 bad input (one line per problem: FILE: path.to.field: message), 3 a study ended with failed
runs, 1 anything else, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TOP_HELP = """\
Simulate industrial-symbiosis networks (one plant's waste as another's raw material) and
measure how contracts, buffers, backup partners and intermediaries keep supply flowing when
plants fail.

With no command, runs the default study (for the brewery network's far farm: a grain buffer or
a backup contract, with the agents deciding) and writes results/default/ with figures and
report.md, which opens with the answer.

commands:
  simulate   one run of a scenario: its metrics, optionally its daily series and a plot
  validate   check a scenario or study file; every problem on its own line, exit status 2
  run        a whole study: design points x replications, resumable, parallel or on Dask
  report     rebuild summary.csv, figures and report.md of a results folder
  search     the levers (buffers, penalties, backups, ...) that meet reliability constraints
             at the best objective, raced on common random numbers with stated confidence
  match      candidate exchanges with their value per t and break-even distance, and the
             network a formation rule (explicit, system_optimal, greedy) would form

first steps:
  run_experiments.py simulate scenarios/two_firms.toml
  run_experiments.py simulate scenarios/brewery_farms.toml --seed 7 --out results/brewery
  run_experiments.py simulate scenarios/two_firms.toml --set policy.buffer_days=14 --json
  run_experiments.py run scenarios/studies/default.toml --workers 2
"""

SIMULATE_HELP = """\
Simulate one scenario once and print its run metrics (fill rate, disruption days,
penalties, net benefit against the no-symbiosis counterfactual, ...).

--set changes any field by its dotted path; list items are named by id (or by material for
a facility's outputs and inputs), and * means all items:
  --set contracts.grain-to-farm.penalty_per_t_short=50
  --set 'contracts.*.force_majeure=true'
  --set facilities.farm-a.inputs.feed.buffer_t=60
  --set policy.buffer_days=7
Values are read as TOML (50, 2.5, true, "text", [1, 2]).

policy.engine picks how the days are computed, never what they give (the same results to
the bit): "auto" (default) runs networks of 120 facilities or more on the array day
(sim/arrayday.py, several times faster at 1,000 facilities) unless --out asks for the daily
series, and the rest on the object core; --set 'policy.engine="objects"' or '"arrays"'
forces one.

--out DIR writes series.csv (one row per day), outages.csv, facilities.csv, contracts.csv,
materials.csv (every flow of each material in its unit), inputs.csv (each input's flows and
disruptions), episodes.csv (every disruption episode of an input), metrics.json and series.png
(outages by cause, buffers against capacity, shortfalls and cumulative penalties).
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def _days(text: str) -> int:
    value = _positive_int(text)
    if value > 100_000:  # as a scenario's horizon_days
        raise argparse.ArgumentTypeError(f"at most 100000 days (about 274 years), got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a seed >= 0, got {value}")
    return value


def _assignment(text: str) -> tuple[str, Any]:
    from sim.scenario import parse_value
    from sim.scenario.errors import shortened

    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise argparse.ArgumentTypeError(f"expected PATH=VALUE, got {shortened(repr(text))}")
    try:
        return path.strip(), parse_value(value.strip())
    except ValueError as err:  # nested too deep
        raise argparse.ArgumentTypeError(f"{shortened(path.strip())}: {err}") from None


def cmd_simulate(args: argparse.Namespace) -> int:
    """One run: print metrics, optionally write series, tables and a plot."""
    from sim.engine import engine_problems
    from sim.run import run_once
    from sim.scenario import ScenarioError, load_scenario

    scenario = load_scenario(args.scenario, dict(args.set or []))
    if refused := engine_problems(scenario, str(args.scenario)):
        raise ScenarioError(refused)
    warmup = scenario.scenario.warmup_days
    if args.days is not None and args.days <= warmup:
        raise ScenarioError([f"--days: {args.days} days leave nothing after {args.scenario}'s warm-up of "
                             f"{warmup} days"])
    out = Path(args.out) if args.out else None
    if out is not None:
        _ensure_writable(out)
    result = run_once(scenario, args.seed, horizon_days=args.days, series=out is not None)
    sankeys: list[str] = []  # the material-flow diagrams written (analysis/sankey.py)
    if out is not None:
        with _staged(out) as stage:  # all files or none: a full disk part-way leaves nothing
            from analysis.series_plot import plot_run_series

            title = f"{scenario.scenario.name} (seed {args.seed})"
            assert result.series is not None and result.outages is not None
            result.series.to_csv(stage / "series.csv", index=False)
            result.outages.to_csv(stage / "outages.csv", index=False)
            result.facilities.to_csv(stage / "facilities.csv", index=False)
            result.contracts.to_csv(stage / "contracts.csv", index=False)
            if result.materials is not None:
                from analysis.sankey import write_run

                result.materials.to_csv(stage / "materials.csv", index=False)
                sankeys = [p.name for p in write_run(result.materials, stage, title)]
            if result.inputs is not None and result.episodes is not None:
                result.inputs.to_csv(stage / "inputs.csv", index=False)
                result.episodes.to_csv(stage / "episodes.csv", index=False)
            (stage / "metrics.json").write_text(json.dumps(result.metrics, indent=2) + "\n")
            plot_run_series(
                result.series, result.outages, title, stage / "series.png",
                scenario=scenario,
            )
    if args.json:
        print(json.dumps({k: _json_number(v) for k, v in result.metrics.items()}))
    else:
        _print_metrics(scenario.scenario.name, args.seed, result.metrics, scenario.scenario.currency)
    if out is not None:
        print(
            f"wrote {out}/series.csv, facilities.csv, contracts.csv, materials.csv, flows.csv, inputs.csv, "
            f"episodes.csv, metrics.json, {', '.join(sankeys)}{', ' if sankeys else ''}and {out / 'series.png'}",
            file=sys.stderr if args.json else sys.stdout,
        )
    return 0


def _json_number(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _print_metrics(name: str, seed: int, metrics: dict[str, float], currency: str) -> None:
    print(f"{name} (seed {seed})")
    width = max(len(k) for k in metrics)
    for key, value in metrics.items():
        unit = currency if key in _MONEY else ""
        print(f"  {key:<{width}}  {value:>16,.4f} {unit}".rstrip())


_MONEY = {
    "penalties_paid",
    "take_or_pay_paid",
    "standby_fees_paid",
    "transport_cost",
    "virgin_cost",
    "emergency_cost",
    "lost_margin",
    "disposal_cost",
    "holding_cost",
    "net_benefit",
    "supplier_benefit",
    "buyer_benefit",
    "intermediary_profit",
}


#: Bytes an --out folder must take before any work starts: an empty file would be made even
#: on a full disk (it needs an inode, not a block), so the probe writes and syncs real bytes.
OUT_PROBE_BYTES = 1 << 20


def _ensure_writable(out: Path) -> None:
    """Create `out` and prove it takes OUT_PROBE_BYTES; ScenarioError (exit 2) otherwise."""
    from sim.experiment.store import prove_writable
    from sim.scenario import ScenarioError

    try:
        prove_writable(out, OUT_PROBE_BYTES)
    except OSError as err:
        raise ScenarioError([f"{out}: --out: cannot write there ({err.strerror or err})"]) from None


@contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A hidden folder inside `out` to write into; its files are moved into `out` when the
    block ends without error, and the folder is removed in any case."""
    import os
    import shutil
    import uuid

    from sim.scenario import ScenarioError

    stage = out / f".staging-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        yield stage
        names = sorted(os.listdir(stage))
        # Every target is checked before the first move: a folder in the way of one file would
        # otherwise stop the moves half-way and leave some results beside older ones.
        blocked = [name for name in names if (out / name).exists() and not (out / name).is_file()]
        if blocked:
            raise ScenarioError([f"{out / name}: --out: in the way of a result file (not a regular file); "
                                 "remove it or choose another folder" for name in blocked])
        for name in names:
            os.replace(stage / name, out / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a scenario or a study file (read once: a 100,000-facility file takes seconds)."""
    from sim.engine import engine_problems
    from sim.scenario import ScenarioError, parse_scenario, read_toml
    from sim.scenario.errors import bounded

    raw = read_toml(args.file)
    if "search" in raw:
        from sim.experiment.search import load_search
        from sim.experiment.search.runner import replication_bounds

        search = load_search(args.file)
        first, most = replication_bounds(search)
        print(bounded(
            f"{args.file}: ok (search '{search.name}': {len(search.candidates)} candidates x "
            f"{len(search.strata)} uncertainty strata, {first} to {most} replications each, "
            f"budget {search.spec.search.budget} runs)"
        ))
        return 0
    if "study" in raw:
        from sim.experiment.design import build_design
        from sim.experiment.study import StudyError, design_point_problems, load_study

        study = load_study(args.file)
        design = build_design(study.design, study.seed, str(args.file))
        problems = design_point_problems(study, design.points)
        if problems:
            raise StudyError(problems)
        points = len(design.points)
        print(bounded(
            f"{args.file}: ok (study '{study.name}': {points} design points x "
            f"{study.replications} replications = {points * study.replications} runs)"
        ))
        return 0
    sc = parse_scenario(raw, str(args.file))
    problems = engine_problems(sc, str(args.file))
    if problems:
        raise ScenarioError(problems)
    print(bounded(
        f"{args.file}: ok (scenario '{sc.scenario.name}': {len(sc.facilities)} facilities, "
        f"{len(sc.contracts)} contracts, {sc.scenario.horizon_days} days)"
    ))
    if not args.quiet:
        from sim.implied import implied_lines
        from sim.scenario.load import buffer_policy_notes

        for line in buffer_policy_notes(sc):
            print(bounded(line))
        print("\n".join(bounded(line) for line in implied_lines(sc)))
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    """Candidate exchanges with their margins, and the network a formation rule builds."""
    from sim.matching import candidate_exchanges, sorted_by_value
    from sim.matching_tables import candidates_table, network_table
    from sim.network import resolve_network
    from sim.scenario import load_scenario

    sc = load_scenario(args.scenario)
    rule = args.rule or sc.formation.rule
    out = Path(args.out) if args.out else None
    if out is not None:
        _ensure_writable(out)
    cands = sorted_by_value(candidate_exchanges(sc))
    print(f"{sc.scenario.name}: {len(cands)} candidate exchanges")
    print(candidates_table(cands, sc.scenario.currency))
    formed = resolve_network(sc.model_copy(update={"formation": sc.formation.model_copy(update={"rule": rule})}))
    print()
    print(network_table(formed, rule))
    if out is not None:
        from analysis.network_map import plot_network_map
        from sim.matching_tables import candidates_frame

        with _staged(out) as stage:  # both files or neither: a failure part-way leaves nothing
            candidates_frame(cands).to_csv(stage / "candidates.csv", index=False)
            plot_network_map(formed, stage / "network_map.png")
        print(f"wrote {out}/candidates.csv and {out / 'network_map.png'}")
    return 0


def _program() -> str:
    """The name the user typed: the console script `symbiosis-sim`, or this file."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "symbiosis-sim" if name == "symbiosis-sim" else "run_experiments.py"


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    from sim.experiment import cli as experiment_cli

    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog=_program(), description=TOP_HELP, formatter_class=fmt)
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "simulate", help="one run of a scenario", description=SIMULATE_HELP, formatter_class=fmt
    )
    p.add_argument("scenario", help="scenario file (TOML)")
    p.add_argument("--seed", type=_seed, default=1, help="random seed (default 1); same seed, same run")
    p.add_argument("--days", type=_days, help="simulate this many days instead of the file's horizon (at most 100000)")
    p.add_argument(
        "--set",
        type=_assignment,
        action="append",
        metavar="PATH=VALUE",
        help="override a field by dotted path (repeatable)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one flat JSON object {metric: number} on stdout and nothing else",
    )
    p.add_argument("--out", type=experiment_cli.folder, metavar="DIR",
                   help="write the daily series, tables and series.png here")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "validate",
        help="check a scenario or study file",
        description="Check a scenario or study file. Prints 'ok' and exits 0, or prints "
        "every problem as FILE: path.to.field: message and exits 2. Below a scenario's 'ok' it "
        "prints what the file implies: each stream's yearly output and its rate on producing days, "
        "each contract's volume against its supplier's expected output, each buffer and store in "
        "days of use, and what is over-committed or never used (fields: docs/reference.md).",
        formatter_class=fmt,
    )
    p.add_argument("file", help="scenario or study file (TOML)")
    p.add_argument("--quiet", action="store_true", help="print only the 'ok' line")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "match",
        help="candidate exchanges, break-even distances and the network a rule forms",
        description="Print every candidate exchange (supplier stream x buyer input) sorted by net value "
        "per t, with the margin components (avoided disposal and procurement, processing, quality "
        "assurance, transport) and break-even distance, then the network the formation rule builds "
        "(with policy.redundancy and routing applied) and its total value. --out DIR writes "
        "candidates.csv and network_map.png.",
        formatter_class=fmt,
    )
    p.add_argument("scenario", help="scenario file (TOML)")
    p.add_argument(
        "--rule",
        choices=["system_optimal", "greedy", "explicit"],
        help="formation rule (default: the file's [formation] rule)",
    )
    p.add_argument("--out", type=experiment_cli.folder, metavar="DIR",
                   help="write candidates.csv and network_map.png here")
    p.set_defaults(func=cmd_match)

    experiment_cli.add_run_parser(sub, _build_report)
    experiment_cli.add_report_parser(sub, _build_report)
    experiment_cli.add_search_parser(sub, _build_search_report)
    return parser


def _build_search_report(results: Path) -> Path:
    """report.md and figures of a search's results folder (analysis.search_report)."""
    from analysis.report import ReportError
    from analysis.search_report import build_search_report
    from sim.scenario import ScenarioError

    try:
        return build_search_report(results)
    except ReportError as err:
        raise ScenarioError([str(err)]) from None


def _build_report(results: Path) -> Path:
    """summary.csv, figures and report.md of a results folder: the shell joins the runner
    (sim.experiment) and the analysis, which sim never imports."""
    from analysis.report import ReportError, build_report
    from sim.scenario import ScenarioError

    if (Path(results) / "search.json").exists():  # a search's folder: its own report
        return _build_search_report(results)
    try:
        return build_report(results)
    except ReportError as err:
        raise ScenarioError([str(err)]) from None


def main(argv: list[str] | None = None) -> int:
    """Parse, dispatch, and turn errors into exit statuses (the one place that does: every
    command returns its status or raises). Usable as a console-script entry point."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    command = None
    try:
        from sim.experiment.cli import DEFAULT_ARGV
        from sim.scenario import ScenarioError

        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:  # the default study, as `make run` runs it
            args = parser.parse_args([*(["--debug"] if args.debug else []), *DEFAULT_ARGV])
        command = args.command
        return int(args.func(args))
    except ScenarioError as err:
        for line in err.problems:
            print(line, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = f"; stored runs are kept and the next `{command}` resumes" if command in ("run", "search") else ""
        print(f"interrupted{resume}", file=sys.stderr)
        return 130
    except Exception as err:
        if debug:
            traceback.print_exc()
        else:
            print(
                f"error: {type(err).__name__}: {err} (rerun with --debug for the traceback)", file=sys.stderr
            )
        return 1


if __name__ == "__main__":
    sys.exit(main())
