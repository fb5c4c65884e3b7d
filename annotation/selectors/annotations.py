"""Reads behind the annotation view: one sentence, its annotations, its neighbours and the
project's types as plain rows (access: ``annotation.access``; how a sentence is drawn:
``annotation.selectors.layout``).

Every function issues a small, constant number of queries, whatever the project
size: the view must answer an annotation action in well under 50 ms on a
30,000-sentence project.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.db import connection
from django.http import Http404

from annotation.models import (
    Attribute,
    Entity,
    EntityType,
    Event,
    Group,
    GroupMember,
    Normalization,
    Note,
    Project,
    Relation,
    RelationType,
    Sentence,
    SentenceStatus,
)
from annotation.rows import column_reads, instance_from
from annotation.selectors.layers import sentences_for_annotator

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
    """The sentence's entities in the layer it was read in (``Sentence.layer``)."""
    return list(Entity.objects.filter(sentence_id=sentence.pk, annotator_id=sentence.layer)
                .select_related("type"))


def sentence_relations(*, sentence: Sentence) -> list[Relation]:
    """The sentence's relations in its layer: by convention (importer, UI, model) a relation
    belongs to its head's sentence."""
    return list(Relation.objects.filter(sentence_id=sentence.pk, annotator_id=sentence.layer)
                .select_related("type"))


@dataclass
class SentenceAnnotations:
    """A sentence's entities and relations (each with its type) and what hangs on them
    (normalizations, attributes, notes, OR-group memberships and their groups), as read once
    per request.

    The annotation services check an action against these instead of reading them again,
    and keep them in step with what they write, so that the view renders the result without
    reading it back. That is safe because every write first moves the sentence from the
    version the client saw to the next one: if anything changed since these were read
    (after the sentence row), that conditional update fails and nothing is written.
    """

    entities: list[Entity]
    relations: list[Relation]
    normalizations: list[Normalization] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    group_members: list[GroupMember] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def entity(self, entity_id) -> Entity | None:
        return _find(self.entities, entity_id)

    def relation(self, relation_id) -> Relation | None:
        return _find(self.relations, relation_id)

    def identical_entity(self, type_id, fragments, exclude_id=None) -> Entity | None:
        """The entity of this type over exactly these (normalised) fragments, if any."""
        return next((e for e in self.entities if e.type_id == type_id and e.fragments == fragments
                     and e.pk != exclude_id), None)

    def identical_relation(self, type_id, head_id, tail_id) -> Relation | None:
        return next((r for r in self.relations
                     if (r.type_id, r.head_id, r.tail_id) == (type_id, head_id, tail_id)), None)

    def normalization(self, normalization_id) -> Normalization | None:
        return _find(self.normalizations, normalization_id)

    def attribute(self, attribute_id) -> Attribute | None:
        return _find(self.attributes, attribute_id)

    def note(self, note_id) -> Note | None:
        return _find(self.notes, note_id)

    def group_member(self, member_id) -> GroupMember | None:
        return _find(self.group_members, member_id)

    def group(self, group_id) -> Group | None:
        return _find(self.groups, group_id)

    def extras_forget(self, *, entity_ids=(), relation_ids=()) -> None:
        """Drop what hung on deleted entities and relations (the delete took it along)."""
        entity_ids, relation_ids = set(entity_ids), set(relation_ids)
        for kind in ("normalizations", "attributes", "notes", "group_members"):
            setattr(self, kind, [obj for obj in getattr(self, kind)
                                 if obj.entity_id not in entity_ids
                                 and getattr(obj, "relation_id", None) not in relation_ids])


def _find(rows: list, pk):
    return next((row for row in rows if str(row.pk) == str(pk)), None)


def sentence_annotations(*, sentence: Sentence) -> SentenceAnnotations:
    """The sentence's entities and relations with their types, and what hangs on them, in
    the layer the sentence was read in (``Sentence.layer``): one query (see
    ``_annotations_layout``), where the ORM would take one per table and spend more time
    compiling them than the database spends running them."""
    sql, branches = _annotations_layout(sentence.layer is not None)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"sentence": sentence.pk, "layer": sentence.layer})
        rows = cursor.fetchall()
    found: dict[str, list] = {branch.kind: [] for branch in branches}
    for index, *values in rows:
        branch = branches[index]
        found[branch.kind].append(branch.instance(values))
    found["entities"].sort(key=lambda e: (e.start, -e.end, e.pk))  # Entity.Meta.ordering
    return SentenceAnnotations(**found)


# kind, model, what it hangs on: "entity" (entities of the sentence), "both" (its entities or
# relations), "groups" (the groups its entities are members of)
EXTRAS = (
    ("normalizations", Normalization, "entity"),
    ("attributes", Attribute, "both"),
    ("notes", Note, "both"),
    ("group_members", GroupMember, "entity"),
    ("groups", Group, "groups"),
)
# the sentence's own annotations, each read with its type (as ``select_related("type")``)
TYPED = (
    ("entities", Entity, EntityType),
    ("relations", Relation, RelationType),
)
# an empty column of each kind of value, cast so that every branch has the same types
_NULL_AS = {"number": "BigIntegerField", "text": "TextField", "time": "DateTimeField",
            "json": "JSONField"}


def _slot(field) -> str:
    internal = field.get_internal_type()
    if internal in ("DateTimeField", "JSONField"):
        return "time" if internal == "DateTimeField" else "json"
    return "text" if internal in ("CharField", "TextField") else "number"


@dataclass(frozen=True)
class _Branch:
    """One ``SELECT`` of the annotations query: which kind of row it reads, and how its
    columns (after the branch number) become a model instance, its type cached on it."""

    kind: str
    model: type
    reads: tuple  # see ``annotation.rows.column_reads``
    type_model: type | None = None
    type_reads: tuple = ()

    def instance(self, values):
        obj = instance_from(self.model, self.reads, values)
        if self.type_model is not None:
            self.model._meta.get_field("type").set_cached_value(
                obj, instance_from(self.type_model, self.type_reads, values))
        return obj


def _columns(model) -> dict[str, list]:
    return {slot: [f for f in model._meta.concrete_fields if _slot(f) == slot] for slot in _NULL_AS}


@functools.cache
def _annotations_layout(layered: bool) -> tuple[str, tuple[_Branch, ...]]:
    """One ``UNION ALL`` over the sentence's entities and relations (each joined to its type)
    and the extra tables, and its branches (``_Branch``). Each row is its branch number, then
    its columns in slots by kind of value (numbers, texts, times, JSON; a cast NULL where a
    table has fewer), so that every branch has the same column types on SQLite and PostgreSQL.

    Every table is read in one layer (``annotator_id``): the shared or curated one (NULL) or,
    ``layered``, the annotator's (parameter ``layer``); ``sentence`` is the sentence's id."""
    tables = [(kind, (model, type_model)) for kind, model, type_model in TYPED]
    tables += [(kind, (model,)) for kind, model, _ in EXTRAS]
    widths = {slot: max(sum(len(_columns(m)[slot]) for m in models) for _, models in tables)
              for slot in _NULL_AS}
    layer = "= %(layer)s" if layered else "IS NULL"
    conditions = _conditions(layer)
    targets = {kind: target for kind, _, target in EXTRAS}
    selects, branches = [], []
    for index, (kind, models) in enumerate(tables):
        condition = conditions[targets.get(kind, "sentence")]
        if any(f.name == "annotator" for f in models[0]._meta.concrete_fields):
            condition += f" AND a.annotator_id {layer}"
        sql, branch = _branch(index, kind, models, widths, condition)
        selects.append(sql)
        branches.append(branch)
    return " UNION ALL ".join(selects) + " ORDER BY 1, 2", tuple(branches)


def _conditions(layer: str) -> dict[str, str]:
    """For each target (see ``EXTRAS``; "sentence": the sentence's own rows) the condition on
    the branch's table ``a``: on the sentence, or on its entities or relations of the layer
    (``layer``: the test of ``annotator_id``)."""
    entities = (f"SELECT id FROM {Entity._meta.db_table} "
                f"WHERE sentence_id = %(sentence)s AND annotator_id {layer}")
    relations = (f"SELECT id FROM {Relation._meta.db_table} "
                 f"WHERE sentence_id = %(sentence)s AND annotator_id {layer}")
    members = f"SELECT group_id FROM {GroupMember._meta.db_table} WHERE entity_id IN ({entities})"
    return {"sentence": "a.sentence_id = %(sentence)s",
            "entity": f"a.entity_id IN ({entities})",
            "both": f"(a.entity_id IN ({entities}) OR a.relation_id IN ({relations}))",
            "groups": f"a.id IN ({members})"}


def _branch(index: int, kind: str, models: tuple, widths: dict,
            condition: str) -> tuple[str, _Branch]:
    """The ``SELECT`` of table ``a`` (``models[0]``), joined to its type ``t`` (``models[1]``,
    if any), and how to read its rows."""
    q = connection.ops.quote_name
    columns, positions = [], {}
    for slot, width in widths.items():
        mine = [(alias, f) for alias, model in zip("at", models) for f in _columns(model)[slot]]
        for alias, f in mine:
            positions[f] = len(columns)
            columns.append(f"{alias}.{q(f.column)}")
        columns += [f"CAST(NULL AS {connection.data_types[_NULL_AS[slot]]})"] * (width - len(mine))
    model, *typed = models
    source = f"{model._meta.db_table} a" + "".join(
        f" JOIN {type_model._meta.db_table} t ON t.id = a.type_id" for type_model in typed)
    reads = [column_reads(m, positions) for m in models]
    return (f"SELECT {index}, {', '.join(columns)} FROM {source} WHERE {condition}",
            _Branch(kind, model, reads[0], *((typed[0], reads[1]) if typed else ())))


def sentence_events(*, sentence: Sentence) -> list[dict]:
    """The events triggered in the sentence (read-only, from brat), each as ``{"event",
    "trigger", "arguments": [(role, text)]}``; two queries, none in a project without event
    types."""
    if not sentence.project.event_types:
        return []
    events = list(Event.objects.filter(trigger__sentence_id=sentence.pk, annotator_id=sentence.layer)
                  .select_related("trigger")
                  .prefetch_related("arguments__entity", "arguments__argument_event__trigger"))
    return [{"event": event, "trigger": _span_text(sentence, event.trigger),
             "arguments": [(a.role, _span_text(sentence, a.entity) if a.entity_id else
                            f"{a.argument_event.type} event “{_span_text(sentence, a.argument_event.trigger)}”")
                           for a in event.arguments.all()]}
            for event in events]


def _span_text(sentence: Sentence, entity: Entity) -> str:
    start, end = entity.start - sentence.start, entity.end - sentence.start
    return sentence.text[start:end] if 0 <= start and end <= len(sentence.text) else f"entity {entity.pk}"


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
    """The project's entity types and relation types as plain rows: one query for both."""
    return _type_rows(project_id=project.pk, entity_types=True)


def relation_type_rows(*, project_id: int,
                       relation_type_id: int | None = None) -> list[RelationTypeRow]:
    """The project's relation types (or the one ``relation_type_id``, if it is the project's)
    with their allowed heads and tails, in one plain query."""
    return _type_rows(project_id=project_id, relation_type_id=relation_type_id)[1]


def _type_rows(*, project_id: int, relation_type_id: int | None = None,
               entity_types: bool = False) -> tuple[list[EntityTypeRow], list[RelationTypeRow]]:
    """One plain query: each relation type joined to both M2M tables (its allowed heads and
    tails) and, with ``entity_types``, the entity types beside them (the ORM's union costs
    more to compile than to run on this hot path)."""
    q = connection.ops.quote_name
    types = RelationType._meta.db_table
    where = "rt.project_id = %s" + (" AND rt.id = %s" if relation_type_id is not None else "")
    params = [project_id] + ([relation_type_id] if relation_type_id is not None else [])
    select = f"SELECT rt.id, rt.name, rt.{q('key')}, rt.{q('order')}"
    parts = [
        f"{select}, '{side}', m.entitytype_id, CAST(NULL AS varchar(20)) FROM {types} rt "
        f"{join} {through._meta.db_table} m ON m.relationtype_id = rt.id WHERE {where}"
        for side, join, through in (("h", "LEFT JOIN", RelationType.heads.through),
                                    ("t", "JOIN", RelationType.tails.through))]
    params *= 2
    if entity_types:
        parts.append(f"SELECT et.id, et.name, et.{q('key')}, et.{q('order')}, 'e', NULL, et.color "
                     f"FROM {EntityType._meta.db_table} et WHERE et.project_id = %s")
        params.append(project_id)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    found: dict[int, tuple] = {}
    allowed: dict[tuple[str, int], set] = {}
    entities = []
    for pk, name, key, order, side, entity_type_id, color in rows:
        if side == "e":
            entities.append((order, pk, EntityTypeRow(pk, name, color, key)))
            continue
        found[pk] = (order, pk, name, key)
        if entity_type_id is not None:
            allowed.setdefault((side, pk), set()).add(entity_type_id)
    relations = [
        RelationTypeRow(pk, name, key, frozenset(allowed.get(("h", pk), ())),
                        frozenset(allowed.get(("t", pk), ())))
        for _, pk, name, key in sorted(found.values())
    ]
    return [row for _, _, row in sorted(entities, key=lambda e: e[:2])], relations


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

    Project order is (document id, index); in an annotator's layer (``Sentence.layer``) only
    the documents assigned to them; ``open_only`` skips finished sentences (see
    :func:`open_sentences`).
    """
    forward = direction == "next"
    base = Sentence.objects.filter(project_id=sentence.project_id)
    if sentence.layer is not None:
        base = base.filter(document__assignments__annotator_id=sentence.layer)
    if open_only:
        base = open_sentences(project=sentence.project, layer=sentence.layer, sentences=base)
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


def open_sentences(*, project: Project, layer: int | None = None, sentences=None):
    """``sentences`` (default: the project's) left to annotate in ``layer``: unfinished ones
    of the shared or curated layer (``None``), or those assigned to the annotator ``layer`` and
    unfinished in their own layer (``selectors.layers.sentences_for_annotator``)."""
    sentences = Sentence.objects.filter(project_id=project.pk) if sentences is None else sentences
    if layer is None:
        return sentences.filter(status__in=OPEN_STATUSES)
    return sentences_for_annotator(project=project, user=layer, sentences=sentences)


def first_open_sentence(*, project: Project, document_id: int | None = None,
                        layer: int | None = None):
    """Where the queue starts: the first unfinished sentence of ``layer`` (else the first one;
    in an annotator's layer, the first one assigned to them, else none)."""
    base = Sentence.objects.filter(project_id=project.pk)
    if document_id is not None:
        base = base.filter(document_id=document_id)
    order = ("document_id", "index")
    first = open_sentences(project=project, layer=layer, sentences=base)
    if layer is not None:
        base = base.filter(document__assignments__annotator_id=layer)
    return first.order_by(*order).only("id").first() or base.order_by(*order).only("id").first()


def attribute_targets(project: Project, name: str) -> set[str]:
    """What attribute ``name`` may be put on, from brat's ``Arg:`` (``Project.attribute_args``):
    entity and relation type names, ``<ENTITY>`` (any entity, also when no ``Arg:`` is given),
    ``<RELATION>``, ``<EVENT>``."""
    arg = project.attribute_args.get(name) or "<ENTITY>"
    return {part.strip() for part in arg.split("|") if part.strip()}


def attribute_allowed(project: Project, name: str, *, type_name: str, is_relation: bool) -> bool:
    targets = attribute_targets(project, name)
    return type_name in targets or ("<RELATION>" if is_relation else "<ENTITY>") in targets


def attribute_options(project: Project, *, type_name: str, is_relation: bool) -> list[dict]:
    """The attributes (and values) that an entity or relation of ``type_name`` may get, each as
    ``{"choice": "Name" or "Name=Value", "name", "value"}``."""
    options = []
    for name in project.attribute_types:
        if attribute_allowed(project, name, type_name=type_name, is_relation=is_relation):
            values = project.attribute_values.get(name) or [""]
            options += [{"choice": f"{name}={value}" if value else name, "name": name,
                         "value": value} for value in values]
    return options
