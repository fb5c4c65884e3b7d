"""Corpus model and formats (brat, Eligo JSONL, CoNLL, plain text, ClinicalTrials.gov JSON).

Framework-free: nothing here imports Django. Start with :func:`read_corpus` /
:func:`write_corpus`; ``docs/formats.md`` describes every format and rule.
"""
from .compare import document_signature, signature_differences
from .errors import CorpusFormatError, ReadIssue
from .formats import (
    ANNOTATED_FORMATS, FORMATS, READ_FORMATS, WRITE_FORMATS, Format, ReadResult, format_choices,
    read_corpus, write_corpus,
)
from .model import (
    Attribute,
    Document,
    Entity,
    EntityType,
    FlattenStats,
    Fragment,
    Group,
    Note,
    Relation,
    RelationType,
    Schema,
    Sentence,
    SentenceExample,
    Span,
    flatten_entities,
    sentence_examples,
)

__all__ = [
    "ANNOTATED_FORMATS", "FORMATS", "READ_FORMATS", "WRITE_FORMATS", "Attribute", "Format",
    "format_choices", "CorpusFormatError", "Document", "Entity",
    "EntityType", "FlattenStats", "Fragment", "Group", "Note", "ReadIssue", "ReadResult", "Relation",
    "RelationType", "Schema", "Sentence", "SentenceExample", "Span", "document_signature",
    "flatten_entities", "read_corpus", "sentence_examples", "signature_differences", "write_corpus",
]
