"""Scenario files: schema, loading, validation, overrides by dotted path and policy levers.

A scenario is one network in one TOML file (DESIGN.md section 5). Everything here is an
immutable value: the model reads it and never changes it. The package is the bottom layer of
``sim``: it imports nothing else from it.

- :mod:`~sim.scenario.schema`: bounded quantities and the items (materials, facilities,
  streams, inputs); :mod:`~sim.scenario.contract`: a contract's terms;
  :mod:`~sim.scenario.sections`: the network-wide sections and
  :class:`Scenario`;
- :mod:`~sim.scenario.errors`: :class:`ScenarioError` and problem lines
  ``FILE: path.to.field: what is wrong (what was given, what is allowed)``, bounded in length;
- :mod:`~sim.scenario.references`: cross-reference checks;
- :mod:`~sim.scenario.overrides`: values and dotted paths of overrides;
- :mod:`~sim.scenario.limits`: what a file may be (regular, size, nesting depth);
- :mod:`~sim.scenario.load`: reading and validating, the policy levers, run views;
- :mod:`~sim.scenario.reference`: the field reference (docs/reference.md) and the closest
  valid names for a misspelt key.

The names below are those every caller imports from ``sim.scenario``.
"""

from sim.scenario.common_cause import CommonCause, Region, common_cause_members
from sim.scenario.contract import Contract, Indexation
from sim.scenario.errors import (
    _NAMED_BY_MATERIAL as _NAMED_BY_MATERIAL,
)
from sim.scenario.errors import (
    _SCALAR_TAGS as _SCALAR_TAGS,
)
from sim.scenario.errors import (
    _SHAPE_ERRORS as _SHAPE_ERRORS,
)
from sim.scenario.errors import (
    ScenarioError,
    format_validation_error,
)
from sim.scenario.errors import (
    _escaped as _escaped,
)
from sim.scenario.errors import (
    _is_union_tag as _is_union_tag,
)
from sim.scenario.errors import (
    _item_name as _item_name,
)
from sim.scenario.errors import (
    _message as _message,
)
from sim.scenario.errors import (
    _path_of as _path_of,
)
from sim.scenario.errors import (
    _printable as _printable,
)
from sim.scenario.errors import (
    _short as _short,
)
from sim.scenario.load import (
    _READ_DAILY as _READ_DAILY,
)
from sim.scenario.load import (
    _RUN_VIEWS as _RUN_VIEWS,
)
from sim.scenario.load import (
    _RunView as _RunView,
)
from sim.scenario.load import (
    _view_slots as _view_slots,
)
from sim.scenario.load import (
    apply_policy,
    contract_input,
    load_scenario,
    parse_scenario,
    read_toml,
    read_toml_and_text,
    replaced,
    run_view,
    secondary_need_t_per_day,
)
from sim.scenario.overrides import _LIST_FIELDS as _LIST_FIELDS
from sim.scenario.overrides import _match_items as _match_items
from sim.scenario.overrides import apply_override, parse_value
from sim.scenario.references import DefinedIds, cross_reference_problems, partial_reference_problems
from sim.scenario.schema import (
    BIG,
    Emergency,
    Facility,
    Frozen,
    Ident,
    InputSpec,
    Km,
    LifeLaw,
    Limit,
    Location,
    Maintenance,
    Material,
    NonNeg,
    Outages,
    OutputStream,
    Pattern,
    Pos,
    Preprocessing,
    QualityDraw,
    Share,
    Stockpile,
    Substitute,
    Variability,
)
from sim.scenario.sections import Behaviour, Event, Formation, IntermediarySpec, Market, Policy, Scenario
from sim.scenario.setting import Distance, ScenarioMeta, Transport

__all__ = [
    "BIG",
    "Behaviour",
    "CommonCause",
    "Contract",
    "DefinedIds",
    "Distance",
    "Emergency",
    "Event",
    "Facility",
    "Formation",
    "Frozen",
    "Ident",
    "Indexation",
    "InputSpec",
    "IntermediarySpec",
    "Km",
    "LifeLaw",
    "Limit",
    "Location",
    "Maintenance",
    "Market",
    "Material",
    "NonNeg",
    "Outages",
    "OutputStream",
    "Pattern",
    "Policy",
    "Pos",
    "Preprocessing",
    "QualityDraw",
    "Region",
    "Scenario",
    "ScenarioError",
    "ScenarioMeta",
    "Share",
    "Stockpile",
    "Substitute",
    "Transport",
    "Variability",
    "apply_override",
    "apply_policy",
    "common_cause_members",
    "contract_input",
    "cross_reference_problems",
    "format_validation_error",
    "load_scenario",
    "parse_scenario",
    "parse_value",
    "partial_reference_problems",
    "read_toml",
    "read_toml_and_text",
    "replaced",
    "run_view",
    "secondary_need_t_per_day",
]

