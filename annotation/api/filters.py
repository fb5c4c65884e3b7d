"""Query-parameter serializers: every list filter of the API is validated here, so a bad
filter is a 400 naming the parameter (never a 500, never silently ignored), and the views
hand the clean values to a selector."""
from __future__ import annotations

from rest_framework import serializers

from annotation.models import AuditAction, SentenceStatus, SuggestionStatus
from annotation.selectors.documents import SENTENCE_ORDERINGS
from mlcore.corpus.formats import WRITE_FORMATS, format_choices

#: the largest id a filter accepts (a longer number is refused, not sent to the database)
MAX_ID = 10 ** 18 - 1


class IdField(serializers.IntegerField):
    """An optional positive integer id."""

    default_error_messages = {"invalid": "Expected a positive integer."}

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, required=False, **kwargs)


def query_validated(serializer_class, params) -> dict:
    """The validated query parameters, the absent ones left out (400 when invalid)."""
    serializer = serializer_class(data=params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DocumentFilter(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)


class SentenceFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=SentenceStatus.choices, required=False, allow_blank=True)
    text = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    document = IdField()
    ordering = serializers.ChoiceField(choices=list(SENTENCE_ORDERINGS), required=False,
                                       allow_blank=True)


class PredictionFilter(serializers.Serializer):
    sentence = IdField()
    model_version = IdField()
    status = serializers.ChoiceField(choices=SuggestionStatus.choices, required=False,
                                     allow_blank=True)


class AuditEventFilter(serializers.Serializer):
    sentence = IdField()
    user = serializers.CharField(required=False, allow_blank=True, max_length=150)
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False, allow_blank=True)


class ExportFilter(serializers.Serializer):
    format = serializers.ChoiceField(choices=format_choices(WRITE_FORMATS))
    status = serializers.ListField(child=serializers.ChoiceField(choices=SentenceStatus.choices),
                                   required=False, default=list)
    layer = serializers.CharField(required=False, allow_blank=True, max_length=150, default="")


class ExpectedVersionFilter(serializers.Serializer):
    expected_version = serializers.IntegerField(
        min_value=0, max_value=MAX_ID,
        error_messages={"required": "Pass ?expected_version=<the sentence version you read>."})
