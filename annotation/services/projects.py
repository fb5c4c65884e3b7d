"""Writes on projects: creation, label schema, memberships."""
from __future__ import annotations

import re

from django.db import transaction

from annotation.models import EntityType, Membership, Project, RelationType, Role
from mlcore.corpus.model import EntityType as EntityTypeSpec
from mlcore.corpus.model import Schema

# Okabe-Ito followed by Paul Tol's "muted" scheme: distinguishable with the common colour
# vision deficiencies, on light and dark backgrounds alike.
PALETTE = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
    "#882255", "#AA4499", "#DDDDDD",
)
# One-character shortcuts; n, p, s, z, j, k and ? are reserved for the annotation UI's commands.
FREE_KEYS = "abcdefghilmoqrtuvwxy0123456789"
RESERVED_KEYS = set("npszjk?")


def project_create(
    *, name: str, schema: Schema | None = None, title: str = "", created_by=None
) -> Project:
    """Create a project with ``schema`` (default: the preset schema); the creator becomes manager."""
    relation_keys = None
    if schema is None:
        from annotation.schema_presets import DEFAULT_SCHEMA, RELATION_KEYS

        schema, relation_keys = DEFAULT_SCHEMA, RELATION_KEYS
    with transaction.atomic():
        project = Project.objects.create(name=name, title=title or name)
        project_schema_apply(project=project, schema=schema, relation_keys=relation_keys)
        if created_by is not None:
            membership_set(project=project, user=created_by, role=Role.MANAGER)
    return project


def _usable_key(key: str, used: set[str]) -> bool:
    return len(key) == 1 and key not in used and key not in RESERVED_KEYS


def _hex_colour(colour: str) -> str:
    """``#rrggbb`` from ``#rrggbb`` or ``#rgb``; empty for anything else (e.g. brat's CSS names)."""
    if re.fullmatch(r"#[0-9a-fA-F]{6}", colour or ""):
        return colour
    if re.fullmatch(r"#[0-9a-fA-F]{3}", colour or ""):
        return "#" + "".join(c * 2 for c in colour[1:])
    return ""


def _next_free(used: set[str], pool) -> str:
    for item in pool:
        if item not in used:
            used.add(item)
            return item
    return ""


@transaction.atomic
def project_schema_apply(
    *, project: Project, schema: Schema, relation_keys: dict[str, str] | None = None
) -> dict[str, int]:
    """Add the types of ``schema`` that ``project`` lacks; existing types are left untouched.

    New entity types keep the schema's colour and key when given and free; otherwise they
    get the next palette colour and the next unused key (none when the keys run out).
    Returns how many entity and relation types were added.

    The project row is locked first, and the types are read after it: of two concurrent
    callers adding the same type (two imports, two API calls) the second sees the first's
    types and adds none, instead of failing on the unique name (PostgreSQL), and neither
    loses the other's attribute, group or event types.
    """
    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk").get()
    project.refresh_from_db(fields=["attribute_types", "group_types", "event_types",
                                    "attribute_values", "attribute_args"])
    entity_types = {t.name: t for t in project.entity_types.all()}
    used_keys = {t.key for t in entity_types.values() if t.key}
    order = max((t.order for t in entity_types.values()), default=-1) + 1
    new_entities = []
    for spec in schema.entity_types:
        if spec.name in entity_types:
            continue
        key = spec.key if _usable_key(spec.key, used_keys) else _next_free(used_keys, FREE_KEYS)
        used_keys.add(key)
        color = _hex_colour(spec.color) or PALETTE[order % len(PALETTE)]
        entity_type = EntityType(project=project, name=spec.name, color=color, key=key, order=order)
        order += 1
        entity_types[spec.name] = entity_type
        new_entities.append(entity_type)
    EntityType.objects.bulk_create(new_entities)
    added_relations = _relation_types_apply(project, schema, entity_types, relation_keys or {})
    _merge_json_lists(project, schema)
    return {"entity_types": len(new_entities), "relation_types": added_relations}


def _relation_types_apply(project, schema, entity_types, relation_keys) -> int:
    existing = {t.name: t for t in project.relation_types.all()}
    used_keys = {t.key for t in existing.values() if t.key}
    order = max((t.order for t in existing.values()), default=-1) + 1
    added = []
    for spec in schema.relation_types:
        if spec.name in existing:
            continue
        wanted = relation_keys.get(spec.name, "")
        key = wanted if _usable_key(wanted, used_keys) else _next_free(used_keys, FREE_KEYS)
        used_keys.add(key)
        relation_type = RelationType(project=project, name=spec.name, key=key, order=order,
                                     head_role=spec.head_role, tail_role=spec.tail_role)
        order += 1
        existing[spec.name] = relation_type
        added.append((relation_type, spec))
    RelationType.objects.bulk_create([r for r, _ in added])
    heads, tails = [], []
    for relation_type, spec in added:
        # a type named twice in one brat argument list (real configurations do) counts once
        heads += [RelationType.heads.through(relationtype_id=relation_type.pk,
                                             entitytype_id=_type_for(project, entity_types, n).pk)
                  for n in dict.fromkeys(spec.heads)]
        tails += [RelationType.tails.through(relationtype_id=relation_type.pk,
                                             entitytype_id=_type_for(project, entity_types, n).pk)
                  for n in dict.fromkeys(spec.tails)]
    RelationType.heads.through.objects.bulk_create(heads)
    RelationType.tails.through.objects.bulk_create(tails)
    return len(added)


def _type_for(project, entity_types: dict, name: str) -> EntityType:
    """A relation's allowed head/tail type, created when the schema did not declare it."""
    if name not in entity_types:
        project_schema_apply(project=project, schema=Schema(entity_types=[EntityTypeSpec(name)]))
        entity_types[name] = project.entity_types.get(name=name)
    return entity_types[name]


def _merge_json_lists(project: Project, schema: Schema) -> None:
    """Attribute, group and event types kept on the project: the new ones are added, and a
    valued attribute gains the values it lacks; nothing known is changed."""
    attributes = list(dict.fromkeys([*project.attribute_types, *schema.attribute_types]))
    groups = list(dict.fromkeys([*project.group_types, *schema.group_types]))
    known_events = {t["name"] for t in project.event_types}
    events = list(project.event_types) + [
        {"name": t.name, "arguments": [[role, list(types)] for role, types in t.arguments]}
        for t in {t.name: t for t in schema.event_types}.values() if t.name not in known_events
    ]
    values = {name: list(v) for name, v in project.attribute_values.items()}
    for name, more in schema.attribute_values.items():
        values[name] = list(dict.fromkeys([*values.get(name, []), *more]))
    args = {**schema.attribute_args, **project.attribute_args}
    changed = {field: value for field, value in (
        ("attribute_types", attributes), ("group_types", groups), ("event_types", events),
        ("attribute_values", values), ("attribute_args", args)) if value != getattr(project, field)}
    if changed:
        for field, value in changed.items():
            setattr(project, field, value)
        project.save(update_fields=list(changed))


def membership_set(*, project: Project, user, role: str) -> Membership:
    """Give ``user`` ``role`` on ``project`` (creating or changing the membership)."""
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership


def membership_remove(*, project: Project, user) -> bool:
    """Remove ``user`` from ``project``; returns whether a membership existed."""
    deleted, _ = Membership.objects.filter(project=project, user=user).delete()
    return bool(deleted)


@transaction.atomic
def project_delete(*, project: Project) -> None:
    """Delete a project and everything in it.

    Documents go first: an entity PROTECTs its type, so a plain ``project.delete()``
    of a project holding annotations is refused by Django's collector.
    """
    project.documents.all().delete()
    project.delete()
