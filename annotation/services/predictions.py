"""Writes on model suggestions: pre-annotation by a model version and the review actions.

Decisions:
- Suggestions never touch human work. Accepting one creates a human ``Entity``/``Relation``
  (``source="model"``, ``source_detail="model vN"``) or reuses an identical existing one of
  the sentence. New rows go through the annotation services' one write path
  (``entity_new``/``relation_new`` validate exactly as for a hand-made edit, the relation's
  head and tail types included; ``annotation_insert`` writes and audits), so an accept can
  never create what a manual edit would refuse: that is a ``ValidationError``.
- Only reviewers and managers decide (``annotation.access.suggestion_decide_authorize``,
  checked here, so no caller can skip it): ``PermissionDenied`` otherwise.
- A relation suggestion is accepted together with its two entity suggestions: accepting
  it first accepts whichever of them is still pending. If one of them was rejected the
  relation cannot be accepted (``SuggestionError``). Rejecting an entity suggestion
  rejects the pending relation suggestions that use it.
- Every decision locks its sentence row first (``sentence_lock``; then the suggestion rows,
  ``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite runs write transactions one at a time) and
  re-reads the suggestion's status under that lock, so of two concurrent decisions the
  second sees the first:
  - accepting an accepted suggestion (whose annotation still exists) is idempotent: it
    returns that annotation, writes nothing and leaves the sentence version alone, whatever
    ``expected_version`` says; rejecting a rejected one likewise changes nothing;
  - accepting a rejected suggestion, or rejecting an accepted one, is a ``SuggestionError``
    naming the decision already made and who made it (the API and the page answer 409).
- Optimistic lock: the annotation services' one. A caller may pass ``expected_version``
  (the sentence ``version`` it showed); a mismatch raises ``SentenceVersionConflict``
  (another name for ``StaleVersion``). Accepting changes human annotations like any
  hand-made edit: it bumps the version once and moves a NEW sentence to IN_PROGRESS.
  Rejecting changes neither; it only checks the version.
- Decisions are audited explicitly (``audit.audit_decision``), like the annotation rows.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.access import suggestion_decide_authorize
from annotation.audit import audit_decision
from annotation.models import (
    Entity, ModelVersion, PredictedEntity, PredictedRelation, Relation, Sentence, SentenceScore,
    SentenceStatus, Source, SuggestionStatus,
)
from annotation.selectors.annotations import SentenceAnnotations, sentence_annotations
from annotation.selectors.training import ranking_strategy
from annotation.services.annotations import (
    StaleVersion, annotation_insert, entity_new, normalize_fragments, relation_new,
    sentence_lock, sentence_version_bump,
)
from mlcore.contract import DIVERSITY_CLUSTERS, RANKED_STRATEGY, SET_STRATEGIES, selection_score
from annotation.services.bulk import rows_insert
from annotation.services.tasks import PREANNOTATE, task_enqueue

logger = logging.getLogger(__name__)

HUMAN_DONE = (SentenceStatus.DONE, SentenceStatus.REVIEWED)


class SuggestionError(Exception):
    """A decision that conflicts with one already made (accepting a rejected suggestion,
    rejecting an accepted one, accepting a relation whose entity was rejected): 409."""


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
        task_enqueue(name=PREANNOTATE, args=[version.pk, own])
        queued = True
    return queued


def sentences_to_preannotate(*, version: ModelVersion, sentence_ids: list[int] | None = None):
    """Sentences of the version's project not yet done/reviewed and not yet scored by it,
    shortest first: the task predicts them a chunk at a time, and ``predict`` sorts by length
    only within a call, so chunks in document order would pad every batch to its longest
    criterion (about a third more forward pass on Chia, docs/benchmarks.md)."""
    sentences = Sentence.objects.filter(project_id=version.project_id).exclude(status__in=HUMAN_DONE)
    if sentence_ids is not None:
        sentences = sentences.filter(pk__in=sentence_ids)
    return (sentences.exclude(scores__model_version=version)
            .order_by((F("end") - F("start")).asc(), "pk"))


def predictions_generate(
    *, model_version_id: int, sentence_ids: list[int] | None = None, batch_size: int = 1024,
    predict_batch_size: int = 32,
) -> int:
    """Predict every sentence still to annotate with the version (body of ``preannotate``).

    ``batch_size`` sentences are read, predicted and stored at a time (one transaction each):
    1,024 predict about 10% faster than 256 on a 2-core CPU (``predict``'s batches side by
    side drain at the end of every call; docs/benchmarks.md). Idempotent: sentences the
    version already scored are skipped. Returns how many sentences were predicted.
    """
    from mlcore import inference
    from mlcore.devices import inference_precision

    version = ModelVersion.objects.select_related("project").get(pk=model_version_id)
    model = inference.load_model(
        version.checkpoint_dir, precision=inference_precision(settings.ELIGO_INFERENCE_PRECISION))
    strategy = ranking_strategy(version=version)
    entity_types = {t.name: t for t in version.project.entity_types.all()}
    relation_types = {t.name: t for t in version.project.relation_types.all()}
    pending = sentences_to_preannotate(version=version, sentence_ids=sentence_ids)
    pending_ids = list(pending.values_list("pk", flat=True))
    set_ranking = _SetRanking(strategy) if strategy in SET_STRATEGIES else None
    done = 0
    for offset in range(0, len(pending_ids), batch_size):
        batch = list(Sentence.objects.filter(pk__in=pending_ids[offset:offset + batch_size])
                     .only("id", "text", "start", "document_id").order_by("pk"))
        predictions = _predict(inference, model, batch, predict_batch_size, strategy)
        _store_batch(version, batch, predictions, strategy, entity_types, relation_types)
        if set_ranking is not None:
            set_ranking.add(batch, predictions)
        done += len(batch)
    if set_ranking is not None:
        set_ranking.rescore(version=version)
    logger.info("model v%s pre-annotated %s sentences", version.number, done)
    return done


def _predict(inference, model, sentences: list[Sentence], batch_size: int, strategy: str):
    """The batch's predictions, with what the ranking needs beyond one pass: BALD's
    MC-dropout draws of the heads, or diversity's sentence vectors."""
    from mlcore.corpus.model import SentenceExample

    examples = [SentenceExample(text=s.text, document=str(s.document_id), offset=s.start) for s in sentences]
    return inference.predict(model, examples, batch_size=batch_size,
                             **inference.ranking_extras(strategy))


class _SetRanking:
    """The ``diverse`` and ``typical`` rankings are over the whole set a task scores, not one
    criterion at a time (``mlcore.selection.set_order``): each batch's vectors and
    uncertainties are kept, and once all are stored each score is replaced by the criterion's
    place in the set's order (the criterion's cluster goes into its score parts, for the rank
    line)."""

    def __init__(self, strategy: str):
        self.strategy = strategy
        self.ids, self.vectors, self.uncertainty = [], [], []

    def add(self, sentences, predictions) -> None:
        for sentence, prediction in zip(sentences, predictions):
            self.ids.append(sentence.pk)
            self.vectors.append(prediction.vector)
            self.uncertainty.append(prediction.uncertainty.get(RANKED_STRATEGY, 0.0))

    @transaction.atomic
    def rescore(self, *, version: ModelVersion) -> None:
        import numpy as np

        from mlcore.selection import order_scores, set_order

        if not self.ids:
            return
        order, clusters = set_order(self.strategy, np.stack(self.vectors),
                                    np.array(self.uncertainty), clusters=DIVERSITY_CLUSTERS,
                                    seed=version.number)
        scores = order_scores(order)
        rows = {}
        for start in range(0, len(self.ids), 5000):  # below SQLite's limit of parameters
            rows.update((row.sentence_id, row) for row in SentenceScore.objects.filter(
                model_version=version, sentence_id__in=self.ids[start:start + 5000]
            ).only("id", "sentence_id", "scores"))
        for k, sentence_id in enumerate(self.ids):
            rows[sentence_id].score = float(scores[k])
            rows[sentence_id].scores = {**rows[sentence_id].scores, "cluster": int(clusters[k]),
                                        self.strategy: float(scores[k])}
        SentenceScore.objects.bulk_update(list(rows.values()), ["score", "scores"], batch_size=500)


ENTITY_COLUMNS = ("model_version_id", "sentence_id", "type_id", "fragments", "start", "end",
                  "probability", "calibrated_confidence")
RELATION_COLUMNS = ("model_version_id", "sentence_id", "type_id", "head_id", "tail_id",
                    "probability", "calibrated_confidence")
SCORE_COLUMNS = ("project_id", "sentence_id", "model_version_id", "scores", "score")


@transaction.atomic
def _store_batch(version, sentences, predictions, strategy, entity_types, relation_types) -> None:
    """Store one batch: three multi-row inserts (entities, then relations by their ids, then
    scores) of plain values (``services.bulk.rows_insert``: storing was most of re-ranking a
    large project's time through ``bulk_create``, docs/benchmarks.md, "Re-ranking").

    An entity keeps its predicted fragments (the span layer's discontinuous entities have
    several; overlapping entities are stored as they come).

    Predicted types the project does not have (a schema changed since training) are skipped.
    A sentence the version already scored keeps its score (a concurrent run of the same task).
    """
    entity_rows, owners = [], []
    for s, (sentence, prediction) in enumerate(zip(sentences, predictions, strict=True)):
        start = sentence.start
        for k, entity in enumerate(prediction.entities):
            entity_type = entity_types.get(entity.type)
            if entity_type is not None:
                owners.append((s, k))
                entity_rows.append((
                    version.pk, sentence.pk, entity_type.pk,
                    [[start + a, start + b] for a, b in entity.fragments],
                    start + entity.start, start + entity.end, float(entity.prob),
                    float(entity.confidence)))
    ids = dict(zip(owners, rows_insert(PredictedEntity, ENTITY_COLUMNS, entity_rows,
                                       returning_ids=True)))
    relation_rows, score_rows = [], []
    for s, (sentence, prediction) in enumerate(zip(sentences, predictions)):
        for relation in prediction.relations:
            head, tail = ids.get((s, relation.head)), ids.get((s, relation.tail))
            relation_type = relation_types.get(relation.type)
            if head is not None and tail is not None and relation_type is not None:
                relation_rows.append((version.pk, sentence.pk, relation_type.pk, head, tail,
                                      float(relation.prob), float(relation.confidence)))
        values = {k: float(v) for k, v in (prediction.uncertainty or {}).items() if v is not None}
        score_rows.append((version.project_id, sentence.pk, version.pk, values,
                           selection_score(values, strategy)))
    rows_insert(PredictedRelation, RELATION_COLUMNS, relation_rows)
    rows_insert(SentenceScore, SCORE_COLUMNS, score_rows, ignore_conflicts=True)


# --- review actions ----------------------------------------------------------------------


def _decided(prediction) -> str:
    who = prediction.decided_by.username if prediction.decided_by else "someone"
    return f"{prediction.get_status_display().lower()} by {who}"


def _decision_start(*, sentence_id: int, user) -> Sentence:
    """What every decision does first: lock its sentence (concurrent decisions and edits of
    the sentence wait until this transaction ends, so what is read next is what they left),
    check the role (:func:`annotation.access.suggestion_decide_authorize`), and hand back the
    locked sentence. The caller checks the expected version, after the idempotent cases."""
    sentence = sentence_lock(sentence_id=sentence_id)
    suggestion_decide_authorize(user=user, project_id=sentence.project_id)
    return sentence


def _version_check(sentence: Sentence, expected_version: int | None) -> None:
    if expected_version is not None and sentence.version != expected_version:
        raise StaleVersion(sentence.pk, expected_version)


def _locked(model, pk: int, sentence: Sentence):
    """The suggestion as stored now, its row locked (PostgreSQL) until the transaction ends."""
    link = "entity" if model is PredictedEntity else "relation"
    return (model.objects.select_for_update(of=("self",))
            .select_related("type", "model_version", "decided_by", link)
            .get(pk=pk, sentence_id=sentence.pk))


def _decide(prediction, status: str, user, **links) -> None:
    """Record the decision (one UPDATE, no signals) and its audit event."""
    prediction.status, prediction.decided_by, prediction.decided_at = status, user, timezone.now()
    for name, value in links.items():
        setattr(prediction, name, value)
    type(prediction).objects.filter(pk=prediction.pk).update(
        status=status, decided_by=user, decided_at=prediction.decided_at, **links)
    audit_decision(prediction=prediction, user=user)


def _accept_entity(prediction: PredictedEntity, *, user, sentence: Sentence,
                   annotations: SentenceAnnotations) -> Entity:
    """Accept an entity suggestion read under the lock: an accepted one gives its annotation
    back unchanged; otherwise the identical entity of the sentence is reused, or a new one is
    written by the annotation services' own path (validation, insert, audit)."""
    if prediction.status == SuggestionStatus.ACCEPTED and prediction.entity_id:
        return annotations.entity(prediction.entity_id) or prediction.entity
    if prediction.status == SuggestionStatus.REJECTED:
        raise SuggestionError(f"Not accepted: this suggestion was already {_decided(prediction)}.")
    fragments = normalize_fragments(sentence=sentence, fragments=prediction.fragments)
    entity = annotations.identical_entity(prediction.type_id, fragments)
    if entity is None:
        entity = entity_new(sentence=sentence, annotations=annotations, user=user,
                            type=prediction.type, fragments=fragments, source=Source.MODEL,
                            source_detail=prediction.model_version.label)
        annotation_insert(sentence=sentence, user=user, annotations=annotations, annotation=entity)
    _decide(prediction, SuggestionStatus.ACCEPTED, user, entity=entity)
    return entity


def _accept_relation(prediction: PredictedRelation, *, user, sentence: Sentence,
                     annotations: SentenceAnnotations) -> Relation:
    """Accept a relation suggestion read under the lock, accepting its entity suggestions
    first; the relation is checked like a hand-made one (its type must allow the ends)."""
    if prediction.status == SuggestionStatus.ACCEPTED and prediction.relation_id:
        return annotations.relation(prediction.relation_id) or prediction.relation
    if prediction.status == SuggestionStatus.REJECTED:
        raise SuggestionError(f"Not accepted: this suggestion was already {_decided(prediction)}.")
    ends = [_locked(PredictedEntity, pk, sentence) for pk in (prediction.head_id, prediction.tail_id)]
    for end in ends:
        if end.status == SuggestionStatus.REJECTED:
            raise SuggestionError(
                f"Not accepted: one of this relation's entities was already {_decided(end)}.")
    head, tail = (_accept_entity(end, user=user, sentence=sentence, annotations=annotations)
                  for end in ends)
    relation = annotations.identical_relation(prediction.type_id, head.pk, tail.pk)
    if relation is None:
        relation = relation_new(sentence=sentence, annotations=annotations, user=user,
                                type=prediction.type, head_id=head.pk, tail_id=tail.pk,
                                source=Source.MODEL, source_detail=prediction.model_version.label)
        annotation_insert(sentence=sentence, user=user, annotations=annotations,
                          annotation=relation)
    _decide(prediction, SuggestionStatus.ACCEPTED, user, relation=relation)
    return relation


def _accept(model, accept, *, prediction, user, expected_version, annotations=None):
    """One accept: lock, re-read, give an accepted suggestion's annotation back as it is (no
    version check, no new version: the caller's wish already holds), else check the version,
    write and move the sentence to its next version. ``annotations``: the sentence's, as the
    caller read them (the annotation view, which renders them after), kept in step."""
    sentence = _decision_start(sentence_id=prediction.sentence_id, user=user)
    prediction = _locked(model, prediction.pk, sentence)
    link = prediction.entity_id if model is PredictedEntity else prediction.relation_id
    if annotations is None:
        annotations = sentence_annotations(sentence=sentence)
    if prediction.status == SuggestionStatus.ACCEPTED and link:
        return accept(prediction, user=user, sentence=sentence, annotations=annotations)
    _version_check(sentence, expected_version)
    annotation = accept(prediction, user=user, sentence=sentence, annotations=annotations)
    sentence_version_bump(sentence=sentence, user=user, expected_version=sentence.version)
    return annotation


@transaction.atomic
def predicted_entity_accept(*, prediction: PredictedEntity, user,
                            expected_version: int | None = None,
                            annotations: SentenceAnnotations | None = None) -> Entity:
    """Turn an entity suggestion into an annotation; accepting it again returns that one."""
    return _accept(PredictedEntity, _accept_entity, prediction=prediction, user=user,
                   expected_version=expected_version, annotations=annotations)


@transaction.atomic
def predicted_relation_accept(*, prediction: PredictedRelation, user,
                              expected_version: int | None = None,
                              annotations: SentenceAnnotations | None = None) -> Relation:
    """Accept a relation suggestion, accepting its pending entity suggestions first."""
    return _accept(PredictedRelation, _accept_relation, prediction=prediction, user=user,
                   expected_version=expected_version, annotations=annotations)


def _reject(model, *, prediction, user, expected_version):
    """One reject: lock, re-read; a rejected suggestion stays as it is (idempotent), an
    accepted one is a conflict; otherwise check the version and record the decision."""
    sentence = _decision_start(sentence_id=prediction.sentence_id, user=user)
    prediction = _locked(model, prediction.pk, sentence)
    if prediction.status == SuggestionStatus.REJECTED:
        return prediction
    if prediction.status == SuggestionStatus.ACCEPTED:
        what = "annotation" if model is PredictedEntity else "relation"
        raise SuggestionError(f"Not rejected: this suggestion was already {_decided(prediction)}; "
                              f"delete the {what} instead.")
    _version_check(sentence, expected_version)
    _decide(prediction, SuggestionStatus.REJECTED, user)
    return prediction


@transaction.atomic
def predicted_entity_reject(*, prediction: PredictedEntity, user,
                            expected_version: int | None = None) -> None:
    """Reject an entity suggestion (and the pending relation suggestions that use it)."""
    prediction = _reject(PredictedEntity, prediction=prediction, user=user,
                         expected_version=expected_version)
    PredictedRelation.objects.filter(
        Q(head=prediction) | Q(tail=prediction), status=SuggestionStatus.PENDING
    ).update(status=SuggestionStatus.REJECTED, decided_by=user, decided_at=timezone.now())


@transaction.atomic
def predicted_relation_reject(*, prediction: PredictedRelation, user,
                              expected_version: int | None = None) -> None:
    _reject(PredictedRelation, prediction=prediction, user=user, expected_version=expected_version)


def _confident(predictions, threshold: float | None):
    """The suggestions whose confidence (calibrated, else the probability) is >= threshold."""
    if threshold is None:
        return predictions
    return predictions.alias(
        shown_confidence=Coalesce("calibrated_confidence", "probability")
    ).filter(shown_confidence__gte=float(threshold))


@transaction.atomic
def predictions_accept_all(
    *, sentence: Sentence, model_version: ModelVersion, user, threshold: float | None = None,
    expected_version: int | None = None, annotations: SentenceAnnotations | None = None,
) -> dict[str, int]:
    """Accept the sentence's pending suggestions of ``model_version``.

    Every pending entity, then every pending relation between accepted entities; with
    ``threshold``, only those whose confidence (calibrated, else the probability) is at
    least ``threshold``: a relation then needs both its entities accepted, now or before.
    A suggestion the schema refuses (a relation type that does not allow its ends' types,
    say) is left pending for a one-by-one decision, which says why. Returns how many of
    each were accepted; the version moves once, if any.
    """
    sentence = _decision_start(sentence_id=sentence.pk, user=user)
    _version_check(sentence, expected_version)
    if annotations is None:
        annotations = sentence_annotations(sentence=sentence)
    entities = _confident(PredictedEntity.objects.filter(
        sentence=sentence, model_version=model_version, status=SuggestionStatus.PENDING
    ), threshold).select_for_update(of=("self",)).select_related("type", "model_version")
    counts = {"entities": 0, "relations": 0}
    for prediction in entities:
        counts["entities"] += _accepted(_accept_entity, prediction, user, sentence, annotations)
    relations = _confident(PredictedRelation.objects.filter(
        sentence=sentence, model_version=model_version, status=SuggestionStatus.PENDING,
        head__status=SuggestionStatus.ACCEPTED, tail__status=SuggestionStatus.ACCEPTED,
    ), threshold).select_for_update(of=("self",)).select_related("type", "model_version")
    for prediction in relations:
        counts["relations"] += _accepted(_accept_relation, prediction, user, sentence,
                                         annotations)
    if counts["entities"] or counts["relations"]:
        sentence_version_bump(sentence=sentence, user=user, expected_version=sentence.version)
    return counts


def _accepted(accept, prediction, user, sentence, annotations) -> int:
    """1 when ``accept`` took the suggestion, 0 when the schema refused it (nothing written:
    the checks run before the writes)."""
    try:
        accept(prediction, user=user, sentence=sentence, annotations=annotations)
    except ValidationError:
        return 0
    return 1
