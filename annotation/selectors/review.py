"""Reads for reviewing model suggestions: the uncertainty-ranked queue and a sentence's suggestions."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from annotation.models import (
    Document, ModelVersion, PredictedEntity, PredictedRelation, Project, Sentence, SentenceScore,
    SuggestionStatus,
)
from annotation.selectors.training import model_version_active


def review_queue(
    *, project: Project, model_version: ModelVersion | None = None, status: str | None = None,
    document_id: int | None = None,
) -> QuerySet[SentenceScore]:
    """The sentences scored by the (active) model version, most uncertain first.

    Served by the ``review_queue_idx`` index on (project, model_version, -score, sentence); the
    sentence and document come along in the same query. Filters go through a sentence
    subquery (the status and document indexes) rather than a join filter, which made SQLite
    walk the whole ranked index.
    """
    model_version = model_version or model_version_active(project)
    if model_version is None:
        return SentenceScore.objects.none()
    scores = SentenceScore.objects.filter(project=project, model_version=model_version)
    if status or document_id:
        filtered = _filtered_sentences(project=project, status=status, document_id=document_id)
        scores = scores.filter(sentence_id__in=filtered.values("id"))
    return (
        scores.select_related("sentence", "sentence__document")
        .only("score", "scores", "sentence__id", "sentence__text", "sentence__status",
              "sentence__index", "sentence__document__id", "sentence__document__name")
        .order_by("-score", "sentence_id")
    )


def review_queue_count(
    *, project: Project, model_version: ModelVersion | None, status: str | None = None,
    document_id: int | None = None,
) -> int:
    """How many sentences :func:`review_queue` lists, counted from the sentence side.

    Counting the ranked scores joined to their sentences costs a lookup per score (75 ms for
    30,000 on SQLite); from the sentences' status/document index it costs a few ms."""
    if model_version is None:
        return 0
    if not (status or document_id):
        return SentenceScore.objects.filter(project=project, model_version=model_version).count()
    filtered = _filtered_sentences(project=project, status=status, document_id=document_id)
    return filtered.filter(scores__model_version=model_version).count()


def _filtered_sentences(*, project: Project, status: str | None, document_id: int | None):
    """Sentences by status and/or document. The document filter leaves out ``project``: the
    scores are already the project's, and with both SQLite picks the wider project index."""
    sentences = (Sentence.objects.filter(document_id=document_id) if document_id
                 else Sentence.objects.filter(project=project))
    return sentences.filter(status=status) if status else sentences


def review_document_choices(*, project: Project) -> list[dict]:
    """``{"id", "name"}`` of every document, by name, for the queue's document filter.

    Plain rows: model instances from ``project.documents`` would each re-read their deferred
    ``project_id`` (the related manager sets the known project on every row), one query per
    document."""
    return list(Document.objects.filter(project=project).order_by("name").values("id", "name"))


@dataclass
class SentenceSuggestions:
    """What the suggestion partial shows for one sentence."""

    sentence: Sentence
    model_version: ModelVersion | None
    entities: list[PredictedEntity] = field(default_factory=list)
    relations: list[PredictedRelation] = field(default_factory=list)
    score: SentenceScore | None = None

    @property
    def pending_entities(self) -> list[PredictedEntity]:
        return [e for e in self.entities if e.status == SuggestionStatus.PENDING]

    @property
    def pending_relations(self) -> list[PredictedRelation]:
        return [r for r in self.relations if r.status == SuggestionStatus.PENDING]

    @property
    def has_pending(self) -> bool:
        return bool(self.pending_entities or self.pending_relations)


def sentence_suggestions(*, sentence: Sentence,
                         model_version: ModelVersion | None = None) -> SentenceSuggestions:
    """The suggestions of the (active) model version for ``sentence``, with their texts."""
    model_version = model_version or model_version_active(sentence.project)
    result = SentenceSuggestions(sentence=sentence, model_version=model_version)
    if model_version is None:
        return result
    document_text = sentence.document.text
    result.entities = list(
        PredictedEntity.objects.filter(sentence=sentence, model_version=model_version).select_related("type")
    )
    for prediction in result.entities:
        prediction.text = " ".join(document_text[a:b] for a, b in prediction.fragments)
    by_id = {e.pk: e for e in result.entities}
    result.relations = list(
        PredictedRelation.objects.filter(sentence=sentence, model_version=model_version).select_related("type")
    )
    for relation in result.relations:
        relation.head_prediction, relation.tail_prediction = by_id[relation.head_id], by_id[relation.tail_id]
    result.score = SentenceScore.objects.filter(sentence=sentence, model_version=model_version).first()
    return result


def predictions_for_project(*, model, project: Project, sentence_id: int | None = None,
                            model_version_number: int | None = None,
                            status: str = "") -> QuerySet:
    """The project's suggestions of kind ``model`` (``PredictedEntity`` or
    ``PredictedRelation``) with their type and model version, by sentence, filtered by
    sentence, model version number and decision status when given."""
    predictions = model.objects.filter(sentence__project=project).select_related(
        "type", "model_version")
    if sentence_id is not None:
        predictions = predictions.filter(sentence_id=sentence_id)
    if model_version_number is not None:
        predictions = predictions.filter(model_version__number=model_version_number)
    if status:
        predictions = predictions.filter(status=status)
    return predictions.order_by("sentence_id", "id")
