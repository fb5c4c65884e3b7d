"""Reads on annotation layers (independent mode): whose layer a user edits, who has a layer,
what each annotator is assigned.

A layer is named by its annotator's user id; ``None`` is the shared layer of a shared-mode
project and the curated layer of an independent-mode one (the rows with ``annotator`` NULL),
which is what trains the model and what exports by default. Role rules: ``annotation.access``.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from annotation.access import annotates_own_layer
from annotation.models import (
    AnnotationMode,
    Assignment,
    Document,
    Entity,
    Project,
    Sentence,
    SentenceLayer,
    SentenceStatus,
)

User = get_user_model()


def layer_for(*, project: Project, user, role) -> int | None:
    """The annotator id whose layer ``user`` edits in the annotation view: their own for an
    annotator of an independent-mode project, ``None`` (shared or curated layer) otherwise."""
    return user.pk if annotates_own_layer(project=project, role=role) else None


def layer_annotators(*, project: Project) -> QuerySet:
    """The users with a layer in the project: assigned a document, or owning annotations in
    their own layer (imported with ``--annotator``), by user name."""
    owners = Entity.objects.filter(document__project=project, annotator__isnull=False)
    return User.objects.filter(
        Q(assignments__document__project=project) | Q(pk__in=owners.values("annotator"))
    ).distinct().order_by("username")


def layer_annotator_get(*, project: Project, username: str):
    """The user called ``username`` if they have a layer in the project, else ``None``."""
    return layer_annotators(project=project).filter(username=username).first()


def is_independent(project: Project) -> bool:
    return project.annotation_mode == AnnotationMode.INDEPENDENT


def sentence_in_layer(*, sentence: Sentence, layer: int | None) -> Sentence:
    """``sentence`` as seen in ``layer`` (``Sentence.layer``): in an annotator's layer its
    ``status`` and ``version`` become that annotator's (``SentenceLayer``; new at version 1
    before their first write). One query for a layer, none for the shared one."""
    sentence.layer = layer
    if layer is not None:
        row = (SentenceLayer.objects.filter(sentence_id=sentence.pk, annotator_id=layer)
               .values_list("status", "version").first())
        sentence.status, sentence.version = row or (SentenceStatus.NEW, 1)
        sentence.updated_by = None  # the shared layer's last editor, not this layer's
    return sentence


def sentences_for_annotator(*, project: Project, user, sentences: QuerySet | None = None) -> QuerySet:
    """``sentences`` (default: the project's) narrowed to the ones ``user`` is to annotate in
    their own layer: in documents assigned to them and not yet done there (no layer row, or one
    still new or in progress). For "Annotate next" in independent mode; order is the caller's."""
    sentences = Sentence.objects.filter(project=project) if sentences is None else sentences
    finished = SentenceLayer.objects.filter(
        annotator=user, status__in=(SentenceStatus.DONE, SentenceStatus.REVIEWED))
    return sentences.filter(document__assignments__annotator=user).exclude(
        pk__in=finished.values("sentence_id"))


def project_assignments(*, project: Project) -> QuerySet[Assignment]:
    """The project's assignments with documents and annotators, by document name."""
    return (Assignment.objects.filter(document__project=project)
            .select_related("document", "annotator").order_by("document__name", "annotator__username"))


def documents_assignment_counts(*, project: Project) -> QuerySet[Document]:
    """The project's documents, each with ``assigned`` (how many annotators it has)."""
    return project.documents.annotate(assigned=Count("assignments")).order_by("name")
