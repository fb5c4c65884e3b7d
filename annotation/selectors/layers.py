"""Reads on annotation layers (independent mode): whose layer a user edits, who has a layer,
what each annotator is assigned.

A layer is named by its annotator's user id; ``None`` is the shared layer of a shared-mode
project and the curated layer of an independent-mode one (the rows with ``annotator`` NULL),
which is what trains the model and what exports by default. Role rules: ``annotation.access``.
"""
from __future__ import annotations

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from annotation.access import annotates_own_layer
from annotation.models import (
    AnnotationMode,
    Assignment,
    Entity,
    Project,
    Role,
    Sentence,
    SentenceLayer,
    SentenceStatus,
)

User = get_user_model()
FINISHED = (SentenceStatus.DONE, SentenceStatus.REVIEWED)


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
    finished = SentenceLayer.objects.filter(annotator=user, status__in=FINISHED)
    return sentences.filter(document__assignments__annotator=user).exclude(
        pk__in=finished.values("sentence_id"))


def project_assignments(*, project: Project) -> QuerySet[Assignment]:
    """The project's assignments with documents and annotators, by document name."""
    return (Assignment.objects.filter(document__project=project)
            .select_related("document", "annotator", "assigned_by")
            .order_by("document__name", "annotator__username"))


def project_member_users(*, project: Project) -> QuerySet:
    """The project's members as users, by user name (whom documents can be assigned to)."""
    return User.objects.filter(memberships__project=project).order_by("username")


def project_annotator_users(*, project: Project) -> QuerySet:
    """The members with the annotator role, by user name (the default for balanced assignment)."""
    return User.objects.filter(memberships__project=project,
                               memberships__role=Role.ANNOTATOR).order_by("username")


def assignment_table(*, project: Project) -> list[dict]:
    """Each document of the project (by name, with ``n_sentences``) and its annotators with
    how many of its sentences each has finished in their layer:
    ``{"document", "annotators": [{"user", "finished"}]}``; three queries."""
    finished = {(document_id, annotator_id): n for document_id, annotator_id, n in
                SentenceLayer.objects.filter(sentence__project=project, status__in=FINISHED)
                .values("sentence__document_id", "annotator_id").annotate(n=Count("id"))
                .values_list("sentence__document_id", "annotator_id", "n")}
    by_document = defaultdict(list)
    for assignment in (Assignment.objects.filter(document__project=project)
                       .select_related("annotator").order_by("annotator__username")):
        by_document[assignment.document_id].append({
            "user": assignment.annotator,
            "finished": finished.get((assignment.document_id, assignment.annotator_id), 0)})
    documents = project.documents.annotate(n_sentences=Count("sentences")).only("id", "name")
    return [{"document": d, "annotators": by_document[d.pk]} for d in documents.order_by("name")]
