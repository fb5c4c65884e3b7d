"""Reads of whole corpora: documents from the database as framework-free dataclasses."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from annotation.models import (
    Attribute,
    Document,
    Entity,
    Event,
    EventArgument,
    GroupMember,
    Normalization,
    Note,
    Project,
    Relation,
    Sentence,
    SentenceLayer,
    SentenceStatus,
)
from mlcore.corpus import model as dc

CHUNK_DOCUMENTS = 200


def documents_as_dataclasses(
    *, project: Project, statuses: Iterable[str] | None = None, chunk_size: int = CHUNK_DOCUMENTS,
    layer: int | None = None, document_ids: Iterable[int] | None = None,
) -> Iterator[dc.Document]:
    """Stream the project's documents (by name) with their annotations as dataclasses.

    Twelve queries per chunk of ``chunk_size`` documents, whatever their content. Ids are
    renumbered per document: entities ``T1..`` in offset order, then ``E``, ``R``, ``*``, ``A``,
    ``N``, ``#`` in creation order. With ``statuses``, only annotations of sentences having one of those
    statuses are kept (see ``annotation.services.corpus_io`` for the exact rule); the text
    and the sentences are always whole, and ``metadata["sentence_status"]`` lists every
    sentence's status.

    ``layer`` picks the annotations and statuses: the shared (curated) layer by default, or
    that annotator's own layer (``annotation.selectors.layers``); ``document_ids`` keeps only
    those documents.
    """
    statuses = set(statuses) if statuses else None
    entity_types = dict(project.entity_types.values_list("pk", "name"))
    relation_types, role_names = {}, {}
    for pk, name, head_role, tail_role in project.relation_types.values_list(
            "pk", "name", "head_role", "tail_role"):
        relation_types[pk], role_names[pk] = name, (head_role, tail_role)
    documents = project.documents.order_by("name")
    if document_ids is not None:
        documents = documents.filter(pk__in=list(document_ids))
    ids = list(documents.values_list("pk", flat=True))
    for i in range(0, len(ids), chunk_size):
        chunk = ids[i:i + chunk_size]
        yield from _chunk(chunk, statuses, entity_types, relation_types, role_names, layer)


def _grouped(rows, key_index: int = 0) -> dict:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row[key_index]].append(row)
    return grouped


def _layer_statuses(ids, layer: int | None):
    """The sentences of documents ``ids`` as ``(document, id, start, end, status)`` rows, with
    the statuses of ``layer`` (an annotator's: new where they have not written)."""
    rows = (Sentence.objects.filter(document_id__in=ids).order_by("document_id", "index")
            .values_list("document_id", "pk", "start", "end", "status"))
    if layer is None:
        return list(rows)
    mine = dict(SentenceLayer.objects.filter(sentence__document_id__in=ids, annotator_id=layer)
                .values_list("sentence_id", "status"))
    return [(*row[:4], mine.get(row[1], SentenceStatus.NEW)) for row in rows]


def _chunk(ids, statuses, entity_types, relation_types, role_names, layer) -> Iterator[dc.Document]:
    documents = Document.objects.filter(pk__in=ids).order_by("name").values_list(
        "pk", "name", "text", "metadata"
    )
    sentences = _grouped(_layer_statuses(ids, layer))
    in_layer = {"document_id__in": ids, "annotator_id": layer}
    entities = _grouped(Entity.objects.filter(**in_layer)
                        .order_by("document_id", "start", "-end", "pk")
                        .values_list("document_id", "pk", "sentence_id", "type_id", "fragments"))
    relations = _grouped(Relation.objects.filter(**in_layer).order_by("pk")
                         .values_list("document_id", "pk", "sentence_id", "type_id", "head_id",
                                      "tail_id", "head_event_id", "tail_event_id"))
    events = _grouped(Event.objects.filter(**in_layer).order_by("pk")
                      .values_list("document_id", "pk", "type", "trigger_id"))
    arguments = _grouped(EventArgument.objects.filter(event__document_id__in=ids,
                                                    event__annotator_id=layer)
                         .order_by("event_id", "position", "pk")
                         .values_list("event_id", "role", "entity_id", "argument_event_id"))
    normalizations = _grouped(Normalization.objects.filter(**in_layer).order_by("pk")
                              .values_list("document_id", "type", "resource", "reference", "text",
                                           "entity_id", "event_id"))
    members = _grouped(GroupMember.objects.filter(group__document_id__in=ids,
                                                 group__annotator_id=layer)
                       .order_by("group_id", "position", "pk")
                       .values_list("group__document_id", "group_id", "group__type", "entity_id"))
    attributes = _grouped(Attribute.objects.filter(**in_layer).order_by("pk")
                          .values_list("document_id", "name", "value", "entity_id", "relation_id",
                                       "event_id"))
    notes = _grouped(Note.objects.filter(**in_layer).order_by("pk")
                     .values_list("document_id", "type", "text", "entity_id", "relation_id", "event_id"))
    for pk, name, text, metadata in documents:
        builder = _DocumentBuilder(statuses, sentences[pk])
        builder.entities(entities[pk], entity_types)
        builder.events(events[pk], arguments)
        builder.relations(relations[pk], relation_types, role_names)
        builder.groups(members[pk])
        builder.attributes(attributes[pk])
        builder.notes(notes[pk])
        builder.normalizations(normalizations[pk])
        yield builder.document(name, text, metadata)


class _DocumentBuilder:
    """Turns one document's rows into a dataclass, keeping track of the id renumbering."""

    def __init__(self, statuses, sentence_rows):
        self.sentences = [dc.Sentence(start, end) for _, _, start, end, _ in sentence_rows]
        self.statuses = [status for *_, status in sentence_rows]
        self.kept_sentences = {pk for _, pk, _, _, status in sentence_rows
                               if statuses is None or status in statuses}
        self.filtering = statuses is not None
        self.entity_ids: dict[int, str] = {}
        self.relation_ids: dict[int, str] = {}
        self.event_ids: dict[int, str] = {}
        self.out = dc.Document(name="", text="", sentences=self.sentences)

    def _kept(self, sentence_id) -> bool:
        return not self.filtering or sentence_id in self.kept_sentences

    def entities(self, rows, type_names) -> None:
        for _, pk, sentence_id, type_id, fragments in rows:
            if not self._kept(sentence_id):
                continue
            self.entity_ids[pk] = f"T{len(self.entity_ids) + 1}"
            self.out.entities.append(dc.Entity(
                self.entity_ids[pk], type_names[type_id],
                tuple(dc.Fragment(start, end) for start, end in fragments),
            ))

    def events(self, rows, arguments) -> None:
        """Events whose trigger and every argument are kept (an argument may be an event)."""
        candidates = {pk: (type_, trigger, arguments[pk]) for _, pk, type_, trigger in rows
                      if trigger in self.entity_ids}
        while True:
            dropped = [pk for pk, (_, _, args) in candidates.items()
                       if any(entity not in self.entity_ids if event is None else event not in candidates
                              for _, _, entity, event in args)]
            if not dropped:
                break
            for pk in dropped:
                del candidates[pk]
        for pk in candidates:
            self.event_ids[pk] = f"E{len(self.event_ids) + 1}"
        for pk, (type_, trigger, args) in candidates.items():
            self.out.events.append(dc.Event(
                self.event_ids[pk], type_, self.entity_ids[trigger],
                tuple((role, self.entity_ids[entity] if event is None else self.event_ids[event])
                      for _, role, entity, event in args),
            ))

    def _end(self, entity_id, event_id) -> str | None:
        return self.entity_ids.get(entity_id) if event_id is None else self.event_ids.get(event_id)

    def relations(self, rows, type_names, role_names) -> None:
        for _, pk, sentence_id, type_id, head, tail, head_event, tail_event in rows:
            head_id, tail_id = self._end(head, head_event), self._end(tail, tail_event)
            if not self._kept(sentence_id) or head_id is None or tail_id is None:
                continue
            self.relation_ids[pk] = f"R{len(self.relation_ids) + 1}"
            self.out.relations.append(dc.Relation(
                self.relation_ids[pk], type_names[type_id], head_id, tail_id, *role_names[type_id]
            ))

    def groups(self, rows) -> None:
        members = defaultdict(list)
        types = {}
        for _, group_id, group_type, entity_id in rows:
            members[group_id].append(entity_id)
            types[group_id] = group_type
        for group_id, entity_ids in members.items():
            if all(e in self.entity_ids for e in entity_ids):
                self.out.groups.append(dc.Group(
                    f"*{len(self.out.groups) + 1}", types[group_id],
                    tuple(self.entity_ids[e] for e in entity_ids),
                ))

    def _target(self, entity_id, relation_id, event_id=None) -> str | None:
        if entity_id is not None:
            return self.entity_ids.get(entity_id)
        if event_id is not None:
            return self.event_ids.get(event_id)
        return self.relation_ids.get(relation_id)

    def attributes(self, rows) -> None:
        for _, name, value, entity_id, relation_id, event_id in rows:
            target = self._target(entity_id, relation_id, event_id)
            if target is not None:
                self.out.attributes.append(
                    dc.Attribute(f"A{len(self.out.attributes) + 1}", name, target, value or None)
                )

    def notes(self, rows) -> None:
        for _, type_, text, entity_id, relation_id, event_id in rows:
            target = self._target(entity_id, relation_id, event_id)
            if target is not None:
                self.out.notes.append(dc.Note(f"#{len(self.out.notes) + 1}", type_, target, text))

    def normalizations(self, rows) -> None:
        for _, type_, resource, reference, text, entity_id, event_id in rows:
            target = self._target(entity_id, None, event_id)
            if target is not None:
                self.out.normalizations.append(dc.Normalization(
                    f"N{len(self.out.normalizations) + 1}", target, resource, reference, text, type_))

    def document(self, name, text, metadata) -> dc.Document:
        self.out.name, self.out.text = name, text
        self.out.metadata = {**metadata, "sentence_status": self.statuses}
        return self.out
