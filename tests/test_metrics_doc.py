"""docs/metrics.md is the one place that defines every run metric, and names real tests.

Fails when a run produces a metric the page does not define, when the page defines a metric no
run produces, or when it points to a test file or test function that does not exist.
"""

from __future__ import annotations

import re
from pathlib import Path

from tiny_net import build, run

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")


def defined_metrics() -> set[str]:
    """The backticked names in the first cell of the page's table rows (metric, or
    metric-and-variants), outside the facility-column rows."""
    names: set[str] = set()
    for line in PAGE.splitlines():
        if not line.startswith("| `") or line.startswith("| facility"):
            continue
        first = line.split("|")[1]
        names.update(re.findall(r"`([a-z0-9_]+)`", first))
    return names


def test_every_metric_of_a_run_is_defined_once_on_the_page() -> None:
    produced = set(run(build()).result().metrics)
    defined = defined_metrics()
    assert produced - defined == set(), "metrics without a definition in docs/metrics.md"
    # category names of the money table's second column are not metrics; the first column is
    assert defined - produced == set(), "docs/metrics.md defines metrics no run produces"


def test_every_test_the_page_names_exists() -> None:
    refs = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", PAGE)
    assert refs, "the page names no tests"
    for path, func in refs:
        source = ROOT / path
        assert source.is_file(), f"docs/metrics.md names {path}, which does not exist"
        if func:
            assert re.search(rf"^def {func}\(", source.read_text(encoding="utf-8"), re.M), (
                f"docs/metrics.md names {path}::{func}, which does not exist"
            )
