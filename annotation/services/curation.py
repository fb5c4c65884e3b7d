"""Curation writes (independent mode): taking an annotator's version of annotations, or of a
whole criterion, into the curated layer (the rows without annotator), which is what trains
the model and what is exported.

Every row goes through the single write path of the annotation services
(:func:`entity_new` / :func:`relation_new` + :func:`annotation_insert`), on the sentence read
in the curated layer, under its optimistic lock; a take is one version step.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError

from annotation.access import curation_authorize
from annotation.audit import audit_annotations
from annotation.models import AuditAction, Sentence, Source
from annotation.selectors.annotations import SentenceAnnotations, sentence_annotations
from annotation.selectors.curation import criterion_layer
from annotation.services.annotations import (
    _atomic, annotation_insert, entity_new, relation_new, sentence_version_bump,
)
from annotation.services.dependents import annotations_delete


def _picked(rows: list, ids, what: str, annotator) -> list:
    """The rows of ``rows`` with the given ids (all of them for None); unknown ids are refused."""
    if ids is None:
        return rows
    wanted = {int(i) for i in ids}
    picked = [row for row in rows if row.pk in wanted]
    if len(picked) != len(wanted):
        raise ValidationError(
            f"That {what} is not in {annotator.username}'s version of this criterion.")
    return picked


def _curated_twin(annotations: SentenceAnnotations, entity):
    return annotations.identical_entity(entity.type_id, entity.fragments)


def _curated_clear(*, sentence: Sentence, user, annotations: SentenceAnnotations) -> None:
    """Delete the criterion's curated entities and relations (what hangs on them goes along),
    audited like a delete in the annotation view."""
    dependents = annotations_delete(entities=annotations.entities, relations=annotations.relations)
    audit_annotations(project_id=sentence.project_id, user=user, events=[
        (AuditAction.DELETED, row) for row in (*dependents.relations, *annotations.entities)])
    annotations.entities.clear()
    annotations.relations.clear()


def _take_relations(*, sentence: Sentence, user, annotations: SentenceAnnotations, entities,
                    relations, detail: str) -> int:
    """Copy the ``relations`` whose two ends have a curated twin and that are not curated yet."""
    twins = {e.pk: _curated_twin(annotations, e) for e in entities}
    written = 0
    for relation in relations:
        head, tail = twins.get(relation.head_id), twins.get(relation.tail_id)
        if head is None or tail is None or annotations.identical_relation(
                relation.type_id, head.pk, tail.pk) is not None:
            continue
        annotation_insert(sentence=sentence, user=user, annotations=annotations,
                          annotation=relation_new(sentence=sentence, annotations=annotations,
                                                  user=user, type=relation.type_id, head_id=head.pk,
                                                  tail_id=tail.pk, source=Source.HUMAN,
                                                  source_detail=detail))
        written += 1
    return written


@_atomic
def curation_take(*, sentence: Sentence, user, annotator, expected_version: int,
                  entity_ids=None, relation_ids=None, replace: bool = False) -> int:
    """Copy ``annotator``'s entities ``entity_ids`` of the criterion (None: all) into the
    curated layer, with their relations whose two ends are then curated (``relation_ids``:
    only those); ``replace`` first clears the criterion's curated annotations (taking one
    annotator's whole version). Identical curated rows are kept, not doubled. Returns how many
    rows were written. ``sentence`` must be read in the curated layer (``layer`` None)."""
    curation_authorize(user=user, project_id=sentence.project_id)
    if sentence.layer is not None:
        raise ValidationError("Curation writes the curated layer only.")
    entities, relations = criterion_layer(sentence=sentence, annotator_id=annotator.pk)
    taken = _picked(entities, entity_ids, "entity", annotator)
    relations = _picked(relations, relation_ids, "relation", annotator)
    annotations = sentence_annotations(sentence=sentence)
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    if replace:
        _curated_clear(sentence=sentence, user=user, annotations=annotations)
    detail = f"curated from {annotator.username}"[:100]
    written = 0
    for entity in taken:
        if _curated_twin(annotations, entity) is None:
            annotation_insert(sentence=sentence, user=user, annotations=annotations,
                              annotation=entity_new(sentence=sentence, annotations=annotations,
                                                    user=user, type=entity.type,
                                                    fragments=entity.fragments,
                                                    source=Source.HUMAN, source_detail=detail))
            written += 1
    return written + _take_relations(sentence=sentence, user=user, annotations=annotations,
                                     entities=entities, relations=relations, detail=detail)
