"""Reads of a project's documents and sentences as the API lists them (filtered, ordered).

The filters arrive validated (``annotation.api.filters``); the page's document search with
progress counts is ``annotation.selectors.dashboard.document_list``.
"""
from __future__ import annotations

from django.db.models import Count, F, OuterRef, QuerySet, Subquery

from annotation.models import Document, Project, Sentence, SentenceScore

#: ``ordering`` value -> order_by arguments for :func:`sentences_for_project`
SENTENCE_ORDERINGS = {
    "index": ("document__name", "index"), "-index": ("-document__name", "-index"),
    "uncertainty": (F("uncertainty").asc(nulls_last=True), "id"),
    "-uncertainty": (F("uncertainty").desc(nulls_last=True), "id"),
    "updated": ("updated_at", "id"), "-updated": ("-updated_at", "id"),
}


def documents_for_project(*, project: Project, name: str = "",
                          with_text: bool = True) -> QuerySet[Document]:
    """The project's documents by name, each with its ``sentence_count``; ``name`` keeps those
    whose name contains it (any case); ``with_text=False`` leaves the text unread."""
    documents = Document.objects.filter(project=project).annotate(sentence_count=Count("sentences"))
    if name:
        documents = documents.filter(name__icontains=name)
    if not with_text:
        documents = documents.defer("text")
    return documents.order_by("name")


def sentences_for_project(*, project: Project, status: str = "", text: str = "",
                          document_id: int | None = None,
                          ordering: str = "index") -> QuerySet[Sentence]:
    """The project's sentences with their document and last editor, each annotated with its
    ``uncertainty`` under the active model (null without one) in the same query."""
    sentences = Sentence.objects.filter(project=project).select_related(
        "document", "updated_by").defer("document__text")
    score = SentenceScore.objects.filter(sentence=OuterRef("pk"), model_version__is_active=True)
    sentences = sentences.annotate(uncertainty=Subquery(score.values("score")[:1]))
    if status:
        sentences = sentences.filter(status=status)
    if text:
        sentences = sentences.filter(text__icontains=text)
    if document_id is not None:
        sentences = sentences.filter(document_id=document_id)
    return sentences.order_by(*SENTENCE_ORDERINGS[ordering])
