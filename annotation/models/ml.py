"""The active-learning loop's data: training runs, model versions and model suggestions.

Suggestions (``PredictedEntity``/``PredictedRelation``) live apart from the human
annotations (``Entity``/``Relation``): a model never writes human work. Accepting a
suggestion creates a human annotation with ``source="model"`` and links it back here.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from .corpus import Entity, EntityType, Project, Relation, RelationType, Sentence

__all__ = [
    "TrainingRunStatus", "ACTIVE_RUN_STATUSES", "TrainingRun", "ModelVersion", "SuggestionStatus",
    "PredictedEntity", "PredictedRelation", "SentenceScore",
]


class TrainingRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    LOST = "lost", "Lost (worker stopped)"


ACTIVE_RUN_STATUSES = (TrainingRunStatus.QUEUED, TrainingRunStatus.RUNNING)


class TrainingRun(models.Model):
    """One press of Retrain: its options, live progress (written by the worker) and outcome."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="training_runs")
    status = models.CharField(
        max_length=20, choices=TrainingRunStatus.choices, default=TrainingRunStatus.QUEUED
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    options = models.JSONField(default=dict, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # live progress
    phase = models.CharField(max_length=40, blank=True)
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    examples_per_s = models.FloatField(null=True, blank=True)
    eta_s = models.FloatField(null=True, blank=True)
    # the data snapshot and the outcome
    train_size = models.PositiveIntegerField(default=0)
    dev_size = models.PositiveIntegerField(default=0)
    data_hash = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # the database, not the view, guarantees one queued-or-running run per project
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_training_run_per_project",
            )
        ]

    def __str__(self):
        return f"run {self.pk} of {self.project} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    @property
    def percent(self) -> int:
        if not self.total_steps:
            return 100 if self.status == TrainingRunStatus.SUCCEEDED else 0
        return min(100, round(100 * self.step / self.total_steps))


class ModelVersion(models.Model):
    """A trained checkpoint (v1, v2, ... per project), created only after a run succeeded."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    number = models.PositiveIntegerField()
    run = models.OneToOneField(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    checkpoint_dir = models.CharField(max_length=500)
    options = models.JSONField(default=dict, blank=True)
    dev_metrics = models.JSONField(default=dict, blank=True)
    train_size = models.PositiveIntegerField(default=0)
    dev_size = models.PositiveIntegerField(default=0)
    data_hash = models.CharField(max_length=64, blank=True)
    duration_s = models.FloatField(default=0)
    device = models.CharField(max_length=40, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="unique_model_version_number"),
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_active=True), name="one_active_model_version"
            ),
        ]

    def __str__(self):
        return f"{self.project} v{self.number}"

    @property
    def label(self) -> str:
        return f"model v{self.number}"


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


def confidence_of(prediction) -> float:
    """A suggestion's calibrated confidence, or its probability where there is none."""
    calibrated = prediction.calibrated_confidence
    return prediction.probability if calibrated is None else calibrated


class PredictedEntity(models.Model):
    """A model's entity suggestion on a sentence, in document offsets like ``Entity``."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="predicted_entities"
    )
    sentence = models.ForeignKey(Sentence, on_delete=models.CASCADE, related_name="predicted_entities")
    type = models.ForeignKey(EntityType, on_delete=models.CASCADE, related_name="+")
    fragments = models.JSONField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    probability = models.FloatField()
    # the probability under the model's temperature (mlcore.calibration); None: not calibrated
    calibrated_confidence = models.FloatField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING
    )
    entity = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggestions"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["start", "-end", "id"]
        indexes = [models.Index(fields=["sentence", "model_version", "status"])]

    def __str__(self):
        return f"{self.type.name} [{self.start}, {self.end}) p={self.probability:.2f}"

    @property
    def confidence(self) -> float:
        """What the expert sees and the display threshold compares: calibrated if it can be."""
        return confidence_of(self)


class PredictedRelation(models.Model):
    """A model's relation suggestion between two entity suggestions of the same sentence."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="predicted_relations"
    )
    sentence = models.ForeignKey(
        Sentence, on_delete=models.CASCADE, related_name="predicted_relations"
    )
    type = models.ForeignKey(RelationType, on_delete=models.CASCADE, related_name="+")
    head = models.ForeignKey(PredictedEntity, on_delete=models.CASCADE, related_name="outgoing")
    tail = models.ForeignKey(PredictedEntity, on_delete=models.CASCADE, related_name="incoming")
    probability = models.FloatField()
    # the probability under the model's temperature (mlcore.calibration); None: not calibrated
    calibrated_confidence = models.FloatField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING
    )
    relation = models.ForeignKey(
        Relation, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggestions"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["sentence", "model_version", "status"])]

    def __str__(self):
        return f"{self.head_id} -{self.type.name}-> {self.tail_id} p={self.probability:.2f}"

    @property
    def confidence(self) -> float:
        return confidence_of(self)


class SentenceScore(models.Model):
    """A sentence's uncertainty under one model version; ``score`` orders the review queue."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    sentence = models.ForeignKey(Sentence, on_delete=models.CASCADE, related_name="scores")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="scores")
    scores = models.JSONField(default=dict)
    score = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "sentence_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sentence", "model_version"], name="unique_sentence_score"
            )
        ]
        indexes = [models.Index(fields=["project", "model_version", "score"], name="review_queue_idx")]
