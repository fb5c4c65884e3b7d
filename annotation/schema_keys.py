"""The rule for type shortcut keys and colours, once: presets, conf uploads, schema edits and
imports all choose and check keys here.

A key is one character, not one of the annotation view's command keys, and unique across
*all* the project's entity and relation types, ignoring case (the view matches keys without
case: ``N`` would be ``n``, "next"): the view reads a key as a relation only while
two entities are selected and as an entity type otherwise, so a digit shared by a relation and
an entity type silently creates the entity (the bug of issue 14: a brat import gave ``1`` to
an entity type while the help still said ``1`` is "is negated").
"""
from __future__ import annotations

import re

# Okabe-Ito followed by Paul Tol's "muted" scheme: distinguishable with the common colour
# vision deficiencies, on light and dark backgrounds alike.
PALETTE = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
    "#882255", "#AA4499", "#DDDDDD",
)
#: the annotation view's own commands (next, previous, skip, help, ...)
RESERVED_KEYS = frozenset("npszjk?")
_LETTERS = "abcdefghilmoqrtuvwxy"
_DIGITS = "1234567890"
#: the keys handed out, in order: entity types take letters first, relation types digits first
ENTITY_KEY_ORDER = _LETTERS + _DIGITS
RELATION_KEY_ORDER = _DIGITS + _LETTERS


def key_problem(key: str, used) -> str | None:
    """Why ``key`` cannot be a type's key given the keys ``used`` by the project's other
    types (entity and relation alike), or None when it can; the empty key (none) always can."""
    if key == "":
        return None
    if len(key) != 1 or key.isspace():
        return f"The key {key!r} must be a single character."
    if key.lower() in RESERVED_KEYS:
        return (f"The key {key!r} is reserved for the annotation view's commands "
                f"({' '.join(sorted(RESERVED_KEYS))}, in either case).")
    if key.lower() in {k.lower() for k in used}:
        return f"The key {key!r} is already used by another entity or relation type (keys ignore case)."
    return None


def key_choose(wanted: str, used: set[str], *, relation: bool = False) -> str:
    """``wanted`` when it is a usable key (:func:`key_problem`), else the next free one in the
    kind's order ("" when all are taken); the chosen key is added to ``used``."""
    if wanted and key_problem(wanted, used) is None:
        key = wanted
    else:
        taken = {k.lower() for k in used}
        order = RELATION_KEY_ORDER if relation else ENTITY_KEY_ORDER
        key = next((k for k in order if k not in taken), "")
    if key:
        used.add(key)
    return key


def hex_colour(colour: str) -> str:
    """``#rrggbb`` from ``#rrggbb`` or ``#rgb``; empty for anything else (e.g. brat's CSS names)."""
    if re.fullmatch(r"#[0-9a-fA-F]{6}", colour or ""):
        return colour
    if re.fullmatch(r"#[0-9a-fA-F]{3}", colour or ""):
        return "#" + "".join(c * 2 for c in colour[1:])
    return ""


def colour_problem(colour: str) -> str | None:
    """Why ``colour`` cannot be a type's colour, or None."""
    return None if hex_colour(colour) else f"The colour {colour!r} must be #rrggbb or #rgb."
