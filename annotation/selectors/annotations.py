"""Reads behind the annotation view: one sentence, its annotations, its neighbours and the
project's types as plain rows (access: ``annotation.access``; how a sentence is drawn:
``annotation.selectors.layout``).

Every function issues a small, constant number of queries, whatever the project
size: the view must answer an annotation action in well under 50 ms on a
30,000-sentence project.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.http import Http404

from annotation.models import (
    Entity,
    EntityType,
    Event,
    Normalization,
    Project,
    Relation,
    RelationType,
    Sentence,
    SentenceStatus,
)
from annotation.rows import row_of

OPEN_STATUSES = (SentenceStatus.NEW, SentenceStatus.IN_PROGRESS)
CONTEXT_WIDTH = 2


def sentence_get(*, project: Project, sentence_id: int) -> Sentence:
    try:
        return Sentence.objects.select_related("document", "updated_by").get(
            pk=sentence_id, project_id=project.pk
        )
    except Sentence.DoesNotExist as exc:
        raise Http404("No such sentence in this project.") from exc


def sentence_entities(*, sentence: Sentence) -> list[Entity]:
    return list(Entity.objects.filter(sentence_id=sentence.pk).select_related("type"))


def sentence_relations(*, sentence: Sentence) -> list[Relation]:
    """The sentence's relations: by convention (importer, UI, model) a relation belongs to
    its head's sentence."""
    return list(Relation.objects.filter(sentence_id=sentence.pk).select_related("type"))


@dataclass
class SentenceAnnotations:
    """A sentence's entities and relations (each with its type), as read once per request.

    The annotation services check an action against these instead of reading them again,
    and keep them in step with what they write, so that the view renders the result without
    reading it back. That is safe because every write first moves the sentence from the
    version the client saw to the next one: if anything changed since these were read
    (after the sentence row), that conditional update fails and nothing is written.
    """

    entities: list[Entity]
    relations: list[Relation]
    normalizations: list[Normalization] = field(default_factory=list)

    def entity(self, entity_id) -> Entity | None:
        return next((e for e in self.entities if str(e.pk) == str(entity_id)), None)

    def relation(self, relation_id) -> Relation | None:
        return next((r for r in self.relations if str(r.pk) == str(relation_id)), None)

    def identical_entity(self, type_id, fragments, exclude_id=None) -> Entity | None:
        """The entity of this type over exactly these (normalised) fragments, if any."""
        return next((e for e in self.entities if e.type_id == type_id and e.fragments == fragments
                     and e.pk != exclude_id), None)

    def identical_relation(self, type_id, head_id, tail_id) -> Relation | None:
        return next((r for r in self.relations
                     if (r.type_id, r.head_id, r.tail_id) == (type_id, head_id, tail_id)), None)

    def normalization(self, normalization_id) -> Normalization | None:
        return next((n for n in self.normalizations if str(n.pk) == str(normalization_id)), None)


def sentence_annotations(*, sentence: Sentence) -> SentenceAnnotations:
    """The sentence's entities and relations with their types, and the normalizations of its
    entities (three queries)."""
    return SentenceAnnotations(
        entities=sentence_entities(sentence=sentence),
        relations=sentence_relations(sentence=sentence),
        normalizations=list(Normalization.objects.filter(entity__sentence_id=sentence.pk)),
    )


def sentence_events(*, sentence: Sentence) -> list[dict]:
    """The events triggered in the sentence (read-only, from brat), each as ``{"event",
    "trigger", "arguments": [(role, text)]}``; two queries, none in a project without event
    types."""
    if not sentence.project.event_types:
        return []
    events = list(Event.objects.filter(trigger__sentence_id=sentence.pk).select_related("trigger")
                  .prefetch_related("arguments__entity", "arguments__argument_event__trigger"))
    return [{"event": event, "trigger": _span_text(sentence, event.trigger),
             "arguments": [(a.role, _span_text(sentence, a.entity) if a.entity_id else
                            f"{a.argument_event.type} event “{_span_text(sentence, a.argument_event.trigger)}”")
                           for a in event.arguments.all()]}
            for event in events]


def _span_text(sentence: Sentence, entity: Entity) -> str:
    start, end = entity.start - sentence.start, entity.end - sentence.start
    return sentence.text[start:end] if 0 <= start and end <= len(sentence.text) else f"entity {entity.pk}"


UNDO_FORMAT = 2


def sentence_snapshot(*, sentence: Sentence,
                      annotations: SentenceAnnotations | None = None) -> dict:
    """A JSON-able copy of the sentence's status and of its entities' and relations' rows
    (every column, provenance and timestamps included); no query when given the
    ``annotations`` already read. Taken before an action, for :func:`undo_step`."""
    annotations = annotations or sentence_annotations(sentence=sentence)
    return {
        "status": sentence.status,
        "entities": sorted((row_of(e) for e in annotations.entities), key=lambda row: row["id"]),
        "relations": sorted((row_of(r) for r in annotations.relations), key=lambda row: row["id"]),
    }


def undo_step(*, before: dict, after: SentenceAnnotations) -> dict:
    """What undoing an action takes, from the snapshot before it and the annotations after it:
    the status before, the rows it changed or deleted as they were, the ids it created.

    Only the difference is kept: the session holds up to 30 steps for each of 20 sentences
    and is decoded and encoded on every action, so whole snapshots there cost several
    milliseconds of CPU per request.
    """
    def changes(rows: list[dict], now: list) -> tuple[list[dict], list[int]]:
        current = {obj.pk: row_of(obj) for obj in now}
        old = {row["id"] for row in rows}
        return [row for row in rows if current.get(row["id"]) != row], sorted(set(current) - old)

    entities, created_entities = changes(before["entities"], after.entities)
    relations, created_relations = changes(before["relations"], after.relations)
    return {"format": UNDO_FORMAT, "status": before["status"], "entities": entities,
            "relations": relations, "created_entities": created_entities,
            "created_relations": created_relations}


def relations_refusing_type(*, entity: Entity, type_id: int) -> list[Relation]:
    """The relations of ``entity`` (either end, any sentence) whose relation type would not
    allow it to be of type ``type_id``: it is their head (tail) and their type restricts its
    heads (tails) to other types. One plain query, which finds none almost always (the ORM
    takes ~4 ms of CPU to compile it, SQLite ~0.05 ms to run it); then one for the details."""
    relations = Relation._meta.db_table
    refused = " OR ".join(
        f"(r.{end}_id = %s AND EXISTS (SELECT 1 FROM {table} m WHERE m.relationtype_id = r.type_id)"
        f" AND NOT EXISTS (SELECT 1 FROM {table} m WHERE m.relationtype_id = r.type_id"
        f" AND m.entitytype_id = %s))"
        for end, table in (("head", RelationType.heads.through._meta.db_table),
                           ("tail", RelationType.tails.through._meta.db_table)))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r.id FROM {relations} r WHERE {refused}",
                       [entity.pk, type_id, entity.pk, type_id])
        ids = [pk for pk, in cursor.fetchall()]
    if not ids:
        return []
    return list(Relation.objects.filter(pk__in=ids)
                .select_related("type", "head__type", "tail__type").order_by("pk"))


@dataclass(frozen=True)
class EntityTypeRow:
    pk: int
    name: str
    color: str
    key: str


@dataclass(frozen=True)
class RelationTypeRow:
    """A relation type with its allowed head/tail entity type ids (empty: any)."""

    pk: int
    name: str
    key: str
    head_ids: frozenset = frozenset()
    tail_ids: frozenset = frozenset()

    @property
    def heads_attr(self) -> str:
        return " ".join(map(str, sorted(self.head_ids)))

    @property
    def tails_attr(self) -> str:
        return " ".join(map(str, sorted(self.tail_ids)))


def project_type_rows(*, project: Project) -> tuple[list[EntityTypeRow], list[RelationTypeRow]]:
    """The project's types as plain rows (two light queries, no model instances)."""
    entity_types = [
        EntityTypeRow(*row) for row in EntityType.objects.filter(project_id=project.pk)
        .values_list("id", "name", "color", "key")
    ]
    return entity_types, relation_type_rows(project_id=project.pk)


def relation_type_rows(*, project_id: int,
                       relation_type_id: int | None = None) -> list[RelationTypeRow]:
    """The project's relation types (or the one ``relation_type_id``, if it is the project's)
    with their allowed heads and tails, in one plain query: each type joined to both M2M
    tables (the ORM's union costs more to compile than to run on this hot path)."""
    q = connection.ops.quote_name
    types = RelationType._meta.db_table
    where = "rt.project_id = %s" + (" AND rt.id = %s" if relation_type_id is not None else "")
    params = [project_id] + ([relation_type_id] if relation_type_id is not None else [])
    select = f"SELECT rt.id, rt.name, rt.{q('key')}, rt.{q('order')}"
    sql = " UNION ALL ".join(
        f"{select}, '{side}', m.entitytype_id FROM {types} rt {join} {through._meta.db_table} m "
        f"ON m.relationtype_id = rt.id WHERE {where}"
        for side, join, through in (("h", "LEFT JOIN", RelationType.heads.through),
                                    ("t", "JOIN", RelationType.tails.through)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params * 2)
        rows = cursor.fetchall()
    found: dict[int, tuple] = {}
    allowed: dict[tuple[str, int], set] = {}
    for pk, name, key, order, side, entity_type_id in rows:
        found[pk] = (order, pk, name, key)
        if entity_type_id is not None:
            allowed.setdefault((side, pk), set()).add(entity_type_id)
    return [
        RelationTypeRow(pk, name, key, frozenset(allowed.get(("h", pk), ())),
                        frozenset(allowed.get(("t", pk), ())))
        for _, pk, name, key in sorted(found.values())
    ]


def relation_types_allowed(*, relation_types, head_type_id: int, tail_type_id: int) -> list:
    """The relation types (rows with ``head_ids``/``tail_ids``) admitting these entity types."""
    return [
        rtype for rtype in relation_types
        if (not rtype.head_ids or head_type_id in rtype.head_ids)
        and (not rtype.tail_ids or tail_type_id in rtype.tail_ids)
    ]


def sentence_context(*, sentence: Sentence, width: int = CONTEXT_WIDTH) -> tuple[list, list]:
    """The criteria just before and after ``sentence`` in its document."""
    around = list(
        Sentence.objects.filter(
            document_id=sentence.document_id,
            index__gte=max(sentence.index - width, 0),
            index__lte=sentence.index + width,
        ).exclude(pk=sentence.pk).only("id", "index", "text", "status")
    )
    return ([s for s in around if s.index < sentence.index],
            [s for s in around if s.index > sentence.index])


def sentence_neighbour(*, sentence: Sentence, direction: str, open_only: bool = False):
    """The next (``direction="next"``) or previous sentence of the project, or ``None``.

    Project order is (document id, index); ``open_only`` skips finished sentences.
    """
    forward = direction == "next"
    base = Sentence.objects.filter(project_id=sentence.project_id)
    if open_only:
        base = base.filter(status__in=OPEN_STATUSES)
    order = ("document_id", "index") if forward else ("-document_id", "-index")
    same_doc = base.filter(
        document_id=sentence.document_id,
        **({"index__gt": sentence.index} if forward else {"index__lt": sentence.index}),
    ).order_by(*order).only("id").first()
    if same_doc is not None:
        return same_doc
    other = {"document_id__gt": sentence.document_id} if forward else {
        "document_id__lt": sentence.document_id}
    return base.filter(**other).order_by(*order).only("id").first()


def first_open_sentence(*, project: Project, document_id: int | None = None):
    """Where the queue starts: the first unfinished sentence (else the first one)."""
    base = Sentence.objects.filter(project_id=project.pk)
    if document_id is not None:
        base = base.filter(document_id=document_id)
    order = ("document_id", "index")
    return (base.filter(status__in=OPEN_STATUSES).order_by(*order).only("id").first()
            or base.order_by(*order).only("id").first())
