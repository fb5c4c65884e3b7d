"""Eligo's data model, one module per part: ``corpus`` (projects, documents, sentences and
the annotations on them), ``ml`` (model versions, training runs, suggestions, scores),
``queue`` (claims) and ``audit`` (the audit trail and import jobs). Import models from here."""
from .corpus import (  # noqa: F401
    AnnotationMode,
    Assignment,
    Attribute,
    Document,
    Entity,
    EntityType,
    Event,
    EventArgument,
    Group,
    GroupMember,
    Membership,
    NewTypes,
    Normalization,
    Note,
    Project,
    Provenance,
    queue_key_new,
    Relation,
    RelationType,
    Role,
    ROLE_RANK,
    Sentence,
    SentenceLayer,
    SentenceStatus,
    Source,
)
from .ml import (  # noqa: F401
    ACTIVE_RUN_STATUSES,
    ModelVersion,
    PredictedEntity,
    PredictedRelation,
    SentenceScore,
    SuggestionStatus,
    TrainingRun,
    TrainingRunStatus,
)
from .queue import Claim  # noqa: F401
from .audit import (  # noqa: F401
    AuditAction,
    AuditEvent,
    ImportJob,
    ImportJobStatus,
)
