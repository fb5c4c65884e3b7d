"""Annotation writes made from the browser: entities, relations, sentence status, undo.

Every write is guarded by optimistic locking. The caller passes the sentence
``version`` the page was rendered from; the service bumps it with one conditional
``UPDATE ... SET version = version + 1 WHERE id = .. AND version = expected`` and
raises :class:`StaleVersion` when no row matched, inside the same transaction as
the write, so a concurrent edit is refused instead of silently overwritten.

Undo works on snapshots: before an action the caller takes
:func:`annotation.selectors.annotations.sentence_snapshot` and keeps it with the
version the action produced; :func:`action_undo` restores that snapshot if the
sentence is still at that version (nobody changed it since).
"""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from annotation.models import (
    Entity,
    EntityType,
    Relation,
    RelationType,
    Sentence,
    SentenceStatus,
    Source,
)
from annotation.selectors.annotations import (
    RelationTypeRow,
    relation_types_allowed,
    sentence_relations,
)

_GAP = re.compile(r"\s*")


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
        When(status=SentenceStatus.NEW, then=Value(SentenceStatus.IN_PROGRESS)), default=F("status"))
    if rows.update(version=F("version") + 1, status=new_status, updated_by=user,
                   updated_at=timezone.now()) != 1:
        raise StaleVersion(sentence.pk, expected_version)
    sentence.version = (sentence.version if expected_version is None else expected_version) + 1
    if status or sentence.status == SentenceStatus.NEW:
        sentence.status = status or SentenceStatus.IN_PROGRESS
    sentence.updated_by = user


def sentence_version_check(*, sentence_id: int, expected_version: int | None) -> None:
    """The same lock for a decision that changes no annotation (rejecting a suggestion): lock
    the sentence row until the transaction ends and raise :class:`StaleVersion` unless it is
    still at ``expected_version`` (``None``: no check)."""
    if expected_version is not None and not Sentence.objects.select_for_update().filter(
            pk=sentence_id, version=expected_version).exists():
        raise StaleVersion(sentence_id, expected_version)


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


def _entity_type(*, sentence: Sentence, type_id) -> EntityType:
    try:
        return EntityType.objects.get(pk=type_id, project_id=sentence.project_id)
    except (EntityType.DoesNotExist, ValueError, TypeError) as exc:
        raise ValidationError("Unknown entity type for this project.") from exc


def _sentence_entity(*, sentence: Sentence, entity_id) -> Entity:
    try:
        return Entity.objects.select_related("type").get(pk=entity_id, sentence_id=sentence.pk)
    except (Entity.DoesNotExist, ValueError, TypeError) as exc:
        raise ValidationError("That entity is not in this sentence.") from exc


def _reject_duplicate(*, sentence, type_id, fragments, exclude_id=None):
    clash = Entity.objects.filter(
        document_id=sentence.document_id, type_id=type_id,
        start=fragments[0][0], end=fragments[-1][1],
    ).exclude(pk=exclude_id)
    if any(entity.fragments == fragments for entity in clash):
        raise ValidationError("An identical entity already exists.")


@transaction.atomic
def entity_create(*, sentence: Sentence, user, type, fragments, expected_version: int) -> Entity:
    """Create a hand-made entity; ``type`` is an EntityType or its id."""
    type_id = type.pk if isinstance(type, EntityType) else type
    entity_type = _entity_type(sentence=sentence, type_id=type_id)
    fragments = normalize_fragments(sentence=sentence, fragments=fragments)
    _reject_duplicate(sentence=sentence, type_id=entity_type.pk, fragments=fragments)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    return Entity.objects.create(
        document_id=sentence.document_id, sentence=sentence, type=entity_type,
        fragments=fragments, start=fragments[0][0], end=fragments[-1][1],
        source=Source.HUMAN, created_by=user,
    )


@transaction.atomic
def entity_update_type(*, sentence: Sentence, user, entity_id, type, expected_version: int) -> Entity:
    entity = _sentence_entity(sentence=sentence, entity_id=entity_id)
    type_id = type.pk if isinstance(type, EntityType) else type
    entity_type = _entity_type(sentence=sentence, type_id=type_id)
    if entity_type.pk == entity.type_id:
        raise ValidationError(f"The entity is already a {entity_type.name}.")
    _reject_duplicate(sentence=sentence, type_id=entity_type.pk, fragments=entity.fragments,
                      exclude_id=entity.pk)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    entity.type = entity_type
    entity.save(update_fields=["type", "updated_at"])
    return entity


@transaction.atomic
def entity_extend(*, sentence: Sentence, user, entity_id, fragments, expected_version: int) -> Entity:
    """Add ``fragments`` to an entity: touching text grows a fragment, distant text adds one."""
    entity = _sentence_entity(sentence=sentence, entity_id=entity_id)
    merged = normalize_fragments(sentence=sentence, fragments=list(entity.fragments) + list(fragments))
    if merged == entity.fragments:
        raise ValidationError("The selection is already part of the entity.")
    _reject_duplicate(sentence=sentence, type_id=entity.type_id, fragments=merged, exclude_id=entity.pk)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    entity.fragments, entity.start, entity.end = merged, merged[0][0], merged[-1][1]
    entity.save(update_fields=["fragments", "start", "end", "updated_at"])
    return entity


@transaction.atomic
def entity_delete(*, sentence: Sentence, user, entity_id, expected_version: int) -> None:
    """Delete an entity and (by cascade) the relations that use it."""
    entity = _sentence_entity(sentence=sentence, entity_id=entity_id)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    entity.delete()


def _relation_type_row(*, sentence: Sentence, type_id) -> RelationTypeRow:
    try:
        pk, name, key = RelationType.objects.filter(
            pk=type_id, project_id=sentence.project_id).values_list("id", "name", "key").get()
    except (RelationType.DoesNotExist, ValueError, TypeError) as exc:
        raise ValidationError("Unknown relation type for this project.") from exc
    heads = RelationType.heads.through.objects.filter(relationtype_id=pk)
    tails = RelationType.tails.through.objects.filter(relationtype_id=pk)
    return RelationTypeRow(pk, name, key,
                           frozenset(heads.values_list("entitytype_id", flat=True)),
                           frozenset(tails.values_list("entitytype_id", flat=True)))


@transaction.atomic
def relation_create(*, sentence: Sentence, user, type, head_id, tail_id, expected_version: int) -> Relation:
    """A relation ``head -> tail`` between two entities of the sentence, if its type allows it."""
    rtype = _relation_type_row(
        sentence=sentence, type_id=type.pk if isinstance(type, RelationType) else type)
    try:
        head_id, tail_id = int(head_id), int(tail_id)
    except (TypeError, ValueError) as exc:
        raise ValidationError("Head and tail must be entities.") from exc
    if head_id == tail_id:
        raise ValidationError("A relation needs two different entities.")
    pair = {e.pk: e for e in Entity.objects.select_related("type").filter(
        pk__in=(head_id, tail_id), sentence_id=sentence.pk)}
    if len(pair) != 2:
        raise ValidationError("That entity is not in this sentence.")
    head, tail = pair[head_id], pair[tail_id]
    if not relation_types_allowed(relation_types=[rtype], head_type_id=head.type_id,
                                  tail_type_id=tail.type_id):
        raise ValidationError(f"{rtype.name} cannot go from {head.type.name} to {tail.type.name}.")
    if Relation.objects.filter(type_id=rtype.pk, head=head, tail=tail).exists():
        raise ValidationError("This relation already exists.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    return Relation.objects.create(
        document_id=sentence.document_id, sentence=sentence, type_id=rtype.pk, head=head,
        tail=tail, source=Source.HUMAN, created_by=user,
    )


@transaction.atomic
def relation_delete(*, sentence: Sentence, user, relation_id, expected_version: int) -> None:
    try:
        relation = Relation.objects.get(pk=relation_id, document_id=sentence.document_id)
    except (Relation.DoesNotExist, ValueError, TypeError) as exc:
        raise ValidationError("That relation is not in this sentence.") from exc
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    relation.delete()


@transaction.atomic
def sentence_set_status(*, sentence: Sentence, user, status: str, expected_version: int) -> Sentence:
    """Set the status; who may set ``reviewed`` is the caller's (view's) business."""
    if status not in SentenceStatus.values:
        raise ValidationError("Unknown status.")
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version,
                          status=status)
    return sentence


@transaction.atomic
def action_undo(*, sentence: Sentence, user, snapshot: dict, expected_version: int) -> Sentence:
    """Restore the sentence's entities, relations and status to ``snapshot``.

    Entities and relations come back under their old ids, so older snapshots on
    the undo stack stay valid. Only this sentence's annotations are touched.
    """
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version,
                          status=snapshot["status"])
    _restore_entities(sentence=sentence, user=user, wanted=snapshot["entities"])
    _restore_relations(sentence=sentence, user=user, wanted=snapshot["relations"])
    return sentence


def _restore_entities(*, sentence, user, wanted: list[dict]) -> None:
    wanted_by_id = {e["id"]: e for e in wanted}
    current = {e.pk: e for e in Entity.objects.filter(sentence_id=sentence.pk)}
    Entity.objects.filter(pk__in=set(current) - set(wanted_by_id)).delete()
    for pk, data in wanted_by_id.items():
        entity = current.get(pk)
        if entity is None:
            Entity.objects.create(
                pk=pk, document_id=sentence.document_id, sentence=sentence, type_id=data["type"],
                fragments=data["fragments"], start=data["fragments"][0][0],
                end=data["fragments"][-1][1], source=data["source"],
                created_by_id=data["created_by"],
            )
        elif entity.type_id != data["type"] or entity.fragments != data["fragments"]:
            entity.type_id, entity.fragments = data["type"], data["fragments"]
            entity.start, entity.end = data["fragments"][0][0], data["fragments"][-1][1]
            entity.save(update_fields=["type", "fragments", "start", "end", "updated_at"])


def _restore_relations(*, sentence, user, wanted: list[dict]) -> None:
    wanted_by_id = {r["id"]: r for r in wanted}
    current = {r.pk: r for r in sentence_relations(sentence=sentence)}
    Relation.objects.filter(pk__in=set(current) - set(wanted_by_id)).delete()
    for pk, data in wanted_by_id.items():
        if pk not in current:
            Relation.objects.create(
                pk=pk, document_id=sentence.document_id, sentence_id=data["sentence"],
                type_id=data["type"], head_id=data["head"], tail_id=data["tail"],
                source=data["source"], created_by_id=data["created_by"],
            )
