"""Reads of the audit trail."""
from __future__ import annotations

from django.db.models import QuerySet

from annotation.models import AuditEvent, Project


def audit_events_for_project(*, project: Project, sentence_id: int | None = None,
                             username: str = "", action: str = "") -> QuerySet[AuditEvent]:
    """The project's audit events (newest first, the model's order) with their user, filtered
    by sentence, by the acting user's name and by action when given."""
    events = AuditEvent.objects.filter(project=project).select_related("user")
    if sentence_id is not None:
        events = events.filter(sentence_id=sentence_id)
    if username:
        events = events.filter(user__username=username)
    if action:
        events = events.filter(action=action)
    return events
