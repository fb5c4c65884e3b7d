"""One error body for the whole API: ``{"error": {"code", "message", "details"}}``.

Domain exceptions from the services are mapped here, so views stay thin: a stale
sentence version gives 409, a refused business rule 400 or 409, a refused upload 400/413.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from annotation.models import Sentence
from annotation.security import UploadRejected
from annotation.selectors.layers import sentence_in_layer
from annotation.services.annotations import StaleVersion
from annotation.services.corpus_io import CorpusImportError
from annotation.services.imports import ImportJobConflict
from annotation.services.projects import StaleSchema
from annotation.services.predictions import SuggestionError
from annotation.services.training import ModelVersionError, TrainingRunInProgress


class ApiError(exceptions.APIException):
    """An error with an explicit status, code and details."""

    def __init__(self, message: str, *, code: str, status_code: int, details: dict | None = None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.details = details or {}


def _current_version(sentence_id, layer=None) -> int | None:
    """The sentence's version now, in the annotator's own ``layer`` if given."""
    if layer is not None:
        return sentence_in_layer(sentence=Sentence(pk=sentence_id), layer=layer).version
    return Sentence.objects.filter(pk=sentence_id).values_list("version", flat=True).first()


def _translate(exc):
    # DRF converts these too, but only inside its handler: the body below reads the message
    # and the code from the converted exception
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, StaleVersion):  # also SentenceVersionConflict, its other name
        return ApiError(str(exc), code="stale_version", status_code=409,
                        details={"sentence": exc.sentence_id, "expected_version": exc.expected,
                                 "current_version": _current_version(exc.sentence_id,
                                                                     getattr(exc, "layer", None))})
    if isinstance(exc, StaleSchema):
        return ApiError(str(exc), code="stale_schema", status_code=409,
                        details={"expected_version": exc.expected})
    if isinstance(exc, ImportJobConflict):
        return ApiError(str(exc), code="import_conflict", status_code=409)
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError({"non_field_errors": list(exc.messages)})
    if isinstance(exc, SuggestionError):
        return ApiError(str(exc), code="suggestion_conflict", status_code=409)
    if isinstance(exc, TrainingRunInProgress):
        return ApiError(str(exc), code="training_in_progress", status_code=409,
                        details={"run": getattr(exc.run, "pk", None)})
    if isinstance(exc, ModelVersionError):
        return ApiError(str(exc), code="model_version_error", status_code=400)
    if isinstance(exc, CorpusImportError):
        return ApiError(str(exc), code="import_failed", status_code=400,
                        details={"file": exc.file, "line": exc.line, "reason": exc.reason})
    if isinstance(exc, UploadRejected):
        return ApiError(str(exc), code=exc.code, status_code=exc.status)
    return exc


def _code(detail) -> str:
    return getattr(detail, "code", None) or "error"


def exception_handler(exc, context):
    exc = _translate(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": "invalid", "message": "The request is invalid.", "details": response.data}
    else:
        detail = getattr(exc, "detail", "")
        body = {"code": _code(detail), "message": str(detail),
                "details": getattr(exc, "details", {})}
        if isinstance(exc, exceptions.Throttled):
            body["details"] = {"wait_s": exc.wait}
    if response.status_code == status.HTTP_404_NOT_FOUND and body["code"] == "error":
        body["code"] = "not_found"
    response.data = {"error": body}
    return response
