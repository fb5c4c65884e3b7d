"""Reads behind the project list, the dashboard and the document list."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from annotation.models import (
    Document,
    Entity,
    EntityType,
    Membership,
    Project,
    RelationType,
    Role,
    Sentence,
    SentenceStatus,
)

FINISHED = (SentenceStatus.DONE, SentenceStatus.REVIEWED)


def projects_with_progress(*, user) -> list[Project]:
    """The user's projects (every one for a superuser), each with ``role``, ``n_sentences``,
    ``n_finished`` and ``percent``."""
    memberships = {m.project_id: m.role for m in Membership.objects.filter(user_id=user.pk)}
    visible = Project.objects.all() if user.is_superuser else Project.objects.filter(pk__in=memberships)
    projects = list(
        visible
        .annotate(
            n_sentences=Count("sentences"),
            n_finished=Count("sentences", filter=Q(sentences__status__in=FINISHED)),
        )
        .order_by("name")
    )
    for project in projects:
        project.role = memberships.get(project.pk, Role.MANAGER)
        project.percent = round(100 * project.n_finished / project.n_sentences) if project.n_sentences else 0
    return projects


@dataclass
class Bar:
    label: str
    count: int
    color: str
    y: int
    width: float


def bar_chart(*, rows: list[tuple[str, int, str]], width: int = 320, row: int = 22) -> dict:
    """Geometry of a horizontal SVG bar chart of ``(label, count, colour)`` rows."""
    top = max((count for _, count, _ in rows), default=0) or 1
    bars = [
        Bar(label=label, count=count, color=color, y=i * row, width=round(width * count / top, 1))
        for i, (label, count, color) in enumerate(rows)
    ]
    return {"bars": bars, "height": max(len(rows) * row, row), "width": width, "row": row}


def project_dashboard(*, project: Project) -> dict:
    """Progress by status and annotator, annotation counts per type, members (6 queries).

    Sentences past "new" that no user touched (imported or demo data: ``updated_by`` is
    empty) are counted as ``unattributed``, so finished work never reads as nobody's.
    """
    by_status = dict(
        Sentence.objects.filter(project_id=project.pk)
        .values_list("status").annotate(n=Count("id")).order_by()
    )
    total = sum(by_status.values())
    statuses = [
        {"value": value, "label": label, "count": by_status.get(value, 0),
         "percent": round(100 * by_status.get(value, 0) / total, 1) if total else 0}
        for value, label in SentenceStatus.choices
    ]
    per_annotator = list(
        Sentence.objects.filter(project_id=project.pk)
        .filter(Q(updated_by__isnull=False) | ~Q(status=SentenceStatus.NEW))
        .values("updated_by__username")
        .annotate(
            touched=Count("id"),
            finished=Count("id", filter=Q(status__in=FINISHED)),
        )
        .order_by("-finished", "updated_by__username")
    )
    unattributed = next((row for row in per_annotator if row["updated_by__username"] is None), None)
    entity_types = EntityType.objects.filter(project_id=project.pk).annotate(
        n=Count("entities", filter=Q(entities__annotator__isnull=True)))
    relation_types = RelationType.objects.filter(project_id=project.pk).annotate(
        n=Count("relations", filter=Q(relations__annotator__isnull=True)))
    members = Membership.objects.filter(project_id=project.pk).select_related("user").order_by(
        "user__username")
    n_documents = Document.objects.filter(project_id=project.pk).count()
    return {
        "statuses": statuses,
        "total": total,
        "finished": sum(by_status.get(s, 0) for s in FINISHED),
        "per_annotator": [row for row in per_annotator if row is not unattributed],
        "unattributed": unattributed,
        "entity_chart": bar_chart(rows=[(t.name, t.n, t.color) for t in entity_types]),
        "relation_chart": bar_chart(rows=[(t.name, t.n, "#7a8699") for t in relation_types]),
        "members": list(members),
        "n_documents": n_documents,
    }


def document_list(*, project: Project, q: str = "", status: str = "", entity_type: str = "",
                  annotator: str = ""):
    """Documents of ``project`` matching the filters, with per-document progress counts.

    ``q`` is looked for in the name, the text and the trial's NCT id (``metadata["nct_id"]``,
    which need not be part of the name).
    """
    documents = Document.objects.filter(project_id=project.pk)
    if q:
        documents = documents.filter(Q(name__icontains=q) | Q(text__icontains=q)
                                     | Q(metadata__nct_id__icontains=q))
    sentences = Sentence.objects.filter(document_id=OuterRef("pk"))
    if status in SentenceStatus.values:
        documents = documents.filter(Exists(sentences.filter(status=status)))
    if entity_type.isdigit():
        documents = documents.filter(
            Exists(Entity.objects.filter(document_id=OuterRef("pk"), type_id=int(entity_type),
                                       annotator__isnull=True))
        )
    if annotator.isdigit():
        documents = documents.filter(Exists(sentences.filter(updated_by_id=int(annotator))))
    return (
        documents.annotate(
            n_sentences=Count("sentences"),
            n_finished=Count("sentences", filter=Q(sentences__status__in=FINISHED)),
        )
        .only("id", "name", "metadata")
        .order_by("name")
    )
