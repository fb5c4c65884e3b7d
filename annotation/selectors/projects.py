"""Reads on projects: the label schema and the projects a user may open (access rules: ``annotation.access``)."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from annotation.models import Membership, Project, RelationType
from annotation.schema_keys import PALETTE, hex_colour, key_choose
from mlcore.corpus.model import EntityType as EntityTypeSpec
from mlcore.corpus.model import EventType as EventTypeSpec
from mlcore.corpus.model import RelationType as RelationTypeSpec
from mlcore.corpus.model import Schema


def project_schema(*, project: Project) -> Schema:
    """The project's label schema as the framework-free dataclass (three queries)."""
    entity_types = list(project.entity_types.all())
    names = {t.pk: t.name for t in entity_types}
    relation_types = RelationType.objects.filter(project=project).prefetch_related("heads", "tails")
    return Schema(
        entity_types=[EntityTypeSpec(t.name, t.color, t.key) for t in entity_types],
        relation_types=[
            RelationTypeSpec(
                t.name,
                tuple(names[h.pk] for h in t.heads.all()),
                tuple(names[h.pk] for h in t.tails.all()),
                t.head_role,
                t.tail_role,
            )
            for t in relation_types
        ],
        attribute_types=list(project.attribute_types),
        group_types=list(project.group_types),
        event_types=[EventTypeSpec(t["name"], tuple((role, tuple(types)) for role, types in t["arguments"]))
                     for t in project.event_types],
        attribute_values={k: list(v) for k, v in project.attribute_values.items()},
        attribute_args=dict(project.attribute_args),
    )


@dataclass
class SchemaAdditions:
    """The types applying a schema would add to a project, with the keys and colours they
    would get: what an import previews before it asks, and what ``project_schema_apply`` writes."""

    entity_types: list[EntityTypeSpec] = field(default_factory=list)
    relation_types: list[tuple[RelationTypeSpec, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.entity_types or self.relation_types)

    def as_list(self) -> list[dict]:
        """``[{"kind", "name", "key", "color"}]``, entity types first (for pages, API, CLI)."""
        return ([{"kind": "entity", "name": t.name, "key": t.key, "color": t.color}
                 for t in self.entity_types]
                + [{"kind": "relation", "name": t.name, "key": key, "color": ""}
                   for t, key in self.relation_types])


def project_keys_used(*, project: Project, except_entity_type: int | None = None,
                      except_relation_type: int | None = None) -> set[str]:
    """Every key the project's entity and relation types hold (one namespace, see schema_keys),
    leaving out the type being edited."""
    entity = project.entity_types.exclude(pk=except_entity_type).values_list("key", flat=True)
    relation = project.relation_types.exclude(pk=except_relation_type).values_list("key", flat=True)
    return {k for k in (*entity, *relation) if k}


def project_schema_additions(*, project: Project, schema: Schema,
                             relation_keys: dict[str, str] | None = None) -> SchemaAdditions:
    """What ``schema`` would add to ``project``: the types it lacks (a relation's undeclared
    head or tail types included), each with its colour (the schema's, else the first palette
    colour no type has) and its key (the schema's when free across entity *and* relation
    types, else the next free one: ``schema_keys.key_choose``). Existing types never change."""
    existing = list(project.entity_types.values_list("name", "color"))
    entity_names = {name for name, _ in existing}
    colours = [color.upper() for _, color in existing]
    relation_names = set(project.relation_types.values_list("name", flat=True))
    used = project_keys_used(project=project)
    wanted = list(schema.entity_types) + [
        EntityTypeSpec(name) for t in schema.relation_types for name in (*t.heads, *t.tails)]
    additions = SchemaAdditions()
    for spec in wanted:
        if spec.name in entity_names:
            continue
        entity_names.add(spec.name)
        color = hex_colour(spec.color) or _next_colour(colours)
        colours.append(color.upper())
        additions.entity_types.append(EntityTypeSpec(spec.name, color, key_choose(spec.key, used)))
    for spec in schema.relation_types:
        if spec.name not in relation_names:
            relation_names.add(spec.name)
            key = key_choose((relation_keys or {}).get(spec.name, ""), used, relation=True)
            additions.relation_types.append((spec, key))
    return additions


def _next_colour(used: list[str]) -> str:
    """The first palette colour no type has, else the one used least (the palette cycles)."""
    return min(PALETTE, key=lambda colour: (used.count(colour.upper()), PALETTE.index(colour)))


def project_get(*, name: str) -> Project | None:
    """The project called ``name``, if any: for the management commands, which act with every
    right (pages and the API look projects up for a user: ``annotation.access``)."""
    return Project.objects.filter(name=name).first()


def projects_for_user(*, user) -> QuerySet[Project]:
    """The projects the user may open (every project for a superuser), by name."""
    if not getattr(user, "is_authenticated", False):
        return Project.objects.none()
    projects = Project.objects.all() if user.is_superuser else Project.objects.filter(memberships__user=user)
    return projects.order_by("name")


def project_members(*, project: Project) -> QuerySet[Membership]:
    """The project's memberships with their users, by user name."""
    return project.memberships.select_related("user").order_by("user__username")
