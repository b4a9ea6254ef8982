"""Overrides by dotted path: ``contracts.grain-to-farm.penalty_per_t_short``,
``facilities.farm.inputs.feed.buffer_t``, ``contracts.*.penalty_per_t_short`` (all items),
``policy.buffer_days`` (DESIGN.md section 5). List items are named by their id, or by material
for a facility's outputs and inputs and an input's substitutes."""

from __future__ import annotations

import tomllib
from typing import Any

from sim.scenario.errors import _item_name
from sim.scenario.limits import toml_loads


def parse_value(text: str) -> Any:
    """Read an override value the way TOML would (`3`, `2.5`, `true`, `"x"`, `[1, 2]`);
    anything that is not a TOML value is taken as a bare string. Raises ValueError with a
    sentence for a value nested deeper than the limit (sim.scenario.limits)."""
    try:
        return toml_loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
def apply_override(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at a dotted `path` in raw scenario data, in place.

    List items are matched by id (or by material for streams, inputs and substitutes), and `*`
    matches every item (below a `*`, items that lack the next part of the path are passed
    over, as long as one has it). A missing table on the way is created so that levers such as
    `policy.buffer_days` can be set on files without a `[policy]` section. Raises KeyError with
    a sentence when a list item is not found.
    """
    parts = path.split(".")
    if not all(parts):
        raise KeyError(f"empty part in path '{path}'")
    targets: list[Any] = [raw]
    for depth, part in enumerate(parts[:-1]):
        nxt: list[Any] = []
        # Below a `*`, an item some of the matched items lack is skipped on those (the breweries
        # of `facilities.*.inputs.feed` have no feed input), and an error only if none has it.
        below_star = "*" in parts[:depth]
        missing: list[str] = []
        for node in targets:
            if isinstance(node, dict):
                child = node.get(part)
                if child is None:
                    # A missing list has no items to match; a missing table is created.
                    child = [] if part in _LIST_FIELDS else node.setdefault(part, {})
                nxt.append(child)
            elif isinstance(node, list):
                try:
                    nxt.extend(_match_items(node, part, parts[: depth + 1]))
                except KeyError as err:
                    if not below_star:
                        raise
                    missing.append(err.args[0])
        if missing and not nxt:
            raise KeyError(f"no item '{part}' under '{'.'.join(parts[:depth])}' in any of the items * matched")
        targets = nxt
    last = parts[-1]
    for node in targets:
        if isinstance(node, list):
            raise KeyError(f"'{path}' names a list; address an item by id or *")
        if not isinstance(node, dict):
            raise KeyError(f"'{'.'.join(parts[:-1])}' is not a table")
        node[last] = value


_LIST_FIELDS = frozenset(
    {
        "materials",
        "facilities",
        "contracts",
        "events",
        "outputs",
        "inputs",
        "substitutes",
        "distances",
        "maintenance",
        "common_causes",
    }
)


def _match_items(items: list[Any], key: str, where: list[str]) -> list[Any]:
    if key == "*":
        return list(items)
    parent = where[-2] if len(where) >= 2 else ""
    found = [it for k, it in enumerate(items) if _item_name(it, k, parent) == key]
    if not found:
        names = [_item_name(it, k, parent) for k, it in enumerate(items)]
        raise KeyError(f"no item '{key}' in {'.'.join(where[:-1]) or where[0]} (items: {', '.join(names)})")
    return found

