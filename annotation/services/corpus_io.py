"""Corpus import into and export out of the database, in one transaction / streamed.

Decisions (see also docs/benchmarks.md, "Import/export"):

- Import is all or nothing: one ``transaction.atomic``; the first real error (a
  ``CorpusFormatError`` from the reader, or a validation error found here) rolls back
  every row and is raised as ``CorpusImportError`` naming file, line and reason.
  Quirks the reader tolerates are reported in ``ImportReport.quirks``.
- Documents are consumed one at a time from the reader and written with ``bulk_create``
  per batch of ``BATCH_DOCUMENTS`` documents, never as a whole-corpus list.
- Sentence status: ``metadata["sentence_status"]`` (one status per sentence) when the
  format carries it (Eligo JSONL, the demo data); otherwise an imported sentence holding
  at least one annotation is "done" and one without any is "new".
- An entity is attached to the sentence holding its first fragment (or, for a fragment
  starting between sentences, the next sentence); a relation to its head's sentence.
- Export renumbers ids per document (T1.. in offset order, R1.., *1.., A1.., #1..):
  brat ids are not stored; text is written back byte-identical.
- ``statuses`` on export keeps only annotations of sentences with those statuses (the
  document text stays whole): entities in kept sentences, relations whose sentence is
  kept and both ends survive, groups whose members all survive, attributes and notes
  whose target survives.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from collections.abc import Iterable
from itertools import islice

from django.db import transaction

from annotation.models import (
    Attribute,
    Document,
    Entity,
    EntityType,
    Group,
    GroupMember,
    Note,
    Project,
    Relation,
    RelationType,
    Sentence,
    SentenceStatus,
    Source,
)
from annotation.selectors.corpus import documents_as_dataclasses
from annotation.selectors.projects import project_schema
from annotation.services.projects import project_schema_apply
from mlcore.corpus import model as dc
from mlcore.corpus.errors import CorpusFormatError, ReadIssue
from mlcore.corpus.formats import read_corpus, write_corpus

BATCH_DOCUMENTS = 100


class CorpusImportError(Exception):
    """An import that failed and was rolled back; ``str()`` is ``FILE:LINE: REASON``."""

    def __init__(self, file: str, line: int | None, reason: str):
        self.file, self.line, self.reason = str(file), line, reason
        where = f"{self.file}:{line}" if line is not None else self.file
        super().__init__(f"{where}: {reason}")


@dataclass
class ImportReport:
    documents: int = 0
    sentences: int = 0
    entities: int = 0
    relations: int = 0
    groups: int = 0
    attributes: int = 0
    notes: int = 0
    quirks: list[ReadIssue] = field(default_factory=list)

    @property
    def annotations(self) -> int:
        return self.entities + self.relations + self.groups + self.attributes + self.notes

    def summary(self) -> str:
        return (
            f"{self.documents} documents, {self.sentences} sentences, {self.entities} entities, "
            f"{self.relations} relations, {self.groups} groups, {self.attributes} attributes, "
            f"{self.notes} notes; {len(self.quirks)} tolerated quirks"
        )


def corpus_import(*, project: Project, path, fmt: str, user=None) -> ImportReport:
    """Import the corpus at ``path`` (format ``fmt``) into ``project``, all or nothing."""
    try:
        with transaction.atomic():
            result = read_corpus(path, fmt)
            report = corpus_import_documents(
                project=project, documents=result.documents, schema=result.schema, user=user,
                file=str(path),
            )
            report.quirks = list(result.issues)
    except CorpusFormatError as error:
        raise CorpusImportError(error.file, error.line, error.reason) from error
    return report


@transaction.atomic
def corpus_import_documents(
    *, project: Project, documents: Iterable[dc.Document], schema: dc.Schema | None = None,
    user=None, file: str = "",
) -> ImportReport:
    """Import dataclass documents (streamed, in batches) into ``project``, all or nothing."""
    report = ImportReport()
    if schema is not None:
        project_schema_apply(project=project, schema=schema)
    writer = _BatchWriter(project, user, report, file=file)
    documents = iter(documents)
    while batch := list(islice(documents, BATCH_DOCUMENTS)):
        writer.write(batch)
    return report


class _BatchWriter:
    """Validates a batch of dataclass documents and writes it with a few bulk inserts."""

    def __init__(self, project: Project, user, report: ImportReport, file: str):
        self.project, self.user, self.report, self.file = project, user, report, file
        self.names = set(project.documents.values_list("name", flat=True))
        self.entity_types = dict(project.entity_types.values_list("name", "pk"))
        self.relation_types = dict(project.relation_types.values_list("name", "pk"))

    def write(self, batch: list[dc.Document]) -> None:
        for doc in batch:
            self._validate(doc)
        self._ensure_types(batch)
        rows = Document.objects.bulk_create(
            [Document(project=self.project, name=d.name, text=d.text, metadata=_stored_metadata(d))
             for d in batch]
        )
        sentence_rows = self._sentences(batch, rows)
        entity_rows = self._entities(batch, rows, sentence_rows)
        relation_rows = self._relations(batch, rows, entity_rows)
        self._groups(batch, rows, entity_rows)
        self._attributes_and_notes(batch, rows, entity_rows, relation_rows)
        self.report.documents += len(batch)

    # --- validation ---------------------------------------------------------------------

    def _fail(self, doc: dc.Document, reason: str):
        raise CorpusImportError(self.file or doc.name, None, f"document {doc.name}: {reason}")

    def _validate(self, doc: dc.Document) -> None:
        if doc.name in self.names:
            self._fail(doc, "a document with this name already exists in the project")
        self.names.add(doc.name)
        size = len(doc.text)
        for sentence in doc.sentences:
            if not 0 <= sentence.start <= sentence.end <= size:
                self._fail(doc, f"sentence {sentence.start}-{sentence.end} outside the text (length {size})")
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
        relation_ids = {r.id for r in doc.relations}
        for relation in doc.relations:
            for end in (relation.head, relation.tail):
                if end not in entity_ids:
                    self._fail(doc, f"relation {relation.id}: unknown entity id {end}")
        for group in doc.groups:
            for member in group.members:
                if member not in entity_ids:
                    self._fail(doc, f"group {group.id}: unknown entity id {member}")
        for item in (*doc.attributes, *doc.notes):
            if item.target not in entity_ids and item.target not in relation_ids:
                self._fail(doc, f"{item.id}: unknown target id {item.target}")

    def _ensure_types(self, batch: list[dc.Document]) -> None:
        """Add the entity/relation types the data uses but the schema did not declare."""
        found = dc.Schema()
        found.extend_from_documents(batch)
        missing = dc.Schema(
            entity_types=[t for t in found.entity_types if t.name not in self.entity_types],
            relation_types=[t for t in found.relation_types if t.name not in self.relation_types],
            attribute_types=[a for a in found.attribute_types if a not in self.project.attribute_types],
            group_types=[g for g in found.group_types if g not in self.project.group_types],
        )
        if any((missing.entity_types, missing.relation_types, missing.attribute_types,
                missing.group_types)):
            project_schema_apply(project=self.project, schema=missing)
            self.entity_types = dict(EntityType.objects.filter(project=self.project)
                                     .values_list("name", "pk"))
            self.relation_types = dict(RelationType.objects.filter(project=self.project)
                                       .values_list("name", "pk"))

    # --- rows -----------------------------------------------------------------------------

    def _provenance(self) -> dict:
        return {"source": Source.IMPORTED, "created_by": self.user}

    def _sentences(self, batch, rows) -> list[list[Sentence]]:
        per_document, flat = [], []
        for doc, row in zip(batch, rows):
            statuses = doc.metadata.get("sentence_status") or _derived_statuses(doc)
            sentences = [
                Sentence(project=self.project, document=row, index=i, start=s.start, end=s.end,
                         text=doc.text[s.start:s.end], status=status)
                for i, (s, status) in enumerate(zip(doc.sentences, statuses))
            ]
            per_document.append(sentences)
            flat += sentences
        Sentence.objects.bulk_create(flat)
        self.report.sentences += len(flat)
        return per_document

    def _entities(self, batch, rows, sentence_rows) -> list[dict[str, Entity]]:
        per_document, flat = [], []
        provenance = self._provenance()
        for doc, row, sentences in zip(batch, rows, sentence_rows):
            starts = [s.start for s in sentences]
            by_id = {}
            for e in doc.entities:
                fragments = [[f.start, f.end] for f in e.fragments]
                by_id[e.id] = Entity(
                    document=row, type_id=self.entity_types[e.type], fragments=fragments,
                    start=min(f[0] for f in fragments), end=max(f[1] for f in fragments),
                    sentence=_sentence_at(sentences, starts, e.fragments[0].start), **provenance,
                )
            per_document.append(by_id)
            flat += by_id.values()
        Entity.objects.bulk_create(flat)
        self.report.entities += len(flat)
        return per_document

    def _relations(self, batch, rows, entity_rows) -> list[dict[str, Relation]]:
        per_document, flat = [], []
        provenance = self._provenance()
        for doc, row, entities in zip(batch, rows, entity_rows):
            by_id = {}
            for r in doc.relations:
                head = entities[r.head]
                by_id[r.id] = Relation(
                    document=row, type_id=self.relation_types[r.type], head=head,
                    tail=entities[r.tail], sentence_id=head.sentence_id, **provenance,
                )
            per_document.append(by_id)
            flat += by_id.values()
        Relation.objects.bulk_create(flat)
        self.report.relations += len(flat)
        return per_document

    def _groups(self, batch, rows, entity_rows) -> None:
        groups, members = [], []
        provenance = self._provenance()
        for doc, row, entities in zip(batch, rows, entity_rows):
            for g in doc.groups:
                groups.append((Group(document=row, type=g.type, **provenance),
                               [entities[m] for m in g.members]))
        Group.objects.bulk_create([g for g, _ in groups])
        for group, entities in groups:
            members += [GroupMember(group=group, entity=e, position=i) for i, e in enumerate(entities)]
        GroupMember.objects.bulk_create(members)
        self.report.groups += len(groups)

    def _attributes_and_notes(self, batch, rows, entity_rows, relation_rows) -> None:
        attributes, notes = [], []
        provenance = self._provenance()
        for doc, row, entities, relations in zip(batch, rows, entity_rows, relation_rows):
            for a in doc.attributes:
                attributes.append(Attribute(document=row, name=a.name, value=a.value or "",
                                            entity=entities.get(a.target),
                                            relation=relations.get(a.target), **provenance))
            for n in doc.notes:
                notes.append(Note(document=row, type=n.type, text=n.text,
                                  entity=entities.get(n.target), relation=relations.get(n.target),
                                  **provenance))
        Attribute.objects.bulk_create(attributes)
        Note.objects.bulk_create(notes)
        self.report.attributes += len(attributes)
        self.report.notes += len(notes)


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


def _sentence_index(sentences, starts: list[int], offset: int) -> int | None:
    """The sentence holding ``offset``, else the next one after it, else the last one."""
    if not sentences:
        return None
    i = bisect.bisect_right(starts, offset) - 1
    if i >= 0 and offset < sentences[i].end:
        return i
    return i + 1 if i + 1 < len(sentences) else len(sentences) - 1


def _sentence_at(sentences, starts, offset):
    index = _sentence_index(sentences, starts, offset)
    return None if index is None else sentences[index]


def corpus_export(*, project: Project, out, fmt: str, statuses=None) -> dict:
    """Write the project's documents to ``out`` in ``fmt``; returns the writer's statistics."""
    documents = documents_as_dataclasses(project, statuses=statuses)
    return write_corpus(documents, out, fmt, schema=project_schema(project))
