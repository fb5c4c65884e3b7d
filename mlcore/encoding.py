"""Sentence examples -> word-piece ids, word-level BIO labels, entity and relation indices.

Decisions (see docs/mlcore.md):
- Words are the tokenizer's pre-tokenization (BERT: whitespace and punctuation split); the
  fast tokenizer's ``word_ids`` give each word-piece its word. BIO labels live on words and are
  put on the FIRST word-piece of each word; other pieces, special tokens and padding get -100.
- An entity boundary inside a word is snapped outward to whole words (``snapped``). Two entities
  that end up sharing a word after snapping: the later one is dropped (``dropped_overlap``).
- Sentences longer than ``max_length`` word-pieces are truncated; entities reaching past the
  cut and their relations are dropped and counted (``dropped_truncated``).
- The span entity layer (``entity_layer="span"``) keeps overlapping entities: each distinct
  word range is one encoded entity (a second entity on the same words with another type is
  ``dropped_overlap``; one with the same type is the same entity). A discontinuous entity
  becomes one encoded entity per fragment, linked fragment to next fragment by the
  ``<fragment>`` relation; its relations start or end at its first fragment. Word labels stay
  O (the BIO layer's targets; the span layer does not use them).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from mlcore.contract import FRAGMENT_RELATION
from mlcore.corpus.model import SentenceExample, Span

IGNORE = -100
NO_RELATION = "no_relation"


@dataclass
class LabelSpace:
    """Entity and relation type names and their label ids.

    BIO ids: ``O`` = 0, ``B-t`` = 1 + 2k, ``I-t`` = 2 + 2k for the k-th entity type.
    Relation ids: 0 = ``no_relation``, then the relation types in order.
    """

    entity_types: list[str]
    relation_types: list[str]

    @classmethod
    def from_examples(cls, examples) -> "LabelSpace":
        entity_types: dict[str, None] = {}
        relation_types: dict[str, None] = {}
        for example in examples:
            for span in example.spans:
                entity_types.setdefault(span.type)
            for _, _, rel_type in example.relations:
                relation_types.setdefault(rel_type)
        return cls(sorted(entity_types), sorted(relation_types))

    @property
    def bio_labels(self) -> list[str]:
        labels = ["O"]
        for name in self.entity_types:
            labels += [f"B-{name}", f"I-{name}"]
        return labels

    @property
    def relation_labels(self) -> list[str]:
        return [NO_RELATION, *self.relation_types]

    @property
    def num_bio(self) -> int:
        return 1 + 2 * len(self.entity_types)

    @property
    def num_relations(self) -> int:
        return 1 + len(self.relation_types)

    def entity_id(self, name: str) -> int | None:
        try:
            return self.entity_types.index(name)
        except ValueError:
            return None

    def relation_id(self, name: str) -> int | None:
        try:
            return 1 + self.relation_types.index(name)
        except ValueError:
            return None

    def to_dict(self) -> dict:
        return {"entity_types": list(self.entity_types),
                "relation_types": list(self.relation_types)}

    @classmethod
    def from_dict(cls, data: dict) -> "LabelSpace":
        return cls(list(data["entity_types"]), list(data["relation_types"]))


@dataclass
class EncodingStats:
    """What encoding had to change or drop; all counts."""

    sentences: int = 0
    truncated_sentences: int = 0
    entities_in: int = 0
    entities_kept: int = 0
    snapped: int = 0
    dropped_truncated: int = 0
    dropped_no_word: int = 0
    dropped_overlap: int = 0
    dropped_unknown_type: int = 0
    fragment_links: int = 0
    relations_in: int = 0
    relations_kept: int = 0

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class EncodedSentence:
    """One sentence ready for batching. Entity/relation indices are sentence-local."""

    index: int
    text: str
    input_ids: list[int]
    word_first: list[int]
    word_last: list[int]
    word_chars: list[tuple[int, int]]
    word_labels: list[int]
    entities: list[tuple[int, int, int]] = field(default_factory=list)
    relations: list[tuple[int, int, int]] = field(default_factory=list)
    entity_spans: list[int] = field(default_factory=list)

    @property
    def length(self) -> int:
        return len(self.input_ids)

    def entity_chars(self, k: int) -> tuple[int, int]:
        first, last, _ = self.entities[k]
        return self.word_chars[first][0], self.word_chars[last][1]


def _words(word_ids, offsets, num_tokens: int
           ) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    """First piece, last piece and character extent of every (non-truncated) word."""
    first: list[int] = []
    last: list[int] = []
    chars: list[tuple[int, int]] = []
    previous = None
    for token, word in enumerate(word_ids[:num_tokens]):
        if word is None:
            continue
        start, end = offsets[token]
        if word != previous:
            first.append(token)
            last.append(token)
            chars.append((start, end))
            previous = word
        else:
            last[-1] = token
            chars[-1] = (chars[-1][0], end)
    return first, last, chars


def _snap(start: int, end: int, word_chars: list[tuple[int, int]]
          ) -> tuple[int, int, bool] | None:
    """Word range (first, last) covering ``[start, end)``, and whether a boundary moved."""
    covered = [w for w, (s, e) in enumerate(word_chars) if s < end and start < e]
    if not covered:
        return None
    first, last = covered[0], covered[-1]
    moved = word_chars[first][0] != start or word_chars[last][1] != end
    return first, last, moved


def _usable_spans(example, word_chars, labels, stats, truncated_at, *, extent: bool = False):
    """``(span index, type id, snapped pieces)`` of the example's spans by start and
    end, counting and skipping those of an unknown type, past the cut or on no word;
    ``extent``: one piece, the span's extent, whatever its fragments."""
    for k, span in sorted(enumerate(example.spans), key=lambda item: (item[1].start, item[1].end)):
        stats.entities_in += 1
        type_id = labels.entity_id(span.type)
        if type_id is None:
            stats.dropped_unknown_type += 1
            continue
        if truncated_at is not None and span.end > truncated_at:
            stats.dropped_truncated += 1
            continue
        pieces = [_snap(start, end, word_chars)
                  for start, end in ([(span.start, span.end)] if extent else span.pieces)]
        if any(piece is None for piece in pieces):
            stats.dropped_no_word += 1
            continue
        yield k, type_id, pieces


def _place_entities(example, word_chars, labels, stats, truncated_at):
    """Gold spans -> word ranges; returns {span index: entity index} and the entity list."""
    entities: list[tuple[int, int, int]] = []
    placed: dict[int, int] = {}
    used = [False] * len(word_chars)
    for k, type_id, (snapped,) in _usable_spans(example, word_chars, labels, stats,
                                                truncated_at, extent=True):
        first, last, moved = snapped
        if any(used[first:last + 1]):
            stats.dropped_overlap += 1
            continue
        used[first:last + 1] = [True] * (last - first + 1)
        stats.snapped += int(moved)
        stats.entities_kept += 1
        placed[k] = len(entities)
        entities.append((first, last, type_id))
    return placed, entities


def _place_span_entities(example, word_chars, labels, stats, truncated_at):
    """The span layer's placement (module docstring): every entity kept, fragments linked.
    Returns {span index: entity index of its first fragment}, the entities, the links and
    the span each entity stands for (a fragment shared by two entities: the first of them)."""
    entities: list[tuple[int, int, int]] = []
    owners: list[int] = []
    at: dict[tuple[int, int], int] = {}
    placed: dict[int, int] = {}
    links: list[tuple[int, int, int]] = []
    link_id = labels.relation_id(FRAGMENT_RELATION)
    for k, type_id, pieces in _usable_spans(example, word_chars, labels, stats, truncated_at):
        ranges = list(dict.fromkeys((first, last) for first, last, _ in pieces))
        if any(entities[at[r]][2] != type_id for r in ranges if r in at):
            stats.dropped_overlap += 1
            continue
        for r in ranges:
            if r not in at:
                at[r] = len(entities)
                entities.append((*r, type_id))
                owners.append(k)
        stats.snapped += int(any(moved for _, _, moved in pieces))
        stats.entities_kept += 1
        placed[k] = at[ranges[0]]
        if link_id is not None:
            links += [(at[a], at[b], link_id) for a, b in zip(ranges, ranges[1:])]
    stats.fragment_links += len(links)
    return placed, entities, list(dict.fromkeys(links)), owners


def encode_example(example: SentenceExample, index: int, tokenizer, labels: LabelSpace,
                   max_length: int = 128, stats: EncodingStats | None = None, *,
                   entity_layer: str = "bio") -> EncodedSentence:
    """Encode one sentence; see the module docstring for the rules."""
    (tokens,) = _tokenize([example.text], tokenizer, max_length)
    return _encode(example, index, *tokens, labels, stats, entity_layer)


def _tokenize(texts: list[str], tokenizer, max_length: int):
    """Per text: input ids (truncated to ``max_length``), word ids, character offsets, and the
    untruncated length; two batched tokenizer calls for all of them (per-sentence calls cost
    more than the model's forward pass at inference)."""
    batch = tokenizer(texts, return_offsets_mapping=True, truncation=True, max_length=max_length)
    full = tokenizer(texts, add_special_tokens=True)["input_ids"]
    return [(batch["input_ids"][i], batch.word_ids(i), batch["offset_mapping"][i], len(full[i]))
            for i in range(len(texts))]


def _encode(example, index, input_ids, word_ids, offsets, full_length, labels, stats,
            entity_layer="bio") -> EncodedSentence:
    """The rules of :func:`encode_example` on an already tokenized sentence."""
    stats = stats if stats is not None else EncodingStats()
    stats.sentences += 1
    truncated_at = None
    input_ids = list(input_ids)
    word_first, word_last, word_chars = _words(word_ids, offsets, len(input_ids))
    if full_length > len(input_ids):
        stats.truncated_sentences += 1
        truncated_at = word_chars[-1][1] if word_chars else 0
    word_labels = [0] * len(word_chars)
    relations = []
    if entity_layer == "span":
        placed, entities, relations, owners = _place_span_entities(
            example, word_chars, labels, stats, truncated_at)
    else:
        placed, entities = _place_entities(example, word_chars, labels, stats, truncated_at)
        owners = {entity: span for span, entity in placed.items()}
        owners = [owners[k] for k in range(len(entities))]
        for first, last, type_id in entities:
            word_labels[first] = 1 + 2 * type_id
            for w in range(first + 1, last + 1):
                word_labels[w] = 2 + 2 * type_id
    for head, tail, rel_type in example.relations:
        stats.relations_in += 1
        rel_id = labels.relation_id(rel_type)
        if rel_id is None or head not in placed or tail not in placed \
                or placed[head] == placed[tail]:
            continue
        relations.append((placed[head], placed[tail], rel_id))
        stats.relations_kept += 1
    return EncodedSentence(index, example.text, input_ids, word_first, word_last, word_chars,
                           word_labels, entities, relations, owners)


def encode_examples(examples, tokenizer, labels: LabelSpace, max_length: int = 128, *,
                    entity_layer: str = "bio") -> tuple[list[EncodedSentence], EncodingStats]:
    """:func:`encode_example` for many sentences, tokenized together."""
    stats = EncodingStats()
    examples = list(examples)
    if not examples:
        return [], stats
    tokenized = _tokenize([ex.text for ex in examples], tokenizer, max_length)
    encoded = [_encode(ex, i, *tokens, labels, stats, entity_layer)
               for i, (ex, tokens) in enumerate(zip(examples, tokenized))]
    return encoded, stats


def words_to_span(sentence: EncodedSentence, entity, labels: LabelSpace) -> Span:
    """(first word, last word, type id) -> a character span with its type name."""
    first, last, type_id = entity
    return Span(sentence.word_chars[first][0], sentence.word_chars[last][1],
                labels.entity_types[type_id])


def as_examples(texts_or_examples) -> list[SentenceExample]:
    return [x if isinstance(x, SentenceExample) else SentenceExample(text=x)
            for x in texts_or_examples]
