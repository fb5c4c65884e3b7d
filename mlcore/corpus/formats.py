"""The one entry point for reading and writing corpora (used by the Django importer/exporter).

``read_corpus`` is streaming: ``ReadResult.documents`` is a lazy iterator, and
both ``issues`` and ``schema`` fill up while it is consumed. Errors: a path that
does not exist, an unknown format, an unsafe ``.zip`` member or a bad JSONL header
raise :class:`CorpusFormatError` at call time; a broken document raises it when
the iterator reaches that document (so an importer that consumes the iterator
inside one transaction rolls everything back). Tolerated quirks never raise; they
are appended to ``issues``. ``strict=False`` turns real errors into skipped,
reported documents or lines instead.

``schema`` is the declared one (brat ``annotation.conf``, the JSONL header;
empty for text and ctgov) and gains every type the documents use that it does
not declare, as they stream by: complete once ``documents`` is exhausted. When
a declared schema existed, each addition is reported once as an issue.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .brat import read_brat, read_brat_schema, write_brat
from .conll import write_conll
from .ctgov import read_ctgov
from .errors import CorpusFormatError, ReadIssue
from .jsonl import read_jsonl, write_jsonl
from .model import Document, Schema
from .names import document_file_name
from .text import read_text



@dataclass(frozen=True)
class Format:
    """One corpus format as every reader of the registry needs it: the import and export
    pages, the API, the management commands and ``python -m mlcore``.

    ``suffix`` is the single-file form (brat, a folder on disk, travels as a ``.zip``);
    ``annotated``: reading it yields annotations (training and evaluation data).
    """

    name: str
    label: str
    suffix: str
    content_type: str
    can_import: bool = False
    can_export: bool = False
    annotated: bool = False


#: every format, in the order the pages list them
FORMATS = {f.name: f for f in (
    Format("brat", "brat standoff (.zip of .txt/.ann pairs)", ".zip",
           "application/zip", can_import=True, can_export=True, annotated=True),
    Format("jsonl", "Eligo JSONL (lossless)", ".jsonl", "application/x-ndjson",
           can_import=True, can_export=True, annotated=True),
    Format("conll", "CoNLL BIO (flattened)", ".conll", "text/plain; charset=utf-8", can_export=True),
    Format("text", "Plain text, one criterion per line or an eligibility section", ".txt",
           "text/plain; charset=utf-8", can_import=True),
    Format("ctgov", "ClinicalTrials.gov API v2 study JSON", ".json", "application/json",
           can_import=True),
)}
READ_FORMATS = tuple(name for name, f in FORMATS.items() if f.can_import)
WRITE_FORMATS = tuple(name for name, f in FORMATS.items() if f.can_export)
ANNOTATED_FORMATS = tuple(name for name, f in FORMATS.items() if f.can_import and f.annotated)


def format_choices(names: Iterable[str]) -> list[tuple[str, str]]:
    """``(name, label)`` pairs of these formats, for a form's or serializer's choices."""
    return [(name, FORMATS[name].label) for name in names]


@dataclass
class ReadResult:
    schema: Schema
    documents: Iterator[Document]
    issues: list[ReadIssue] = field(default_factory=list)


def read_corpus(path: str | Path, fmt: str, *, strict: bool = True, name: str | None = None) -> ReadResult:
    """Open a corpus for streaming; see the module docstring for errors, issues and schema.

    ``name``: the file's name as its user knows it, when ``path`` is a copy saved under
    another (an upload); formats that name documents after their file (text) use it.
    """
    if fmt not in READ_FORMATS:
        raise CorpusFormatError(str(path), None, f"unknown format {fmt!r} (known: {', '.join(READ_FORMATS)})")
    issues: list[ReadIssue] = []
    declared: Schema | None = None
    if fmt == "brat":
        documents = read_brat(path, issues=issues, strict=strict)
        declared = read_brat_schema(path)
    elif fmt == "jsonl":
        declared, documents = read_jsonl(path, issues=issues, strict=strict)
    elif fmt == "text":
        documents = read_text(path, issues=issues, strict=strict, name=name)
    else:
        documents = read_ctgov(path, issues=issues, strict=strict)
    schema = declared if declared is not None else Schema()
    report = declared is not None
    return ReadResult(schema, _complete_schema(documents, schema, issues, str(path), report), issues)


def _complete_schema(documents: Iterable[Document], schema: Schema, issues: list[ReadIssue],
                     file: str, report: bool) -> Iterator[Document]:
    for document in documents:
        before = _type_names(schema)
        schema.extend_from_documents([document])
        if report:
            for kind, name in sorted(_type_names(schema) - before):
                if kind == "entity" and name in schema.event_names:
                    continue  # an event's trigger: declared in [events]
                issues.append(ReadIssue(
                    file, None,
                    f"{kind} type {name!r} (first used in {document.name}) is not declared: added",
                    "repaired",
                ))
        yield document


def _type_names(schema: Schema) -> set[tuple[str, str]]:
    return ({("entity", n) for n in schema.entity_names} | {("relation", n) for n in schema.relation_names}
            | {("attribute", n) for n in schema.attribute_types} | {("group", n) for n in schema.group_types}
            | {("event", n) for n in schema.event_names})


class _Counter:
    """Passes documents through, counting documents and annotations.

    With ``file_names``, a document whose name is not a valid document name (a legacy one,
    or one from a lenient source) is passed on under :func:`document_file_name` and counted
    in ``documents_renamed`` (present when any was): the brat and CoNLL writers turn names
    into paths and lines.
    """

    def __init__(self, documents: Iterable[Document], *, file_names: bool = False):
        self.documents, self.file_names = documents, file_names
        self.stats = {"documents": 0, "entities": 0, "relations": 0}

    def __iter__(self) -> Iterator[Document]:
        for document in self.documents:
            self.stats["documents"] += 1
            self.stats["entities"] += len(document.entities)
            self.stats["relations"] += len(document.relations)
            if self.file_names and document_file_name(document.name) != document.name:
                self.stats["documents_renamed"] = self.stats.get("documents_renamed", 0) + 1
                document = replace(document, name=document_file_name(document.name))
            yield document


def write_corpus(documents: Iterable[Document], out: str | Path, fmt: str, *,
                 schema: Schema | None = None) -> dict:
    """Write ``documents`` to ``out`` (a folder for brat, a file otherwise); return counts.

    For ``conll`` the counts include the :class:`FlattenStats` fields and
    ``entities_dropped`` / ``relations_dropped``; for ``brat`` and ``conll``,
    ``documents_renamed`` (only when not zero) counts documents written under a file-safe
    stand-in name (:func:`mlcore.corpus.names.document_file_name`).
    """
    if fmt not in WRITE_FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(WRITE_FORMATS)})")
    counted = _Counter(documents, file_names=fmt != "jsonl")
    if fmt == "brat":
        write_brat(counted, out, schema=schema)
        return {"format": fmt, **counted.stats}
    if fmt == "jsonl":
        write_jsonl(counted, out, schema=schema)
        return {"format": fmt, **counted.stats}
    flatten = write_conll(counted, out)
    return {"format": fmt, **counted.stats, **asdict(flatten),
            "entities_dropped": flatten.entities_dropped, "relations_dropped": flatten.relations_dropped}
