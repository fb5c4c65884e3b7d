"""Reads for reviewing model suggestions: the uncertainty-ranked queue and a sentence's suggestions."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timezone as dt_timezone
from functools import cached_property

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotation.models import (
    Document, EntityType, ModelVersion, PredictedEntity, PredictedRelation, Project,
    RelationType, Sentence, SentenceScore, SuggestionStatus,
)
from annotation.selectors.training import model_version_active


def review_queue(
    *, project: Project, model_version: ModelVersion | None = None, status: str | None = None,
    document_id: int | None = None,
) -> QuerySet[SentenceScore]:
    """The sentences scored by the (active) model version, most uncertain first.

    Served by the ``review_queue_idx`` index on (project, model_version, score); the
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


# --- the suggestions drawn in the annotation view ----------------------------------------------


@dataclass(frozen=True)
class SuggestionType:
    name: str
    color: str = ""


@dataclass
class Suggestion:
    """One suggestion of the active model on a sentence, as the annotation view draws it and
    as its undo step remembers the decision on it."""

    kind: str  # "entity" or "relation"
    pk: int
    type: SuggestionType
    probability: float
    calibrated_confidence: float | None
    status: str
    link_id: int | None  # the entity or relation an accept made
    decided_by_id: int | None
    decided_at: str | None  # ISO 8601, JSON-able for the undo step
    model_version_id: int
    model_version_number: int
    fragments: list = field(default_factory=list)
    start: int = 0
    end: int = 0
    head_id: int | None = None
    tail_id: int | None = None
    text: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.pk}"

    @property
    def confidence(self) -> float:
        return self.probability if self.calibrated_confidence is None else self.calibrated_confidence

    @property
    def pending(self) -> bool:
        return self.status == SuggestionStatus.PENDING

    def decision(self) -> dict:
        return {"kind": self.kind, "id": self.pk, "status": self.status, "link_id": self.link_id,
                "decided_by_id": self.decided_by_id, "decided_at": self.decided_at}


@dataclass
class DrawnSuggestions:
    """The active model's suggestions on a sentence and the project's display threshold.

    Shown: pending entity suggestions at or above the threshold; pending relation suggestions
    at or above it whose two ends are drawn (a shown entity suggestion, or the entity an
    accepted one made). The rest stay stored and are counted as hidden.

    Decisions are made in the shared (curated) layer (only reviewers and managers decide, and
    they edit that layer, ``selectors.layers.layer_for``): in an annotator's own ``layer`` the
    entity an accept made is not there, so a relation suggestion on it is not drawn."""

    items: list[Suggestion]
    threshold: float
    layer: int | None = None

    @property
    def model_version_id(self) -> int | None:
        return self.items[0].model_version_id if self.items else None

    @property
    def model_version_number(self) -> int | None:
        return self.items[0].model_version_number if self.items else None

    @cached_property
    def shown_entities(self) -> list[Suggestion]:
        return [s for s in self.items if s.kind == "entity" and s.pending
                and s.confidence >= self.threshold]

    def end_of(self, entity_suggestion_id: int) -> str | None:
        """How a relation suggestion's end is drawn: ``"s<id>"`` (a shown entity suggestion),
        ``"e<id>"`` (the entity its accept made) or None (rejected or hidden)."""
        end = self._entities.get(entity_suggestion_id)
        if end is None:
            return None
        if end in self.shown_entities:
            return f"s{end.pk}"
        if end.status == SuggestionStatus.ACCEPTED and end.link_id and self.layer is None:
            return f"e{end.link_id}"
        return None

    @cached_property
    def _entities(self) -> dict[int, Suggestion]:
        return {s.pk: s for s in self.items if s.kind == "entity"}

    @cached_property
    def shown_relations(self) -> list[Suggestion]:
        return [s for s in self.items if s.kind == "relation" and s.pending
                and s.confidence >= self.threshold
                and self.end_of(s.head_id) and self.end_of(s.tail_id)]

    @property
    def shown(self) -> list[Suggestion]:
        return self.shown_entities + self.shown_relations

    @property
    def hidden_count(self) -> int:
        return sum(1 for s in self.items if s.pending) - len(self.shown)

    def get(self, kind: str, pk: int) -> Suggestion | None:
        return next((s for s in self.items if s.kind == kind and s.pk == pk), None)

    def decisions(self) -> dict[str, dict]:
        return {s.key: s.decision() for s in self.items}


def _suggestions_sql() -> str:
    entity, relation = PredictedEntity._meta.db_table, PredictedRelation._meta.db_table
    version = ModelVersion._meta.db_table
    entity_type, relation_type = EntityType._meta.db_table, RelationType._meta.db_table
    common = ("s.id, t.name, s.probability, s.calibrated_confidence, s.status, s.decided_by_id, "
              "s.decided_at, v.id, v.number")
    return (
        f"SELECT 'entity', {common}, s.entity_id, s.fragments, s.start, s.{connection.ops.quote_name('end')}, "
        f"NULL, NULL, t.color FROM {entity} s JOIN {version} v ON v.id = s.model_version_id "
        f"JOIN {entity_type} t ON t.id = s.type_id WHERE s.sentence_id = %s AND v.is_active "
        f"UNION ALL SELECT 'relation', {common}, s.relation_id, NULL, NULL, NULL, s.head_id, "
        f"s.tail_id, '' FROM {relation} s JOIN {version} v ON v.id = s.model_version_id "
        f"JOIN {relation_type} t ON t.id = s.type_id WHERE s.sentence_id = %s AND v.is_active "
        f"ORDER BY 1, 13, 2")


def _iso(value) -> str | None:
    """A decision time as ISO 8601 with its offset (SQLite hands a naive UTC string back)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return None
    return (value if timezone.is_aware(value) else timezone.make_aware(value, dt_timezone.utc)).isoformat()


def drawn_suggestions(*, sentence: Sentence) -> DrawnSuggestions:
    """The active model's suggestions on ``sentence`` (entities by position, then relations),
    with their texts: one query for both kinds. The threshold is the project's."""
    with connection.cursor() as cursor:
        cursor.execute(_suggestions_sql(), [sentence.pk, sentence.pk])
        rows = cursor.fetchall()
    items = []
    for (kind, pk, name, probability, calibrated, status, decided_by_id, decided_at,
         version_id, number, link_id, fragments, start, end, head_id, tail_id, color) in rows:
        if isinstance(fragments, str):
            fragments = json.loads(fragments)
        item = Suggestion(kind=kind, pk=pk, type=SuggestionType(name, color or ""),
                          probability=probability, calibrated_confidence=calibrated,
                          status=status, link_id=link_id, decided_by_id=decided_by_id,
                          decided_at=_iso(decided_at), model_version_id=version_id,
                          model_version_number=number, fragments=fragments or [],
                          start=start or 0, end=end or 0, head_id=head_id, tail_id=tail_id)
        if kind == "entity":
            item.text = " … ".join(sentence.text[a - sentence.start:b - sentence.start]
                                   for a, b in item.fragments)
        items.append(item)
    return DrawnSuggestions(items=items, threshold=sentence.project.suggestion_threshold,
                            layer=sentence.layer)
