"""Entity candidates and relation pairs for a batch: gold (``gs``), incremental, predicted.

- ``gold``: every gold entity; every ordered pair (i, j), i != j; unrelated = ``no_relation``.
  This is the static ``gs-based`` negative sampling, and also RE ``gs`` evaluation.
- ``incremental``: the gold entities that take part in a gold relation, plus every entity
  the NER layer currently predicts; pairs = the gold related pairs plus every ordered pair of
  predicted entities. A predicted pair is ``no_relation`` unless both spans and types match a
  gold related pair (then it IS that pair). Dynamic: it follows the NER predictions.
- ``predicted``: every predicted entity, every ordered pair (inference, end-to-end); on a
  labelled batch a pair is labelled as in ``incremental`` (its gold relation when both spans
  and types match a gold related pair, else ``no_relation``).

On an unlabelled batch (``Batch.labelled`` False) no kind has pair labels: nothing is a target.

Span enumeration (the span entity layer): every word range of at most ``max_width`` words
(:func:`enumerate_spans`, vectorised); in training the gold spans plus ``negatives`` sampled
non-entity spans per sentence (:func:`sample_spans`), at inference all of them;
:func:`decode_spans` keeps the spans whose best label is an entity type, overlaps included.

BIO decoding (:func:`decode_bio`): ``B-t`` starts an entity; ``I-t`` continues it when the
previous word is ``B-t`` or ``I-t`` of the same type; an ``I-t`` without one starts a new
entity of type ``t`` (lenient decoding, as conlleval does).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

Entity = tuple[int, int, int]  # (first word, last word, entity type id)


@dataclass
class Candidates:
    """Entities (per sentence, word ranges) and ordered pairs of them, with device tensors."""

    entities: list[list[Entity]]
    pairs: list[list[tuple[int, int]]]
    ent_batch: torch.Tensor
    ent_first_token: torch.Tensor
    ent_last_token: torch.Tensor
    ent_type: torch.Tensor
    pair_head: torch.Tensor
    pair_tail: torch.Tensor
    pair_labels: torch.Tensor | None

    @property
    def num_pairs(self) -> int:
        return int(self.pair_head.numel())


def decode_bio(word_labels: torch.Tensor, word_mask: torch.Tensor) -> list[list[Entity]]:
    """Vectorised BIO -> entity word ranges for a batch ``[B, W]`` of word label ids."""
    labels = torch.where(word_mask, word_labels, torch.zeros_like(word_labels))
    is_b = (labels > 0) & (labels % 2 == 1)
    is_i = (labels > 0) & (labels % 2 == 0)
    types = torch.div(labels - 1, 2, rounding_mode="floor")
    prev = torch.nn.functional.pad(labels[:, :-1], (1, 0))
    prev_types = torch.div(prev - 1, 2, rounding_mode="floor")
    continues = is_i & (prev > 0) & (prev_types == types)
    starts = is_b | (is_i & ~continues)
    inside = (starts | continues).flatten()
    entity_ids = torch.cumsum(starts.flatten().long(), 0) - 1
    width = labels.shape[1]
    positions = torch.arange(labels.numel(), device=labels.device)
    start_positions = positions[starts.flatten()]
    last = torch.full_like(start_positions, -1)
    last = last.scatter_reduce(0, entity_ids[inside], positions[inside], reduce="amax")
    rows = (start_positions // width).tolist()
    firsts = (start_positions % width).tolist()
    lasts = (last % width).tolist()
    ent_types = types.flatten()[start_positions].tolist()
    entities: list[list[Entity]] = [[] for _ in range(labels.shape[0])]
    for row, first, last_word, type_id in zip(rows, firsts, lasts, ent_types):
        entities[row].append((first, last_word, type_id))
    return entities


@dataclass
class SpanSet:
    """Enumerated word spans of a batch, flat: sentence, first word, last word, width - 1."""

    batch: torch.Tensor
    first: torch.Tensor
    last: torch.Tensor
    width: torch.Tensor

    @classmethod
    def from_grid(cls, selected: torch.Tensor) -> "SpanSet":
        """The spans marked in a ``[B, W, K]`` grid (sentence, first word, width - 1);
        ordered by sentence, first word, last word."""
        batch, first, width = selected.nonzero(as_tuple=True)
        return cls(batch, first, first + width, width)

    def tokens(self, word_first: torch.Tensor, word_last: torch.Tensor):
        """The first word-piece of each span's first word and the last of its last word."""
        return word_first[self.batch, self.first], word_last[self.batch, self.last]


def span_grid(word_mask: torch.Tensor, max_width: int) -> torch.Tensor:
    """``[B, W, K]``: True where the span (first word w, width k + 1) lies in the sentence."""
    words = word_mask.sum(1)
    first = torch.arange(word_mask.shape[1], device=word_mask.device)[None, :, None]
    width = torch.arange(max_width, device=word_mask.device)[None, None, :]
    return first + width < words[:, None, None]


def gold_span_labels(sentences, grid: torch.Tensor) -> torch.Tensor:
    """``[B, W, K]`` gold labels of the span grid: 0 none, 1 + k the k-th entity type.
    Gold entities wider than the grid cannot be predicted and are left out here."""
    cells = [(b, first, last - first, type_id + 1) for b, s in enumerate(sentences)
             for first, last, type_id in s.entities if last - first < grid.shape[2]]
    labels = torch.zeros(grid.shape, dtype=torch.long)
    if cells:
        rows, firsts, widths, types = torch.tensor(cells, dtype=torch.long).unbind(1)
        labels[rows, firsts, widths] = types
    return labels.to(grid.device, non_blocking=True)


def sample_spans(grid: torch.Tensor, gold: torch.Tensor, negatives: int) -> torch.Tensor:
    """The grid of spans to train on: every gold span and, per sentence, up to ``negatives``
    non-entity spans drawn uniformly (torch's global generator, seeded by training)."""
    flat = grid.flatten(1)
    candidates = flat & (gold.flatten(1) == 0)
    draw = torch.where(candidates, torch.rand(flat.shape, device=grid.device), -1.0)
    top = draw.topk(min(negatives, draw.shape[1]), dim=1)
    chosen = torch.zeros_like(flat).scatter_(1, top.indices, top.values >= 0)
    return (chosen | (gold.flatten(1) > 0)).view_as(grid) & grid


MAX_SPAN_ENTITIES = 64  # per sentence; Chia's criteria hold far fewer (guards an untrained layer)


def decode_spans(span_logits: torch.Tensor, spans: SpanSet, size: int,
                 limit: int = MAX_SPAN_ENTITIES) -> list[list[Entity]]:
    """Spans whose best label is an entity type (label ``1 + k``) -> per-sentence entities in
    span order; nested and overlapping ones are all kept, up to ``limit`` per sentence (the
    most probable; an untrained layer would otherwise make every span an entity and every
    pair of them a relation candidate)."""
    best, labels = span_logits.max(-1)
    keep = labels > 0
    margin = (best - span_logits[:, 0])[keep]
    values = torch.stack([spans.batch[keep], spans.first[keep], spans.last[keep],
                          labels[keep] - 1], 1).tolist()
    entities: list[list[Entity]] = [[] for _ in range(size)]
    for row, first, last, type_id in values:
        entities[row].append((first, last, type_id))
    if any(len(found) > limit for found in entities):
        _keep_most_probable(entities, margin.tolist(), limit)
    return entities


def _keep_most_probable(entities: list[list[Entity]], margins: list[float], limit: int) -> None:
    """Cut every sentence's entities to the ``limit`` with the highest margins, in place."""
    start = 0
    for row, found in enumerate(entities):
        own = margins[start:start + len(found)]
        start += len(found)
        if len(found) > limit:
            chosen = sorted(sorted(range(len(found)), key=lambda i: -own[i])[:limit])
            entities[row] = [found[i] for i in chosen]


def _all_pairs(count: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(count) for j in range(count) if i != j]


def gold_candidates(sentences) -> tuple[list[list[Entity]], list[list[tuple[int, int]]], list[int]]:
    entities, pairs, labels = [], [], []
    for s in sentences:
        related = {(h, t): r for h, t, r in s.relations}
        sentence_pairs = _all_pairs(len(s.entities))
        entities.append(list(s.entities))
        pairs.append(sentence_pairs)
        labels += [related.get(pair, 0) for pair in sentence_pairs]
    return entities, pairs, labels


def incremental_candidates(sentences, predicted: list[list[Entity]], max_predicted: int = 64):
    """Gold related pairs + all ordered pairs of predicted entities (see module docstring).

    At most ``max_predicted`` predicted entities per sentence are used (an untrained NER layer
    can predict an entity on every word; the cap keeps the pair count bounded).
    """
    entities, pairs, labels = [], [], []
    for s, guessed in zip(sentences, predicted):
        gold_related = _gold_related(s)
        index: dict[Entity, int] = {}
        for h, t, _ in s.relations:
            index.setdefault(s.entities[h], len(index))
            index.setdefault(s.entities[t], len(index))
        guessed = guessed[:max_predicted]
        for entity in guessed:
            index.setdefault(entity, len(index))
        chosen: dict[tuple[int, int], int] = {}
        for (head, tail), rel in gold_related.items():
            chosen[(index[head], index[tail])] = rel
        for head in guessed:
            for tail in guessed:
                if head != tail:
                    chosen.setdefault((index[head], index[tail]), 0)
        entities.append(list(index))
        pairs.append(list(chosen))
        labels += list(chosen.values())
    return entities, pairs, labels


def _gold_related(sentence) -> dict[tuple[Entity, Entity], int]:
    """The sentence's gold relations keyed by their (head, tail) entities."""
    return {(sentence.entities[h], sentence.entities[t]): r for h, t, r in sentence.relations}


def predicted_candidates(predicted: list[list[Entity]], sentences=None):
    """Every ordered pair of predicted entities; labelled against ``sentences``' gold
    relations when they are given (a pair is its gold relation or ``no_relation``)."""
    pairs = [_all_pairs(len(e)) for e in predicted]
    if sentences is None:
        return predicted, pairs, None
    labels = []
    for s, guessed, sentence_pairs in zip(sentences, predicted, pairs):
        gold_related = _gold_related(s)
        labels += [gold_related.get((guessed[i], guessed[j]), 0) for i, j in sentence_pairs]
    return predicted, pairs, labels


def to_candidates(sentences, entities, pairs, labels, device) -> Candidates:
    """Flatten per-sentence entities and pairs into index tensors on ``device``."""
    ent_batch, ent_first, ent_last, ent_type, pair_head, pair_tail = [], [], [], [], [], []
    for b, (s, sentence_entities, sentence_pairs) in enumerate(zip(sentences, entities, pairs)):
        base = len(ent_batch)
        for first, last, type_id in sentence_entities:
            ent_batch.append(b)
            ent_first.append(s.word_first[first])
            ent_last.append(s.word_last[last])
            ent_type.append(type_id)
        pair_head += [base + i for i, _ in sentence_pairs]
        pair_tail += [base + j for _, j in sentence_pairs]

    def tensor(values):
        return torch.tensor(values, dtype=torch.long).to(device, non_blocking=True)

    return Candidates(
        entities=entities, pairs=pairs, ent_batch=tensor(ent_batch),
        ent_first_token=tensor(ent_first), ent_last_token=tensor(ent_last),
        ent_type=tensor(ent_type),
        pair_head=tensor(pair_head), pair_tail=tensor(pair_tail),
        pair_labels=None if labels is None else tensor(labels),
    )


def build_candidates(kind: str, batch, predicted: list[list[Entity]] | None) -> Candidates:
    """``kind`` is ``gold``, ``incremental`` or ``predicted`` (see the module docstring)."""
    if kind == "gold":
        entities, pairs, labels = gold_candidates(batch.sentences)
    elif kind == "incremental":
        entities, pairs, labels = incremental_candidates(batch.sentences, predicted)
    elif kind == "predicted":
        entities, pairs, labels = predicted_candidates(
            predicted, batch.sentences if batch.labelled else None)
    else:
        raise ValueError(f"unknown candidate kind {kind!r}")
    return to_candidates(batch.sentences, entities, pairs, labels if batch.labelled else None,
                         batch.input_ids.device)
