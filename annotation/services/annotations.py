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

Undo and redo (``services.undo``) work on what an action changed in the
``SentenceAnnotations`` it was given; a delete also returns the ``Dependents`` it took along.
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
    Attribute,
    AuditAction,
    Entity,
    EntityType,
    Group,
    GroupMember,
    Normalization,
    Note,
    Relation,
    RelationType,
    Sentence,
    SentenceLayer,
    SentenceStatus,
    Source,
)
from annotation.selectors.annotations import (
    RelationTypeRow,
    SentenceAnnotations,
    attribute_allowed,
    relation_type_rows,
    relation_types_allowed,
    relations_refusing_type,
    sentence_annotations,
)
from annotation.services.dependents import Dependents, annotations_delete

_GAP = re.compile(r"\s*")
_in_action = contextvars.ContextVar("eligo_action_transaction", default=False)


class StaleVersion(Exception):
    """The sentence changed since the client read it."""

    def __init__(self, sentence_id: int, expected: int | None, layer: int | None = None):
        super().__init__(f"Sentence {sentence_id} was changed by someone else meanwhile "
                         f"(it is no longer at version {expected}); reload it.")
        self.sentence_id = sentence_id
        self.expected = expected
        self.layer = layer  # the annotator whose own layer it is (None: the shared layer)


def sentence_version_bump(*, sentence: Sentence, user, expected_version: int | None,
                          status: str | None = None) -> None:
    """Move ``sentence`` to its next version: the one optimistic lock of every annotation write.

    One conditional UPDATE checks the version, bumps it, records who and when, and sets
    ``status`` (by default a NEW sentence becomes IN_PROGRESS and any other keeps its status).
    It raises :class:`StaleVersion` when the sentence is no longer at ``expected_version``
    (``None``: any version, for callers holding none). Call it inside the write's transaction:
    its row lock orders concurrent writers. ``sentence`` follows (its version exactly when
    ``expected_version`` is given). A sentence read in an annotator's layer
    (``Sentence.layer``) moves that layer's version and status instead.
    """
    if sentence.layer is not None:
        return _layer_version_bump(sentence=sentence, expected_version=expected_version,
                                   status=status)
    rows = Sentence.objects.filter(pk=sentence.pk)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    if rows.update(version=F("version") + 1, status=_next_status(status), updated_by=user,
                   updated_at=timezone.now()) != 1:
        raise StaleVersion(sentence.pk, expected_version)
    _follow(sentence, expected_version, status)
    sentence.updated_by = user


def _layer_version_bump(*, sentence: Sentence, expected_version: int | None,
                        status: str | None) -> None:
    """:func:`sentence_version_bump` in an annotator's own layer: the same conditional UPDATE
    on their ``SentenceLayer`` row. The layer starts new at version 1 without a row: the
    first write makes it, at version 2 (a second first write finds it made: stale)."""
    rows = SentenceLayer.objects.filter(sentence_id=sentence.pk, annotator_id=sentence.layer)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    if rows.update(version=F("version") + 1, status=_next_status(status),
                   updated_at=timezone.now()) != 1:
        _, made = SentenceLayer.objects.get_or_create(
            sentence_id=sentence.pk, annotator_id=sentence.layer,
            defaults={"version": 2, "status": status or SentenceStatus.IN_PROGRESS})
        if not made or expected_version not in (None, 1):
            raise StaleVersion(sentence.pk, expected_version, layer=sentence.layer)
    _follow(sentence, expected_version, status)


def _next_status(status: str | None):
    """The status a write leaves: ``status``, else in progress for a new sentence."""
    return Value(status) if status else Case(
        When(status=SentenceStatus.NEW, then=Value(SentenceStatus.IN_PROGRESS)),
        default=F("status"))


def _follow(sentence: Sentence, expected_version: int | None, status: str | None) -> None:
    """Bring the instance to what the version bump wrote."""
    sentence.version = (sentence.version if expected_version is None else expected_version) + 1
    if status or sentence.status == SentenceStatus.NEW:
        sentence.status = status or SentenceStatus.IN_PROGRESS


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
                  annotator_id=sentence.layer,
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
    annotations.extras_forget(entity_ids=[entity.pk], relation_ids=[r.pk for r in relations])
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
        annotator_id=sentence.layer,
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
    annotations.extras_forget(relation_ids=[relation.pk])
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
    normalization = Normalization(document_id=sentence.document_id, annotator_id=sentence.layer,
                                  entity=entity, resource=resource,
                                  reference=reference, text=text, source=Source.HUMAN, created_by=user)
    Normalization.objects.bulk_create([normalization])
    _normalization_audit(sentence, user, AuditAction.CREATED, normalization)
    annotations.normalizations.append(normalization)
    return normalization


@_atomic
def normalization_delete(*, sentence: Sentence, user, normalization_id, expected_version: int,
                         annotations: SentenceAnnotations | None = None) -> Normalization:
    """Delete one normalization of the sentence's entities (undo finds it gone from
    ``annotations`` and puts it back)."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    normalization = annotations.normalization(normalization_id)
    if normalization is None:
        raise ValidationError("That normalization is not on an entity of this sentence.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    Normalization.objects.filter(pk=normalization.pk)._raw_delete(Normalization.objects.db)
    _normalization_audit(sentence, user, AuditAction.DELETED, normalization)
    annotations.normalizations.remove(normalization)
    return normalization


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


# --- attributes, notes and OR groups (brat A, # and * lines) ------------------------------

def _extra_audit(sentence: Sentence, user, action: str, obj, **payload) -> None:
    audit_record(project=sentence.project_id, user=user, action=action, obj=obj,
                 sentence=sentence, payload=payload)


def _extra_change(*, sentence: Sentence, user, annotations: SentenceAnnotations, kind: str, obj,
                  field: str, value, expected_version: int, **payload):
    """Set one column of an attribute or note; ``annotations`` gets a changed copy (the
    original stays as it was, for the undo step)."""
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    model = type(obj)
    fields = [f.attname for f in model._meta.concrete_fields]
    updated = model.from_db(None, fields, [getattr(obj, name) for name in fields])
    setattr(updated, field, value)
    updated.updated_at = timezone.now()
    model.objects.filter(pk=obj.pk).update(**{field: value, "updated_at": updated.updated_at})
    _extra_audit(sentence, user, AuditAction.CHANGED, updated, **payload, **{field: value})
    rows = getattr(annotations, kind)
    rows[rows.index(obj)] = updated
    return updated


def _extra_delete(*, sentence: Sentence, user, annotations: SentenceAnnotations, kind: str, obj,
                  expected_version: int, **payload):
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    type(obj).objects.filter(pk=obj.pk)._raw_delete(type(obj).objects.db)
    _extra_audit(sentence, user, AuditAction.DELETED, obj, **payload)
    getattr(annotations, kind).remove(obj)
    return obj


def _target(*, annotations: SentenceAnnotations, entity_id=None, relation_id=None):
    """The entity or relation of the sentence an attribute or note goes on (exactly one)."""
    if (entity_id is None) == (relation_id is None):
        raise ValidationError("Give either an entity or a relation.")
    if entity_id is not None:
        return _sentence_entity(annotations=annotations, entity_id=entity_id)
    relation = annotations.relation(relation_id)
    if relation is None:
        raise ValidationError("That relation is not in this sentence.")
    return relation


def _attribute_check(*, sentence: Sentence, target, name: str, value: str) -> None:
    """The project's schema rule for an attribute: a declared name, allowed on this kind and
    type of annotation (brat ``Arg:``), and one of its values (a valued attribute) or none
    (a flag)."""
    project = sentence.project
    if name not in project.attribute_types:
        raise ValidationError(f"{name} is not an attribute of this project.")
    is_relation = isinstance(target, Relation)
    if not attribute_allowed(project, name, type_name=target.type.name, is_relation=is_relation):
        raise ValidationError(f"{name} cannot be put on a {target.type.name}.")
    values = project.attribute_values.get(name) or []
    if values and value not in values:
        raise ValidationError(f"{name} takes one of: {', '.join(values)}.")
    if not values and value:
        raise ValidationError(f"{name} is a flag: it takes no value.")


@_atomic
def attribute_create(*, sentence: Sentence, user, name: str, value: str = "", entity_id=None,
                     relation_id=None, expected_version: int,
                     annotations: SentenceAnnotations | None = None) -> Attribute:
    """Put attribute ``name`` (with ``value`` if it is a valued one) on an entity or relation."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    target = _target(annotations=annotations, entity_id=entity_id, relation_id=relation_id)
    _attribute_check(sentence=sentence, target=target, name=name, value=value)
    on = "entity_id" if isinstance(target, Entity) else "relation_id"
    if any(a.name == name and getattr(a, on) == target.pk for a in annotations.attributes):
        raise ValidationError(f"It already has {name}: change or delete that one.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    attribute = Attribute(document_id=sentence.document_id, annotator_id=sentence.layer,
                          name=name, value=value,
                          source=Source.HUMAN, created_by=user, **{on: target.pk})
    Attribute.objects.bulk_create([attribute])
    _extra_audit(sentence, user, AuditAction.CREATED, attribute, name=name, value=value,
                 **{on[:-3]: target.pk})
    annotations.attributes.append(attribute)
    return attribute


@_atomic
def attribute_update(*, sentence: Sentence, user, attribute_id, value: str, expected_version: int,
                     annotations: SentenceAnnotations | None = None) -> Attribute:
    """Change the value of a valued attribute."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    attribute = annotations.attribute(attribute_id)
    if attribute is None:
        raise ValidationError("That attribute is not on an annotation of this sentence.")
    target = _target(annotations=annotations, entity_id=attribute.entity_id,
                     relation_id=attribute.relation_id)
    _attribute_check(sentence=sentence, target=target, name=attribute.name, value=value)
    if value == attribute.value:
        raise ValidationError(f"{attribute.name} is already {value}.")
    return _extra_change(sentence=sentence, user=user, annotations=annotations, kind="attributes",
                         obj=attribute, field="value", value=value,
                         expected_version=expected_version, name=attribute.name)


@_atomic
def attribute_delete(*, sentence: Sentence, user, attribute_id, expected_version: int,
                     annotations: SentenceAnnotations | None = None) -> Attribute:
    annotations = annotations or sentence_annotations(sentence=sentence)
    attribute = annotations.attribute(attribute_id)
    if attribute is None:
        raise ValidationError("That attribute is not on an annotation of this sentence.")
    return _extra_delete(sentence=sentence, user=user, annotations=annotations, kind="attributes",
                         obj=attribute, expected_version=expected_version, name=attribute.name,
                         value=attribute.value)


def _note_text(text: str) -> str:
    """brat keeps a note on one line: blanks (newlines included) become single spaces."""
    text = " ".join(text.split())
    if not text:
        raise ValidationError("Write the note first.")
    if len(text) > 2000:
        raise ValidationError("A note holds at most 2,000 characters.")
    return text


@_atomic
def note_create(*, sentence: Sentence, user, text: str, entity_id=None, relation_id=None,
                expected_version: int, annotations: SentenceAnnotations | None = None) -> Note:
    """An annotator's note (brat ``#``, AnnotatorNotes) on an entity or relation."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    target = _target(annotations=annotations, entity_id=entity_id, relation_id=relation_id)
    text = _note_text(text)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    on = "entity_id" if isinstance(target, Entity) else "relation_id"
    note = Note(document_id=sentence.document_id, annotator_id=sentence.layer, text=text,
                source=Source.HUMAN, created_by=user,
                **{on: target.pk})
    Note.objects.bulk_create([note])
    _extra_audit(sentence, user, AuditAction.CREATED, note, text=text, **{on[:-3]: target.pk})
    annotations.notes.append(note)
    return note


@_atomic
def note_update(*, sentence: Sentence, user, note_id, text: str, expected_version: int,
                annotations: SentenceAnnotations | None = None) -> Note:
    annotations = annotations or sentence_annotations(sentence=sentence)
    note = annotations.note(note_id)
    if note is None:
        raise ValidationError("That note is not on an annotation of this sentence.")
    text = _note_text(text)
    if text == note.text:
        raise ValidationError("The note already says that.")
    return _extra_change(sentence=sentence, user=user, annotations=annotations, kind="notes",
                         obj=note, field="text", value=text, expected_version=expected_version)


@_atomic
def note_delete(*, sentence: Sentence, user, note_id, expected_version: int,
                annotations: SentenceAnnotations | None = None) -> Note:
    annotations = annotations or sentence_annotations(sentence=sentence)
    note = annotations.note(note_id)
    if note is None:
        raise ValidationError("That note is not on an annotation of this sentence.")
    return _extra_delete(sentence=sentence, user=user, annotations=annotations, kind="notes",
                         obj=note, expected_version=expected_version, text=note.text)


@_atomic
def group_member_add(*, sentence: Sentence, user, entity_id, group_id=None, type: str = "",
                     expected_version: int,
                     annotations: SentenceAnnotations | None = None) -> GroupMember:
    """Put an entity into one of the sentence's OR groups (``group_id``), or into a new group
    of ``type`` (one of the project's group types); a new group starts with this member."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    entity = _sentence_entity(annotations=annotations, entity_id=entity_id)
    group = None
    if group_id is not None:
        group = annotations.group(group_id)
        if group is None:
            raise ValidationError("That group is not in this sentence.")
        if any(m.group_id == group.pk and m.entity_id == entity.pk for m in annotations.group_members):
            raise ValidationError("The entity is already in that group.")
    elif type not in sentence.project.group_types:
        raise ValidationError("Unknown group type for this project.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    if group is None:
        group = Group(document_id=sentence.document_id, annotator_id=sentence.layer, type=type,
                      source=Source.HUMAN,
                      created_by=user)
        Group.objects.bulk_create([group])
        annotations.groups.append(group)
    position = max((m.position + 1 for m in annotations.group_members if m.group_id == group.pk),
                   default=0)
    member = GroupMember(group=group, entity=entity, position=position)
    GroupMember.objects.bulk_create([member])
    _extra_audit(sentence, user, AuditAction.CREATED, member, group=group.pk, type=group.type,
                 entity=entity.pk)
    annotations.group_members.append(member)
    return member


@_atomic
def group_member_remove(*, sentence: Sentence, user, member_id, expected_version: int,
                        annotations: SentenceAnnotations | None = None) -> GroupMember:
    """Take an entity out of its OR group; a group left without members goes too."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    member = annotations.group_member(member_id)
    if member is None:
        raise ValidationError("That group member is not an entity of this sentence.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    GroupMember.objects.filter(pk=member.pk)._raw_delete(GroupMember.objects.db)
    group = annotations.group(member.group_id)
    _extra_audit(sentence, user, AuditAction.DELETED, member, group=member.group_id,
                 type=group.type if group else "", entity=member.entity_id)
    annotations.group_members.remove(member)
    if not GroupMember.objects.filter(group_id=member.group_id).exists():
        Group.objects.filter(pk=member.group_id)._raw_delete(Group.objects.db)
        annotations.groups = [g for g in annotations.groups if g.pk != member.group_id]
    return member
