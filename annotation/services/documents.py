"""Writes on documents themselves (their annotations live in ``annotations.py``)."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from annotation.audit import audit_record
from annotation.models import AuditAction, Document
from mlcore.corpus.names import document_name_problem


def document_name_validate(*, name: str, project, document: Document | None = None) -> None:
    """Raise ``ValidationError`` (on ``name``) for a name the import would refuse or a taken one.

    The rule itself is :func:`mlcore.corpus.names.document_name_problem`, shared with every
    importer; here it gains the project's uniqueness.
    """
    problem = document_name_problem(name)
    if problem:
        raise ValidationError({"name": f"The document name {problem}."})
    taken = Document.objects.filter(project=project, name=name)
    if document is not None:
        taken = taken.exclude(pk=document.pk)
    if taken.exists():
        raise ValidationError({"name": "A document with this name already exists in the project."})


@transaction.atomic
def document_rename(*, document: Document, name: str, user=None) -> Document:
    """Rename ``document`` after :func:`document_name_validate`; recorded in the audit log."""
    document_name_validate(name=name, project=document.project, document=document)
    old = document.name
    if name != old:
        document.name = name
        try:  # a rename to the same name committed since the check above (PostgreSQL)
            with transaction.atomic():
                document.save(update_fields=["name"])
        except IntegrityError:
            document.name = old
            raise ValidationError({"name": "A document with this name already exists in the project."}) from None
        audit_record(project=document.project, user=user, action=AuditAction.CHANGED, obj=document,
                     object_type="document", payload={"name": [old, name]})
    return document
