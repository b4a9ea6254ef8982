"""Loading a scenario: read the TOML file, apply overrides, validate the fields and the
cross-references; the `[policy]` levers written into the items they override; and the run
views the daily loop reads.

Errors are collected, never raised one at a time: :func:`load_scenario` raises
:class:`ScenarioError` whose ``problems`` are lines of the form
``FILE: path.to.field: what is wrong (what was given, what is allowed)``.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.contract import Contract
from sim.scenario.errors import ScenarioError, _escaped, _printable, format_validation_error
from sim.scenario.limits import MAX_FILE_BYTES, file_kind_problem, toml_loads, too_big
from sim.scenario.overrides import apply_override
from sim.scenario.references import cross_reference_problems, partial_reference_problems
from sim.scenario.schema import Facility, InputSpec, Material
from sim.scenario.sections import Scenario

# --- loading ---------------------------------------------------------------------------------


def parse_scenario(
    raw: dict[str, Any], source: str = "<scenario>", overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """Validate raw scenario data (as read from TOML) after applying overrides."""
    problems: list[str] = []
    for path, value in (overrides or {}).items():
        try:
            apply_override(raw, path, value)
        except KeyError as err:
            # the path is the user's text, and shows up in the reason too: keep the line one line
            problems.append(f"{source}: {_printable(path)}: cannot override: {_escaped(err.args[0])}")
    if problems:
        raise ScenarioError(problems)
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as exc:
        fields = format_validation_error(source, raw, exc, Scenario)
        links = [f"{source}: {path}: {msg}" for path, msg in partial_reference_problems(raw)]
        known = set(fields)
        raise ScenarioError(fields + [line for line in links if line not in known]) from None
    problems = [f"{source}: {path}: {msg}" for path, msg in cross_reference_problems(sc)]
    if problems:
        raise ScenarioError(problems)
    return sc


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning I/O and syntax errors into a ScenarioError; only a regular
    file within the limits of sim.scenario.limits is opened (a FIFO or a device is not)."""
    return read_toml_and_text(path)[0]


def read_toml_and_text(path: str | Path) -> tuple[dict[str, Any], str]:
    """:func:`read_toml`, with the text it parsed (read once, so the two cannot differ)."""
    p = Path(path)
    name = _printable(str(p))
    try:
        problem = file_kind_problem(p)
        if problem is None:
            data = _read_regular(p)
            problem = too_big(data) if data is not None else "is not a regular file (give the path of a TOML file)"
    except FileNotFoundError:
        raise ScenarioError([f"{name}: file not found"]) from None
    except PermissionError:
        raise ScenarioError([f"{name}: cannot be read (permission denied)"]) from None
    except ValueError:  # a NUL character in the path
        raise ScenarioError([f"{name}: not a valid file name"]) from None
    except OSError as err:  # a name too long, a loop of links, an I/O error...
        raise ScenarioError([f"{name}: cannot be read ({err.strerror or err})"]) from None
    if problem is not None:
        raise ScenarioError([f"{name}: {problem}"])
    assert data is not None
    try:
        text = data.decode("utf-8")
        return toml_loads(text), text
    except UnicodeDecodeError:
        raise ScenarioError([f"{name}: is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError([f"{name}: (TOML syntax): {err}"]) from None
    except ValueError as err:  # nested too deep
        raise ScenarioError([f"{name}: {err}"]) from None


def _read_regular(p: Path) -> bytes | None:
    """The first MAX_FILE_BYTES + 1 bytes of `p`, or None when what is opened is not a regular
    file (the path may have been swapped since it was checked: opening does not block)."""
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return fh.read(MAX_FILE_BYTES + 1)


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file, with optional overrides by dotted path."""
    return parse_scenario(read_toml(path), str(path), overrides)


# --- policy levers ---------------------------------------------------------------------------


def secondary_need_t_per_day(inp: InputSpec) -> float:
    """Tonnes of secondary material an input uses per day at full supply: substitutes fill the
    functional demand in the order listed, each up to its max share. The mean demand: a
    demand_pattern has mean 1, and this is a rate (validate's days of buffer, buffer_days)."""
    left = inp.demand_t_per_day
    need = 0.0
    for s in inp.substitutes:
        functional = min(left, s.max_share * inp.demand_t_per_day)
        need += functional / s.ratio
        left -= functional
    return need


def storable(m: Material) -> bool:
    """A material a buyer's buffer can hold: its `storable`, by default every unit but MWh."""
    return m.storable if m.storable is not None else m.unit != "MWh"


def non_storable_inputs(sc: Scenario) -> list[str]:
    """"facility.material" of the inputs with substitutes, all non-storable: `policy.buffer_days`
    passes over them (a buffer_t in the file declares a store, and stays)."""
    mats = {m.id: m for m in sc.materials}
    return [
        f"{f.id}.{i.material}" for f in sc.facilities for i in f.inputs
        if i.substitutes and not any(storable(mats[s.material]) for s in i.substitutes if s.material in mats)
    ]


def buffer_policy_notes(sc: Scenario) -> list[str]:
    """What `validate` says of `policy.buffer_days`: the non-storable inputs it passed over and
    left without a buffer (none: no line)."""
    if sc.policy.buffer_days is None:
        return []
    names = set(non_storable_inputs(sc))
    bare = [f"{f.id}.{i.material}" for f in sc.facilities for i in f.inputs
            if f"{f.id}.{i.material}" in names and i.buffer_t == 0.0]
    if not bare:
        return []
    return [f"policy.buffer_days: {len(bare)} input{'s' if len(bare) > 1 else ''} of non-storable material left "
            f"without a buffer ({', '.join(bare)}); declare buffer_t on the input to store it"]


def apply_policy(sc: Scenario) -> Scenario:
    """Return the scenario with the `[policy]` levers written into the items they override.
    `policy.buffer_days` passes over inputs of non-storable material (non_storable_inputs)."""
    pol = sc.policy
    facilities = sc.facilities
    if pol.buffer_days is not None:
        days = pol.buffer_days
        skip = set(non_storable_inputs(sc))
        facilities = [
            f.model_copy(update={"inputs": [
                i if f"{f.id}.{i.material}" in skip
                else i.model_copy(update={"buffer_t": days * secondary_need_t_per_day(i), "initial_buffer_t": None})
                for i in f.inputs
            ]})
            for f in facilities
        ]
    contracts = sc.contracts
    if pol.penalty_per_t_short is not None:
        contracts = [c.model_copy(update={"penalty_per_t_short": pol.penalty_per_t_short}) for c in contracts]
    return sc.model_copy(update={"facilities": facilities, "contracts": contracts})


def contract_input(sc: Scenario, c: Contract, facilities: Mapping[str, Facility] | None = None) -> InputSpec:
    """The buyer input a contract feeds (explicit, or the one input accepting its material).
    A caller asking for many contracts passes the facilities by id (`facilities`), made once,
    rather than have each call search the facility list."""
    buyer = sc.facility(c.buyer) if facilities is None else facilities[c.buyer]
    if c.input is not None:
        return next(i for i in buyer.inputs if i.material == c.input)
    return next(i for i in buyer.inputs if c.material in {s.material for s in i.substitutes})


# --- run views -------------------------------------------------------------------------------


class _RunView:
    """A scenario value copied into slots (see :func:`run_view`)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is an immutable scenario value (use replaced())")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # like the pydantic value it copies

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"


_RUN_VIEWS: dict[type, type[_RunView]] = {}
# Fields the day reads, by value type: first in the view, so that they share its first cache
# line (the rest follow in the value's own order).
_READ_DAILY: dict[str, tuple[str, ...]] = {
    "Contract": (
        "role", "start_day", "delivery_interval_days", "volume_t_per_day", "price_per_t", "settlement_days",
    ),
    "InputSpec": ("critical", "demand_t_per_day", "virgin", "lost_margin_per_t", "stockpile"),
}


def run_view[V: BaseModel](value: V) -> V:
    """`value` with its fields in slots, for the objects the daily loop reads every day (a
    contract's terms, an input's spec): a pydantic instance keeps its fields in a dict of its
    own, which takes several times the memory, and at 1,000 facilities the day's working set
    then spills out of the processor's caches (benchmarks/RESULTS.md). Same field names and
    values, read-only; :func:`replaced` makes changed copies."""
    if isinstance(value, _RunView):
        return value
    cls = type(value)
    view = _RUN_VIEWS.get(cls)
    if view is None:
        view = _RUN_VIEWS[cls] = type(
            cls.__name__, (_RunView,), {"__slots__": _view_slots(cls), "__module__": "sim.scenario"}
        )
    out = object.__new__(view)
    for name in view.__slots__:
        object.__setattr__(out, name, getattr(value, name))
    return out  # type: ignore[return-value]  # read like the value it copies


def _view_slots(cls: type[BaseModel]) -> tuple[str, ...]:
    daily = _READ_DAILY.get(cls.__name__, ())
    assert set(daily) <= set(cls.model_fields), f"{cls.__name__}: daily fields {daily} not all fields"
    return (*daily, *(name for name in cls.model_fields if name not in daily))


def replaced[V](value: V, **update: Any) -> V:
    """A copy of a scenario value, or of its run view, with the fields in `update` changed (not
    validated, as pydantic's ``model_copy``)."""
    if isinstance(value, _RunView):
        names = type(value).__slots__
        unknown = set(update) - set(names)
        if unknown:
            raise AttributeError(f"{type(value).__name__} has no field {sorted(unknown)}")
        out = object.__new__(type(value))
        for name in names:
            object.__setattr__(out, name, update[name] if name in update else getattr(value, name))
        return out
    assert isinstance(value, BaseModel)
    return value.model_copy(update=update)  # type: ignore[return-value]
