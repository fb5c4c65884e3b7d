"""Plain dataclasses for an annotated corpus.

Representation (decided for Eligo):
- The *document* is the unit of storage. Entity fragments carry character
  offsets into the document text exactly as stored (a CR of CRLF counts as one
  character), so nothing that crosses a sentence boundary can be lost.
- *Sentences* are views: ``(start, end)`` spans over the document text. An entity
  belongs to the sentence holding its first fragment; the model only trains on
  entities wholly inside one sentence (see :func:`sentence_examples`), and counts
  the others.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Fragment:
    """One contiguous character range ``[start, end)`` of an entity."""

    start: int
    end: int


@dataclass
class Entity:
    """A typed span; several fragments make a discontinuous entity (brat ``;``)."""

    id: str
    type: str
    fragments: tuple[Fragment, ...]

    @property
    def start(self) -> int:
        """Start of the extent. brat keeps fragments in annotation order, which
        need not be text order (Chia: ``T3 Condition 20 25;5 10``), hence min/max."""
        return min(f.start for f in self.fragments)

    @property
    def end(self) -> int:
        return max(f.end for f in self.fragments)

    def text(self, document_text: str, joiner: str = " ") -> str:
        return joiner.join(document_text[f.start:f.end] for f in self.fragments)


@dataclass
class Relation:
    """A typed, directed relation ``head -> tail``; the ends are entity ids, or event ids
    (brat lets a relation point to an event, as the LCT corpus does). The role names are
    brat's argument names (``Arg1``/``Arg2`` unless the corpus names its own)."""

    id: str
    type: str
    head: str
    tail: str
    head_role: str = "Arg1"
    tail_role: str = "Arg2"


@dataclass
class Event:
    """A brat ``E`` line: a typed event with its trigger (an entity id) and its arguments,
    ``(role, entity or event id)`` pairs in file order (roles as written, e.g. ``Theme2``)."""

    id: str
    type: str
    trigger: str
    arguments: tuple[tuple[str, str], ...] = ()


@dataclass
class Normalization:
    """A brat ``N`` line: ``target`` (entity or event id) refers to ``reference`` in the
    knowledge base ``resource`` (``UMLS:C0011849``); ``text`` is the optional name there."""

    id: str
    target: str
    resource: str
    reference: str
    text: str = ""
    type: str = "Reference"


@dataclass
class Group:
    """An equivalence group (brat ``*`` line), e.g. Chia's ``OR`` groups."""

    id: str
    type: str
    members: tuple[str, ...]


@dataclass
class Attribute:
    """A brat ``A`` line: a named flag (value None) or a valued attribute on a target id."""

    id: str
    name: str
    target: str
    value: str | None = None


@dataclass
class Note:
    """A brat ``#`` line (e.g. AnnotatorNotes) attached to a target id."""

    id: str
    type: str
    target: str
    text: str


@dataclass(frozen=True)
class Sentence:
    """A sentence (criterion) as a ``[start, end)`` view over its document's text."""

    start: int
    end: int


@dataclass
class Document:
    """A document (e.g. one trial's inclusion criteria) with its annotations."""

    name: str
    text: str
    sentences: list[Sentence] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    normalizations: list[Normalization] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def entity_by_id(self) -> dict[str, Entity]:
        return {e.id: e for e in self.entities}


@dataclass
class EntityType:
    name: str
    color: str = ""
    key: str = ""


@dataclass
class RelationType:
    """A relation type; empty ``heads``/``tails`` mean any entity type is allowed."""

    name: str
    heads: tuple[str, ...] = ()
    tails: tuple[str, ...] = ()
    head_role: str = "Arg1"
    tail_role: str = "Arg2"


@dataclass
class EventType:
    """An event type; ``arguments`` are ``(role, allowed types)`` as brat declares them, the
    role with its quantifier (``Theme+``, ``Cause?``), types possibly ``<EVENT>``."""

    name: str
    arguments: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class Schema:
    """A label schema: entity, relation, event, attribute and group types.

    ``attribute_values`` gives the values of valued attributes (brat ``Value:A|B``) and
    ``attribute_args`` what an attribute attaches to (brat ``Arg:``, e.g. ``<EVENT>``).
    """

    entity_types: list[EntityType] = field(default_factory=list)
    relation_types: list[RelationType] = field(default_factory=list)
    attribute_types: list[str] = field(default_factory=list)
    group_types: list[str] = field(default_factory=list)
    event_types: list[EventType] = field(default_factory=list)
    attribute_values: dict[str, list[str]] = field(default_factory=dict)
    attribute_args: dict[str, str] = field(default_factory=dict)

    @property
    def entity_names(self) -> list[str]:
        return [t.name for t in self.entity_types]

    @property
    def relation_names(self) -> list[str]:
        return [t.name for t in self.relation_types]

    @property
    def event_names(self) -> list[str]:
        return [t.name for t in self.event_types]

    def extend_from_documents(self, documents) -> None:
        """Add every type used in ``documents`` that the schema does not declare yet."""
        entity_names, relation_names = set(self.entity_names), set(self.relation_names)
        for doc in documents:
            for e in doc.entities:
                if e.type not in entity_names:
                    entity_names.add(e.type)
                    self.entity_types.append(EntityType(e.type))
            for r in doc.relations:
                if r.type not in relation_names:
                    relation_names.add(r.type)
                    self.relation_types.append(RelationType(r.type, head_role=r.head_role,
                                                            tail_role=r.tail_role))
            for event in doc.events:
                if event.type not in self.event_names:
                    self.event_types.append(EventType(event.type))
            for a in doc.attributes:
                if a.name not in self.attribute_types:
                    self.attribute_types.append(a.name)
                if a.value is not None and a.value not in self.attribute_values.get(a.name, []):
                    self.attribute_values.setdefault(a.name, []).append(a.value)
            for g in doc.groups:
                if g.type not in self.group_types:
                    self.group_types.append(g.type)


# --- the ML view: one sentence with sentence-local, flat spans ---------------------------


@dataclass(frozen=True)
class Span:
    """An entity span in sentence-local character offsets: ``[start, end)`` is its extent.

    ``fragments`` holds the ``(start, end)`` pieces of a discontinuous entity in text order
    (only when it has two or more; empty = one contiguous piece). Flattened examples never
    carry fragments; the span entity layer's examples (``sentence_examples(flat=False)``) do."""

    start: int
    end: int
    type: str
    fragments: tuple[tuple[int, int], ...] = ()

    @property
    def pieces(self) -> tuple[tuple[int, int], ...]:
        """The fragments, or the one ``(start, end)`` piece of a contiguous span."""
        return self.fragments or ((self.start, self.end),)


@dataclass
class SentenceExample:
    """One training/inference unit: sentence text, flat spans, relations by span index."""

    text: str
    spans: list[Span] = field(default_factory=list)
    relations: list[tuple[int, int, str]] = field(default_factory=list)
    document: str = ""
    offset: int = 0


@dataclass
class FlattenStats:
    """What flattening to a flat (BIO-able) span set had to drop or change."""

    entities_in: int = 0
    entities_kept: int = 0
    discontinuous_merged: int = 0
    dropped_overlap: int = 0
    dropped_cross_sentence: int = 0
    dropped_outside_sentence: int = 0
    relations_in: int = 0
    relations_kept: int = 0

    @property
    def entities_dropped(self) -> int:
        return self.entities_in - self.entities_kept

    @property
    def relations_dropped(self) -> int:
        return self.relations_in - self.relations_kept

    def add(self, other: "FlattenStats") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def longest_first(extents: list[tuple[int, int]]) -> list[int]:
    """Indices of the ``(start, end)`` extents a flat set keeps, in the order taken: longest
    first (ties: earlier start, then list order), an extent overlapping one already taken is
    dropped, so the outermost of a nest survives. The flattening rule of
    :func:`flatten_entities`, also applied to predictions by the ``chia11`` gold."""
    order = sorted(range(len(extents)),
                   key=lambda i: (-(extents[i][1] - extents[i][0]), extents[i][0], i))
    taken: list[int] = []
    for i in order:
        start, end = extents[i]
        if not any(start < extents[t][1] and extents[t][0] < end for t in taken):
            taken.append(i)
    return taken


def flatten_entities(entities: list[Entity], stats: FlattenStats | None = None) -> dict[str, Span]:
    """Reduce possibly nested, overlapping, discontinuous entities to a flat span set.

    The one rule shared by the CoNLL export and the model's BIO encoding:
    1. a discontinuous entity becomes its extent (first fragment start to last
       fragment end), counted in ``discontinuous_merged``;
    2. spans are taken longest first (:func:`longest_first`) and a span overlapping one
       already taken is dropped (``dropped_overlap``).
    Returns the kept spans by entity id, in document offsets.
    """
    stats = stats if stats is not None else FlattenStats()
    taken = longest_first([(e.start, e.end) for e in entities])
    stats.entities_in += len(entities)
    stats.dropped_overlap += len(entities) - len(taken)
    stats.entities_kept += len(taken)
    kept: dict[str, Span] = {}
    for i in taken:
        entity = entities[i]
        stats.discontinuous_merged += int(len(entity.fragments) > 1)
        kept[entity.id] = Span(entity.start, entity.end, entity.type)
    return kept


def entity_spans(entities: list[Entity], stats: FlattenStats | None = None) -> dict[str, Span]:
    """Every entity as a span, nothing dropped (the span entity layer's rule): nested and
    overlapping entities are kept, a discontinuous one keeps its fragments (text order,
    document offsets) under its extent."""
    stats = stats if stats is not None else FlattenStats()
    kept: dict[str, Span] = {}
    for entity in entities:
        stats.entities_in += 1
        stats.entities_kept += 1
        pieces = sorted({(f.start, f.end) for f in entity.fragments})
        kept[entity.id] = Span(entity.start, entity.end, entity.type,
                               tuple(pieces) if len(pieces) > 1 else ())
    return kept


def flat_example(example: SentenceExample) -> SentenceExample:
    """The BIO layer's view of a full example (``sentence_examples(flat=False)``): the rule of
    :func:`flatten_entities` on its spans (longest first, a discontinuous entity as its
    extent), the relations whose two ends survive."""
    taken = sorted(longest_first([(span.start, span.end) for span in example.spans]))
    place = {old: new for new, old in enumerate(taken)}
    spans = [Span(example.spans[i].start, example.spans[i].end, example.spans[i].type)
             for i in taken]
    relations = [(place[h], place[t], r) for h, t, r in example.relations
                 if h in place and t in place]
    return SentenceExample(example.text, spans, relations, example.document, example.offset)


def _local(span: Span, offset: int) -> Span:
    return Span(span.start - offset, span.end - offset, span.type,
                tuple((start - offset, end - offset) for start, end in span.fragments))


def sentence_examples(document: Document, stats: FlattenStats | None = None, *,
                      flat: bool = True) -> list[SentenceExample]:
    """Cut a document into model examples, one per sentence, with sentence-local spans:
    flat ones (:func:`flatten_entities`, the BIO layer's) or, with ``flat=False``, every
    entity, nested, overlapping and discontinuous ones included (:func:`entity_spans`).

    Entities reaching outside their sentence are dropped (``dropped_cross_sentence``),
    and so are entities starting in no sentence at all, e.g. on the whitespace
    between two lines or in a document without sentences (``dropped_outside_sentence``);
    relations survive when both ends survive in the same sentence.
    """
    stats = stats if stats is not None else FlattenStats()
    spans = (flatten_entities if flat else entity_spans)(document.entities, stats)
    examples = []
    placed: dict[str, tuple[int, int]] = {}
    seen: set[str] = set()
    for s_index, sentence in enumerate(document.sentences):
        example = SentenceExample(
            text=document.text[sentence.start:sentence.end],
            document=document.name,
            offset=sentence.start,
        )
        inside = sorted(
            (span.start, span.end, span.type, span.fragments, entity_id)
            for entity_id, span in spans.items()
            if sentence.start <= span.start < sentence.end
        )
        for start, end, type_, fragments, entity_id in inside:
            seen.add(entity_id)
            if end > sentence.end:
                stats.dropped_cross_sentence += 1
                stats.entities_kept -= 1
                continue
            placed[entity_id] = (s_index, len(example.spans))
            example.spans.append(_local(Span(start, end, type_, fragments), sentence.start))
        examples.append(example)
    outside = len(spans) - len(seen)
    stats.dropped_outside_sentence += outside
    stats.entities_kept -= outside
    for relation in document.relations:
        stats.relations_in += 1
        head, tail = placed.get(relation.head), placed.get(relation.tail)
        if head is None or tail is None or head[0] != tail[0] or head[1] == tail[1]:
            continue
        examples[head[0]].relations.append((head[1], tail[1], relation.type))
        stats.relations_kept += 1
    return examples
