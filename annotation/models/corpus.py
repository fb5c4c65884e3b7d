"""Eligo's data model.

The document is the unit of storage: entity fragments are character offsets into
``Document.text``; a ``Sentence`` is a view (``start``/``end``) over it, carrying the
annotation status and the optimistic-locking ``version``. An entity is attached to
the sentence holding its first fragment, so an entity crossing a sentence boundary
is still stored (and exported) whole.
"""
import random

from django.conf import settings
from django.db import models

QUEUE_KEY_LIMIT = 2_147_483_647  # keys are drawn from [0, 2**31 - 1)


def queue_key_new() -> int:
    """A new sentence's place in its project's seeded random order (``Sentence.queue_key``)."""
    return random.randrange(QUEUE_KEY_LIMIT)


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    MANAGER = "manager", "Manager"


ROLE_RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.MANAGER: 3}


class Source(models.TextChoices):
    IMPORTED = "imported", "Imported"
    HUMAN = "human", "Human"
    MODEL = "model", "Accepted from model"


class NewTypes(models.TextChoices):
    """What an import does with entity/relation types the project does not have yet."""

    ASK = "ask", "Show them and ask first"
    ADD = "add", "Add them (the report lists them)"
    REFUSE = "refuse", "Refuse the import"
class AnnotationMode(models.TextChoices):
    """How a project's annotators share the work (see ``annotation.selectors.layers``)."""

    SHARED = "shared", "Shared: everyone edits one layer"
    INDEPENDENT = "independent", "Independent: each annotator in their own layer, curated"


class Project(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    guidelines = models.TextField(blank=True, help_text="Markdown")
    attribute_types = models.JSONField(default=list, blank=True)
    group_types = models.JSONField(default=list, blank=True)
    # brat interoperability: event types [{"name", "arguments": [[role, [types]]]}], the values
    # of valued attributes {name: [values]} and what each attribute attaches to {name: "<EVENT>"}
    event_types = models.JSONField(default=list, blank=True)
    attribute_values = models.JSONField(default=dict, blank=True)
    attribute_args = models.JSONField(default=dict, blank=True)
    model_options = models.JSONField(default=dict, blank=True)
    new_types = models.CharField(
        max_length=10, choices=NewTypes.choices, default=NewTypes.ASK,
        help_text="what an import does with types the project lacks")
    schema_version = models.PositiveIntegerField(
        default=1, help_text="optimistic lock of schema edits, bumped by every schema change")
    # model suggestions below this calibrated confidence are not shown (they stay stored);
    # ``suggestion_threshold_auto``: it follows the active model's, chosen on its dev split
    suggestion_threshold = models.FloatField(default=0.0)
    suggestion_threshold_auto = models.BooleanField(default=True)
    annotation_mode = models.CharField(
        max_length=20, choices=AnnotationMode.choices, default=AnnotationMode.SHARED
    )
    annotators_per_document = models.PositiveSmallIntegerField(
        default=2, help_text="k: how many annotators each document gets in independent mode"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )

    def __str__(self):
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ANNOTATOR)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="unique_membership")
        ]

    def __str__(self):
        return f"{self.user} @ {self.project} ({self.role})"


class EntityType(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="entity_types")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#888888")
    key = models.CharField(max_length=1, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_entity_type")
        ]

    def __str__(self):
        return self.name


class RelationType(models.Model):
    """A directed relation type; empty ``heads``/``tails`` allow every entity type."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="relation_types")
    name = models.CharField(max_length=100)
    key = models.CharField(max_length=1, blank=True)
    heads = models.ManyToManyField(EntityType, blank=True, related_name="+")
    tails = models.ManyToManyField(EntityType, blank=True, related_name="+")
    head_role = models.CharField(max_length=100, default="Arg1", help_text="brat's name of the head argument")
    tail_role = models.CharField(max_length=100, default="Arg2", help_text="brat's name of the tail argument")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_relation_type")
        ]

    def __str__(self):
        return self.name


class Document(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=255)
    text = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_document_name")
        ]

    def __str__(self):
        return self.name


class SentenceStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    REVIEWED = "reviewed", "Reviewed"


class Sentence(models.Model):
    """One criterion: a view over its document's text, with status and a lock version."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sentences")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="sentences")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField()
    status = models.CharField(
        max_length=20, choices=SentenceStatus.choices, default=SentenceStatus.NEW
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Its place in the project's seeded random order, the queue's order before a model ranks
    #: it (``selectors.queue``): drawn at random once, stored and indexed, so "Annotate next"
    #: walks an index instead of computing a key for every open criterion on each request.
    queue_key = models.IntegerField(default=queue_key_new)
    #: Not a column: the layer this instance was read in, an annotator's id or ``None`` (the
    #: shared or curated layer). ``selectors.layers.sentence_in_layer`` sets it and puts that
    #: layer's ``status`` and ``version`` (a ``SentenceLayer``) on the instance; the annotation
    #: selectors and services then read and write that layer only. Such an instance is never
    #: ``save()``d (the services write with ``UPDATE``s).
    layer = None

    class Meta:
        ordering = ["document_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["document", "index"], name="unique_sentence_index")
        ]
        indexes = [models.Index(fields=["project", "status"]),
                   models.Index(fields=["project", "queue_key", "id"], name="sentence_queue_idx"),
                   # the project's reading order (previous/next, the first open one): with
                   # only the queue's index leading with the project, SQLite would walk that
                   # one and sort
                   models.Index(fields=["project", "document", "index"],
                                name="sentence_project_order_idx")]

    def __str__(self):
        return f"{self.document.name}#{self.index}"


class SentenceLayer(models.Model):
    """An annotator's own status and lock version of a sentence in independent mode.

    ``Sentence.status``/``version`` stay those of the shared (curated) layer; this row, made
    on the annotator's first write, holds the same for the annotator's layer.
    """

    sentence = models.ForeignKey(Sentence, on_delete=models.CASCADE, related_name="layers")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=SentenceStatus.choices, default=SentenceStatus.NEW
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sentence", "annotator"], name="unique_sentence_layer")
        ]
        indexes = [models.Index(fields=["annotator", "status"])]

    def __str__(self):
        return f"{self.sentence_id} @ {self.annotator_id} ({self.status})"


class Assignment(models.Model):
    """A document given to an annotator to annotate in their own layer (independent mode)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "annotator_id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "annotator"], name="unique_assignment")
        ]

    def __str__(self):
        return f"{self.document_id} -> {self.annotator_id}"


class Provenance(models.Model):
    """Who made an annotation, when, and how (imported, by hand, accepted from a model), and
    in which layer: ``annotator`` NULL is the shared layer (shared mode) or the curated layer
    (independent mode), otherwise that annotator's own layer."""

    source = models.CharField(max_length=20, choices=Source.choices, default=Source.HUMAN)
    source_detail = models.CharField(max_length=100, blank=True, help_text="e.g. model v3")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        abstract = True


class Entity(Provenance):
    """A typed span; ``fragments`` is a list of ``[start, end]`` document offsets."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="entities")
    sentence = models.ForeignKey(
        Sentence, null=True, blank=True, on_delete=models.SET_NULL, related_name="entities"
    )
    type = models.ForeignKey(EntityType, on_delete=models.PROTECT, related_name="entities")
    fragments = models.JSONField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()

    class Meta:
        ordering = ["start", "-end", "id"]
        indexes = [models.Index(fields=["document", "start"]),
                   models.Index(fields=["sentence", "annotator"])]
        verbose_name_plural = "entities"

    def __str__(self):
        return f"{self.type.name} {self.fragments}"


class Event(Provenance):
    """A brat event (``E`` line), kept so that a brat corpus goes out as it came in; the
    annotation view shows events read-only. Its trigger and its entity arguments cannot be
    deleted while the event exists (RESTRICT; deleting the document deletes both)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=100)
    trigger = models.ForeignKey(Entity, on_delete=models.RESTRICT, related_name="triggered_events")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["document", "annotator"])]

    def __str__(self):
        return f"{self.type} (trigger {self.trigger_id})"


class EventArgument(models.Model):
    """One ``Role:ID`` of an event, in file order: an entity or another event."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="arguments")
    position = models.PositiveIntegerField(default=0)
    role = models.CharField(max_length=100)
    entity = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.RESTRICT, related_name="event_arguments"
    )
    argument_event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="as_argument"
    )

    class Meta:
        ordering = ["event_id", "position"]


class Relation(Provenance):
    """A relation between two entities. brat lets a relation end at an event: ``head`` is
    then the event's trigger and ``head_event`` the event (likewise for the tail)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="relations")
    sentence = models.ForeignKey(
        Sentence, null=True, blank=True, on_delete=models.SET_NULL, related_name="relations"
    )
    type = models.ForeignKey(RelationType, on_delete=models.PROTECT, related_name="relations")
    head = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="outgoing")
    tail = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="incoming")
    head_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    tail_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["sentence", "annotator"])]

    def __str__(self):
        return f"{self.head_id} -{self.type.name}-> {self.tail_id}"


class Group(Provenance):
    """An equivalence group (brat ``*``), e.g. Chia's OR groups."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="groups")
    type = models.CharField(max_length=100)
    members = models.ManyToManyField(Entity, through="GroupMember", related_name="groups")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["document", "annotator"])]


class GroupMember(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE)
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]


class Attribute(Provenance):
    """A brat ``A`` line on an entity, a relation or an event; ``value`` empty for a binary flag."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="attributes")
    name = models.CharField(max_length=100)
    value = models.CharField(max_length=200, blank=True)
    entity = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="attributes"
    )
    relation = models.ForeignKey(
        Relation, null=True, blank=True, on_delete=models.CASCADE, related_name="attributes"
    )
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="attributes"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["document", "annotator"])]


class Note(Provenance):
    """A brat ``#`` line (AnnotatorNotes) on an entity, a relation or an event."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="notes")
    type = models.CharField(max_length=100, default="AnnotatorNotes")
    text = models.TextField()
    entity = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    relation = models.ForeignKey(
        Relation, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["document", "annotator"])]


class Normalization(Provenance):
    """A brat ``N`` line: the entity (or event) refers to ``reference`` in the knowledge base
    ``resource``, e.g. UMLS C0011849; ``text`` is the optional name it has there."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="normalizations")
    type = models.CharField(max_length=100, default="Reference")
    resource = models.CharField(max_length=100)
    reference = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    entity = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="normalizations"
    )
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="normalizations"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["document", "annotator"])]

    def __str__(self):
        return f"{self.resource}:{self.reference}"
