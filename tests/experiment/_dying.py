"""Calls for the process-pool tests: importable by the pool's workers (a test module's local
functions are not)."""

from __future__ import annotations

import os
from pathlib import Path


def die_once(arg: tuple[str, Path]) -> str:
    """Kill the calling process the first time `name` is asked for (a marker file remembers),
    as the out-of-memory killer would; return `name` after that."""
    name, marks = arg
    mark = marks / name
    if name.startswith("die") and not mark.exists():
        mark.touch()
        os._exit(1)
    return name


def die_always(arg: tuple[str, Path]) -> str:
    """Kill the calling process whenever `name` starts with 'die'."""
    name, _ = arg
    if name.startswith("die"):
        os._exit(1)
    return name
