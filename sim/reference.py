"""Write the field reference of scenario and study files (docs/reference.md) from the schema.

``python -m sim.reference > docs/reference.md`` regenerates the page; ``--check`` exits 1 when
the page on disk differs from what the schema gives (tests/test_reference_page.py runs it).
The study file's models say little about their fields, and this is the place that can import
both the scenario schema and the study runner, so their descriptions are written here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import BaseModel

from sim.experiment.question import Question
from sim.experiment.study import Design, Range, StudyFile, StudySection
from sim.scenario.reference import REFERENCE_PAGE, file_markdown
from sim.scenario.sections import Scenario

#: What each study-file field means (the study models carry no descriptions of their own).
STUDY_FIELDS: dict[type[BaseModel], dict[str, str]] = {
    StudySection: {
        "name": "The study's name, shown in the report.",
        "description": "Free text about the study.",
        "scenario": "Path of the scenario file, relative to the study file.",
        "replications": "Runs per design point, each with its own seed.",
        "seed": "Root seed: every run's random streams are derived from it, so a study repeats exactly.",
        "horizon_days": "Simulated days per run; unset keeps the scenario's `horizon_days`.",
        "series": "Keep every run's daily series (large); false keeps only the metrics.",
        "overrides": "Changes to the scenario for every run, by dotted path "
                     '(`"contracts.*.penalty_per_t_short" = 20.0`).',
        "outcomes": "The report's headline metrics, e.g. `\"waste_disposed_t\"` or "
                    "`\"facility:kiln:net_benefit\"` (`facility:<id>:<column>`, `contract:<id>:<column>`, "
                    "`material:<id>:<column>`, `input:<facility>.<material>:<column>`); empty keeps "
                    "the default set (fill_rate, secondary_fill_rate, disruption_days, penalties_paid, net_benefit, "
                    "any_shortage).",
    },
    Design: {
        "kind": "How design points are made: `grid` (every combination of factor levels), `rows` (listed "
                "points), `lhs`, `sobol` or `morris` (sampled from ranges).",
        "factors": "Dotted scenario paths and their levels (a list) or range (`{ low, high }`).",
        "rows": "For kind `rows`: one table of dotted path = value per design point.",
        "samples": "For sampled kinds: how many samples (a power of 2 for `sobol`).",
        "second_order": "For `sobol`: also estimate second-order indices.",
        "levels": "For `morris`: the grid levels (even).",
        "reference": "The design point others are compared with (paired differences); dotted path = value.",
        "uncertainties": "Factors that are uncertainties, not choices: the report picks a best design point "
                         "only over the other factors (the levers).",
    },
    Question: {
        "text": "The question the study answers, as the report's opening states it.",
        "metrics": "One or two of the study's outcomes: what the options buy, then (optional) what they cost. "
                   "The report opens with each option's paired difference against the baseline, with 95 % CIs.",
        "baseline": "The design point the options are compared with: dotted path = value for every factor.",
        "options": "Named design points that answer the question: name = { dotted path = value, ... }; the first "
                   "two are also compared head to head.",
        "controls": "Factors that are in the design as labelled controls (an effect expected to be nil, or nil by "
                    "construction); the report states each one's effect at the baseline.",
    },
    Range: {
        "low": "Lower end of the range.",
        "high": "Upper end of the range.",
        "integer": "Sample whole numbers (set when both ends are integers).",
    },
}

INTRO = f"""# Field reference

Generated from the schema by `python -m sim.reference > {REFERENCE_PAGE}`; do not edit by hand
(a test fails when this page is out of date). Every table of a scenario file and of a study
file is below, with each field's meaning, unit, default, allowed values and a one-line TOML
example. Unknown keys are errors: `run_experiments.py validate FILE` names the closest valid
field and links to its table here.

Units are in the names: `_t` tonnes, `_days` days, `_km` kilometres, `_per_t` money (the
scenario's `currency`) per tonne, `_t_per_day` tonnes per day. A `[[name]]` header starts one
item of a list (write it once per item); a `[name]` header opens a table; `<name>` stands for
a name you choose (a quality property, a factor path).
"""


def _described(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with the descriptions of STUDY_FIELDS filled in (the model itself is unchanged)."""
    texts = STUDY_FIELDS.get(model, {})
    for name, info in model.model_fields.items():
        if not info.description and name in texts:
            info.description = texts[name]
    return model


def reference_markdown() -> str:
    """The whole page."""
    for model in STUDY_FIELDS:
        _described(model)
    lines = [INTRO]
    lines += file_markdown("Scenario files", "One network in one TOML file (`scenarios/*.toml`).", Scenario)
    lines += file_markdown(
        "Study files",
        "A set of runs over one scenario: the design points and their replications "
        "(`run_experiments.py run STUDY.toml`).",
        StudyFile,
    )
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the page, or with --check compare it with the file on disk."""
    parser = argparse.ArgumentParser(prog="python -m sim.reference", description=__doc__.splitlines()[0])
    parser.add_argument("--check", metavar="PAGE", nargs="?", const=REFERENCE_PAGE,
                        help=f"exit 1 when PAGE (default {REFERENCE_PAGE}) is out of date")
    args = parser.parse_args(argv)
    page = reference_markdown()
    if args.check is None:
        sys.stdout.write(page)
        return 0
    path = Path(args.check)
    if not path.is_file() or path.read_text(encoding="utf-8") != page:
        print(f"{path}: out of date; run python -m sim.reference > {REFERENCE_PAGE}", file=sys.stderr)
        return 1
    print(f"{path}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
