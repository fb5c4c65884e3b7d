"""Corpus import into and export out of the database, in one transaction / streamed.

Decisions (see also docs/benchmarks.md, "Import/export"):

- Import is all or nothing: one ``transaction.atomic``; the first real error (a
  ``CorpusFormatError`` from the reader, or a validation error found here) rolls back
  every row and is raised as ``CorpusImportError`` naming file, line and reason.
  Quirks the reader tolerates are reported in ``ImportReport.quirks``.
- Documents are consumed one at a time from the reader and written with multi-row
  ``INSERT ... RETURNING id`` statements (``_insert``: ``bulk_create`` minus the model
  instances) per batch of ``BATCH_DOCUMENTS`` documents, never as a whole-corpus list.
- Sentence status: ``metadata["sentence_status"]`` (one status per sentence) when the
  format carries it (Eligo JSONL, the demo data); otherwise an imported sentence holding
  at least one annotation is "done" and one without any is "new".
- An entity is attached to the sentence holding its first fragment (or, for a fragment
  starting between sentences, the next sentence); a relation to its head's sentence.
- Export renumbers ids per document (T1.. in offset order, E1.., R1.., *1.., A1.., N1..,
  #1..): brat ids are not stored; text is written back byte-identical.
- brat events are stored (``Event`` with its ``EventArgument`` rows, in file order) and a
  relation ending at an event keeps that event (``head_event``/``tail_event``) besides its
  trigger, so that brat comes out as it went in; normalizations (``N``) are ``Normalization``
  rows on their entity (or event).
- ``statuses`` on export keeps only annotations of sentences with those statuses (the
  document text stays whole): entities in kept sentences, relations whose sentence is
  kept and both ends survive, groups whose members all survive, attributes and notes
  whose target survives.
- An import into an annotator's layer (``annotator``, independent mode) writes every row with
  that annotator and the sentence statuses into their ``SentenceLayer`` rows; a document
  the project already has (same name) is annotated in place, if its text is the same and
  the annotator's layer of it is still empty; a new one is created with its curated layer
  empty (new). Either way the document is assigned to the annotator. This loads
  double-annotated corpora one annotator at a time.
"""
from __future__ import annotations

import bisect
import logging
import re
import shutil
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable
from typing import BinaryIO
from dataclasses import dataclass, field, replace as dataclass_replace
from itertools import islice
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction
from django.utils import timezone

from annotation.audit import audit_record
from annotation.models import (
    Attribute, AuditAction, Document, Entity, EntityType, Event, EventArgument, Group, GroupMember,
    ModelVersion, NewTypes, Normalization, Note, Project, Relation, RelationType, Sentence,
    SentenceLayer, SentenceStatus, Source, queue_key_new,
)
from annotation.selectors.annotations import relation_type_rows
from annotation.selectors.corpus import documents_as_dataclasses
from annotation.selectors.projects import SchemaAdditions, project_schema, project_schema_additions
from annotation.services.annotations import normalization_key_problem, relation_type_check
from annotation.services.predictions import predictions_refresh_for_sentences
from annotation.services.layers import assignments_ensure, layer_import_check, layer_import_prepare
from annotation.services.projects import project_schema_apply
from mlcore.corpus import model as dc
from mlcore.corpus.errors import KIND_LABELS, CorpusFormatError, ReadIssue
from mlcore.corpus.formats import FORMATS, read_corpus, write_corpus
from mlcore.corpus.names import document_name_problem

BATCH_DOCUMENTS = 100
logger = logging.getLogger(__name__)


class CorpusImportError(Exception):
    """An import that failed and was rolled back; ``str()`` is ``FILE:LINE: REASON``."""

    def __init__(self, file: str, line: int | None, reason: str):
        self.file, self.line, self.reason = str(file), line, reason
        where = f"{self.file}:{line}" if line is not None else self.file
        super().__init__(f"{where}: {reason}")


class NewTypesPending(CorpusImportError):
    """The import would add types to the project and its policy is to ask first (or to refuse);
    ``additions`` lists them with the keys they would get (``SchemaAdditions.as_list``)."""

    def __init__(self, file: str, additions: list[dict], *, refused: bool):
        names = ", ".join(_type_label(t) for t in additions[:10]) + (" ..." if len(additions) > 10 else "")
        then = ("this project refuses imports that add types (its setting); nothing was imported"
                if refused else "confirm to add them; nothing is imported until then")
        super().__init__(file, None, f"the import would add {len(additions)} types to the project "
                                     f"({names}): {then}")
        self.additions, self.refused = additions, refused


def _type_label(added: dict) -> str:
    key = f" (key {added['key']})" if added["key"] else " (no key left)"
    return f"{added['kind']} {added['name']}{key}"


@dataclass
class ImportReport:
    """What an import added, and what it dropped or changed on the way (by kind).

    ``quirks`` name files relative to the import (``upload.zip!doc.ann``), never a server path;
    ``types_added`` lists the types the import added to the project (``"entity Drug"``).
    """

    documents: int = 0
    sentences: int = 0
    entities: int = 0
    relations: int = 0
    groups: int = 0
    attributes: int = 0
    notes: int = 0
    events: int = 0
    normalizations: int = 0
    quirks: list[ReadIssue] = field(default_factory=list)
    types_added: list[str] = field(default_factory=list)
    type_keys: dict[str, str] = field(default_factory=dict)
    document_ids: list[int] = field(default_factory=list, repr=False)

    EXAMPLES_PER_KIND = 3

    @property
    def annotations(self) -> int:
        return (self.entities + self.relations + self.groups + self.attributes + self.notes
                + self.events + self.normalizations)

    def quirk_counts(self) -> dict[str, int]:
        """Kind -> how many quirks of that kind, most frequent first."""
        return dict(Counter(q.kind for q in self.quirks).most_common())

    def quirk_examples(self) -> dict[str, list[str]]:
        """Kind -> its first few quirks as ``FILE:LINE: REASON (ACTION)``."""
        examples: dict[str, list[str]] = {}
        for quirk in self.quirks:
            kept = examples.setdefault(quirk.kind, [])
            if len(kept) < self.EXAMPLES_PER_KIND:
                kept.append(str(quirk))
        return examples

    def changes(self) -> list[str]:
        """One line per kind of drop or change, e.g. ``12 events dropped (event)``."""
        lines = [f"{count} {KIND_LABELS.get(kind, kind)} ({kind})"
                 for kind, count in self.quirk_counts().items()]
        if self.types_added:
            named = [f"{t} (key {self.type_keys[t]})" if self.type_keys.get(t) else t
                     for t in self.types_added[:10]]
            lines.append(f"{len(self.types_added)} types added to the project: "
                         f"{', '.join(named)}{' ...' if len(self.types_added) > 10 else ''}")
        return lines

    def summary(self) -> str:
        counts = (f"{self.documents} documents, {self.sentences} sentences, {self.entities} entities, "
                  f"{self.relations} relations, {self.events} events, {self.groups} groups, "
                  f"{self.attributes} attributes, {self.notes} notes, "
                  f"{self.normalizations} normalizations")
        changes = self.changes()
        return f"{counts}; " + ("; ".join(changes) if changes else "nothing dropped or changed")

    def as_dict(self) -> dict:
        """The report as stored on an import job and answered by the API."""
        return {"documents": self.documents, "sentences": self.sentences, "entities": self.entities,
                "relations": self.relations, "events": self.events, "groups": self.groups,
                "attributes": self.attributes, "notes": self.notes,
                "normalizations": self.normalizations,
                "quirks": {"total": len(self.quirks), "by_kind": self.quirk_counts(),
                           "labels": {k: KIND_LABELS.get(k, k) for k in self.quirk_counts()},
                           "examples": self.quirk_examples()},
                "types_added": self.types_added, "type_keys": self.type_keys, "changes": self.changes(), "summary": self.summary()}


def corpus_import(*, project: Project, path, fmt: str, user=None, display_name: str = "",
                  progress=None, new_types: str = NewTypes.ADD, annotator=None) -> ImportReport:
    """Import the corpus at ``path`` (format ``fmt``) into ``project``, all or nothing.

    Errors and quirks name files as ``display_name`` (default: the file or folder's own
    name) plus the path inside it, never the server path; a plain-text file's document is
    named after ``display_name`` too, so the duplicate-name rule refuses a second import of
    the same file. An import that holds no document is refused. ``progress(documents_so_far)`` is called after each batch.

    ``new_types``: with ``add`` the types the file declares or uses and the project lacks are
    added (listed in ``types_added``, their keys in ``type_keys``); with ``ask`` or ``refuse``
    the corpus is first read through without writing and, if it would add any type,
    ``NewTypesPending`` is raised listing them with the keys they would get.

    ``annotator``: import into that user's own layer (see the module's notes).
    """
    path = Path(path)
    label = _FileLabel(path, display_name or path.name)
    types_before = _type_names(project)
    if annotator is not None:  # a refused layer import is no question about new types
        _refused_as_import_error(label.root, layer_import_check, project=project)
    try:
        if new_types != NewTypes.ADD:
            additions = corpus_schema_additions(project=project, path=path, fmt=fmt, name=label.root)
            # a type name the database cannot store is no question to ask: the import below
            # refuses it, naming the line that uses it
            if additions and not any(_unstorable(t["name"]) for t in additions.as_list()):
                raise NewTypesPending(label.root, additions.as_list(),
                                      refused=new_types == NewTypes.REFUSE)
        with transaction.atomic():
            result = read_corpus(path, fmt, name=label.root)
            report = corpus_import_documents(
                project=project, documents=result.documents, schema=result.schema, user=user,
                file=label.root, progress=progress, annotator=annotator,
            )
            if not report.documents:
                raise CorpusImportError(label.root, None, "no documents found: nothing to import")
            report.quirks = [label.issue(issue) for issue in result.issues]
    except CorpusFormatError as error:
        raise CorpusImportError(label(error.file), error.line, label.text(error.reason)) from error
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise CorpusImportError(label.root, None, f"the .zip archive is damaged ({label.text(str(error))})") from None
    except RecursionError:
        raise CorpusImportError(label.root, None, "the data is nested too deeply to be read") from None
    except DataError:
        logger.exception("import of %s into %s refused by the database", label.root, project)
        raise CorpusImportError(label.root, None, "the database refused a value (characters it "
                                                  "cannot store, or a value too long)") from None
    report.types_added = sorted(_type_names(project) - types_before)
    report.type_keys = {name: key for name, key in _type_keys(project).items() if name in report.types_added}
    return report


def corpus_schema_additions(*, project: Project, path, fmt: str, name: str) -> SchemaAdditions:
    """The types importing the corpus at ``path`` would add to ``project`` (declared by the
    file or only used in it), with the keys they would get; reads the corpus, writes nothing."""
    result = read_corpus(Path(path), fmt, name=name)
    schema = result.schema or dc.Schema()
    schema.extend_from_documents(result.documents)
    return project_schema_additions(project=project, schema=schema)


def _refused_as_import_error(file: str, check, **kwargs) -> None:
    """Run ``check(**kwargs)``; its ValidationError becomes a CorpusImportError naming ``file``."""
    try:
        check(**kwargs)
    except ValidationError as error:
        raise CorpusImportError(file or "import", None, " ".join(error.messages)) from None


class _FileLabel:
    """Rewrites server paths under an imported path as ``display_name[/!]relative``."""

    def __init__(self, path: Path, display_name: str):
        self.path, self.root = str(path), display_name

    def __call__(self, file: str) -> str:
        file = str(file)
        if file == self.path:
            return self.root
        for separator in ("!", "/"):
            if file.startswith(self.path + separator):
                return self.root + separator + file[len(self.path) + 1:]
        return file

    def text(self, text: str) -> str:
        return text.replace(self.path, self.root)

    def issue(self, issue: ReadIssue) -> ReadIssue:
        return dataclass_replace(issue, file=self(issue.file), reason=self.text(issue.reason))


def _type_names(project: Project) -> set[str]:
    return set(_type_keys(project))


def _type_keys(project: Project) -> dict[str, str]:
    """``"entity Drug"`` / ``"relation has value"`` -> key, for every type of the project."""
    return ({f"entity {n}": k for n, k in project.entity_types.values_list("name", "key")}
            | {f"relation {n}": k for n, k in project.relation_types.values_list("name", "key")})


@transaction.atomic
def corpus_import_documents(
    *, project: Project, documents: Iterable[dc.Document], schema: dc.Schema | None = None,
    user=None, file: str = "", progress=None, annotator=None,
) -> ImportReport:
    """Import dataclass documents (streamed, in batches) into ``project`` (into ``annotator``'s
    own layer, if given: see :func:`annotation.services.layers.layer_import_prepare`), all or
    nothing."""
    report = ImportReport()
    if annotator is not None:
        _refused_as_import_error(file, layer_import_prepare, project=project, annotator=annotator)
    if schema is not None:
        _check_schema_text(schema, file)
        project_schema_apply(project=project, schema=schema)
    writer = _BatchWriter(project, user, report, file=file, annotator=annotator)
    documents = iter(documents)
    while batch := list(islice(documents, BATCH_DOCUMENTS)):
        writer.write(batch)
        if progress is not None:
            progress(report.documents)
    report.document_ids = writer.document_ids
    _queue_suggestions(project, writer.created_ids)
    return report


def _queue_suggestions(project: Project, document_ids: list[int]) -> None:
    """Newly imported sentences get the active model's suggestions (after commit)."""
    if document_ids and ModelVersion.objects.filter(project=project, is_active=True).exists():
        predictions_refresh_for_sentences(
            sentence_ids=Sentence.objects.filter(document_id__in=document_ids)
            .values_list("pk", flat=True)
        )


class _BatchWriter:
    """Validates a batch of dataclass documents and writes it with a few bulk inserts."""

    def __init__(self, project: Project, user, report: ImportReport, file: str, annotator=None):
        self.project, self.user, self.report, self.file = project, user, report, file
        self.annotator = annotator
        self.names = set(project.documents.values_list("name", flat=True))
        self.seen: set[str] = set()
        self.targets: dict[str, tuple[int, str]] = {}
        self.document_ids: list[int] = []
        self.created_ids: list[int] = []  # without the documents a layer import annotates in place
        self.entity_types = dict(project.entity_types.values_list("name", "pk"))
        self.relation_types = dict(project.relation_types.values_list("name", "pk"))
        self.relation_rules = {r.name: r for r in relation_type_rows(project_id=project.pk)}

    def write(self, batch: list[dc.Document]) -> None:
        self._layer_targets(batch)
        for doc in batch:
            self._validate(doc)
        self._ensure_types(batch)
        self.now = connection.ops.adapt_datetimefield_value(timezone.now())
        new = [d for d in batch if d.name not in self.targets]
        created = _insert(
            Document, ("project", "name", "text", "metadata", "created_at"),
            [(self.project.pk, d.name, d.text, _json(Document, "metadata", _stored_metadata(d)), self.now)
             for d in new],
        )
        self.created_ids.extend(created)
        made = iter(created)
        document_ids = [self.targets[d.name][0] if d.name in self.targets else next(made)
                        for d in batch]
        self.document_ids.extend(document_ids)
        sentence_ids = self._sentences(batch, document_ids)
        entity_ids = self._entities(batch, document_ids, sentence_ids)
        event_ids = self._events(batch, document_ids, entity_ids)
        relation_ids = self._relations(batch, document_ids, entity_ids, event_ids)
        self._groups(batch, document_ids, entity_ids)
        self._attributes_and_notes(batch, document_ids, entity_ids, relation_ids, event_ids)
        self.report.documents += len(batch)

    # --- validation ---------------------------------------------------------------------

    def _fail(self, doc: dc.Document, reason: str):
        raise CorpusImportError(self.file or doc.name, None, f"document {doc.name}: {reason}")

    def _validate(self, doc: dc.Document) -> None:
        problem = document_name_problem(doc.name)
        if problem:
            shown = f"{doc.name[:40]!r}{'...' if len(doc.name) > 40 else ''}"
            raise CorpusImportError(self.file or "import", None, f"document name {shown} {problem}")
        if doc.name in self.seen or (doc.name in self.names and self.annotator is None):
            self._fail(doc, "a document with this name already exists in the project")
        self.seen.add(doc.name)
        if doc.name in self.targets and self.targets[doc.name][1] != doc.text:
            self._fail(doc, "its text differs from the project's document of that name")
        self._check_lengths(doc)
        self._check_nul(doc)
        size, previous_end = len(doc.text), 0
        for sentence in doc.sentences:
            if not 0 <= sentence.start <= sentence.end <= size:
                self._fail(doc, f"sentence {sentence.start}-{sentence.end} outside the text (length {size})")
            if sentence.start < previous_end:
                self._fail(doc, f"sentence {sentence.start}-{sentence.end} overlaps the one before")
            previous_end = sentence.end
        statuses = doc.metadata.get("sentence_status")
        if statuses is not None and (len(statuses) != len(doc.sentences)
                                     or set(statuses) - set(SentenceStatus.values)):
            self._fail(doc, "sentence_status must give one known status per sentence")
        entity_ids = set()
        for entity in doc.entities:
            if entity.id in entity_ids:
                self._fail(doc, f"duplicate id {entity.id}")
            entity_ids.add(entity.id)
            if not entity.fragments or any(
                not 0 <= f.start < f.end <= size for f in entity.fragments
            ):
                self._fail(doc, f"entity {entity.id}: offsets {_offsets(entity)} outside the text "
                                f"(length {size}) or empty")
        event_ids = {e.id for e in doc.events}
        self._check_events(doc, entity_ids, event_ids)
        relation_ids = {r.id for r in doc.relations}
        for relation in doc.relations:
            for end in (relation.head, relation.tail):
                if end not in entity_ids and end not in event_ids:
                    self._fail(doc, f"relation {relation.id}: unknown entity id {end}")
        self._check_relation_types(doc)
        for group in doc.groups:
            for member in group.members:
                if member not in entity_ids:
                    self._fail(doc, f"group {group.id}: unknown entity id {member}")
        for item in (*doc.attributes, *doc.notes, *doc.normalizations):
            if item.target not in entity_ids | relation_ids | event_ids:
                self._fail(doc, f"{item.id}: unknown target id {item.target}")
            if isinstance(item, dc.Normalization) and item.target in relation_ids:
                self._fail(doc, f"{item.id}: a normalization belongs to an entity or an event")
            if isinstance(item, dc.Normalization) and (problem := normalization_key_problem(
                    resource=item.resource, reference=item.reference)):
                self._fail(doc, f"{item.id}: {problem}")

    def _check_events(self, doc: dc.Document, entity_ids: set[str], event_ids: set[str]) -> None:
        if len(event_ids) != len(doc.events) or event_ids & entity_ids:
            self._fail(doc, "duplicate event id")
        for event in doc.events:
            if event.trigger not in entity_ids:
                self._fail(doc, f"event {event.id}: unknown trigger id {event.trigger}")
            for role, value in event.arguments:
                if value not in entity_ids and value not in event_ids:
                    self._fail(doc, f"event {event.id}: unknown argument id {value} ({role})")

    def _check_relation_types(self, doc: dc.Document) -> None:
        """The edit services' rule (``relation_type_check``): the project's relation type must
        allow its ends' entity types. A relation type that only this import adds restricts
        nothing, and neither does a relation with an event at either end (brat's events are
        stored read-only; the rule is about entity types)."""
        types = {e.id: e.type for e in doc.entities}
        for relation in doc.relations:
            rule = self.relation_rules.get(relation.type)
            if rule is None or relation.head not in types or relation.tail not in types:
                continue
            head, tail = (EntityType(pk=self.entity_types.get(types[end]), name=types[end])
                          for end in (relation.head, relation.tail))
            try:
                relation_type_check(relation_type=rule, head_type=head, tail_type=tail)
            except ValidationError as error:
                self._fail(doc, f"relation {relation.id}: {' '.join(error.messages)}")

    def _check_lengths(self, doc: dc.Document) -> None:
        """Names that would not fit their column (a database error instead of a clear one)."""
        limits = [(doc.name, 255, "document name")]
        limits += [(e.type, 100, "entity type") for e in doc.entities]
        limits += [(r.type, 100, "relation type") for r in doc.relations]
        limits += [(g.type, 100, "group type") for g in doc.groups]
        limits += [(a.name, 100, "attribute name") for a in doc.attributes]
        limits += [(a.value or "", 200, "attribute value") for a in doc.attributes]
        limits += [(n.type, 100, "note type") for n in doc.notes]
        limits += [(e.type, 100, "event type") for e in doc.events]
        limits += [(role, 100, "event role") for e in doc.events for role, _ in e.arguments]
        limits += [(role, 100, "relation role") for r in doc.relations for role in (r.head_role, r.tail_role)]
        limits += [(n.type, 100, "normalization type") for n in doc.normalizations]
        limits += [(n.resource, 100, "normalization resource") for n in doc.normalizations]
        limits += [(n.reference, 200, "normalization reference") for n in doc.normalizations]
        for value, limit, what in limits:
            if len(value) > limit:
                self._fail(doc, f"{what} {value[:40]!r}... is longer than {limit} characters")

    def _check_nul(self, doc: dc.Document) -> None:
        """NUL characters, which PostgreSQL text and JSON cannot store, and lone surrogates
        (a JSON ``\\ud800`` escape), which no UTF-8 database can (refused on every database)."""
        found = _unstorable_in(_document_strings(doc))
        if found is not None:
            self._fail(doc, f"{found[0]} contains {found[1]}, which cannot be stored")

    def _ensure_types(self, batch: list[dc.Document]) -> None:
        """Add the entity/relation types the data uses but the schema did not declare."""
        found = dc.Schema()
        found.extend_from_documents(batch)
        missing = dc.Schema(
            entity_types=[t for t in found.entity_types if t.name not in self.entity_types],
            relation_types=[t for t in found.relation_types if t.name not in self.relation_types],
            attribute_types=[a for a in found.attribute_types if a not in self.project.attribute_types],
            group_types=[g for g in found.group_types if g not in self.project.group_types],
            event_types=[t for t in found.event_types
                         if t.name not in {e["name"] for e in self.project.event_types}],
            attribute_values={a: values for a, values in found.attribute_values.items()
                              if set(values) - set(self.project.attribute_values.get(a, []))},
        )
        if any((missing.entity_types, missing.relation_types, missing.attribute_types,
                missing.group_types, missing.event_types, missing.attribute_values)):
            project_schema_apply(project=self.project, schema=missing)
            self.entity_types = dict(EntityType.objects.filter(project=self.project)
                                     .values_list("name", "pk"))
            self.relation_types = dict(RelationType.objects.filter(project=self.project)
                                       .values_list("name", "pk"))

    # --- rows: plain tuples and multi-row INSERT ... RETURNING, no model instances -------

    def _layer_targets(self, batch: list[dc.Document]) -> None:
        """In a layer import: the batch's documents the project already has, name -> (id,
        text), refusing one whose layer of this annotator already holds annotations."""
        if self.annotator is None:
            return
        names = [d.name for d in batch if d.name in self.names]
        self.targets = {name: (pk, text) for pk, name, text in self.project.documents.filter(
            name__in=names).values_list("pk", "name", "text")}
        taken = (Entity.objects.filter(document_id__in=[pk for pk, _ in self.targets.values()],
                                       annotator=self.annotator)
                 .values_list("document__name", flat=True).first())
        if taken is not None:
            raise CorpusImportError(self.file or "import", None,
                                    f"document {taken}: {self.annotator.username}'s layer of it "
                                    "already holds annotations")

    def _provenance(self) -> tuple:
        return (Source.IMPORTED, "", self.user.pk if self.user else None, self.now, self.now,
                getattr(self.annotator, "pk", None))

    def _sentences(self, batch, document_ids) -> list[tuple[list, list[int]]]:
        """Per document: its sentence spans and their ids (new ones, or in a layer import
        those of a document the project has), and the layer's statuses."""
        rows, spans, layered = [], [], self.annotator is not None
        for doc, document_id in zip(batch, document_ids):
            if doc.name in self.targets:
                continue
            statuses = doc.metadata.get("sentence_status") or _derived_statuses(doc)
            rows += [(self.project.pk, document_id, i, s.start, s.end, doc.text[s.start:s.end],
                      SentenceStatus.NEW if layered else status, 1, self.now, queue_key_new())
                     for i, (s, status) in enumerate(zip(doc.sentences, statuses))]
            spans.append(doc.sentences)
        ids = iter(_insert(Sentence, ("project", "document", "index", "start", "end", "text", "status",
                                      "version", "updated_at", "queue_key"), rows))
        self.report.sentences += len(rows)
        made = [(sentences, [next(ids) for _ in sentences]) for sentences in spans]
        if not layered:
            return made
        return self._layer_sentences(batch, document_ids, iter(made))

    def _layer_sentences(self, batch, document_ids, made) -> list[tuple[list, list[int]]]:
        """A layer import's sentences: the stored ones of documents the project has; the
        annotator's statuses (by span; derived where the spans differ) and assignments."""
        stored: dict[int, list] = {}
        for document_id, pk, start, end in Sentence.objects.filter(
                document_id__in=[self.targets[n][0] for n in self.targets]).order_by(
                "document_id", "index").values_list("document_id", "pk", "start", "end"):
            stored.setdefault(document_id, []).append((pk, dc.Sentence(start, end)))
        result, layers = [], []
        for doc, document_id in zip(batch, document_ids):
            if doc.name in self.targets:
                rows = stored.get(document_id, [])
                sentences, ids = [s for _, s in rows], [pk for pk, _ in rows]
            else:
                sentences, ids = next(made)
            statuses = _layer_statuses(doc, sentences)
            layers += [(pk, self.annotator.pk, status, 1, self.now) for pk, status in zip(ids, statuses)]
            result.append((sentences, ids))
        _insert(SentenceLayer, ("sentence", "annotator", "status", "version", "updated_at"), layers)
        assignments_ensure(document_ids=document_ids, annotator=self.annotator,
                           assigned_by=self.user)
        return result

    def _entities(self, batch, document_ids, sentence_ids) -> list[dict[str, tuple[int, int]]]:
        """Per document: brat id -> (new entity id, its sentence id)."""
        rows, keys = [], []
        provenance = self._provenance()
        for doc, document_id, (sentences, ids) in zip(batch, document_ids, sentence_ids):
            starts = [s.start for s in sentences]
            for e in doc.entities:
                index = _sentence_index(sentences, starts, e.fragments[0].start)
                sentence_id = None if index is None else ids[index]
                fragments = [[f.start, f.end] for f in e.fragments]
                rows.append((document_id, sentence_id, self.entity_types[e.type],
                             _json(Entity, "fragments", fragments),
                             min(f[0] for f in fragments), max(f[1] for f in fragments), *provenance))
                keys.append(sentence_id)
        ids = iter(zip(_insert(Entity, ("document", "sentence", "type", "fragments", "start", "end",
                                        *PROVENANCE), rows), keys))
        self.report.entities += len(rows)
        return [{e.id: next(ids) for e in doc.entities} for doc in batch]

    def _events(self, batch, document_ids, entity_ids) -> list[dict[str, tuple[int, int]]]:
        """Per document: brat id -> (new event id, its trigger's entity id)."""
        rows = []
        provenance = self._provenance()
        for doc, document_id, entities in zip(batch, document_ids, entity_ids):
            rows += [(document_id, e.type, entities[e.trigger][0], *provenance) for e in doc.events]
        ids = iter(_insert(Event, ("document", "type", "trigger", *PROVENANCE), rows))
        events = [{e.id: (next(ids), entities[e.trigger][0]) for e in doc.events}
                  for doc, entities in zip(batch, entity_ids)]
        arguments = []
        for doc, entities, by_id in zip(batch, entity_ids, events):
            for e in doc.events:
                for position, (role, value) in enumerate(e.arguments):
                    entity = entities[value][0] if value in entities else None
                    event = by_id[value][0] if value in by_id else None
                    arguments.append((by_id[e.id][0], position, role, entity, event))
        _insert(EventArgument, ("event", "position", "role", "entity", "argument_event"), arguments)
        self.report.events += len(rows)
        return events

    def _relations(self, batch, document_ids, entity_ids, event_ids) -> list[dict[str, int]]:
        """An end that is an event is stored as its trigger plus the event (``head_event``);
        the relation belongs to its head's (or head trigger's) sentence."""
        rows = []
        provenance = self._provenance()
        for doc, document_id, entities, events in zip(batch, document_ids, entity_ids, event_ids):
            triggers = {e.id: e.trigger for e in doc.events}

            def end(brat_id):
                if brat_id in entities:
                    return (*entities[brat_id], None)
                return (*entities[triggers[brat_id]], events[brat_id][0])

            for r in doc.relations:
                (head_id, sentence_id, head_event), (tail_id, _, tail_event) = end(r.head), end(r.tail)
                rows.append((document_id, sentence_id, self.relation_types[r.type], head_id, tail_id,
                             head_event, tail_event, *provenance))
        ids = iter(_insert(Relation, ("document", "sentence", "type", "head", "tail", "head_event",
                                      "tail_event", *PROVENANCE), rows))
        self.report.relations += len(rows)
        return [{r.id: next(ids) for r in doc.relations} for doc in batch]

    def _groups(self, batch, document_ids, entity_ids) -> None:
        rows, members = [], []
        provenance = self._provenance()
        for doc, document_id, entities in zip(batch, document_ids, entity_ids):
            for g in doc.groups:
                rows.append((document_id, g.type, *provenance))
                members.append([entities[m][0] for m in g.members])
        group_ids = _insert(Group, ("document", "type", *PROVENANCE), rows)
        _insert(GroupMember, ("group", "entity", "position"),
                [(group_id, entity_id, position)
                 for group_id, entity_ids_ in zip(group_ids, members)
                 for position, entity_id in enumerate(entity_ids_)])
        self.report.groups += len(rows)

    def _attributes_and_notes(self, batch, document_ids, entity_ids, relation_ids, event_ids) -> None:
        attributes, notes, normalizations = [], [], []
        provenance = self._provenance()
        for doc, document_id, entities, relations, events in zip(
                batch, document_ids, entity_ids, relation_ids, event_ids):
            def targets(brat_id):
                return (entities.get(brat_id, (None,))[0], relations.get(brat_id),
                        events.get(brat_id, (None,))[0])

            for a in doc.attributes:
                attributes.append((document_id, a.name, a.value or "", *targets(a.target), *provenance))
            for n in doc.notes:
                notes.append((document_id, n.type, n.text, *targets(n.target), *provenance))
            for n in doc.normalizations:
                entity, _, event = targets(n.target)
                normalizations.append((document_id, n.type, n.resource, n.reference, n.text, entity,
                                       event, *provenance))
        _insert(Attribute, ("document", "name", "value", "entity", "relation", "event", *PROVENANCE),
                attributes)
        _insert(Note, ("document", "type", "text", "entity", "relation", "event", *PROVENANCE), notes)
        _insert(Normalization, ("document", "type", "resource", "reference", "text", "entity", "event",
                                *PROVENANCE), normalizations)
        self.report.attributes += len(attributes)
        self.report.notes += len(notes)
        self.report.normalizations += len(normalizations)


PROVENANCE = ("source", "source_detail", "created_by", "created_at", "updated_at", "annotator")
MAX_PARAMETERS = 30000  # under SQLite's 32,766 and PostgreSQL's 65,535 bind parameters


def _json(model, field: str, value):
    return model._meta.get_field(field).get_db_prep_save(value, connection)


def _insert(model, fields: tuple[str, ...], rows: list[tuple]) -> list[int]:
    """``bulk_create`` without model instances; returns the new ids in row order.

    Building ~80k model instances and letting the ORM compile them costs several
    times the database work for a Chia-sized import. Rows are tuples of values
    already prepared for the database (ids for foreign keys, ``_json`` for JSON).
    PostgreSQL: ids from the table's sequence, then ``COPY``; elsewhere (SQLite >= 3.35)
    multi-row ``INSERT ... RETURNING id``, whose ids come back in row order, as Django's
    own ``bulk_create`` relies on.
    """
    if not rows:
        return []
    quote = connection.ops.quote_name
    table, pk = model._meta.db_table, model._meta.pk.column
    columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    if connection.vendor == "postgresql":
        return _copy_postgresql(table, pk, columns, rows)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, MAX_PARAMETERS // len(fields))
    ids = []
    with connection.cursor() as cursor:
        for i in range(0, len(rows), size):
            chunk = rows[i:i + size]
            cursor.execute(
                f"INSERT INTO {quote(table)} ({columns}) VALUES {', '.join([placeholder] * len(chunk))} "
                f"RETURNING {quote(pk)}",
                [value for row in chunk for value in row],
            )
            ids += [row[0] for row in cursor.fetchall()]
    return ids


def _copy_postgresql(table: str, pk: str, columns: str, rows: list[tuple]) -> list[int]:
    """Reserve ids from the table's identity sequence and ``COPY`` the rows with them."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [quote(table), pk, len(rows)])
        ids = sorted(row[0] for row in cursor.fetchall())
        with cursor.cursor.copy(f"COPY {quote(table)} ({quote(pk)}, {columns}) FROM STDIN") as copy:
            for id_, row in zip(ids, rows):
                copy.write_row((id_, *row))
    return ids


def _document_strings(doc: dc.Document) -> Iterable[tuple[str, str]]:
    """(what, value) for every string of a document that goes into the database."""
    yield "the name", doc.name
    yield "the text", doc.text
    for entity in doc.entities:
        yield f"entity {entity.id}'s type", entity.type
    for relation in doc.relations:
        yield f"relation {relation.id}'s type", relation.type
    for group in doc.groups:
        yield f"group {group.id}'s type", group.type
    for attribute in doc.attributes:
        yield f"attribute {attribute.id}", f"{attribute.name}{attribute.value or ''}"
    for note in doc.notes:
        yield f"note {note.id}", f"{note.type}{note.text}"
    for relation in doc.relations:
        yield f"relation {relation.id}'s roles", f"{relation.head_role}{relation.tail_role}"
    for event in doc.events:
        yield f"event {event.id}", event.type + "".join(role for role, _ in event.arguments)
    for normalization in doc.normalizations:
        yield (f"normalization {normalization.id}", f"{normalization.type}{normalization.resource}"
               f"{normalization.reference}{normalization.text}")
    pending = [doc.metadata]
    while pending:  # keys and values of the (JSON) metadata, without recursion
        value = pending.pop()
        if isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, (list, tuple)):
            pending += list(value)
        elif isinstance(value, str):
            yield "the metadata", value


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(value: str) -> str | None:
    """What in ``value`` no database column can hold: a NUL or a lone surrogate."""
    match = _UNSTORABLE.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "a NUL character (U+0000)"
    return f"a lone surrogate (U+{ord(match.group()):04X}, not a Unicode character)"


def _unstorable_in(strings: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    return next(((what, problem) for what, value in strings if (problem := _unstorable(value))), None)


def _check_schema_text(schema: dc.Schema, file: str) -> None:
    names = [*schema.entity_names, *schema.relation_names, *schema.attribute_types, *schema.group_types]
    bad = next(((n, problem) for n in names if (problem := _unstorable(n))), None)
    if bad is not None:
        raise CorpusImportError(file or "import", None,
                                f"type name {bad[0]!r} contains {bad[1]}, which cannot be stored")


def _offsets(entity: dc.Entity) -> str:
    return ";".join(f"{f.start} {f.end}" for f in entity.fragments)


def _stored_metadata(doc: dc.Document) -> dict:
    """The document's metadata minus what lives in columns (statuses) or is import-only."""
    return {k: v for k, v in doc.metadata.items() if k not in ("sentence_status",)}


def _derived_statuses(doc: dc.Document) -> list[str]:
    """For formats without statuses: a sentence with annotations is done, others are new."""
    starts = [s.start for s in doc.sentences]
    annotated = set()
    for entity in doc.entities:
        index = _sentence_index(doc.sentences, starts, entity.fragments[0].start)
        if index is not None:
            annotated.add(index)
    return [SentenceStatus.DONE if i in annotated else SentenceStatus.NEW
            for i in range(len(doc.sentences))]


def _layer_statuses(doc: dc.Document, sentences: list) -> list[str]:
    """The imported document's statuses for ``sentences`` (the stored spans): the status of
    the imported sentence with the same span, else derived from the entities."""
    given = dict(zip(((s.start, s.end) for s in doc.sentences),
                     doc.metadata.get("sentence_status") or _derived_statuses(doc)))
    derived = _derived_statuses(dataclass_replace(doc, sentences=sentences))
    return [given.get((s.start, s.end), status) for s, status in zip(sentences, derived)]


def _sentence_index(sentences, starts: list[int], offset: int) -> int | None:
    """The sentence holding ``offset``, else the next one after it, else the last one."""
    if not sentences:
        return None
    i = bisect.bisect_right(starts, offset) - 1
    if i >= 0 and offset < sentences[i].end:
        return i
    return i + 1 if i + 1 < len(sentences) else len(sentences) - 1


def corpus_export(*, project: Project, out, fmt: str, statuses=None, layer: int | None = None) -> dict:
    """Write the project's documents to ``out`` in ``fmt``; returns the writer's statistics.
    ``layer``: the shared (curated) layer by default, or that annotator's own."""
    documents = documents_as_dataclasses(project=project, statuses=statuses, layer=layer)
    return write_corpus(documents, out, fmt, schema=project_schema(project=project))


@dataclass(frozen=True)
class CorpusDownload:
    """An export ready to send: an open temporary file, its file name and content type."""

    file: BinaryIO
    filename: str
    content_type: str


def corpus_export_download(*, project: Project, fmt: str, statuses=None, user=None,
                           layer=None) -> CorpusDownload:
    """The export for the export page and the API alike: the file of :func:`corpus_export_file`
    named and typed by the format registry, recorded as an ``EXPORTED`` audit event.
    ``layer``: a user whose own layer is exported (default: the shared or curated layer)."""
    spec = FORMATS[fmt]
    download = corpus_export_file(project=project, fmt=fmt, statuses=statuses or None,
                                  layer=getattr(layer, "pk", None))
    layer_payload = {"layer": layer.username} if layer is not None else {}
    audit_record(project=project, user=user, action=AuditAction.EXPORTED, object_type="corpus",
                 payload={"format": fmt, "statuses": list(statuses or []), **layer_payload})
    suffix = f"-{layer.username}" if layer is not None else ""
    return CorpusDownload(file=download, filename=f"{project.name}{suffix}-{fmt}{spec.suffix}",
                          content_type=spec.content_type)


def corpus_export_file(*, project: Project, fmt: str, statuses=None, layer: int | None = None):
    """The export as an open anonymous temporary file, ready to stream (brat is zipped).

    The file is deleted when closed (a ``FileResponse`` closes it after sending).
    """
    download = tempfile.TemporaryFile()
    with tempfile.TemporaryDirectory(prefix="eligo-export-") as workdir:
        out = Path(workdir) / ("brat" if fmt == "brat" else f"corpus.{fmt}")
        corpus_export(project=project, out=out, fmt=fmt, statuses=statuses, layer=layer)
        if fmt == "brat":
            with zipfile.ZipFile(download, "w", zipfile.ZIP_DEFLATED) as archive:
                for item in sorted(out.rglob("*")):
                    if item.is_file():
                        archive.write(item, item.relative_to(out).as_posix())
        else:
            with open(out, "rb") as source:
                shutil.copyfileobj(source, download)
    download.seek(0)
    return download
