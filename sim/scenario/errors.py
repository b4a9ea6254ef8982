"""Bad input as sentences: :class:`ScenarioError` and the formatting of pydantic's errors as
lines ``FILE: path.to.field: what is wrong (what was given, what is allowed)``.

List items are named by their id in paths (``facilities.farm.inputs.feed.buffer_t``), as in
overrides. Every line stays one line (line breaks in keys and ids are escaped) and of bounded
length: a word (an id, a path, a file name) of more than :data:`LONG_WORD` characters is
shortened to its start and end, and a line of more than :data:`MAX_LINE` characters loses its
middle, so that a hostile file cannot make the tool print megabytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.reference import table_hint, unknown_field_hint

#: Words (runs of characters between spaces and punctuation) longer than this are shortened
#: to their first KEEP_START and last KEEP_END characters.
LONG_WORD = 100
KEEP_START, KEEP_END = 60, 20
#: The longest problem line printed (a list of a hundred thousand ids is cut in its middle).
MAX_LINE = 1000

_WORD = re.compile(rf"[^\s,;:()'\"=]{{{LONG_WORD + 1},}}")


def shortened(text: str, start: int = KEEP_START, end: int = KEEP_END) -> str:
    """`text` itself when short, else its first `start` and last `end` characters around an
    ellipsis."""
    if len(text) <= start + end + 1:
        return text
    return f"{text[:start]}…{text[-end:]}"


def bounded(line: str) -> str:
    """A problem line with its long words shortened and at most MAX_LINE characters."""
    line = _WORD.sub(lambda m: shortened(m.group()), line)
    if len(line) <= MAX_LINE:
        return line
    head, tail = MAX_LINE * 3 // 4, MAX_LINE // 5
    return f"{line[:head]} …({len(line) - head - tail:,} characters left out)… {line[-tail:]}"


class ScenarioError(Exception):
    """Bad input: one or more problems, each a line `FILE: path.to.field: message` (bounded
    in length, see the module docstring)."""

    def __init__(self, problems: list[str]):
        problems = [bounded(line) for line in problems]
        super().__init__("\n".join(problems))
        self.problems = problems


_NAMED_BY_MATERIAL = frozenset({"outputs", "inputs", "substitutes"})


def _item_name(item: Any, index: int, parent: str = "") -> str:
    """How a list item is named in paths: by id, by material for a facility's outputs and
    inputs and an input's substitutes, else by position `[k]`."""
    if isinstance(item, Mapping):
        if isinstance(item.get("id"), str):
            return str(item["id"])
        if parent in _NAMED_BY_MATERIAL and isinstance(item.get("material"), str):
            return str(item["material"])
    return f"[{index}]"


def _path_of(raw: Any, loc: Iterable[Any]) -> str:
    """Render a pydantic location as a dotted path, naming list items by their id."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list):
            item = node[key] if 0 <= key < len(node) else None
            parts.append(_item_name(item, key, parts[-1] if parts else ""))
            node = item
        elif isinstance(key, str) and isinstance(node, Mapping) and (key in node or not _is_union_tag(key)):
            parts.append(key)
            node = node.get(key)
        elif isinstance(key, str) and not _is_union_tag(key):
            parts.append(key)
            node = None
    return ".".join(map(_printable, parts)) or "(top level)"


def _is_union_tag(key: str) -> bool:
    """A location part naming which member of a union pydantic tried (`list[...]`, `Range`,
    `function-after[...]`), not a key of the file."""
    return "[" in key or key.startswith(("function-", "literal")) or key[:1].isupper() or key in _SCALAR_TAGS


_SCALAR_TAGS = {"bool", "int", "float", "str", "none", "list", "dict"}


# Errors that only say a value is not of one member's shape: when another member of the union
# has its own complaint about the same value, that complaint is the one to show.
_SHAPE_ERRORS = {"list_type", "dict_type", "model_type", "model_attributes_type", "float_type", "int_type",
                 "string_type", "bool_type"}


def _printable(name: str) -> str:
    """A key or id as written in a problem line: quoted and escaped when empty or when it
    holds line breaks or other unprintable characters (a problem stays on one line)."""
    return name if name and name.isprintable() else json.dumps(name)


def _escaped(text: str) -> str:
    """`text` with line breaks and other unprintable characters written as escapes."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: Mapping[str, Any], root: type[BaseModel] | None = None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        hint = unknown_field_hint(root, tuple(err["loc"])) if root is not None else ""
        if hint.startswith("did you mean"):
            return f"unknown field (given {_short(err['input'])}); {hint}"
        return f"unknown field (given {_short(err['input'])}; check the spelling)" + (f"; {hint}" if hint else "")
    if kind == "missing":
        hint = table_hint(root, tuple(err["loc"])) if root is not None else ""
        return "required field is missing" + (f"; {hint}" if hint else "")
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    return f"{msg} (given {_short(err['input'])})"


def _root_model(title: str) -> type[BaseModel] | None:
    """The model a validation error came from, by its name (``exc.title``): the scenario and
    study schemas are subclasses of BaseModel defined in ``sim``; looked up rather than
    imported, as this package may not import the study runner."""
    found, seen, todo = [], set(), list(BaseModel.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo += cls.__subclasses__()
        if cls.__name__ == title and cls.__module__.startswith("sim."):
            found.append(cls)
    return found[0] if len(found) == 1 else None


def format_validation_error(
    source: str, raw: Any, exc: ValidationError, root: type[BaseModel] | None = None
) -> list[str]:
    """One line per problem, with list items named by id. An unknown key's line names the
    closest valid fields of its table and where they are documented; `root` is the model the
    whole file was validated as (found from the error when not given)."""
    root = root if root is not None else _root_model(exc.title)
    by_path: dict[str, list[Mapping[str, Any]]] = {}
    for err in exc.errors(include_url=False):
        by_path.setdefault(_path_of(raw, err["loc"]), []).append(err)
    # A value no member of a union accepts gives one error per member: keep the complaint of
    # the member that got furthest (a specific error, or one about a part of the value), and
    # merge the rest ("Input should be a valid boolean or a valid integer").
    # (a path with errors below it, `facilities.farm` above `facilities.farm.id`, is a parent)
    parents = {path.rsplit(".", k)[0] for path in by_path for k in range(1, path.count(".") + 1)}
    lines = []
    for path, errs in by_path.items():
        specific = [e for e in errs if e["type"] not in _SHAPE_ERRORS]
        if specific:
            lines += [f"{source}: {path}: {_message(e, root)}" for e in specific]
        elif path not in parents:
            wants = list(dict.fromkeys(str(e["msg"]).removeprefix("Input should be ") for e in errs))
            lines.append(f"{source}: {path}: Input should be {' or '.join(wants)} (given {_short(errs[0]['input'])})")
    return list(dict.fromkeys(lines))

