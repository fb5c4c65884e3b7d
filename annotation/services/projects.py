"""Writes on projects: creation, label schema, memberships."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from annotation.models import EntityType, Membership, NewTypes, Project, RelationType, Role
from annotation.schema_keys import PALETTE  # noqa: F401 - re-exported for callers and tests
from annotation.schema_keys import colour_problem, hex_colour, key_problem
from annotation.selectors.projects import project_keys_used, project_schema_additions
from mlcore.corpus.model import EntityType as EntityTypeSpec
from mlcore.corpus.model import RelationType as RelationTypeSpec
from mlcore.corpus.model import Schema


class StaleSchema(Exception):
    """The project's schema changed since the client read it."""

    def __init__(self, expected: int | None):
        super().__init__(f"The schema was changed by someone else meanwhile (it is no longer at "
                         f"version {expected}); reload the page and redo the change.")
        self.expected = expected


def project_create(
    *, name: str, schema: Schema | None = None, title: str = "", created_by=None,
    relation_keys: dict[str, str] | None = None, new_types: str = NewTypes.ASK,
) -> Project:
    """Create a project with ``schema`` (default: the preset schema); the creator becomes manager.

    ``relation_keys`` (name -> key) are the keys a preset gives its relation types.
    """
    if schema is None:
        from annotation.schema_presets import DEFAULT_SCHEMA, RELATION_KEYS

        schema, relation_keys = DEFAULT_SCHEMA, RELATION_KEYS
    with transaction.atomic():
        project = Project.objects.create(name=name, title=title or name, new_types=new_types)
        project_schema_apply(project=project, schema=schema, relation_keys=relation_keys)
        if created_by is not None:
            membership_set(project=project, user=created_by, role=Role.MANAGER)
    return project


def project_update(*, project: Project, title: str, description: str, new_types: str) -> Project:
    """Change a project's settings (its title, description and policy for new types)."""
    if new_types not in NewTypes.values:
        raise ValidationError(f"Unknown policy for new types {new_types!r}.")
    project.title, project.description, project.new_types = title or project.name, description, new_types
    project.save(update_fields=["title", "description", "new_types"])
    return project


@transaction.atomic
def project_schema_apply(
    *, project: Project, schema: Schema, relation_keys: dict[str, str] | None = None,
    expected_version: int | None = None,
) -> dict:
    """Add the types of ``schema`` that ``project`` lacks; existing types are left untouched.

    Keys and colours are chosen by ``selectors.projects.project_schema_additions`` (the one
    key rule, ``annotation.schema_keys``). Returns how many entity and relation types were
    added, and ``added``: each new type with its key and colour. ``expected_version``: the
    schema version the caller previewed (``StaleSchema`` if it moved on).

    The project row is locked first, and the types are read after it: of two concurrent
    callers adding the same type (two imports, two API calls) the second sees the first's
    types and adds none, instead of failing on the unique name (PostgreSQL), and neither
    loses the other's attribute, group or event types.
    """
    project_schema_lock(project=project, expected_version=expected_version)
    project.refresh_from_db(fields=["attribute_types", "group_types", "event_types",
                                    "attribute_values", "attribute_args", "schema_version"])
    additions = project_schema_additions(project=project, schema=schema, relation_keys=relation_keys)
    order = max(project.entity_types.values_list("order", flat=True), default=-1) + 1
    EntityType.objects.bulk_create([
        EntityType(project=project, name=t.name, color=t.color, key=t.key, order=order + i)
        for i, t in enumerate(additions.entity_types)])
    _relation_types_create(project, additions.relation_types)
    _merge_json_lists(project, schema)
    if additions:
        project_schema_version_bump(project=project)
    return {"entity_types": len(additions.entity_types),
            "relation_types": len(additions.relation_types), "added": additions.as_list()}


def _relation_types_create(project: Project, relation_types) -> None:
    entity_types = dict(project.entity_types.values_list("name", "pk"))
    order = max(project.relation_types.values_list("order", flat=True), default=-1) + 1
    created = RelationType.objects.bulk_create([
        RelationType(project=project, name=spec.name, key=key, order=order + i,
                     head_role=spec.head_role, tail_role=spec.tail_role)
        for i, (spec, key) in enumerate(relation_types)])
    # a type named twice in one brat argument list (real configurations do) counts once
    RelationType.heads.through.objects.bulk_create([
        RelationType.heads.through(relationtype_id=r.pk, entitytype_id=entity_types[name])
        for r, (spec, _) in zip(created, relation_types) for name in dict.fromkeys(spec.heads)])
    RelationType.tails.through.objects.bulk_create([
        RelationType.tails.through(relationtype_id=r.pk, entitytype_id=entity_types[name])
        for r, (spec, _) in zip(created, relation_types) for name in dict.fromkeys(spec.tails)])


def project_schema_version_bump(*, project: Project, expected_version: int | None = None) -> None:
    """Move the project's schema to its next version: the optimistic lock of schema edits.

    Raises ``StaleSchema`` when ``expected_version`` is given and is not the current one.
    """
    updated = Project.objects.filter(pk=project.pk)
    if expected_version is not None:
        updated = updated.filter(schema_version=expected_version)
    if not updated.update(schema_version=F("schema_version") + 1):
        raise StaleSchema(expected_version)
    project.refresh_from_db(fields=["schema_version"])


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


# --- schema edits: one type at a time, under the schema's optimistic lock --------------------


@transaction.atomic
def entity_type_create(*, project: Project, name: str, color: str = "", key: str = "",
                       expected_version: int | None = None) -> EntityType:
    """Add an entity type; a blank colour or key gets the next free one (the key rule)."""
    project_schema_lock(project=project, expected_version=expected_version)
    name = _type_name_checked(project, EntityType, name)
    if color and colour_problem(color):
        raise ValidationError(colour_problem(color))
    spec = EntityTypeSpec(name, color, _key_checked(project, key))
    project_schema_apply(project=project, schema=Schema(entity_types=[spec]),
                         expected_version=expected_version)
    return project.entity_types.get(name=name)


@transaction.atomic
def relation_type_create(*, project: Project, name: str, key: str = "", heads=(), tails=(),
                         expected_version: int | None = None) -> RelationType:
    """Add a relation type between the given entity types (none: any type)."""
    project_schema_lock(project=project, expected_version=expected_version)
    name = _type_name_checked(project, RelationType, name)
    spec = RelationTypeSpec(name, _type_names_of(project, heads), _type_names_of(project, tails))
    project_schema_apply(project=project, schema=Schema(relation_types=[spec]),
                         relation_keys={name: _key_checked(project, key)},
                         expected_version=expected_version)
    return project.relation_types.get(name=name)


@transaction.atomic
def entity_type_update(*, entity_type: EntityType, name: str, color: str, key: str,
                       expected_version: int | None = None) -> EntityType:
    """Rename an entity type, change its colour or key (unique across all the project's types)."""
    project = entity_type.project
    project_schema_lock(project=project, expected_version=expected_version)
    entity_type.name = _type_name_checked(project, EntityType, name, own=entity_type.pk)
    entity_type.key = _key_checked(project, key, except_entity_type=entity_type.pk)
    if colour_problem(color):
        raise ValidationError(colour_problem(color))
    entity_type.color = hex_colour(color)
    entity_type.save(update_fields=["name", "key", "color"])
    project_schema_version_bump(project=project)
    return entity_type


@transaction.atomic
def relation_type_update(*, relation_type: RelationType, name: str, key: str, heads, tails,
                         expected_version: int | None = None) -> RelationType:
    """Rename a relation type, change its key or the entity types allowed as its head and tail
    (none: any type). Existing relations are kept (a changed rule applies to new edits)."""
    project = relation_type.project
    project_schema_lock(project=project, expected_version=expected_version)
    relation_type.name = _type_name_checked(project, RelationType, name, own=relation_type.pk)
    relation_type.key = _key_checked(project, key, except_relation_type=relation_type.pk)
    head_types, tail_types = _types_of(project, heads), _types_of(project, tails)
    relation_type.save(update_fields=["name", "key"])
    relation_type.heads.set(head_types)
    relation_type.tails.set(tail_types)
    project_schema_version_bump(project=project)
    return relation_type


def project_schema_lock(*, project: Project, expected_version: int | None) -> None:
    """Lock the project row; ``StaleSchema`` if its schema moved past ``expected_version``."""
    current = Project.objects.select_for_update().filter(pk=project.pk).values_list(
        "schema_version", flat=True).get()
    if expected_version is not None and current != expected_version:
        raise StaleSchema(expected_version)


def _type_name_checked(project: Project, model, name: str, own: int | None = None) -> str:
    name = (name or "").strip()
    kind = "entity" if model is EntityType else "relation"
    if not name:
        raise ValidationError(f"An {kind} type needs a name.")
    if len(name) > 100 or any(c in name for c in "\t\n\r"):
        raise ValidationError(f"The {kind} type name {name[:40]!r} must be one line of at most 100 characters.")
    if model.objects.filter(project=project, name=name).exclude(pk=own).exists():
        raise ValidationError(f"There is already an {kind} type called {name!r}.")
    return name


def _key_checked(project: Project, key: str, **leaving_out) -> str:
    """``key`` when the key rule allows it (``schema_keys.key_problem``), else a ValidationError."""
    key = key or ""
    problem = key_problem(key, project_keys_used(project=project, **leaving_out))
    if problem:
        raise ValidationError(problem)
    return key


def _types_of(project: Project, ids) -> list[EntityType]:
    ids = {int(i) for i in ids}
    found = list(project.entity_types.filter(pk__in=ids))
    if len(found) != len(ids):
        raise ValidationError("An allowed head or tail type is not an entity type of this project.")
    return found


def _type_names_of(project: Project, ids) -> tuple[str, ...]:
    return tuple(t.name for t in _types_of(project, ids))


# --- members ----------------------------------------------------------------------------------


@transaction.atomic
def membership_set(*, project: Project, user, role: str) -> Membership:
    """Give ``user`` ``role`` on ``project`` (creating or changing the membership); a project
    keeps at least one manager."""
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    if role != Role.MANAGER:
        _last_manager_check(project, user, "cannot lose the manager role")
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def membership_remove(*, project: Project, user) -> bool:
    """Remove ``user`` from ``project``; returns whether a membership existed. The last
    manager cannot be removed."""
    _last_manager_check(project, user, "cannot be removed")
    deleted, _ = Membership.objects.filter(project=project, user=user).delete()
    return bool(deleted)


def _last_manager_check(project: Project, user, what: str) -> None:
    """ValidationError when ``user`` is the project's only manager (rows locked, so two
    managers demoting each other at once cannot leave none)."""
    managers = list(Membership.objects.select_for_update().filter(
        project=project, role=Role.MANAGER).values_list("user_id", flat=True))
    if managers == [user.pk]:
        raise ValidationError(f"{user.username} is the project's only manager and {what}; "
                              f"make someone else manager first.")


@transaction.atomic
def project_delete(*, project: Project) -> None:
    """Delete a project and everything in it.

    Documents go first: an entity PROTECTs its type, so a plain ``project.delete()``
    of a project holding annotations is refused by Django's collector.
    """
    project.documents.all().delete()
    project.delete()
