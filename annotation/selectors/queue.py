"""Reads for the annotation queue: which open criterion "Annotate next", Enter and Skip serve,
why it ranks where it does, and who holds which claim.

The order is the project's ranking, never document order:

1. with an active model version, its uncertainty scores (``SentenceScore.score``, most
   uncertain first; ties by sentence id), the order of the review queue;
2. then every open criterion that version has not scored (none yet, or imported since), and
   all of them while no model is active, in a *seeded random order*: by ``Sentence.queue_key``,
   a random key drawn once when the sentence is made and indexed with its project
   (``sentence_queue_idx``), so the order is the same on every request and for every
   annotator, different per project, and the database walks that index from the top.

A criterion is served when it is open (new or in progress), nobody else holds an unexpired
claim on it, it is not one the annotator skipped in this session, and it lies in ``scope``
(a queryset of the sentences this annotator may be served; ``None``: the whole project).

In an annotator's own layer (independent mode, ``layer`` = their user id) "open" is their
layer's status, not the curated one: ``scope`` defaults to
``selectors.layers.sentences_for_annotator`` (their assigned criteria not finished in their
layer), the curated status and ``SentenceScore.is_open`` are not consulted, and claims play no
part (nobody else edits that layer), so every annotator assigned a document is served its
criteria in the same ranking order.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.models import Claim, ModelVersion, Project, Sentence, SentenceScore
from annotation.selectors.annotations import OPEN_STATUSES
from annotation.selectors.layers import sentences_for_annotator
from annotation.selectors.training import model_version_active, ranking_strategy


def _held_by_others(*, project: Project, user, now: datetime) -> set[int]:
    """The sentences someone else holds an unexpired claim on (about one per annotator): read
    once and checked in Python. (A ``NOT EXISTS`` per row walked cost PostgreSQL's planner
    an anti-join and a sort of every open criterion: Done-and-advance 45 -> 70 ms.)"""
    return set(Claim.objects.filter(project_id=project.pk, expires_at__gt=now)
               .exclude(user_id=user.pk).values_list("sentence_id", flat=True))


def _first_not_in(ordered_ids: QuerySet, excluded: set[int]) -> int | None:
    """The first id of ``ordered_ids`` not in ``excluded``: among its first
    ``len(excluded) + 1`` there is one if there is any, so the database stops there instead
    of checking claims row by row."""
    return next((pk for pk in ordered_ids[:len(excluded) + 1] if pk not in excluded), None)


def queue_next(*, project: Project, user, skipped: Collection[int] = (),
               scope: QuerySet[Sentence] | None = None, now: datetime | None = None,
               model_version: ModelVersion | None = None, layer: int | None = None) -> int | None:
    """The id of the next criterion to serve ``user`` (see the module docstring), or ``None``;
    ``layer``: the annotator layer ``user`` edits (``selectors.layers.layer_for``).

    Ranked: a join from the scores, so the database walks ``queue_idx`` (the open criteria's
    scores, ``is_open``, by score then sentence id: a covering index) from the top, checks
    each sentence's status by its primary key (the truth, should a flag be stale) and stops
    at the first one not claimed by others (read first) nor skipped; the cost grows
    with the claimed and skipped criteria ranked above it, not with the project or its
    finished criteria. Seeded: the same walk down
    ``sentence_queue_idx`` (project, key), checking each sentence's status."""
    if layer is not None:
        return _layer_next(project=project, user=user, skipped=skipped, scope=scope,
                           model_version=model_version)
    excluded = _held_by_others(project=project, user=user, now=now or timezone.now())
    excluded.update(skipped)
    version = model_version or model_version_active(project)
    if version is not None:
        ranked = SentenceScore.objects.filter(project_id=project.pk, model_version=version,
                                              is_open=True, sentence__status__in=OPEN_STATUSES)
        if scope is not None:
            ranked = ranked.filter(sentence_id__in=scope.values("pk"))
        # ordering by the (constant) is_open too names queue_idx's order, which
        # review_queue_idx cannot give: SQLite without statistics would otherwise walk that one
        found = _first_not_in(ranked.order_by("-is_open", "-score", "sentence_id")
                              .values_list("sentence_id", flat=True), excluded)
        if found is not None:
            return found
    sentences = Sentence.objects.filter(project_id=project.pk, status__in=OPEN_STATUSES)
    if scope is not None:
        sentences = sentences.filter(pk__in=scope.values("pk"))
    return _seeded_first(project=project, sentences=sentences, excluded=excluded)


def _seeded_first(*, project: Project, sentences: QuerySet, excluded: set[int]) -> int | None:
    return _first_not_in(sentences.filter(project_id=project.pk).order_by("queue_key", "id")
                         .values_list("id", flat=True), excluded)


def _layer_next(*, project: Project, user, skipped: Collection[int],
                scope: QuerySet[Sentence] | None,
                model_version: ModelVersion | None) -> int | None:
    """:func:`queue_next` in ``user``'s own layer: the same ranking over their assigned
    criteria unfinished in their layer; no claims, the curated status not consulted."""
    mine = sentences_for_annotator(project=project, user=user, sentences=scope)
    excluded = set(skipped)
    version = model_version or model_version_active(project)
    if version is not None:
        ranked = SentenceScore.objects.filter(project_id=project.pk, model_version=version,
                                              sentence_id__in=mine.values("pk"))
        found = _first_not_in(ranked.order_by("-score", "sentence_id")
                              .values_list("sentence_id", flat=True), excluded)
        if found is not None:
            return found
    return _seeded_first(project=project, sentences=mine, excluded=excluded)


@dataclass(frozen=True)
class Rank:
    """Why a criterion ranks where it does, for the annotation view and the queue."""

    model_label: str = ""
    strategy: str = ""
    score: float | None = None
    parts: dict[str, float] = field(default_factory=dict)
    position: int | None = None  # 1 = the most uncertain criterion the version scored
    seeded: int | None = None  # its key in the seeded random order, when not scored

    @property
    def by_model(self) -> bool:
        return self.score is not None


def sentence_rank(*, sentence: Sentence, model_version: ModelVersion | None = None) -> Rank:
    """The sentence's score and its parts under the active version with its place in that
    ranking (one query: the place counted in a subquery on ``review_queue_idx``), else its
    key in the project's seeded random order."""
    version = model_version or model_version_active(sentence.project)
    row = None
    if version is not None:
        higher = (SentenceScore.objects.filter(project_id=sentence.project_id,
                                               model_version=version, score__gt=OuterRef("score"))
                  .order_by().values("model_version").annotate(n=Count("*")).values("n"))
        row = (SentenceScore.objects.filter(sentence_id=sentence.pk, model_version=version)
               .annotate(above=Coalesce(Subquery(higher), 0))
               .values_list("score", "scores", "above").first())
    if row is None:
        return Rank(model_label=version.label if version else "",
                    seeded=sentence.queue_key)
    score, parts, above = row
    strategy = ranking_strategy(version=version, project=sentence.project)
    return Rank(model_label=version.label, strategy=strategy, score=score,
                parts=dict(sorted(parts.items())), position=above + 1)


def claim_of(*, sentence: Sentence, now: datetime | None = None) -> Claim | None:
    """The unexpired claim on ``sentence`` with its holder, or ``None``."""
    return (Claim.objects.select_related("user")
            .filter(sentence_id=sentence.pk, expires_at__gt=now or timezone.now()).first())


def claims_active(*, project: Project, now: datetime | None = None) -> QuerySet[Claim]:
    """The project's unexpired claims on open criteria, with holder, sentence and document,
    oldest first (what a manager sees and may release)."""
    return (Claim.objects.filter(project=project, expires_at__gt=now or timezone.now(),
                                 sentence__status__in=OPEN_STATUSES)
            .select_related("user", "sentence", "sentence__document").order_by("claimed_at", "id"))


def claim_holders(*, sentence_ids: Collection[int],
                  now: datetime | None = None) -> dict[int, str]:
    """Sentence id -> the username holding an unexpired claim on it (for the queue page)."""
    rows = Claim.objects.filter(sentence_id__in=list(sentence_ids),
                                expires_at__gt=now or timezone.now())
    return dict(rows.values_list("sentence_id", "user__username"))
