"""Eligo's own lossless corpus format: JSON Lines, a schema header, then one document per line.

::

    {"eligo": 1, "schema": {"entity_types": [{"name": "Condition", "color": "#e00084", "key": "C"}],
                            "relation_types": [{"name": "Has_value", "heads": [], "tails": []}],
                            "attribute_types": ["Optional"], "group_types": ["OR"]}}
    {"name": "NCT00050349_exc", "text": "...", "metadata": {...},
     "sentences": [{"start": 0, "end": 52, "status": "done"}],
     "entities": [{"id": "T1", "type": "Condition", "fragments": [[0, 7], [12, 20]]}],
     "relations": [{"id": "R1", "type": "Has_value", "head": "T1", "tail": "T2"}],
     "groups": [{"id": "*1", "type": "OR", "members": ["T1", "T2"]}],
     "attributes": [{"id": "A1", "name": "Optional", "target": "T1", "value": null}],
     "notes": [{"id": "#1", "type": "AnnotatorNotes", "target": "T1", "text": "..."}],
     "events": [{"id": "E1", "type": "Binding", "trigger": "T3", "arguments": [["Theme", "T1"]]}],
     "normalizations": [{"id": "N1", "type": "Reference", "target": "T1", "resource": "UMLS",
                         "reference": "C0011849", "text": "diabetes"}]}

``events`` and ``normalizations`` (brat ``E`` and ``N`` lines) are written only when a
document has some; a relation's ``head_role``/``tail_role`` only when they are not
brat's ``Arg1``/``Arg2``; the schema's ``event_types``, ``attribute_values`` and
``attribute_args`` only when not empty. A relation's end, and the target of an
attribute, note or normalization, may be an event id.

Offsets are document character offsets, a CR counted like any character.
A per-sentence ``status`` is written from (and read back into)
``Document.metadata["sentence_status"]``, a list parallel to ``sentences``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import CorpusFormatError, IssueSink, ReadIssue
from .model import (
    Attribute,
    Document,
    Entity,
    EntityType,
    Event,
    EventType,
    Fragment,
    Group,
    Normalization,
    Note,
    Relation,
    RelationType,
    Schema,
    Sentence,
)
from .splitting import split_lines

VERSION = 1
STATUS_KEY = "sentence_status"


# --- schema ------------------------------------------------------------------------------


def schema_to_json(schema: Schema) -> dict:
    data = {
        "entity_types": [{"name": t.name, "color": t.color, "key": t.key} for t in schema.entity_types],
        "relation_types": [_relation_type_json(t) for t in schema.relation_types],
        "attribute_types": list(schema.attribute_types),
        "group_types": list(schema.group_types),
    }
    if schema.event_types:
        data["event_types"] = [
            {"name": t.name, "arguments": [[role, list(types)] for role, types in t.arguments]}
            for t in schema.event_types
        ]
    if schema.attribute_values:
        data["attribute_values"] = {k: list(v) for k, v in schema.attribute_values.items()}
    if schema.attribute_args:
        data["attribute_args"] = dict(schema.attribute_args)
    return data


def _relation_type_json(t: RelationType) -> dict:
    data = {"name": t.name, "heads": list(t.heads), "tails": list(t.tails)}
    if (t.head_role, t.tail_role) != ("Arg1", "Arg2"):
        data.update(head_role=t.head_role, tail_role=t.tail_role)
    return data


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_schema_json(data) -> None:
    """The header's schema shape; raises ``ValueError`` naming the part that is wrong."""
    if not isinstance(data, dict):
        raise ValueError("the schema must be an object")
    for key in ("entity_types", "relation_types", "event_types"):
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str)
                                                  for t in items):
            raise ValueError(f"{key} must be a list of objects with a name")
    for relation_type in data.get("relation_types", []):
        for end in ("heads", "tails"):
            if not _strings(relation_type.get(end, [])):
                raise ValueError(f"relation type {relation_type['name']!r}: {end} must be a list of type names")
    for key in ("attribute_types", "group_types"):
        if not _strings(data.get(key, [])):
            raise ValueError(f"{key} must be a list of names")
    for key in ("attribute_values", "attribute_args"):
        if not isinstance(data.get(key) or {}, dict):
            raise ValueError(f"{key} must be an object")


def schema_from_json(data: dict) -> Schema:
    _check_schema_json(data)
    return Schema(
        entity_types=[EntityType(t["name"], t.get("color", ""), t.get("key", ""))
                      for t in data.get("entity_types", [])],
        relation_types=[RelationType(t["name"], tuple(t.get("heads", ())), tuple(t.get("tails", ())),
                                     t.get("head_role", "Arg1"), t.get("tail_role", "Arg2"))
                        for t in data.get("relation_types", [])],
        attribute_types=list(data.get("attribute_types", [])),
        group_types=list(data.get("group_types", [])),
        event_types=[EventType(t["name"], tuple((role, tuple(types)) for role, types in t.get("arguments", ())))
                     for t in data.get("event_types", [])],
        attribute_values={k: list(v) for k, v in (data.get("attribute_values") or {}).items()},
        attribute_args=dict(data.get("attribute_args") or {}),
    )


# --- documents ---------------------------------------------------------------------------


def document_to_json(document: Document) -> dict:
    metadata = dict(document.metadata)
    statuses = metadata.pop(STATUS_KEY, None)
    sentences = []
    for index, sentence in enumerate(document.sentences):
        item = {"start": sentence.start, "end": sentence.end}
        if statuses is not None and index < len(statuses) and statuses[index] is not None:
            item["status"] = statuses[index]
        sentences.append(item)
    data = {
        "name": document.name,
        "text": document.text,
        "metadata": metadata,
        "sentences": sentences,
        "entities": [
            {"id": e.id, "type": e.type, "fragments": [[f.start, f.end] for f in e.fragments]}
            for e in document.entities
        ],
        "relations": [_relation_json(r) for r in document.relations],
        "groups": [{"id": g.id, "type": g.type, "members": list(g.members)} for g in document.groups],
        "attributes": [
            {"id": a.id, "name": a.name, "target": a.target, "value": a.value} for a in document.attributes
        ],
        "notes": [{"id": n.id, "type": n.type, "target": n.target, "text": n.text} for n in document.notes],
    }
    if document.events:
        data["events"] = [{"id": e.id, "type": e.type, "trigger": e.trigger,
                           "arguments": [list(a) for a in e.arguments]} for e in document.events]
    if document.normalizations:
        data["normalizations"] = [
            {"id": n.id, "type": n.type, "target": n.target, "resource": n.resource,
             "reference": n.reference, "text": n.text}
            for n in document.normalizations
        ]
    return data


def _relation_json(r: Relation) -> dict:
    data = {"id": r.id, "type": r.type, "head": r.head, "tail": r.tail}
    if (r.head_role, r.tail_role) != ("Arg1", "Arg2"):
        data.update(head_role=r.head_role, tail_role=r.tail_role)
    return data


def document_from_json(data: dict) -> Document:
    """Build and validate a document; raises ``ValueError`` saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("a document line must be a JSON object")
    for key in ("name", "text"):
        if not isinstance(data.get(key), str):
            raise ValueError(f"missing or non-string {key!r}")
    text = data["text"]
    _check_containers(data)
    metadata = dict(data.get("metadata") or {})
    if "sentences" in data:
        raw = data["sentences"]
        sentences = [Sentence(*_span(s, len(text), "sentence")) for s in raw]
        statuses = [s.get("status") if isinstance(s, dict) else None for s in raw]
        if any(status is not None for status in statuses):
            metadata[STATUS_KEY] = statuses
    else:
        sentences = split_lines(text)
    document = Document(
        name=data["name"], text=text, sentences=sentences, metadata=metadata,
        entities=[_entity(e, len(text)) for e in data.get("entities", [])],
        relations=[Relation(str(r["id"]), r["type"], r["head"], r["tail"],
                            r.get("head_role", "Arg1"), r.get("tail_role", "Arg2"))
                   for r in data.get("relations", [])],
        groups=[Group(str(g["id"]), g["type"], tuple(g["members"])) for g in data.get("groups", [])],
        attributes=[Attribute(str(a["id"]), a["name"], a["target"], a.get("value"))
                    for a in data.get("attributes", [])],
        notes=[Note(str(n["id"]), n["type"], n["target"], n.get("text", "")) for n in data.get("notes", [])],
        events=[_event(e) for e in data.get("events", [])],
        normalizations=[Normalization(str(n["id"]), n["target"], n["resource"], n["reference"],
                                      n.get("text") or "", n.get("type") or "Reference")
                        for n in data.get("normalizations", [])],
    )
    _check_strings(document)
    _check_references(document)
    return document


_LISTS = ("sentences", "entities", "relations", "groups", "attributes", "notes", "events", "normalizations")


def _check_containers(data: dict) -> None:
    """Lists of objects where the format has them (a string would be read letter by letter)."""
    if not isinstance(data.get("metadata") or {}, dict):
        raise ValueError("'metadata' must be an object")
    for key in _LISTS:
        items = data.get(key, [])
        if not isinstance(items, list) or (key != "sentences" and not all(isinstance(i, dict) for i in items)):
            raise ValueError(f"{key!r} must be a list of objects")
    for group in data.get("groups", []):
        if not isinstance(group.get("members"), list):
            raise ValueError(f"group {group.get('id')}: 'members' must be a list of entity ids")


def _check_strings(document: Document) -> None:
    """Every name, id reference and text of the annotations is a string (a number there
    would fail later, in the database or a writer)."""
    fields = [(f"relation {r.id}", (r.type, r.head, r.tail, r.head_role, r.tail_role))
              for r in document.relations]
    fields += [(f"group {g.id}", (g.type, *g.members)) for g in document.groups]
    fields += [(f"attribute {a.id}", (a.name, a.target, "" if a.value is None else a.value))
               for a in document.attributes]
    fields += [(f"note {n.id}", (n.type, n.target, n.text)) for n in document.notes]
    fields += [(f"event {e.id}", (e.type, e.trigger)) for e in document.events]
    fields += [(f"normalization {n.id}", (n.target, n.resource, n.reference, n.text, n.type))
               for n in document.normalizations]
    for what, values in fields:
        if not all(isinstance(v, str) for v in values):
            raise ValueError(f"{what}: names, ids and texts must be strings")


def _entity(data: dict, size: int) -> Entity:
    fragments = tuple(Fragment(*_span(f, size, f"entity {data['id']}")) for f in data["fragments"])
    if not fragments or not isinstance(data["type"], str):
        raise ValueError(f"entity {data['id']}: needs a type and at least one fragment")
    return Entity(str(data["id"]), data["type"], fragments)


def _event(data: dict) -> Event:
    arguments = data.get("arguments", [])
    if not isinstance(arguments, list) or any(
            not isinstance(a, (list, tuple)) or len(a) != 2 for a in arguments):
        raise ValueError(f"event {data['id']}: arguments must be [role, id] pairs")
    return Event(str(data["id"]), data["type"], data["trigger"], tuple((str(r), str(v)) for r, v in arguments))


def _span(value, size: int, what: str) -> tuple[int, int]:
    if isinstance(value, dict):
        start, end = value.get("start"), value.get("end")
    elif isinstance(value, list) and len(value) == 2:
        start, end = value
    else:
        raise ValueError(f"{what}: a span is [start, end] or {{\"start\": .., \"end\": ..}}")
    if not (type(start) is int and type(end) is int and 0 <= start < end <= size):
        raise ValueError(f"{what}: span {start}-{end} out of range (text has {size} characters)")
    return start, end


def _check_references(document: Document) -> None:
    ids: set[str] = set()
    for item in [*document.entities, *document.relations, *document.groups, *document.attributes,
                 *document.notes, *document.events, *document.normalizations]:
        if item.id in ids:
            raise ValueError(f"duplicate id {item.id!r}")
        ids.add(item.id)
    entities = {e.id for e in document.entities}
    ends = entities | {e.id for e in document.events}
    targets = ends | {r.id for r in document.relations}
    references = [(r.id, r.head, ends) for r in document.relations]
    references += [(r.id, r.tail, ends) for r in document.relations]
    references += [(e.id, e.trigger, entities) for e in document.events]
    references += [(e.id, value, ends) for e in document.events for _, value in e.arguments]
    references += [(n.id, n.target, ends) for n in document.normalizations]
    references += [(g.id, m, entities) for g in document.groups for m in g.members]
    references += [(a.id, a.target, targets) for a in document.attributes]
    references += [(n.id, n.target, targets) for n in document.notes]
    for owner, reference, known in references:
        if reference not in known:
            raise ValueError(f"{owner}: unknown id {reference!r}")


# --- files -------------------------------------------------------------------------------


def read_jsonl(path: str | Path, *, issues: list[ReadIssue] | None = None,
               strict: bool = True) -> tuple[Schema, Iterator[Document]]:
    """The header's schema (read now) and the documents (read lazily, one line at a time).

    A bad header always raises :class:`CorpusFormatError`; a bad document line
    raises too, or with ``strict=False`` is skipped and reported.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusFormatError(str(path), None, "no such file")
    with open(path, encoding="utf-8") as handle:
        try:
            first = handle.readline()
        except UnicodeDecodeError:
            raise CorpusFormatError(str(path), 1, "not UTF-8") from None
    header = _parse_line(first, str(path), 1)
    if not isinstance(header, dict) or "eligo" not in header:
        raise CorpusFormatError(str(path), 1, 'first line must be the header {"eligo": 1, "schema": {...}}')
    if header["eligo"] != VERSION:
        raise CorpusFormatError(str(path), 1, f"unsupported format version {header['eligo']!r}")
    try:
        schema = schema_from_json(header.get("schema") or {})
    except ValueError as exc:
        raise CorpusFormatError(str(path), 1, f"bad schema in header: {exc}") from None
    except (KeyError, TypeError, AttributeError):
        raise CorpusFormatError(str(path), 1, "bad schema in header: see docs/formats.md for its shape") from None
    return schema, _iter_documents(path, IssueSink(issues, strict))


def _parse_line(line: str, file: str, number: int):
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(file, number, f"invalid JSON: {exc.msg} (column {exc.colno})") from None


def _iter_documents(path: Path, sink: IssueSink) -> Iterator[Document]:
    with open(path, "rb") as handle:
        handle.readline()
        for number, raw in enumerate(handle, start=2):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
                yield document_from_json(_parse_line(line, str(path), number))
            except UnicodeDecodeError:
                sink.error(str(path), number, "not UTF-8")
            except CorpusFormatError as exc:
                sink.error(exc.file, exc.line, exc.reason)
            except (ValueError, KeyError, TypeError) as exc:
                reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
                sink.error(str(path), number, reason)


def write_jsonl(documents: Iterable[Document], path: str | Path, *, schema: Schema | None) -> int:
    """Write the header and one line per document; return the number of documents.

    With ``schema=None`` the header declares the types the documents use; the
    documents are then streamed to a temporary file first, since the header
    comes before them.
    """
    path = Path(path)
    if schema is not None:
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(_dumps({"eligo": VERSION, "schema": schema_to_json(schema)}) + "\n")
            return _write_documents(documents, handle, None)
    derived = Schema()
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="\n", delete=False,
                                     dir=path.parent, suffix=".part") as body:
        count = _write_documents(documents, body, derived)
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(_dumps({"eligo": VERSION, "schema": schema_to_json(derived)}) + "\n")
            with open(body.name, encoding="utf-8", newline="") as part:
                shutil.copyfileobj(part, handle)
    finally:
        os.unlink(body.name)
    return count


def _write_documents(documents: Iterable[Document], handle, schema: Schema | None) -> int:
    count = 0
    for document in documents:
        handle.write(_dumps(document_to_json(document)) + "\n")
        if schema is not None:
            schema.extend_from_documents([document])
        count += 1
    return count


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
