"""Writes on annotation layers (independent mode): the project's mode, assignments of
documents to annotators (by hand and balanced), and what a layer import needs.

Role rules (who may assign) live in ``annotation.access``; callers check them. Reads:
``annotation.selectors.layers``.
"""
from __future__ import annotations

from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.models import AnnotationMode, Assignment, Document, Membership, Project, Role

#: the most annotators a document may get in independent mode
MAX_ANNOTATORS_PER_DOCUMENT = 10


def project_mode_update(*, project: Project, mode: str,
                        annotators_per_document: int | None = None) -> Project:
    """Set the project's annotation mode (and k, the annotators per document)."""
    if mode not in AnnotationMode.values:
        raise ValidationError(f"Unknown annotation mode {mode!r}: choose "
                              f"{' or '.join(AnnotationMode.values)}.")
    k = project.annotators_per_document if annotators_per_document is None else annotators_per_document
    _check_k(k)
    project.annotation_mode, project.annotators_per_document = mode, k
    Project.objects.filter(pk=project.pk).update(annotation_mode=mode, annotators_per_document=k)
    return project


def _check_k(k) -> None:
    if not isinstance(k, int) or not 1 <= k <= MAX_ANNOTATORS_PER_DOCUMENT:
        raise ValidationError(f"Annotators per document must be between 1 and "
                              f"{MAX_ANNOTATORS_PER_DOCUMENT}.")


def _check_member(*, project: Project, annotator) -> None:
    if not Membership.objects.filter(project=project, user=annotator).exists():
        raise ValidationError(f"{annotator.username} is not a member of the project.")


def assignment_create(*, project: Project, document: Document, annotator,
                      assigned_by=None) -> Assignment:
    """Assign one of the project's documents to a member, to annotate in their own layer."""
    if document.project_id != project.pk:
        raise ValidationError("That document is not in this project.")
    _check_member(project=project, annotator=annotator)
    if Assignment.objects.filter(document=document, annotator=annotator).exists():
        raise ValidationError(f"{document.name} is already assigned to {annotator.username}.")
    return Assignment.objects.create(document=document, annotator=annotator,
                                     assigned_by=assigned_by)


def assignment_delete(*, project: Project, document: Document, annotator) -> None:
    """Take a document back from an annotator (what they annotated stays in their layer)."""
    deleted, _ = Assignment.objects.filter(document=document, document__project=project,
                                           annotator=annotator).delete()
    if not deleted:
        raise ValidationError(f"{document.name} is not assigned to {annotator.username}.")


@transaction.atomic
def assignment_auto(*, project: Project, annotators, k: int, assigned_by=None) -> int:
    """Give every document of the project up to ``k`` annotators among ``annotators``
    (members), balanced: each missing place goes to the annotator with the fewest documents
    so far (ties by user name), never twice the same document. Existing assignments are kept
    and counted. Returns how many assignments were made."""
    annotators = sorted(set(annotators), key=lambda u: u.username)
    _check_k(k)
    if len(annotators) < k:
        raise ValidationError(f"{k} annotators per document need at least {k} annotators; "
                              f"{len(annotators)} chosen.")
    for annotator in annotators:
        _check_member(project=project, annotator=annotator)
    existing = list(Assignment.objects.filter(document__project=project)
                    .values_list("document_id", "annotator_id"))
    load = Counter(annotator_id for _, annotator_id in existing)
    has: dict[int, set] = {}
    for document_id, annotator_id in existing:
        has.setdefault(document_id, set()).add(annotator_id)
    made = []
    for document_id in project.documents.order_by("name").values_list("pk", flat=True):
        mine = has.get(document_id, set())
        for _ in range(k - len(mine)):
            free = [u for u in annotators if u.pk not in mine]
            if not free:
                break
            chosen = min(free, key=lambda u: (load[u.pk], u.username))
            mine.add(chosen.pk)
            load[chosen.pk] += 1
            made.append(Assignment(document_id=document_id, annotator=chosen,
                                   assigned_by=assigned_by))
    Assignment.objects.bulk_create(made, batch_size=1000)
    return len(made)


def assignments_ensure(*, document_ids, annotator, assigned_by=None) -> None:
    """Assign these documents to ``annotator`` where they are not yet (a layer import)."""
    Assignment.objects.bulk_create(
        [Assignment(document_id=pk, annotator=annotator, assigned_by=assigned_by)
         for pk in document_ids], ignore_conflicts=True)


def layer_import_check(*, project: Project) -> None:
    """An import into an annotator's own layer needs a project in independent mode."""
    if project.annotation_mode != AnnotationMode.INDEPENDENT:
        raise ValidationError(f"{project.name} is in shared mode: switch it to independent mode "
                              "before importing into an annotator's layer.")


def layer_import_prepare(*, project: Project, annotator) -> None:
    """Before importing into ``annotator``'s own layer: the project must be in independent
    mode, and the user becomes an annotator of it if not a member yet."""
    layer_import_check(project=project)
    Membership.objects.get_or_create(project=project, user=annotator,
                                     defaults={"role": Role.ANNOTATOR})
