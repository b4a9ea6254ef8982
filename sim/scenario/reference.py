"""The field reference of input files, read off the pydantic schema: the tables of a file (one
per model, found by walking the root model's fields), each field's meaning, unit, default,
allowed values and a one-line TOML example, rendered as Markdown; and the closest valid names
for a misspelt key, with the anchor of the table where they are documented.

The page itself (docs/reference.md) is written by ``python -m sim.reference``, which adds the
study file's tables to the scenario file's (this package may not import the study runner).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo

#: Where the page lives, as an error line names it.
REFERENCE_PAGE = "docs/reference.md"

# Names people reach for that difflib cannot see are close (a different word for the same
# thing), by table: the guessed name and the field it means.
SYNONYMS: dict[str, dict[str, str]] = {
    "Pattern": {"start_day": "phase_days", "offset_days": "phase_days", "start_days": "phase_days",
                "period_days": "every_days", "season_days": "on_days", "idle_days": "off_days"},
    "InputSpec": {"initial_stock_t": "initial_buffer_t", "storage_t": "buffer_t", "stock_t": "buffer_t"},
    "OutputStream": {"buffer_t": "storage_t", "stock_t": "storage_t", "output_t_per_day": "rate_t_per_day"},
    "Contract": {"quantity_t_per_day": "volume_t_per_day", "price": "price_per_t", "penalty": "penalty_per_t_short"},
}

# One-line examples where a value of the field's kind says little (tables, lists, names).
EXAMPLES: dict[tuple[str, str], str] = {
    ("Scenario", "scenario"): '[scenario]  (then name = "...", horizon_days = 730 on the next lines)',
    ("Scenario", "transport"): "[transport]  (then cost_per_tkm = 0.12 ...)",
    ("Scenario", "materials"): '[[materials]]  (one per material, then id = "whey" ...)',
    ("Scenario", "facilities"): '[[facilities]]  (one per plant, then id = "dairy" ...)',
    ("Scenario", "contracts"): '[[contracts]]  (one per exchange, then id = "whey-to-pigs" ...)',
    ("Scenario", "intermediary"): "[intermediary]",
    ("Scenario", "formation"): '[formation]  (then rule = "system_optimal")',
    ("Scenario", "behaviour"): "[behaviour]",
    ("Scenario", "market"): "[market]",
    ("Scenario", "policy"): "[policy]  (then buffer_days = 10.0)",
    ("Scenario", "events"): '[[events]]  (then day = 200, kind = "closure", facility = "dairy")',
    ("Scenario", "common_causes"): '[[common_causes]]  (then id = "flood", facilities = ["dairy", "pig_farm"])',
    ("CommonCause", "id"): 'id = "flood"',
    ("CommonCause", "facilities"): 'facilities = ["dairy", "pig_farm"]',
    ("CommonCause", "region"): "region = { x_km = 12.0, y_km = 4.0, radius_km = 20.0 }",
    ("ScenarioMeta", "name"): 'name = "dairy whey to pigs and biogas"',
    ("Transport", "distances"): 'distances = [{ a = "dairy", b = "pig_farm", km = 14.0 }]',
    ("Material", "id"): 'id = "whey"',
    ("Material", "quality"): "quality = { dry_matter = 0.06 }",
    ("IntermediarySpec", "initial_t"): "initial_t = { ash = 40.0 }",
    ("Facility", "id"): 'id = "dairy"',
    ("Facility", "location"): "location = { x_km = 12.0, y_km = 4.0 }",
    ("Facility", "outages"): "outages = { mtbf_days = 90.0, mttr_days = 2.0 }",
    ("Facility", "outputs"): '[[facilities.outputs]]  (then material = "whey", rate_t_per_day = 120.0)',
    ("Facility", "inputs"): '[[facilities.inputs]]  (then material = "pig_feed", demand_t_per_day = 9.0)',
    ("Outages", "maintenance"): "maintenance = [{ start_day = 180.0, duration_days = 14.0, every_days = 365.0 }]",
    ("OutputStream", "material"): 'material = "whey"',
    ("OutputStream", "rate_t_per_day"): "rate_t_per_day = 120.0",
    ("OutputStream", "variability"): 'variability = { dist = "gamma", cv = 0.2 }',
    ("OutputStream", "pattern"): 'pattern = { kind = "campaign", on_days = 120, off_days = 245 }',
    ("OutputStream", "quality"): "quality = { dry_matter = { mean = 0.06, sd = 0.005 } }",
    ("OutputStream", "preprocessing"): "preprocessing = { target_moisture = 0.7, cost_per_t = 4.0 }",
    ("Pattern", "monthly_factors"): "monthly_factors = [0.8, 0.9, 1.0, 1.2, 1.3, 1.2, 1.1, 1.0, 0.9, 0.9, 0.8, 0.8]",
    ("InputSpec", "material"): 'material = "pig_feed"',
    ("InputSpec", "substitutes"): 'substitutes = [{ material = "whey", ratio = 0.07, max_share = 0.3 }]',
    ("InputSpec", "stockpile"): "stockpile = { capacity_t = 500.0, reorder_point_t = 100.0, order_up_to_t = 400.0 }",
    ("InputSpec", "emergency"): "emergency = { premium = 0.5, lead_time_days = 2.0 }",
    ("Substitute", "material"): 'material = "whey"',
    ("Substitute", "quality_limits"): "quality_limits = { dry_matter = { min = 0.05 } }",
    ("Contract", "id"): 'id = "whey-to-pigs"',
    ("Contract", "supplier"): 'supplier = "dairy"',
    ("Contract", "buyer"): 'buyer = "pig_farm"',
    ("Contract", "material"): 'material = "whey"',
    ("Contract", "input"): 'input = "pig_feed"',
    ("Contract", "quality_spec"): "quality_spec = { dry_matter = { min = 0.05, max = 0.08 } }",
    ("Contract", "force_majeure_causes"): 'force_majeure_causes = ["harvest"]',
    ("IntermediarySpec", "location"): "location = { x_km = 5.0, y_km = 5.0 }",
    ("Behaviour", "renegotiate"): 'renegotiate = ["volume", "price"]',
    ("Event", "facility"): 'facility = "dairy"',
    ("Event", "material"): 'material = "whey"',
    ("Event", "contract"): 'contract = "whey-to-pigs"',
    ("Event", "cause"): 'cause = "harvest"',
    ("StudySection", "name"): 'name = "whey_buffers"',
    ("StudySection", "scenario"): 'scenario = "../whey.toml"',
    ("StudySection", "overrides"): 'overrides = { "scenario.horizon_days" = 730 }',
    ("StudySection", "outcomes"): 'outcomes = ["waste_disposed_t", "facility:pig_farm:net_benefit"]',
    ("StudyFile", "study"): "[study]",
    ("StudyFile", "design"): '[design]  (then kind = "grid")',
    ("Design", "factors"): '[design.factors]  (then "policy.buffer_days" = [5.0, 10.0] or { low = 5.0, high = 9.0 })',
    ("Design", "rows"): 'rows = [{ "policy.buffer_days" = 5.0 }, { "policy.buffer_days" = 10.0 }]',
    ("Design", "reference"): 'reference = { "policy.buffer_days" = 5.0 }',
    ("Design", "uncertainties"): 'uncertainties = ["facilities.dairy.outputs.whey.rate_t_per_day"]',
    ("Question", "text"): 'text = "Which buys more reliability per euro for the pig farm: a buffer or a backup?"',
    ("Question", "metrics"): 'metrics = ["input:pig_farm.feed:secondary_short_t", "facility:pig_farm:net_benefit"]',
    ("Question", "baseline"): 'baseline = { "policy.buffer_days" = 0.0 }',
    ("Question", "options"): 'options = { "5 days of buffer" = { "policy.buffer_days" = 5.0 } }',
    ("Question", "controls"): 'controls = ["contracts.*.penalty_per_t_short"]',
    ("Range", "low"): "low = 5.0",
    ("Range", "high"): "high = 20.0",
}

# Units read off a field's name, longest suffix first (DESIGN: units are in names).
_UNIT_SUFFIXES = (
    ("_t_per_day", "t/day"),
    ("_km_per_day", "km/day"),
    ("_per_t_day", "currency per t per day"),
    ("_per_t_short", "currency per t short"),
    ("_t_per_t", "t per t"),
    ("_per_tkm", "currency per t·km"),
    ("_per_trip", "currency per trip"),
    ("_per_period", "currency per settlement period"),
    ("_per_year", "per year"),
    ("_per_sqrt_day", "per sqrt(day) (log price)"),
    ("reversion_per_day", "per day (rate)"),
    ("_per_day", "currency per day"),
    ("_per_t", "currency per t"),
    ("_fee", "currency"),
    ("_days", "days"),
    ("_day", "day"),
    ("_km", "km"),
    ("_t", "t"),
)


def unit_of(name: str) -> str:
    """The unit a field's name carries (``rate_t_per_day`` -> t/day), or "" when none."""
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix) or name == suffix[1:]:
            return unit
    return ""


@dataclass(frozen=True)
class Table:
    """One table of a file: the model, the dotted path of field names it is first found at
    (``facilities.outputs.pattern``; "" for the whole file), the TOML header that opens it and
    the other paths where the same model is used."""

    model: type[BaseModel]
    path: str
    header: str
    also_at: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        """The page anchor of the table (the path with hyphens, or `file` for the top level)."""
        return self.path.replace(".", "-") or f"{self.model.__name__.lower()}-file"


def _strip(tp: Any) -> Any:
    """`tp` without its Annotated metadata."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _members(tp: Any) -> list[Any]:
    """The members of a union (without None), or `tp` itself."""
    tp = _strip(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        return [_strip(a) for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _nested(tp: Any) -> Iterator[tuple[type[BaseModel], str]]:
    """The models a field's type holds, each with how it is written: "table", "array" (of
    tables) or "map" (a table of tables keyed by the user's names)."""
    for m in _members(tp):
        origin = typing.get_origin(m)
        if isinstance(m, type) and issubclass(m, BaseModel):
            yield m, "table"
        elif origin is list:
            for inner in _members(typing.get_args(m)[0]):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield inner, "array"
        elif origin is dict:
            for inner in _members(typing.get_args(m)[1]):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield inner, "map"


@functools.cache
def tables(root: type[BaseModel]) -> tuple[Table, ...]:
    """Every table of a file whose whole content is `root`, in the order a reader meets them
    (depth first), each model once (later uses listed in `also_at`); computed once per root,
    as a file of many unknown keys asks for each of them."""
    first: dict[type[BaseModel], Table] = {}
    order: list[type[BaseModel]] = []

    def visit(model: type[BaseModel], path: str, header: str) -> None:
        if model in first:
            t = first[model]
            first[model] = Table(t.model, t.path, t.header, (*t.also_at, path))
            return
        first[model] = Table(model, path, header)
        order.append(model)
        for name, info in model.model_fields.items():
            for child, how in _nested(info.annotation):
                sub = f"{path}.{name}" if path else name
                head = {"table": f"[{sub}]", "array": f"[[{sub}]]", "map": f"[{sub}.<name>]"}[how]
                visit(child, sub, head)

    visit(root, "", "(top level)")
    return tuple(first[m] for m in order)


# --- what a field allows --------------------------------------------------------------------


def _bounds(info: FieldInfo) -> list[str]:
    """The bounds of a field's value (`≥ 0`, `≤ 1`...), from its own metadata and from an
    Annotated member of its union (`Pos | None`)."""
    metas = list(info.metadata)
    tp = info.annotation
    members = typing.get_args(tp) if typing.get_origin(tp) in (Union, types.UnionType) else (tp,)
    for m in members:
        if typing.get_origin(m) is typing.Annotated:
            for a in typing.get_args(m)[1:]:
                metas += a.metadata if isinstance(a, FieldInfo) else [a]
    out: list[str] = []
    for m in metas:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "length ≥")):
            value = getattr(m, attr, None)
            if value is not None and f"{sign} {_number(value)}" not in out:
                out.append(f"{sign} {_number(value)}")
    return out


def _number(value: Any) -> str:
    if abs(value) >= 1e9:
        return f"{value:.0e}".replace("e+", "e")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"{value:g}" if isinstance(value, float) else f"{value:,}".replace(",", "_") if isinstance(
        value, int) and abs(value) >= 100_000 else str(value)


def _kind(tp: Any) -> str:
    """The TOML kind of a field: number, integer, true/false, text, list, table..."""
    names = []
    for m in _members(tp):
        origin = typing.get_origin(m)
        if origin is Literal:
            names.append("one of " + ", ".join(f"`{a!r}`".replace("'", '"') for a in typing.get_args(m)))
        elif m is bool:
            names.append("true/false")
        elif m is int:
            names.append("integer")
        elif m is float:
            names.append("number")
        elif m is str:
            names.append("text")
        elif m is Any:
            names.append("any value")
        elif isinstance(m, type) and issubclass(m, BaseModel):
            names.append(f"table ({m.__name__})")
        elif origin is list:
            inner = typing.get_args(m)[0]
            names.append(f"list of {_kind(inner)}")
        elif origin is dict:
            names.append(f"table of name = {_kind(typing.get_args(m)[1])}")
        else:
            names.append(str(m).replace("typing.", ""))
    return " or ".join(dict.fromkeys(names))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return _number(value) if not value.is_integer() else f"{value:.1f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, BaseModel):
        return "{...}"
    return repr(value)


def default_text(info: FieldInfo) -> str:
    """The default as TOML, "required" when the field must be given, "unset" for None."""
    if info.is_required():
        return "required"
    if info.default is None:
        return "unset"
    if isinstance(info.default, BaseModel):
        return "its own defaults"
    if info.default in ([], {}):
        return "empty"
    return _toml(info.default)


def example_line(name: str, info: FieldInfo, model: str = "") -> str:
    """A one-line TOML example: the field's `examples` or its entry in EXAMPLES, else its
    default, else a value of its kind within its bounds."""
    if (model, name) in EXAMPLES:
        return EXAMPLES[(model, name)]
    if info.examples:
        return f"{name} = {_toml(info.examples[0])}"
    if not info.is_required() and info.default not in (None, [], {}) and not isinstance(info.default, BaseModel):
        return f"{name} = {_toml(info.default)}"
    for m in _members(info.annotation):
        origin = typing.get_origin(m)
        if origin is Literal:
            return f"{name} = {_toml(typing.get_args(m)[-1])}"
        if m is bool:
            return f"{name} = true"
        if m is int:
            return f"{name} = 30"
        if m is float:
            bounds = _bounds(info)
            return f"{name} = {'0.5' if '≤ 1' in bounds or '< 1' in bounds else '10.0'}"
        if m is str:
            return f'{name} = "{name}-1"' if name in {"id", "a", "b", "supplier", "buyer", "material"} else \
                f'{name} = "..."'
        if isinstance(m, type) and issubclass(m, BaseModel):
            return f"[{name}] (a table of its own)"
        if origin is list:
            return f"{name} = [...]"
        if origin is dict:
            return f"{name} = {{ name = ... }}"
    return f"{name} = ..."


def _one_line(text: str) -> str:
    return " ".join(text.split())


def table_markdown(t: Table, where: dict[type[BaseModel], Table]) -> list[str]:
    """One table's section: heading with anchor, its docstring, then a row per field (a field
    holding a table links to it)."""
    doc = inspect.cleandoc(t.model.__doc__ or "")
    lines = [f'<a id="{t.anchor}"></a>', "", f"### `{t.header}` ({t.model.__name__})", ""]
    if doc:
        lines += [doc, ""]
    if t.also_at:
        lines += ["Also used at: " + ", ".join(f"`{p}`" for p in t.also_at) + ".", ""]
    lines += ["| field | meaning | unit | default | allowed | example |", "|---|---|---|---|---|---|"]
    for name, info in t.model.model_fields.items():
        allowed = "; ".join([_kind(info.annotation), *_bounds(info)])
        meaning = _one_line(info.description or "")
        links = [where[m] for m, _ in _nested(info.annotation) if m in where]
        meaning += "".join(f" See [`{x.header}`](#{x.anchor})." for x in links)
        cells = [f"`{name}`", meaning.strip(), unit_of(name), f"`{default_text(info)}`",
                 allowed, f"`{example_line(name, info, t.model.__name__)}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return [*lines, ""]


def file_markdown(title: str, intro: str, root: type[BaseModel]) -> list[str]:
    """The sections of one kind of file."""
    ts = tables(root)
    out = [f"## {title}", "", intro, "", "Tables: " + ", ".join(f"[`{t.header}`](#{t.anchor})" for t in ts), ""]
    where = {t.model: t for t in ts}
    for t in ts:
        out += table_markdown(t, where)
    return out


# --- suggestions for an unknown key ----------------------------------------------------------


def _descend(tp: Any, key: Any) -> Any:
    """The type found under `key` in a value of type `tp`, or None."""
    for m in _members(tp):
        origin = typing.get_origin(m)
        if isinstance(m, type) and issubclass(m, BaseModel) and isinstance(key, str) and key in m.model_fields:
            return m.model_fields[key].annotation
        if origin is list and isinstance(key, int):
            return typing.get_args(m)[0]
        if origin is dict and isinstance(key, str):
            return typing.get_args(m)[1]
    return None


def model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose table holds the last key of a pydantic error location (union tags in
    the location, such as ``function-after[...]``, are passed over)."""
    return _model_at(root, tuple(0 if isinstance(k, int) else k for k in loc))  # any item of a list


@functools.lru_cache(maxsize=4096)
def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    tp: Any = root
    for key in loc[:-1]:
        below = _descend(tp, key)
        if below is not None:
            tp = below
    models = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, BaseModel)]
    return models[0] if len(models) == 1 else None


@functools.lru_cache(maxsize=4096)
def closest_fields(model: type[BaseModel], key: str, n: int = 3) -> tuple[str, ...]:
    """The valid fields of `model` closest to a misspelt `key`: its known synonym, else the
    nearest names by difflib (those within 0.1 of the best score), else fields sharing a word
    of the key."""
    fields = list(model.model_fields)
    synonym = SYNONYMS.get(model.__name__, {}).get(key.lower())
    if synonym in fields:
        return (synonym,)
    if len(key) > 2 * max(map(len, fields), default=0):  # nothing is close to a very long key
        return ()
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(key.lower())  # difflib caches what it learns of seq2 (as get_close_matches does)
    scored = []
    for f in fields:
        matcher.set_seq1(f)
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
            scored.append((matcher.ratio(), f))
    scored.sort(reverse=True)
    near = [f for score, f in scored if score >= 0.6 and score >= scored[0][0] - 0.1]
    if near:
        return tuple(near[:n])
    words = {w for w in key.lower().split("_") if len(w) > 2 and w not in {"per", "day", "days"}}
    return tuple(f for f in fields if words & set(f.split("_")))[:n]


def table_hint(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """"see the fields of [t] in docs/reference.md#t" for the table holding the last key of
    `loc` in a file whose whole content is `root` ("" when the table cannot be found)."""
    model = model_at(root, loc)
    table = next((t for t in tables(root) if t.model is model), None) if model is not None else None
    if table is None:
        return ""
    what = "the top-level tables" if not table.path else f"the fields of {table.header}"
    return f"see {what} in {REFERENCE_PAGE}#{table.anchor}"


def unknown_field_hint(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """"did you mean `x`? see the fields of [t] in docs/reference.md#t" for an unknown key at
    `loc` of a file whose whole content is `root` (without the guess when no field is close;
    "" when the table cannot be found)."""
    where = table_hint(root, loc)
    model = model_at(root, loc)
    key = loc[-1] if loc else None
    if not where or model is None or not isinstance(key, str):
        return where
    near = closest_fields(model, key)
    return f"did you mean {' or '.join(f'`{f}`' for f in near)}? {where}" if near else where
