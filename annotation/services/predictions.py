"""Writes on model suggestions: pre-annotation by a model version and the review actions.

Decisions:
- Suggestions never touch human work. Accepting one creates a human ``Entity``/``Relation``
  (``source="model"``, ``source_detail="model vN"``) or reuses an identical existing one.
- A relation suggestion is accepted together with its two entity suggestions: accepting
  it first accepts whichever of them is still pending. If one of them was rejected the
  relation cannot be accepted (``SuggestionError``). Rejecting an entity suggestion
  rejects the pending relation suggestions that use it.
- Optimistic lock: the annotation services' one (``sentence_version_bump``). A caller may
  pass ``expected_version`` (the sentence ``version`` it showed); a mismatch raises
  ``SentenceVersionConflict`` (another name for ``StaleVersion``). Accepting changes human
  annotations like any hand-made edit: it bumps the version and moves a NEW sentence to
  IN_PROGRESS. Rejecting changes neither; it only checks the version.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation.models import (
    Entity, ModelVersion, PredictedEntity, PredictedRelation, Relation, Sentence, SentenceScore,
    SentenceStatus, Source, SuggestionStatus,
)
from annotation.services.annotations import (
    StaleVersion, sentence_version_bump, sentence_version_check,
)

logger = logging.getLogger(__name__)

PREANNOTATE_TASK = "worker.tasks.preannotate"
HUMAN_DONE = (SentenceStatus.DONE, SentenceStatus.REVIEWED)


class SuggestionError(Exception):
    """A review action that cannot be applied (already decided, entity rejected, ...)."""


# the name the suggestion views and the API have always caught
SentenceVersionConflict = StaleVersion


# --- pre-annotation (worker side) -----------------------------------------------------------


def predictions_refresh_for_sentences(*, sentence_ids: Iterable[int]) -> bool:
    """Hook for imports: queue suggestions of the active model for new sentences.

    Returns whether anything was queued (False when the project has no active model).
    """
    ids = sorted(set(sentence_ids))
    if not ids:
        return False
    project_ids = set(Sentence.objects.filter(pk__in=ids).values_list("project_id", flat=True))
    queued = False
    for version in ModelVersion.objects.filter(project_id__in=project_ids, is_active=True):
        own = list(Sentence.objects.filter(pk__in=ids, project_id=version.project_id).values_list("pk", flat=True))
        transaction.on_commit(lambda v=version.pk, s=own: _send(PREANNOTATE_TASK, [v, s]))
        queued = True
    return queued


def _send(name: str, args: list) -> None:
    from webapp.celery import app

    app.send_task(name, args=args)


def sentences_to_preannotate(version: ModelVersion, sentence_ids: list[int] | None = None):
    """Sentences of the version's project not yet done/reviewed and not yet scored by it."""
    sentences = Sentence.objects.filter(project_id=version.project_id).exclude(status__in=HUMAN_DONE)
    if sentence_ids is not None:
        sentences = sentences.filter(pk__in=sentence_ids)
    return sentences.exclude(scores__model_version=version).order_by("pk")


def predictions_generate(
    *, model_version_id: int, sentence_ids: list[int] | None = None, batch_size: int = 256,
    predict_batch_size: int = 32,
) -> int:
    """Predict every sentence still to annotate with the version (body of ``preannotate``).

    Idempotent: sentences the version already scored are skipped. Returns how many
    sentences were predicted.
    """
    from mlcore import inference
    from mlcore.devices import inference_precision

    version = ModelVersion.objects.select_related("project").get(pk=model_version_id)
    model = inference.load_model(
        version.checkpoint_dir, precision=inference_precision(settings.ELIGO_INFERENCE_PRECISION))
    strategy = (version.project.model_options or {}).get("strategy") or "combined"
    entity_types = {t.name: t for t in version.project.entity_types.all()}
    relation_types = {t.name: t for t in version.project.relation_types.all()}
    pending_ids = list(sentences_to_preannotate(version, sentence_ids).values_list("pk", flat=True))
    done = 0
    for offset in range(0, len(pending_ids), batch_size):
        batch = list(Sentence.objects.filter(pk__in=pending_ids[offset:offset + batch_size])
                     .only("id", "text", "start", "document_id").order_by("pk"))
        predictions = _predict(inference, model, batch, predict_batch_size)
        _store_batch(version, batch, predictions, strategy, entity_types, relation_types)
        done += len(batch)
    logger.info("model v%s pre-annotated %s sentences", version.number, done)
    return done


def _predict(inference, model, sentences: list[Sentence], batch_size: int):
    from mlcore.corpus.model import SentenceExample

    examples = [SentenceExample(text=s.text, document=str(s.document_id), offset=s.start) for s in sentences]
    return inference.predict(model, examples, batch_size=batch_size)


@transaction.atomic
def _store_batch(version, sentences, predictions, strategy, entity_types, relation_types) -> None:
    """Store one batch: three bulk inserts (entities, then relations by their ids, then scores).

    Predicted types the project does not have (a schema changed since training) are skipped.
    """
    per_sentence, entities = [], []
    for sentence, prediction in zip(sentences, predictions, strict=True):
        created = []
        for entity in prediction.entities:
            entity_type = entity_types.get(entity.type)
            start, end = sentence.start + entity.start, sentence.start + entity.end
            created.append(None if entity_type is None else PredictedEntity(
                model_version=version, sentence=sentence, type=entity_type, fragments=[[start, end]],
                start=start, end=end, probability=float(entity.prob),
            ))
        entities += [p for p in created if p is not None]
        per_sentence.append(created)
    PredictedEntity.objects.bulk_create(entities, batch_size=1000)
    relations, scores = [], []
    for sentence, prediction, created in zip(sentences, predictions, per_sentence):
        for relation in prediction.relations:
            head, tail = created[relation.head], created[relation.tail]
            relation_type = relation_types.get(relation.type)
            if head is not None and tail is not None and relation_type is not None:
                relations.append(PredictedRelation(
                    model_version=version, sentence=sentence, type=relation_type, head=head,
                    tail=tail, probability=float(relation.prob),
                ))
        values = {k: float(v) for k, v in (prediction.uncertainty or {}).items() if v is not None}
        scores.append(SentenceScore(
            project_id=version.project_id, sentence=sentence, model_version=version, scores=values,
            score=values.get(strategy, values.get("combined", 0.0)),
        ))
    PredictedRelation.objects.bulk_create(relations, batch_size=1000)
    SentenceScore.objects.bulk_create(scores, ignore_conflicts=True)


# --- review actions ----------------------------------------------------------------------


def _accept_entity(prediction: PredictedEntity, user) -> Entity:
    if prediction.status == SuggestionStatus.ACCEPTED and prediction.entity_id:
        return prediction.entity
    if prediction.status == SuggestionStatus.REJECTED:
        raise SuggestionError("This suggestion was rejected.")
    sentence = prediction.sentence
    entity = Entity.objects.filter(
        document_id=sentence.document_id, type_id=prediction.type_id, start=prediction.start,
        end=prediction.end, fragments=prediction.fragments,
    ).first()
    if entity is None:
        entity = Entity.objects.create(
            document_id=sentence.document_id, sentence=sentence, type_id=prediction.type_id,
            fragments=prediction.fragments, start=prediction.start, end=prediction.end,
            source=Source.MODEL, source_detail=prediction.model_version.label, created_by=user,
        )
    _decide(prediction, SuggestionStatus.ACCEPTED, user, entity=entity)
    return entity


def _decide(prediction, status: str, user, **links) -> None:
    prediction.status, prediction.decided_by, prediction.decided_at = status, user, timezone.now()
    for name, value in links.items():
        setattr(prediction, name, value)
    prediction.save(update_fields=["status", "decided_by", "decided_at", *links])


def _accept_relation(prediction: PredictedRelation, user) -> Relation:
    if prediction.status == SuggestionStatus.ACCEPTED and prediction.relation_id:
        return prediction.relation
    if prediction.status == SuggestionStatus.REJECTED:
        raise SuggestionError("This suggestion was rejected.")
    if SuggestionStatus.REJECTED in (prediction.head.status, prediction.tail.status):
        raise SuggestionError("One of this relation's entities was rejected.")
    head, tail = _accept_entity(prediction.head, user), _accept_entity(prediction.tail, user)
    relation = Relation.objects.filter(head=head, tail=tail, type_id=prediction.type_id).first()
    if relation is None:
        relation = Relation.objects.create(
            document_id=prediction.sentence.document_id, sentence=prediction.sentence,
            type_id=prediction.type_id, head=head, tail=tail, source=Source.MODEL,
            source_detail=prediction.model_version.label, created_by=user,
        )
    _decide(prediction, SuggestionStatus.ACCEPTED, user, relation=relation)
    return relation


def _entity_prediction(pk: int) -> PredictedEntity:
    return PredictedEntity.objects.select_related("sentence", "model_version").get(pk=pk)


def _relation_prediction(pk: int) -> PredictedRelation:
    return PredictedRelation.objects.select_related(
        "sentence", "model_version", "head__sentence", "tail__sentence", "head__model_version",
        "tail__model_version",
    ).get(pk=pk)


@transaction.atomic
def predicted_entity_accept(*, prediction: PredictedEntity, user, expected_version: int | None = None) -> Entity:
    """Turn an entity suggestion into a human annotation."""
    prediction = _entity_prediction(prediction.pk)
    sentence_version_bump(sentence=prediction.sentence, user=user,
                          expected_version=expected_version)
    return _accept_entity(prediction, user)


@transaction.atomic
def predicted_entity_reject(*, prediction: PredictedEntity, user, expected_version: int | None = None) -> None:
    """Reject an entity suggestion (and the pending relation suggestions that use it)."""
    sentence_version_check(sentence_id=prediction.sentence_id, expected_version=expected_version)
    prediction = _entity_prediction(prediction.pk)
    if prediction.status == SuggestionStatus.ACCEPTED:
        raise SuggestionError("This suggestion was already accepted; delete the annotation instead.")
    _decide(prediction, SuggestionStatus.REJECTED, user)
    PredictedRelation.objects.filter(
        Q(head=prediction) | Q(tail=prediction), status=SuggestionStatus.PENDING
    ).update(status=SuggestionStatus.REJECTED, decided_by=user, decided_at=timezone.now())


@transaction.atomic
def predicted_relation_accept(*, prediction: PredictedRelation, user, expected_version: int | None = None) -> Relation:
    """Accept a relation suggestion, accepting its pending entity suggestions first."""
    prediction = _relation_prediction(prediction.pk)
    sentence_version_bump(sentence=prediction.sentence, user=user,
                          expected_version=expected_version)
    return _accept_relation(prediction, user)


@transaction.atomic
def predicted_relation_reject(*, prediction: PredictedRelation, user, expected_version: int | None = None) -> None:
    sentence_version_check(sentence_id=prediction.sentence_id, expected_version=expected_version)
    prediction = _relation_prediction(prediction.pk)
    if prediction.status == SuggestionStatus.ACCEPTED:
        raise SuggestionError("This suggestion was already accepted; delete the relation instead.")
    _decide(prediction, SuggestionStatus.REJECTED, user)


@transaction.atomic
def predictions_accept_all(
    *, sentence: Sentence, model_version: ModelVersion, user, threshold: float | None = None,
    expected_version: int | None = None,
) -> dict[str, int]:
    """Accept the sentence's pending suggestions of ``model_version``.

    Without ``threshold``: every pending entity, then every pending relation between
    accepted entities. With ``threshold``: only entities with probability >= threshold
    (relations are left for review). Returns how many of each were accepted.
    """
    sentence_version_check(sentence_id=sentence.pk, expected_version=expected_version)
    entities = PredictedEntity.objects.filter(
        sentence=sentence, model_version=model_version, status=SuggestionStatus.PENDING
    ).select_related("sentence", "model_version")
    if threshold is not None:
        entities = entities.filter(probability__gte=float(threshold))
    counts = {"entities": 0, "relations": 0}
    for prediction in entities:
        _accept_entity(prediction, user)
        counts["entities"] += 1
    if threshold is None:
        relations = PredictedRelation.objects.filter(
            sentence=sentence, model_version=model_version, status=SuggestionStatus.PENDING,
            head__status=SuggestionStatus.ACCEPTED, tail__status=SuggestionStatus.ACCEPTED,
        )
        for prediction in relations:
            _accept_relation(_relation_prediction(prediction.pk), user)
            counts["relations"] += 1
    if counts["entities"] or counts["relations"]:
        sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version)
    return counts
