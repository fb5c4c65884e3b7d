"""Batching: length buckets and per-batch padding (never to the maximum length)."""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from mlcore.encoding import IGNORE, EncodedSentence


@dataclass
class Batch:
    """Padded tensors for a list of encoded sentences (padding per batch).

    ``token_word`` maps every word-piece to its word (-1 for special tokens and padding);
    ``word_first``/``word_last`` give each word's first/last word-piece. ``labelled``: the
    sentences' gold annotations are targets, so the model computes its loss (training, dev
    loss); False at inference, where given entities are input, not targets.
    """

    sentences: list[EncodedSentence]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_labels: torch.Tensor
    token_word: torch.Tensor
    word_first: torch.Tensor
    word_last: torch.Tensor
    word_mask: torch.Tensor
    word_labels: torch.Tensor
    labelled: bool = True

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {name: value for name, value in vars(self).items()
                if isinstance(value, torch.Tensor)}

    def to(self, device) -> "Batch":
        moved = {name: t.to(device, non_blocking=True) for name, t in self._tensors().items()}
        return Batch(sentences=self.sentences, labelled=self.labelled, **moved)

    def pin_memory(self) -> "Batch":
        pinned = {name: t.pin_memory() for name, t in self._tensors().items()}
        return Batch(sentences=self.sentences, labelled=self.labelled, **pinned)


def collate(sentences: list[EncodedSentence], pad_id: int = 0, *, labelled: bool = True) -> Batch:
    """Pad ``sentences`` to the longest of them (not to the maximum length)."""
    size = len(sentences)
    max_tokens = max(s.length for s in sentences)
    max_words = max(1, max(len(s.word_first) for s in sentences))
    input_ids = torch.full((size, max_tokens), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((size, max_tokens), dtype=torch.long)
    token_labels = torch.full((size, max_tokens), IGNORE, dtype=torch.long)
    token_word = torch.full((size, max_tokens), -1, dtype=torch.long)
    word_first = torch.zeros((size, max_words), dtype=torch.long)
    word_last = torch.zeros((size, max_words), dtype=torch.long)
    word_mask = torch.zeros((size, max_words), dtype=torch.bool)
    word_labels = torch.full((size, max_words), IGNORE, dtype=torch.long)
    for b, s in enumerate(sentences):
        n, w = s.length, len(s.word_first)
        input_ids[b, :n] = torch.tensor(s.input_ids)
        attention_mask[b, :n] = 1
        if w == 0:
            continue
        first = torch.tensor(s.word_first)
        last = torch.tensor(s.word_last)
        labels = torch.tensor(s.word_labels)
        word_first[b, :w], word_last[b, :w], word_mask[b, :w] = first, last, True
        word_labels[b, :w] = labels
        token_labels[b, first] = labels
        spans = last - first + 1
        token_word[b, torch.repeat_interleave(first, spans)
                   + _ranges_within(spans)] = torch.repeat_interleave(torch.arange(w), spans)
    return Batch(sentences, input_ids, attention_mask, token_labels, token_word, word_first,
                 word_last, word_mask, word_labels, labelled)


def _ranges_within(lengths: torch.Tensor) -> torch.Tensor:
    """[0..l0-1, 0..l1-1, ...] for the given lengths."""
    offsets = torch.cumsum(lengths, 0) - lengths
    return torch.arange(int(lengths.sum())) - torch.repeat_interleave(offsets, lengths)


def bucketed_batches(sentences: list[EncodedSentence], batch_size: int, *, shuffle: bool,
                     rng: random.Random | None = None, bucket_factor: int = 50
                     ) -> list[list[EncodedSentence]]:
    """Batches of similar length. With ``shuffle``: shuffle, sort within chunks of
    ``batch_size * bucket_factor``, cut into batches, shuffle the batches."""
    if not shuffle:
        ordered = sorted(sentences, key=lambda s: s.length)
        return [ordered[i:i + batch_size] for i in range(0, len(ordered), batch_size)]
    rng = rng or random.Random(0)
    pool = list(sentences)
    rng.shuffle(pool)
    chunk = batch_size * bucket_factor
    batches = []
    for start in range(0, len(pool), chunk):
        ordered = sorted(pool[start:start + chunk], key=lambda s: s.length)
        batches += [ordered[i:i + batch_size] for i in range(0, len(ordered), batch_size)]
    rng.shuffle(batches)
    return batches
