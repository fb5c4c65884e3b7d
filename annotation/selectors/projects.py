"""Reads on projects: the label schema and the projects a user may open (access rules: ``annotation.access``)."""
from __future__ import annotations

from django.db.models import QuerySet

from annotation.models import Membership, Project, RelationType
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
