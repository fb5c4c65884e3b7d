"""How a sentence is drawn: its entities as underline layers, the active model's shown
suggestions as dashed spans, its text cut into segments at every fragment boundary, and
everything the sentence fragment template needs.

Pure arithmetic over what ``annotation.selectors.annotations`` read: no query of its own
besides the type palettes (``with_schema``), the sentence's events and its suggestions (one
query, :func:`annotation.selectors.review.drawn_suggestions`, unless given).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from annotation.models import Entity, EntityType, Project, Relation, RelationType, Sentence
from annotation.selectors.annotations import (
    SentenceAnnotations,
    attribute_options,
    project_type_rows,
    sentence_annotations,
    sentence_events,
)
from annotation.selectors.review import DrawnSuggestions, Suggestion, drawn_suggestions


@dataclass
class Mark:
    """One entity as drawn: its layer (0 = innermost underline) and its fragments."""

    entity: Entity
    layer: int
    fragments: list[list[int]]
    text: str
    normalizations: list = field(default_factory=list)
    attributes: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    attribute_options: list = field(default_factory=list)
    #: set for a model suggestion, drawn dashed (then ``entity`` is that suggestion)
    suggestion: Suggestion | None = None


@dataclass
class Segment:
    start: int
    end: int
    text: str
    marks: list[Mark] = field(default_factory=list)
    labels: list[Mark] = field(default_factory=list)
    continuations: list[Mark] = field(default_factory=list)
    suggested: list[Mark] = field(default_factory=list)

    @property
    def entity_ids(self) -> str:
        return " ".join(str(m.entity.pk) for m in self.marks)

    @property
    def suggestion_keys(self) -> str:
        return " ".join(m.suggestion.key for m in self.suggested)


def _overlaps(a: list[list[int]], b: list[list[int]]) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)


def _assign_layers(*, sentence: Sentence, entities: list[Entity]) -> list[Mark]:
    """Give overlapping entities distinct underline layers, shortest (innermost) lowest."""
    marks: list[Mark] = []
    ordered = sorted(entities, key=lambda e: (e.end - e.start, e.start, e.pk))
    for entity in ordered:
        fragments = [
            [max(s, sentence.start), min(e, sentence.end)]
            for s, e in entity.fragments if s < sentence.end and e > sentence.start
        ]
        taken = {m.layer for m in marks if _overlaps(m.fragments, fragments)}
        layer = next(i for i in range(len(marks) + 1) if i not in taken)
        joined = " … ".join(sentence.text[s - sentence.start:e - sentence.start]
                            for s, e in fragments)
        marks.append(Mark(entity=entity, layer=layer, fragments=fragments, text=joined))
    return sorted(marks, key=lambda m: (m.entity.start, -m.entity.end, m.entity.pk))


def sentence_segments(*, sentence: Sentence, marks: list[Mark],
                      suggested: list[Mark] = ()) -> list[Segment]:
    """Cut the sentence text at every fragment boundary; each piece knows what covers it
    (entities, and apart from them the suggestions: those have no underline layer)."""
    cuts = {sentence.start, sentence.end}
    for mark in [*marks, *suggested]:
        for s, e in mark.fragments:
            cuts.update((s, e))
    points = sorted(cuts)
    segments = []
    for a, b in zip(points, points[1:]):
        seg = Segment(start=a, end=b, text=sentence.text[a - sentence.start:b - sentence.start])
        for mark in [*marks, *suggested]:
            for i, (s, e) in enumerate(mark.fragments):
                if s <= a and b <= e:
                    (seg.suggested if mark.suggestion else seg.marks).append(mark)
                if s == a:
                    (seg.labels if i == 0 else seg.continuations).append(mark)
        seg.marks.sort(key=lambda m: m.layer)
        segments.append(seg)
    return segments


def _suggestion_marks(sentence: Sentence, suggestions: DrawnSuggestions) -> list[Mark]:
    """The shown entity suggestions as marks (no layer: they are drawn dashed, apart)."""
    marks = []
    for suggestion in suggestions.shown_entities:
        fragments = [[max(s, sentence.start), min(e, sentence.end)]
                     for s, e in suggestion.fragments if s < sentence.end and e > sentence.start]
        if fragments:
            marks.append(Mark(entity=suggestion, layer=0, fragments=fragments,
                              text=suggestion.text, suggestion=suggestion))
    return marks


def _suggestion_relation_rows(suggestions: DrawnSuggestions, by_id: dict) -> list[dict]:
    """The shown relation suggestions with how their ends are drawn (``s<id>``: a shown
    entity suggestion, ``e<id>``: an entity) and their ends' texts, for the list and arcs."""
    texts = {f"s{s.pk}": s.text for s in suggestions.shown_entities}
    rows = []
    for relation in suggestions.shown_relations:
        head, tail = suggestions.end_of(relation.head_id), suggestions.end_of(relation.tail_id)
        rows.append({"suggestion": relation, "head_ref": head, "tail_ref": tail,
                     "head": texts.get(head) or _mark_label(by_id, int(head[1:])),
                     "tail": texts.get(tail) or _mark_label(by_id, int(tail[1:]))})
    return rows


@dataclass
class SentenceView:
    sentence: Sentence
    marks: list[Mark]
    segments: list[Segment]
    relations: list[Relation]
    entity_types: list[EntityType]
    relation_types: list[RelationType]
    max_layer: int
    relation_rows: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)
    group_types: list[str] = field(default_factory=list)
    suggestions: DrawnSuggestions | None = None
    suggestion_marks: list[Mark] = field(default_factory=list)
    suggestion_relations: list[dict] = field(default_factory=list)


def sentence_view(*, sentence: Sentence, annotations: SentenceAnnotations | None = None,
                  with_schema: bool = True,
                  suggestions: DrawnSuggestions | None = None) -> SentenceView:
    """Everything the sentence fragment template needs: no query given the ``annotations``
    and ``suggestions`` (else 1 for each), 2 more with the schema.

    Without the schema the type palettes are left out: after an action the page keeps
    the ones it has (``hx-preserve``), since actions never change the schema.
    """
    annotations = annotations or sentence_annotations(sentence=sentence)
    entities, relations = annotations.entities, annotations.relations
    entity_types, relation_types = project_type_rows(project=sentence.project) if with_schema else ([], [])
    marks = _assign_layers(sentence=sentence, entities=entities)
    by_id = {m.entity.pk: m for m in marks}
    rows = [
        {"relation": r, "head": _mark_label(by_id, r.head_id), "tail": _mark_label(by_id, r.tail_id)}
        for r in relations
    ]
    groups = _attach_extras(sentence.project, annotations, by_id, rows)
    suggestions = suggestions or drawn_suggestions(sentence=sentence)
    suggested = _suggestion_marks(sentence, suggestions)
    return SentenceView(
        sentence=sentence, marks=marks,
        segments=sentence_segments(sentence=sentence, marks=marks, suggested=suggested),
        relations=relations, entity_types=entity_types, relation_types=relation_types,
        max_layer=max((m.layer for m in marks), default=-1), relation_rows=rows,
        events=sentence_events(sentence=sentence), groups=groups,
        group_types=list(sentence.project.group_types), suggestions=suggestions,
        suggestion_marks=suggested,
        suggestion_relations=_suggestion_relation_rows(suggestions, by_id),
    )


def _attach_extras(project: Project, annotations: SentenceAnnotations, by_id: dict,
                   rows: list[dict]) -> list[dict]:
    """Hang normalizations, attributes, notes and groups on the marks and relation rows they
    belong to; return the groups of the sentence numbered in order, with their members."""
    for row in rows:
        relation = row["relation"]
        row["attributes"] = [a for a in annotations.attributes if a.relation_id == relation.pk]
        row["notes"] = [n for n in annotations.notes if n.relation_id == relation.pk]
        row["attribute_options"] = attribute_options(project, type_name=relation.type.name,
                                                     is_relation=True)
    for mark in by_id.values():
        mark.attribute_options = attribute_options(project, type_name=mark.entity.type.name,
                                                   is_relation=False)
    for kind in ("normalizations", "attributes", "notes"):
        for obj in getattr(annotations, kind):
            if obj.entity_id in by_id:
                getattr(by_id[obj.entity_id], kind).append(obj)
    values = project.attribute_values
    for holder in [*by_id.values(), *rows]:
        attributes = holder.attributes if isinstance(holder, Mark) else holder["attributes"]
        attributes[:] = [{"attribute": a, "values": values.get(a.name) or []} for a in attributes]
    groups = []
    for number, group in enumerate(annotations.groups, start=1):
        members = [m for m in annotations.group_members if m.group_id == group.pk]
        if not members:
            continue
        groups.append({"group": group, "number": number, "members": [
            {"member": m, "text": _mark_label(by_id, m.entity_id)} for m in members]})
        for member in members:
            if member.entity_id in by_id:
                by_id[member.entity_id].groups.append({"group": group, "number": number,
                                                       "member": member})
    return groups


def _mark_label(by_id: dict, entity_id: int) -> str:
    mark = by_id.get(entity_id)
    return mark.text if mark else f"(entity {entity_id}, other criterion)"
