"""Annotation writes: entities, relations, sentence status, undo; and the optimistic lock.

Every write is guarded by optimistic locking (:func:`sentence_version_bump`, also used by
the suggestion services). The caller passes the sentence ``version`` the page was rendered
from; the write moves the sentence to the next version with one conditional
``UPDATE ... SET version = version + 1 WHERE id = .. AND version = expected`` and raises
:class:`StaleVersion` when no row matched, inside the same transaction as the write, so a
concurrent edit is refused instead of silently overwritten.

An action costs a handful of statements: it is checked against the sentence's annotations
as the caller read them (``SentenceAnnotations``, updated in place with what was written),
rows are written with ``bulk_create``, ``QuerySet.update`` and raw deletes (no per-row
signals, no delete collector; see ``services.dependents``), and the audit events of an
action are stored with one INSERT (``audit.audit_annotations``).

Undo works on steps: the caller takes
:func:`annotation.selectors.annotations.sentence_snapshot` before an action and turns it
into an ``undo_step`` after it (what changed; for a delete, plus the ``Dependents`` it
returns), and keeps it with the version the action produced; :func:`action_undo` puts the
rows back as they were if the sentence is still at that version (nobody changed it since).
"""
from __future__ import annotations

import contextvars
import functools
import re
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from annotation.access import sentence_review_authorize
from annotation.audit import audit_annotations, audit_record
from annotation.models import (
    AuditAction,
    Entity,
    EntityType,
    Normalization,
    Relation,
    RelationType,
    Sentence,
    SentenceStatus,
    Source,
)
from annotation.rows import instance_of, row_of, rows_insert
from annotation.selectors.annotations import (
    UNDO_FORMAT,
    RelationTypeRow,
    SentenceAnnotations,
    relation_type_rows,
    relation_types_allowed,
    relations_refusing_type,
    sentence_annotations,
)
from annotation.services.dependents import Dependents, annotations_delete, dependents_restore

_GAP = re.compile(r"\s*")
_in_action = contextvars.ContextVar("eligo_action_transaction", default=False)


class StaleVersion(Exception):
    """The sentence changed since the client read it."""

    def __init__(self, sentence_id: int, expected: int | None):
        super().__init__(f"Sentence {sentence_id} was changed by someone else meanwhile "
                         f"(it is no longer at version {expected}); reload it.")
        self.sentence_id = sentence_id
        self.expected = expected


def sentence_version_bump(*, sentence: Sentence, user, expected_version: int | None,
                          status: str | None = None) -> None:
    """Move ``sentence`` to its next version: the one optimistic lock of every annotation write.

    One conditional UPDATE checks the version, bumps it, records who and when, and sets
    ``status`` (by default a NEW sentence becomes IN_PROGRESS and any other keeps its status).
    It raises :class:`StaleVersion` when the sentence is no longer at ``expected_version``
    (``None``: any version, for callers holding none). Call it inside the write's transaction:
    its row lock orders concurrent writers. ``sentence`` follows (its version exactly when
    ``expected_version`` is given).
    """
    rows = Sentence.objects.filter(pk=sentence.pk)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    new_status = Value(status) if status else Case(
        When(status=SentenceStatus.NEW, then=Value(SentenceStatus.IN_PROGRESS)),
        default=F("status"))
    if rows.update(version=F("version") + 1, status=new_status, updated_by=user,
                   updated_at=timezone.now()) != 1:
        raise StaleVersion(sentence.pk, expected_version)
    sentence.version = (sentence.version if expected_version is None else expected_version) + 1
    if status or sentence.status == SentenceStatus.NEW:
        sentence.status = status or SentenceStatus.IN_PROGRESS
    sentence.updated_by = user


def sentence_lock(*, sentence_id: int, expected_version: int | None = None) -> Sentence:
    """Lock the sentence row until the transaction ends and return it as it is now; raise
    :class:`StaleVersion` unless it is still at ``expected_version`` (``None``: no check).

    For writes that must read under the lock before deciding what to write (the suggestion
    decisions): concurrent writers of the sentence wait here, or at the UPDATE of
    :func:`sentence_version_bump`, until this transaction ends. ``SELECT ... FOR UPDATE`` on
    PostgreSQL; SQLite has no row locks, but its write transactions (``BEGIN IMMEDIATE``, see
    settings) already run one at a time.
    """
    sentence = Sentence.objects.select_for_update().get(pk=sentence_id)
    if expected_version is not None and sentence.version != expected_version:
        raise StaleVersion(sentence_id, expected_version)
    return sentence


@contextmanager
def action_transaction():
    """One transaction for an annotation action and what its caller stores with it.

    The annotation view saves the undo stack (in the session) in the action's own
    transaction. The services called inside join it without a savepoint (two statements
    each), so an error raised inside leaves the whole block to be rolled back: handle
    ``StaleVersion`` and ``ValidationError`` outside the block.
    """
    token = _in_action.set(True)
    try:
        with transaction.atomic():
            yield
    finally:
        _in_action.reset(token)


def _atomic(function):
    """``transaction.atomic``, joining an :func:`action_transaction` without a savepoint."""
    @functools.wraps(function)
    def atomic(*args, **kwargs):
        with transaction.atomic(savepoint=not _in_action.get()):
            return function(*args, **kwargs)

    return atomic


def normalize_fragments(*, sentence: Sentence, fragments) -> list[list[int]]:
    """Validate ``[[start, end], ...]`` (document offsets) and return them sorted and merged.

    Fragments must lie inside the sentence and cover some text; overlapping ones
    and ones separated only by whitespace are merged into one.
    """
    try:
        pairs = sorted((int(s), int(e)) for s, e in fragments)
    except (TypeError, ValueError) as exc:
        raise ValidationError("Fragments must be pairs of character offsets.") from exc
    if not pairs:
        raise ValidationError("Select some text first.")
    for start, end in pairs:
        if not sentence.start <= start < end <= sentence.end:
            raise ValidationError("The selection must lie inside the sentence.")
    text = sentence.text
    merged: list[list[int]] = []
    for start, end in pairs:
        if merged:
            gap = text[merged[-1][1] - sentence.start:max(start - sentence.start, 0)]
            if start <= merged[-1][1] or _GAP.fullmatch(gap):
                merged[-1][1] = max(merged[-1][1], end)
                continue
        merged.append([start, end])
    if all(not text[s - sentence.start:e - sentence.start].strip() for s, e in merged):
        raise ValidationError("The selection holds only whitespace.")
    return merged


def _entity_type(*, sentence: Sentence, type) -> EntityType:
    """``type`` (an EntityType or its id) if it is one of the sentence's project."""
    if isinstance(type, EntityType) and type.project_id == sentence.project_id:
        return type
    try:
        return EntityType.objects.get(pk=getattr(type, "pk", type), project_id=sentence.project_id)
    except (EntityType.DoesNotExist, ValueError, TypeError) as exc:
        raise ValidationError("Unknown entity type for this project.") from exc


def _sentence_entity(*, annotations: SentenceAnnotations, entity_id) -> Entity:
    entity = annotations.entity(entity_id)
    if entity is None:
        raise ValidationError("That entity is not in this sentence.")
    return entity


def _reject_duplicate(*, annotations: SentenceAnnotations, type_id, fragments, exclude_id=None):
    if annotations.identical_entity(type_id, fragments, exclude_id=exclude_id) is not None:
        raise ValidationError("An identical entity already exists.")


def _audit(sentence: Sentence, user, *events) -> None:
    audit_annotations(project_id=sentence.project_id, user=user, events=list(events))


def entity_new(*, sentence: Sentence, annotations: SentenceAnnotations, user, type, fragments,
               source: str = Source.HUMAN, source_detail: str = "") -> Entity:
    """A new entity of the sentence, validated: ``type`` (an EntityType or its id) is one of the
    project's, the fragments lie inside the sentence (normalised) and no identical entity exists.

    The one validation of every entity row written, by hand or from an accepted suggestion;
    unsaved, :func:`annotation_insert` writes it.
    """
    entity_type = _entity_type(sentence=sentence, type=type)
    fragments = normalize_fragments(sentence=sentence, fragments=fragments)
    _reject_duplicate(annotations=annotations, type_id=entity_type.pk, fragments=fragments)
    return Entity(document_id=sentence.document_id, sentence=sentence, type=entity_type,
                  fragments=fragments, start=fragments[0][0], end=fragments[-1][1],
                  source=source, source_detail=source_detail, created_by=user)


def annotation_insert(*, sentence: Sentence, user, annotations: SentenceAnnotations,
                      annotation: Entity | Relation) -> None:
    """Write a new entity or relation (from :func:`entity_new` / :func:`relation_new`) and its
    audit event, and add it to ``annotations``: the one write path of a new annotation row.

    It does not move the sentence version: the caller does, once per action, in the same
    transaction (:func:`sentence_version_bump`).
    """
    type(annotation).objects.bulk_create([annotation])
    _audit(sentence, user, (AuditAction.CREATED, annotation))
    rows = annotations.entities if isinstance(annotation, Entity) else annotations.relations
    rows.append(annotation)


@_atomic
def entity_create(*, sentence: Sentence, user, type, fragments, expected_version: int,
                  annotations: SentenceAnnotations | None = None) -> Entity:
    """Create a hand-made entity; ``type`` is an EntityType or its id."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    entity = entity_new(sentence=sentence, annotations=annotations, user=user, type=type,
                        fragments=fragments)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    annotation_insert(sentence=sentence, user=user, annotations=annotations, annotation=entity)
    return entity


def _refuse_broken_relations(*, sentence: Sentence, entity: Entity,
                             entity_type: EntityType) -> None:
    """A type change must not leave a relation of the entity with a type its relation type
    does not allow there: refuse it, naming those relations."""
    refused = relations_refusing_type(entity=entity, type_id=entity_type.pk)
    if refused:
        one = len(refused) == 1
        named = "; ".join(f"{_entity_label(sentence, r.head)} –{r.type.name}→ "
                          f"{_entity_label(sentence, r.tail)}" for r in refused)
        raise ValidationError(
            f"Not changed: {entity_type.name} is not allowed by "
            f"{'this relation' if one else 'these relations'} of the entity: {named}. "
            f"Delete {'it' if one else 'them'} first if {entity_type.name} is right.")


def _entity_label(sentence: Sentence, entity: Entity) -> str:
    start, end = entity.start - sentence.start, entity.end - sentence.start
    inside = 0 <= start and end <= len(sentence.text)
    return f"{entity.type.name} “{sentence.text[start:end]}”" if inside else entity.type.name


@_atomic
def entity_update_type(*, sentence: Sentence, user, entity_id, type, expected_version: int,
                       annotations: SentenceAnnotations | None = None) -> Entity:
    """Change an entity's type, unless one of its relations does not allow the new type."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    entity = _sentence_entity(annotations=annotations, entity_id=entity_id)
    entity_type = _entity_type(sentence=sentence, type=type)
    if entity_type.pk == entity.type_id:
        raise ValidationError(f"The entity is already a {entity_type.name}.")
    _reject_duplicate(annotations=annotations, type_id=entity_type.pk, fragments=entity.fragments,
                      exclude_id=entity.pk)
    _refuse_broken_relations(sentence=sentence, entity=entity, entity_type=entity_type)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    entity.type, entity.updated_at = entity_type, timezone.now()
    Entity.objects.filter(pk=entity.pk).update(type=entity_type, updated_at=entity.updated_at)
    _audit(sentence, user, (AuditAction.CHANGED, entity))
    return entity


@_atomic
def entity_extend(*, sentence: Sentence, user, entity_id, fragments, expected_version: int,
                  annotations: SentenceAnnotations | None = None) -> Entity:
    """Add ``fragments`` to an entity: touching text grows a fragment, distant text adds one."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    entity = _sentence_entity(annotations=annotations, entity_id=entity_id)
    merged = normalize_fragments(sentence=sentence, fragments=list(entity.fragments) + list(fragments))
    if merged == entity.fragments:
        raise ValidationError("The selection is already part of the entity.")
    _reject_duplicate(annotations=annotations, type_id=entity.type_id, fragments=merged,
                      exclude_id=entity.pk)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    entity.fragments, entity.start, entity.end = merged, merged[0][0], merged[-1][1]
    entity.updated_at = timezone.now()
    Entity.objects.filter(pk=entity.pk).update(fragments=merged, start=entity.start,
                                               end=entity.end, updated_at=entity.updated_at)
    _audit(sentence, user, (AuditAction.CHANGED, entity))
    return entity


@_atomic
def entity_delete(*, sentence: Sentence, user, entity_id, expected_version: int,
                  annotations: SentenceAnnotations | None = None) -> Dependents:
    """Delete an entity with the relations that use it and whatever hangs on either
    (attributes, notes, group memberships, links from suggestions); returns what went
    besides the sentence's own entities and relations, for undo."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    entity = _sentence_entity(annotations=annotations, entity_id=entity_id)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    relations = [r for r in annotations.relations if entity.pk in (r.head_id, r.tail_id)]
    dependents = annotations_delete(entities=[entity], relations=relations)
    _audit(sentence, user, *((AuditAction.DELETED, r) for r in dependents.relations),
           (AuditAction.DELETED, entity))
    annotations.entities.remove(entity)
    annotations.relations[:] = [r for r in annotations.relations if r not in relations]
    return dependents


def _relation_type(*, sentence: Sentence, type):
    try:
        rows = relation_type_rows(project_id=sentence.project_id,
                                  relation_type_id=int(getattr(type, "pk", type)))
    except (ValueError, TypeError) as exc:
        raise ValidationError("Unknown relation type for this project.") from exc
    if not rows:
        raise ValidationError("Unknown relation type for this project.")
    return rows[0]


def _relation_ends(*, annotations: SentenceAnnotations, head_id, tail_id) -> tuple[Entity, Entity]:
    try:
        head_id, tail_id = int(head_id), int(tail_id)
    except (TypeError, ValueError) as exc:
        raise ValidationError("Head and tail must be entities.") from exc
    if head_id == tail_id:
        raise ValidationError("A relation needs two different entities.")
    head, tail = annotations.entity(head_id), annotations.entity(tail_id)
    if head is None or tail is None:
        raise ValidationError("That entity is not in this sentence.")
    return head, tail


def relation_type_check(*, relation_type: RelationTypeRow, head_type, tail_type) -> None:
    """Raise ``ValidationError`` unless ``relation_type`` may go from an entity of ``head_type``
    to one of ``tail_type`` (each with ``pk`` and ``name``; an unsaved type, ``pk`` None, passes
    only where the relation type leaves that end unrestricted).

    The one rule on a relation's ends: hand-made relations, accepted suggestions and corpus
    imports are all checked here.
    """
    if not relation_types_allowed(relation_types=[relation_type], head_type_id=head_type.pk,
                                  tail_type_id=tail_type.pk):
        raise ValidationError(
            f"{relation_type.name} cannot go from {head_type.name} to {tail_type.name}.")


def relation_new(*, sentence: Sentence, annotations: SentenceAnnotations, user, type, head_id,
                 tail_id, source: str = Source.HUMAN, source_detail: str = "") -> Relation:
    """A new relation ``head -> tail`` between two entities of the sentence, validated: the type
    is the project's and allows the ends' types (:func:`relation_type_check`), and the relation
    does not exist yet.

    The one validation of every relation row written, by hand or from an accepted suggestion;
    unsaved, :func:`annotation_insert` writes it.
    """
    rtype = _relation_type(sentence=sentence, type=type)
    head, tail = _relation_ends(annotations=annotations, head_id=head_id, tail_id=tail_id)
    relation_type_check(relation_type=rtype, head_type=head.type, tail_type=tail.type)
    if annotations.identical_relation(rtype.pk, head.pk, tail.pk) is not None:
        raise ValidationError("This relation already exists.")
    return Relation(
        document_id=sentence.document_id, sentence=sentence, head=head, tail=tail,
        type=RelationType(pk=rtype.pk, project_id=sentence.project_id, name=rtype.name,
                          key=rtype.key),
        source=source, source_detail=source_detail, created_by=user,
    )


@_atomic
def relation_create(*, sentence: Sentence, user, type, head_id, tail_id, expected_version: int,
                    annotations: SentenceAnnotations | None = None) -> Relation:
    """A hand-made relation ``head -> tail`` between two entities of the sentence."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    relation = relation_new(sentence=sentence, annotations=annotations, user=user, type=type,
                            head_id=head_id, tail_id=tail_id)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    annotation_insert(sentence=sentence, user=user, annotations=annotations, annotation=relation)
    return relation


@_atomic
def relation_delete(*, sentence: Sentence, user, relation_id, expected_version: int,
                    annotations: SentenceAnnotations | None = None) -> Dependents:
    """Delete one of the sentence's relations with its attributes, notes and suggestion links;
    returns what went besides the relation, for undo."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    relation = annotations.relation(relation_id)
    if relation is None:
        raise ValidationError("That relation is not in this sentence.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    dependents = annotations_delete(entities=[], relations=[relation])
    _audit(sentence, user, (AuditAction.DELETED, relation))
    annotations.relations.remove(relation)
    return dependents


_RESOURCE = re.compile(r"[^\s:]+")
_REFERENCE = re.compile(r"\S+")


def normalization_key_problem(*, resource: str, reference: str) -> str | None:
    """Why ``RESOURCE:REFERENCE`` cannot be a normalization (brat writes it between blanks), or
    None; the one rule of the annotation view, the API and every import."""
    if not _RESOURCE.fullmatch(resource) or len(resource) > 100:
        return "The resource is a short name without blanks or colons, e.g. UMLS."
    if not _REFERENCE.fullmatch(reference) or len(reference) > 200:
        return "The reference is an id without blanks, e.g. C0011849."
    return None


def _normalization_audit(sentence: Sentence, user, action: str, normalization: Normalization) -> None:
    audit_record(project=sentence.project_id, user=user, action=action, obj=normalization,
                 sentence=sentence, payload={"entity": normalization.entity_id,
                                             "resource": normalization.resource,
                                             "reference": normalization.reference,
                                             "text": normalization.text})


@_atomic
def normalization_create(*, sentence: Sentence, user, entity_id, resource: str, reference: str,
                         text: str = "", expected_version: int,
                         annotations: SentenceAnnotations | None = None) -> Normalization:
    """Link an entity of the sentence to a knowledge-base entry (brat ``N``), e.g. UMLS C0011849.

    brat writes ``RESOURCE:REFERENCE`` between blanks, so the resource may hold neither blanks
    nor ``:``, and the reference no blanks.
    """
    annotations = annotations or sentence_annotations(sentence=sentence)
    entity = _sentence_entity(annotations=annotations, entity_id=entity_id)
    resource, reference, text = resource.strip(), reference.strip(), " ".join(text.split())
    problem = normalization_key_problem(resource=resource, reference=reference)
    if problem:
        raise ValidationError(problem)
    if any(n.entity_id == entity.pk and (n.resource, n.reference) == (resource, reference)
           for n in annotations.normalizations):
        raise ValidationError(f"The entity already refers to {resource}:{reference}.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    normalization = Normalization(document_id=sentence.document_id, entity=entity, resource=resource,
                                  reference=reference, text=text, source=Source.HUMAN, created_by=user)
    Normalization.objects.bulk_create([normalization])
    _normalization_audit(sentence, user, AuditAction.CREATED, normalization)
    annotations.normalizations.append(normalization)
    return normalization


@_atomic
def normalization_delete(*, sentence: Sentence, user, normalization_id, expected_version: int,
                         annotations: SentenceAnnotations | None = None) -> Dependents:
    """Delete one normalization of the sentence's entities; returns it as a dependent row, which
    is how undo puts it back (see ``services.dependents``)."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    normalization = annotations.normalization(normalization_id)
    if normalization is None:
        raise ValidationError("That normalization is not on an entity of this sentence.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    row = row_of(normalization)
    Normalization.objects.filter(pk=normalization.pk)._raw_delete(Normalization.objects.db)
    _normalization_audit(sentence, user, AuditAction.DELETED, normalization)
    annotations.normalizations.remove(normalization)
    return Dependents(rows={"normalizations": [row]})


@_atomic
def sentence_set_status(*, sentence: Sentence, user, status: str, expected_version: int,
                        annotations: SentenceAnnotations | None = None) -> Sentence:
    """Set the status; ``reviewed`` needs the reviewer role (``PermissionDenied`` otherwise)."""
    if status not in SentenceStatus.values:
        raise ValidationError("Unknown status.")
    if status == SentenceStatus.REVIEWED:
        sentence_review_authorize(user=user, project_id=sentence.project_id)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version,
                          status=status)
    return sentence


@_atomic
def action_undo(*, sentence: Sentence, user, step: dict, expected_version: int) -> Sentence:
    """Undo one action: remove what it created, put back the rows it changed or deleted, and
    what a delete took with them (``step["dependents"]``), and its status before (``step``:
    see ``selectors.annotations.undo_step``).

    Rows come back under their old ids with their provenance and timestamps, so older
    steps on the undo stack stay valid and an undone delete leaves no trace but the version
    and the audit trail. Only this sentence's annotations are touched.
    """
    if step.get("format") != UNDO_FORMAT:
        raise ValidationError("This undo step was recorded by an older version of Eligo.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version,
                          status=step["status"])
    current = sentence_annotations(sentence=sentence)
    if step.get("created_normalizations"):
        Normalization.objects.filter(pk__in=step["created_normalizations"],
                                     entity__sentence_id=sentence.pk)._raw_delete(Normalization.objects.db)
    events = _remove_created(current=current, step=step)
    events += _restore_entities(current=current, wanted=step["entities"])
    restored = [instance_of(Relation, row) for row in step["relations"]
                if current.relation(row["id"]) is None]
    rows_insert(Relation, [row_of(r) for r in restored])
    restored += dependents_restore(rows=step.get("dependents", {}))
    _audit(sentence, user, *events, *((AuditAction.CREATED, r) for r in restored))
    return sentence


def _remove_created(*, current: SentenceAnnotations, step: dict) -> list:
    """Delete the entities and relations the action created (with what hangs on them)."""
    entities = [e for e in current.entities if e.pk in step["created_entities"]]
    gone = {e.pk for e in entities}
    relations = [r for r in current.relations
                 if r.pk in step["created_relations"] or gone & {r.head_id, r.tail_id}]
    if not entities and not relations:
        return []
    removed = annotations_delete(entities=entities, relations=relations)
    current.entities[:] = [e for e in current.entities if e.pk not in gone]
    current.relations[:] = [r for r in current.relations if r not in removed.relations]
    return ([(AuditAction.DELETED, r) for r in removed.relations]
            + [(AuditAction.DELETED, e) for e in entities])


def _restore_entities(*, current: SentenceAnnotations, wanted: list[dict]) -> list:
    """Insert the missing entities, put back the changed ones; their audit events."""
    missing, events = [], []
    for row in wanted:
        entity = current.entity(row["id"])
        if entity is None:
            missing.append(row)
            events.append((AuditAction.CREATED, instance_of(Entity, row)))
        elif row_of(entity) != row:
            fields = {k: v for k, v in vars(instance_of(Entity, row)).items()
                      if k in row and k != "id"}
            Entity.objects.filter(pk=entity.pk).update(**fields)
            events.append((AuditAction.CHANGED, instance_of(Entity, row)))
    rows_insert(Entity, missing)
    return events
