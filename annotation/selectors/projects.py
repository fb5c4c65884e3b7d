"""Reads on projects: the label schema, roles and access checks."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from annotation.access import project_role, role_at_least
from annotation.models import Project, RelationType, Role
from mlcore.corpus.model import EntityType as EntityTypeSpec
from mlcore.corpus.model import EventType as EventTypeSpec
from mlcore.corpus.model import RelationType as RelationTypeSpec
from mlcore.corpus.model import Schema


def project_schema(project: Project) -> Schema:
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


def user_role(user, project: Project) -> Role | None:
    """The user's role on the project; superusers act as managers everywhere."""
    return project_role(user, project.pk)


def projects_for_user(user) -> QuerySet[Project]:
    """The projects the user may open (every project for a superuser), by name."""
    if not getattr(user, "is_authenticated", False):
        return Project.objects.none()
    projects = Project.objects.all() if user.is_superuser else Project.objects.filter(memberships__user=user)
    return projects.order_by("name")


def project_get_for_user(user, name_or_id, min_role: str = Role.ANNOTATOR) -> Project:
    """The project by name (or numeric id) if ``user`` holds at least ``min_role`` on it.

    Raises Http404 when the project does not exist or the user is not a member (so that
    non-members cannot learn which projects exist) and PermissionDenied when the member's
    role is too low.
    """
    project = Project.objects.filter(name=str(name_or_id)).first()
    if project is None and str(name_or_id).isdigit():
        project = Project.objects.filter(pk=int(name_or_id)).first()
    role = user_role(user, project) if project is not None else None
    if role is None:
        raise Http404("No such project.")
    if not role_at_least(role, min_role):
        raise PermissionDenied(f"This needs the {Role(min_role).label.lower()} role.")
    return project
