"""The audit trail (who created, changed, deleted, accepted or rejected which annotation, when)
and the import jobs of the REST API.

Rows are written by ``annotation.audit`` (signal receivers on the annotation models and
``audit_record`` for explicit events); nothing updates or deletes them from the app.
"""
from django.conf import settings
from django.db import models

from .corpus import Project, Sentence

__all__ = ["AuditAction", "AuditEvent", "ImportJobStatus", "ImportJob"]


class AuditAction(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    DELETED = "deleted", "Deleted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    IMPORTED = "imported", "Imported"
    EXPORTED = "exported", "Exported"


class AuditEvent(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="audit_events")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=40)
    object_id = models.BigIntegerField(null=True, blank=True)
    # no database constraint: the event keeps the sentence id after the sentence is deleted
    sentence = models.ForeignKey(
        Sentence, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="audit_project_time_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self):
        return f"{self.user} {self.action} {self.object_type} {self.object_id}"



class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    NEEDS_CONFIRMATION = "needs_confirmation", "Waiting for confirmation of new types"


class ImportJob(models.Model):
    """An uploaded corpus waiting for, or done with, its import (small ones run at once)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    format = models.CharField(max_length=20)
    # the user whose own layer the corpus goes into (independent mode); none: the shared layer
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255, help_text="the client's name, for display only")
    path = models.CharField(max_length=500, help_text="the saved upload under MEDIA_ROOT")
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=ImportJobStatus.choices,
                              default=ImportJobStatus.QUEUED)
    report = models.JSONField(default=dict, blank=True)
    new_types = models.CharField(max_length=10, default="ask",
                                 help_text="this import's policy for new types (annotation.models.NewTypes)")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"import {self.pk} into {self.project} ({self.status})"
