"""Label schemas a new project can start from; plain data, importable without Django.

``DEFAULT_SCHEMA`` is Eligo's eligibility-criteria schema (15 entity types, 7
relation types). Conventions annotators follow (the demo project uses them too):

- *Values* (numbers, ranges, thresholds, doses, test results such as "negative")
  are ``Qualifier/modifier`` spans, linked from the thing measured by
  ``has value``: "HbA1c" (Measurement) -has value-> "7.5% to 10.5%". Non-numeric
  qualifiers ("severe", "stable", "uncontrolled") are linked by ``modified by``.
- Cues are short spans ("no", "without", "unless", "allowed if") and are always
  the *tail*: the negated or permitted concept is the head.
- ``specified by`` links a concept to another that narrows it down: a procedure
  to its device, a refractory condition to the failed drug, a class to its
  listed members, a temporal anchor ("before the first dose") to the product.

Colours: a colour-blind-aware palette from Okabe & Ito and Paul Tol's "bright",
"muted" and "light" sets, restricted to hues readable on white (contrast >= 1.9)
and on a dark background (#1E1E1E, contrast >= 2.7); pairwise CIE76 distance >= 14.
Keys: one lowercase letter per entity type and a digit per relation type; ``n``,
``p``, ``s``, ``z``, ``j``, ``k`` and ``?`` are left to the annotation UI's commands.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from mlcore.corpus.model import EntityType, RelationType, Schema

CONDITION = "Condition"
OBSERVATION = "Observation"
PROCEDURE = "Procedure"
DEVICE = "Device"
DRUG = "Drug"
INVESTIGATIONAL_PRODUCT = "Investigational product"
EVENT = "Event"
REFRACTORY_CONDITION = "Refractory condition"
DEMOGRAPHICS = "Demographics"
MEASUREMENT = "Measurement"
TEMPORAL_CONSTRAINT = "Temporal constraint"
QUALIFIER = "Qualifier/modifier"
ANATOMIC_LOCATION = "Anatomic location"
NEGATION_CUE = "Negation cue"
PERMISSION_CUE = "Permission cue"

IS_NEGATED = "is negated"
IS_PERMITTED = "is permitted"
MODIFIED_BY = "modified by"
HAS_VALUE = "has value"
HAS_TEMPORAL_CONSTRAINT = "has temporal constraint"
IS_LOCATED = "is located"
SPECIFIED_BY = "specified by"

# The clinical concepts: every entity type except values, cues, times and places.
CONCEPTS = (
    CONDITION, OBSERVATION, PROCEDURE, DEVICE, DRUG, INVESTIGATIONAL_PRODUCT, EVENT,
    REFRACTORY_CONDITION, DEMOGRAPHICS, MEASUREMENT,
)

_ENTITY_TYPES = (
    # name, colour, key
    (CONDITION, "#D55E00", "c"),
    (OBSERVATION, "#CC79A7", "o"),
    (PROCEDURE, "#117733", "r"),
    (DEVICE, "#999933", "v"),
    (DRUG, "#4477AA", "d"),
    (INVESTIGATIONAL_PRODUCT, "#56B4E9", "i"),
    (EVENT, "#E69F00", "e"),
    (REFRACTORY_CONDITION, "#AA3377", "f"),
    (DEMOGRAPHICS, "#AA4499", "g"),
    (MEASUREMENT, "#44BB99", "m"),
    (TEMPORAL_CONSTRAINT, "#CCBB44", "t"),
    (QUALIFIER, "#BBBBBB", "q"),
    (ANATOMIC_LOCATION, "#CC6677", "a"),
    (NEGATION_CUE, "#EE6677", "x"),
    (PERMISSION_CUE, "#EE8866", "l"),
)

_RELATION_TYPES = (
    # name, allowed heads, allowed tails, key
    (IS_NEGATED, CONCEPTS, (NEGATION_CUE,), "1"),
    (IS_PERMITTED, CONCEPTS, (PERMISSION_CUE,), "2"),
    (MODIFIED_BY, CONCEPTS, (QUALIFIER,), "3"),
    (HAS_VALUE, (MEASUREMENT, DEMOGRAPHICS, OBSERVATION, DRUG, INVESTIGATIONAL_PRODUCT),
     (QUALIFIER,), "4"),
    (HAS_TEMPORAL_CONSTRAINT, CONCEPTS, (TEMPORAL_CONSTRAINT,), "5"),
    (IS_LOCATED, (CONDITION, REFRACTORY_CONDITION, OBSERVATION, PROCEDURE, DEVICE, EVENT,
                  MEASUREMENT), (ANATOMIC_LOCATION,), "6"),
    (SPECIFIED_BY, (*CONCEPTS, TEMPORAL_CONSTRAINT), CONCEPTS, "7"),
)

DEFAULT_SCHEMA = Schema(
    entity_types=[EntityType(name, color, key) for name, color, key in _ENTITY_TYPES],
    relation_types=[RelationType(name, heads, tails) for name, heads, tails, _ in _RELATION_TYPES],
)

RELATION_KEYS = {name: key for name, _, _, key in _RELATION_TYPES}


def default_schema() -> Schema:
    """A fresh copy of ``DEFAULT_SCHEMA``, safe to extend or edit."""
    return copy.deepcopy(DEFAULT_SCHEMA)


# --- Chia (Kury et al. 2020): the types its brat files use -----------------------------------
# Entity types: the annotation.conf's concepts and annotation types (its "error" types, which
# are not concepts, are left out; an import adds them if a file uses them). Relation types: the
# twelve of the paper, allowed between any types as in Chia's own annotation.conf.
_CHIA_ENTITY_TYPES = (
    ("Condition", "c"), ("Drug", "d"), ("Procedure", "r"), ("Device", "v"), ("Measurement", "m"),
    ("Observation", "o"), ("Person", "g"), ("Visit", "i"), ("Scope", "b"), ("Temporal", "t"),
    ("Value", "u"), ("Qualifier", "q"), ("Negation", "x"), ("Multiplier", "y"),
    ("Reference_point", "f"), ("Line", "w"), ("Mood", "a"),
)
_CHIA_RELATION_TYPES = (
    ("Has_negation", "1"), ("Has_value", "2"), ("Has_qualifier", "3"), ("Has_temporal", "4"),
    ("Has_multiplier", "5"), ("Has_mood", "6"), ("Has_index", "7"), ("Has_scope", "8"),
    ("Has_context", "9"), ("Subsumes", "0"), ("AND", "e"), ("OR", "h"),
)
CHIA_SCHEMA = Schema(
    entity_types=[EntityType(name, "", key) for name, key in _CHIA_ENTITY_TYPES],
    relation_types=[RelationType(name) for name, _ in _CHIA_RELATION_TYPES],
    attribute_types=["Optional"],
)


@dataclass(frozen=True)
class Preset:
    label: str
    schema: Schema
    relation_keys: dict


#: the schemas a new project can start from (the project page, the API's ``preset``)
PRESETS = {
    "eligibility": Preset("Eligo eligibility criteria (15 entity, 7 relation types)",
                          DEFAULT_SCHEMA, RELATION_KEYS),
    "chia": Preset("Chia (17 entity, 12 relation types)", CHIA_SCHEMA,
                   {name: key for name, key in _CHIA_RELATION_TYPES}),
    "empty": Preset("Empty (types come from a conf upload, the schema page or imports)", Schema(), {}),
}


def preset_schema(name: str) -> tuple[Schema, dict[str, str]]:
    """A fresh copy of preset ``name``'s schema and its relation keys (KeyError if unknown)."""
    preset = PRESETS[name]
    return copy.deepcopy(preset.schema), dict(preset.relation_keys)
