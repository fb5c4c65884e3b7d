"""Inter-annotator agreement over annotation layers (framework-free, no Django, no torch).

The input is ``{annotator: {document name: Document}}``, one layer per annotator; every
pair of annotators is compared on the documents both have (same name, same text).

How annotations are counted (also in ``docs/agreement.md``):

- **Strict entity match**: same type and the same *set* of fragments, so a discontinuous
  entity matches only an entity with exactly its fragments (fragment order does not
  matter). Annotations are multisets: an entity annotated twice by A and once by B
  counts one match and one miss.
- **Relaxed entity match**: same type and at least one character in common (over
  fragments, never over the gap of a discontinuous entity). Matching is one-to-one and
  greedy: strict matches first, then the remaining candidate pairs by decreasing number of
  shared characters (ties: earlier start in A, then in B), each entity used at most once.
  Nested and overlapping entities are ordinary entities: an inner entity matches only an
  entity of its own type.
- **Strict relation match**: same type, same direction, and both ends strict matches
  (an end that is an event is keyed by the event's type and its trigger).
- **F1** between two annotators is ``2 * matched / (count A + count B)``, symmetric (it is
  the F1 of either annotator scored against the other). Per type, and micro over all
  types; the overall figure is micro over every pair (matches and counts summed).
- **Cohen's kappa** is over word-level labels. Words are the tokens of the CoNLL export
  (:func:`mlcore.corpus.conll.tokenize`: runs of word characters, single punctuation
  marks) inside the sentences; a word's label is the type of the *longest* entity having
  a fragment that overlaps the word (ties: earlier start, then type name), the same
  outermost-wins rule as :func:`mlcore.corpus.model.flatten_entities`, or ``O``.
  ``kappa_by_type`` is kappa per type on the binary label "some entity of this type
  overlaps the word", which sees nested entities. When both annotators give every word
  the same label the chance agreement is 1 and kappa is reported as 1.0. The overall
  kappa is the mean of the pairwise kappas (Light's kappa).
- A criterion *disagrees* when it holds an entity or a relation without a strict match
  (an entity belongs to the sentence holding its start, a relation to its head's).
"""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations

from .conll import tokenize
from .model import Document, Entity, Relation

OUTSIDE = "O"
Layers = Mapping[str, Mapping[str, Document]]


@dataclass
class Tally:
    """Matched annotations and the annotations of both sides, for one type or all."""

    matched: int = 0
    total: int = 0

    def add(self, matched: int, total: int) -> None:
        self.matched += matched
        self.total += total

    @property
    def f1(self) -> float | None:
        return round(2 * self.matched / self.total, 4) if self.total else None


@dataclass
class PairTallies:
    """Everything counted between two annotators; adds up over documents and pairs."""

    documents: int = 0
    strict: dict[str, Tally] = field(default_factory=dict)
    relaxed: dict[str, Tally] = field(default_factory=dict)
    relations: dict[str, Tally] = field(default_factory=dict)
    words: Counter = field(default_factory=Counter)
    words_by_type: dict[str, Counter] = field(default_factory=dict)
    criteria: list[dict] = field(default_factory=list)


def _tally(table: dict[str, Tally], type_: str) -> Tally:
    return table.setdefault(type_, Tally())


def fragment_key(entity: Entity) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((f.start, f.end) for f in entity.fragments))


def entity_key(entity: Entity) -> tuple:
    """What a strict entity match compares: type and fragment set."""
    return entity.type, fragment_key(entity)


def relation_keys(document: Document) -> dict[str, tuple]:
    """Relation id -> (type, head key, tail key); relations with an unknown end are left out."""
    ends: dict[str, tuple] = {e.id: ("T", *entity_key(e)) for e in document.entities}
    for event in document.events:
        if event.trigger in ends:
            ends[event.id] = ("E", event.type, ends[event.trigger])
    return {r.id: (r.type, ends[r.head], ends[r.tail]) for r in document.relations
            if r.head in ends and r.tail in ends}


def _shared_characters(a: Entity, b: Entity) -> int:
    return sum(max(0, min(fa.end, fb.end) - max(fa.start, fb.start))
               for fa in a.fragments for fb in b.fragments)


def relaxed_matches(left: list[Entity], right: list[Entity]) -> list[tuple[int, int]]:
    """One-to-one greedy matching of same-type entities sharing characters (see module doc).

    Returns ``(index in left, index in right)`` pairs."""
    def spans(entities):
        by_type: dict[str, list] = {}
        for i, e in enumerate(entities):
            by_type.setdefault(e.type, []).append((e.start, e.end, fragment_key(e), i, e))
        return by_type

    right_by_type = spans(right)
    candidates = []
    for type_, lefts in spans(left).items():
        rights = right_by_type.get(type_, ())
        for a_start, a_end, a_key, i, a in lefts:
            for b_start, b_end, b_key, j, b in rights:
                if a_end <= b_start or b_end <= a_start:
                    continue
                shared = _shared_characters(a, b)
                if shared:
                    candidates.append((a_key != b_key, -shared, a_start, b_start, i, j))
    candidates.sort()
    used_left, used_right, pairs = set(), set(), []
    for *_, i, j in candidates:
        if i not in used_left and j not in used_right:
            used_left.add(i)
            used_right.add(j)
            pairs.append((i, j))
    return pairs


def unmatched(left: Counter, right: Counter) -> Counter:
    """The multiset of keys of ``left`` without a partner in ``right``."""
    return left - right


def _count_strict(table: dict[str, Tally], left: Counter, right: Counter) -> None:
    for key in left.keys() | right.keys():
        _tally(table, key[0]).add(min(left[key], right[key]), left[key] + right[key])


def _count_relaxed(table: dict[str, Tally], a: Document, b: Document) -> None:
    matched = Counter(a.entities[i].type for i, _ in relaxed_matches(a.entities, b.entities))
    sizes = Counter(e.type for e in a.entities) + Counter(e.type for e in b.entities)
    for type_, total in sizes.items():
        _tally(table, type_).add(matched[type_], total)


def word_spans(document: Document) -> list[tuple[int, int]]:
    """Document offsets of the words inside the document's sentences (the whole text when
    it has none)."""
    sentences = [(s.start, s.end) for s in document.sentences] or [(0, len(document.text))]
    return [(start + ws, start + we) for start, end in sentences
            for ws, we in tokenize(document.text[start:end])]


def word_labels(document: Document, words: list[tuple[int, int]]) -> tuple[list[str], list[set]]:
    """Per word: the type of the longest entity overlapping it (or ``O``), and the set of the
    types of every entity overlapping it."""
    labels = [OUTSIDE] * len(words)
    types: list[set] = [set() for _ in words]
    starts = [start for start, _ in words]
    order = sorted(document.entities, key=lambda e: (-(e.end - e.start), e.start, e.type))
    for entity in order:
        for fragment in entity.fragments:
            index = max(0, bisect_right(starts, fragment.start) - 1)
            while index < len(words) and words[index][0] < fragment.end:
                if words[index][1] > fragment.start:
                    types[index].add(entity.type)
                    if labels[index] == OUTSIDE:
                        labels[index] = entity.type
                index += 1
    return labels, types


def _count_words(tallies: PairTallies, a: Document, b: Document) -> None:
    words = word_spans(a)
    labels_a, types_a = word_labels(a, words)
    labels_b, types_b = word_labels(b, words)
    tallies.words.update(zip(labels_a, labels_b))
    marked = Counter()
    for ta, tb in zip(types_a, types_b):
        for type_ in ta | tb:
            marked[type_, type_ in ta, type_ in tb] += 1
    for type_ in {t for t, _, _ in marked}:
        counts = tallies.words_by_type.setdefault(type_, Counter())
        for a_has, b_has in ((True, True), (True, False), (False, True)):
            counts[a_has, b_has] += marked[type_, a_has, b_has]
        counts[False, False] += len(words) - sum(marked[type_, x, y] for x, y in
                                                 ((True, True), (True, False), (False, True)))


def _sentence_of(document: Document, offset: int) -> int:
    starts = [s.start for s in document.sentences]
    return max(0, bisect_right(starts, offset) - 1)


def _disagreeing_criteria(a: Document, b: Document, keys_a: Counter, keys_b: Counter,
                          rel_a: dict, rel_b: dict) -> list[dict]:
    """Per sentence holding a strict miss: how many entities and relations lack a partner."""
    entities, relations = Counter(), Counter()
    for document, own, other in ((a, keys_a, keys_b), (b, keys_b, keys_a)):
        spare = unmatched(own, other)
        for entity in document.entities:
            key = entity_key(entity)
            if spare[key]:
                spare[key] -= 1
                entities[_sentence_of(document, entity.start)] += 1
    for document, own, other in ((a, rel_a, rel_b), (b, rel_b, rel_a)):
        spare = unmatched(Counter(own.values()), Counter(other.values()))
        heads = {r.id: r.head for r in document.relations}
        starts = {e.id: e.start for e in document.entities}
        for relation_id, key in own.items():
            if spare[key]:
                spare[key] -= 1
                relations[_sentence_of(document, starts.get(heads[relation_id], 0))] += 1
    return [{"document": a.name, "sentence": index, "entities": entities[index],
             "relations": relations[index]} for index in sorted(entities.keys() | relations.keys())]


def compare_documents(tallies: PairTallies, a: Document, b: Document) -> None:
    """Add one document's comparison between two annotators to ``tallies``."""
    keys_a = Counter(entity_key(e) for e in a.entities)
    keys_b = Counter(entity_key(e) for e in b.entities)
    rel_a, rel_b = relation_keys(a), relation_keys(b)
    tallies.documents += 1
    _count_strict(tallies.strict, keys_a, keys_b)
    _count_relaxed(tallies.relaxed, a, b)
    _count_strict(tallies.relations, Counter(rel_a.values()), Counter(rel_b.values()))
    _count_words(tallies, a, b)
    tallies.criteria.extend(_disagreeing_criteria(a, b, keys_a, keys_b, rel_a, rel_b))


def cohen_kappa(pairs: Counter) -> float | None:
    """Cohen's kappa of a ``Counter`` of ``(label A, label B)``; None without any item."""
    n = sum(pairs.values())
    if not n:
        return None
    observed = sum(count for (x, y), count in pairs.items() if x == y) / n
    left, right = Counter(), Counter()
    for (x, y), count in pairs.items():
        left[x] += count
        right[y] += count
    chance = sum(left[label] * right[label] for label in left) / (n * n)
    if chance >= 1:
        return 1.0
    return round((observed - chance) / (1 - chance), 4)


def _micro(table: dict[str, Tally]) -> Tally:
    total = Tally()
    for tally in table.values():
        total.add(tally.matched, tally.total)
    return total


def _merge(target: dict[str, Tally], source: dict[str, Tally]) -> None:
    for type_, tally in source.items():
        _tally(target, type_).add(tally.matched, tally.total)


def _summary(strict, relaxed, relations, kappa, kappa_by_type, documents) -> dict:
    types = sorted(strict.keys() | relaxed.keys())
    return {
        "documents": documents,
        "entities": {
            "strict_f1": _micro(strict).f1,
            "relaxed_f1": _micro(relaxed).f1,
            "count": _micro(strict).total,
            "by_type": {t: {"strict_f1": _tally(strict, t).f1, "relaxed_f1": _tally(relaxed, t).f1,
                            "strict_matched": strict[t].matched,
                            "relaxed_matched": relaxed[t].matched, "count": strict[t].total}
                        for t in types},
        },
        "relations": {
            "strict_f1": _micro(relations).f1,
            "count": _micro(relations).total,
            "by_type": {t: {"strict_f1": relations[t].f1, "strict_matched": relations[t].matched,
                            "count": relations[t].total} for t in sorted(relations)},
        },
        "kappa": kappa,
        "kappa_by_type": kappa_by_type,
    }


def compare_pair(left: Mapping[str, Document], right: Mapping[str, Document]) -> PairTallies:
    """Compare two annotators' layers on the documents both have."""
    tallies = PairTallies()
    for name in sorted(left.keys() & right.keys()):
        compare_documents(tallies, left[name], right[name])
    return tallies


def pair_summary(tallies: PairTallies) -> dict:
    kappa_by_type = {t: cohen_kappa(c) for t, c in sorted(tallies.words_by_type.items())}
    return _summary(tallies.strict, tallies.relaxed, tallies.relations,
                    cohen_kappa(tallies.words), kappa_by_type, tallies.documents)


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def agreement_report(layers: Layers) -> dict:
    """Pairwise and overall agreement of every pair of annotators in ``layers``.

    Each entry of ``pairs`` has ``annotators``, the figures of the overall report and
    ``criteria``, the sentences where the two disagree (see module doc)."""
    strict, relaxed, relations = {}, {}, {}
    pairs = []
    for left, right in combinations(sorted(layers), 2):
        tallies = compare_pair(layers[left], layers[right])
        for target, source in ((strict, tallies.strict), (relaxed, tallies.relaxed),
                               (relations, tallies.relations)):
            _merge(target, source)
        pairs.append({"annotators": [left, right], **pair_summary(tallies),
                      "criteria": tallies.criteria})
    kappa_types = sorted({t for pair in pairs for t in pair["kappa_by_type"]})
    overall = _summary(strict, relaxed, relations, _mean(p["kappa"] for p in pairs),
                       {t: _mean(p["kappa_by_type"].get(t) for p in pairs) for t in kappa_types},
                       sum(p["documents"] for p in pairs))
    return {"annotators": sorted(layers), **overall, "pairs": pairs}


def criterion_comparison(a: Document, b: Document, sentence: int) -> dict:
    """Both sides of one criterion, each annotation marked ``agreed`` (strict match),
    ``overlap`` (relaxed match only) or ``only`` (no partner); the drill-down and the
    curation view show this."""
    def inside(document: Document, entity: Entity) -> bool:
        return _sentence_of(document, entity.start) == sentence

    left = [e for e in a.entities if inside(a, e)]
    right = [e for e in b.entities if inside(b, e)]
    marks_left, marks_right = ["only"] * len(left), ["only"] * len(right)
    for i, j in relaxed_matches(left, right):
        mark = "agreed" if fragment_key(left[i]) == fragment_key(right[j]) else "overlap"
        marks_left[i] = marks_right[j] = mark
    return {
        "entities": [_sides(left, marks_left), _sides(right, marks_right)],
        "relations": [_relation_marks(a, b, {e.id for e in left}),
                      _relation_marks(b, a, {e.id for e in right})],
    }


def _sides(entities: list[Entity], marks: list[str]) -> list[tuple[Entity, str]]:
    return sorted(zip(entities, marks), key=lambda pair: (pair[0].start, pair[0].end))


def _relation_marks(own: Document, other: Document,
                    entity_ids: set[str]) -> list[tuple[Relation, str]]:
    keys, spare = relation_keys(own), Counter(relation_keys(other).values())
    marked = []
    for relation in own.relations:
        if relation.head not in entity_ids or relation.id not in keys:
            continue
        key = keys[relation.id]
        mark = "agreed" if spare[key] else "only"
        spare[key] -= 1 if spare[key] else 0
        marked.append((relation, mark))
    return marked
