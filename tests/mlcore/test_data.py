"""Batching: padding per batch, the word-piece -> word map, length-bucketed batches."""
import random

import pytest
import torch

from mlcore.corpus.model import SentenceExample
from mlcore.data import bucketed_batches, collate
from mlcore.encoding import IGNORE, LabelSpace, encode_examples

from .conftest import TINY_CORPUS, make_example

LABELS = LabelSpace.from_examples(TINY_CORPUS)


def encoded(tokenizer, examples=TINY_CORPUS):
    return encode_examples(examples, tokenizer, LABELS)[0]


def sentences_of_lengths(tokenizer, count=40, seed=0):
    """``count`` sentences of 1 to 30 words (lengths of 3 to 32 word-pieces)."""
    rng = random.Random(seed)
    texts = [" ".join(["aspirin"] * rng.randint(1, 30)) for _ in range(count)]
    return encoded(tokenizer, [SentenceExample(t) for t in texts])


def test_padding_is_to_the_longest_sentence_of_the_batch_not_to_max_length(tokenizer):
    sentences = encoded(tokenizer)
    short = [s for s in sentences if s.length <= min(x.length for x in sentences) + 1]
    for group in (sentences, short):
        batch = collate(group, pad_id=7)
        longest = max(s.length for s in group)
        assert batch.input_ids.shape == (len(group), longest) and longest < 128
        assert batch.word_first.shape[1] == max(len(s.word_first) for s in group)
        for b, s in enumerate(group):
            assert batch.input_ids[b, :s.length].tolist() == s.input_ids
            assert (batch.input_ids[b, s.length:] == 7).all()
            assert batch.attention_mask[b].tolist() == [1] * s.length + [0] * (longest - s.length)


def test_token_word_maps_every_piece_to_its_word_and_specials_to_minus_one(tokenizer):
    example = make_example("Uncontrolled hyperlipidemia and hypercholesterolemia",
                           [("hyperlipidemia", "Condition")])
    sentences = encoded(tokenizer, [example, TINY_CORPUS[3]])
    batch = collate(sentences)
    for b, s in enumerate(sentences):
        expected = [-1] * batch.input_ids.shape[1]
        for word, (first, last) in enumerate(zip(s.word_first, s.word_last)):
            expected[first:last + 1] = [word] * (last - first + 1)
        assert batch.token_word[b].tolist() == expected
        assert expected[0] == -1 and expected[s.length - 1] == -1  # [CLS] and [SEP]
    long_word = sentences[0]
    assert long_word.word_last[1] > long_word.word_first[1]  # a word of several pieces


def test_word_tensors_and_labels(tokenizer):
    sentences = encoded(tokenizer)
    batch = collate(sentences)
    for b, s in enumerate(sentences):
        words = len(s.word_first)
        assert batch.word_mask[b].tolist() == [True] * words + [False] * (
            batch.word_mask.shape[1] - words)
        assert batch.word_first[b, :words].tolist() == s.word_first
        assert batch.word_last[b, :words].tolist() == s.word_last
        assert batch.word_labels[b, :words].tolist() == s.word_labels
        assert (batch.word_labels[b, words:] == IGNORE).all()
        assert batch.token_labels[b, s.word_first].tolist() == s.word_labels


def test_a_sentence_without_words_collates(tokenizer):
    sentences = encoded(tokenizer, [SentenceExample(""), TINY_CORPUS[0]])
    batch = collate(sentences)
    assert len(sentences[0].word_first) == 0
    assert not batch.word_mask[0].any() and (batch.token_word[0] == -1).all()
    assert (batch.token_labels[0] == IGNORE).all() and batch.attention_mask[0].sum() == 2


def test_labelled_travels_with_the_batch(tokenizer):
    sentences = encoded(tokenizer)
    assert collate(sentences).labelled
    moved = collate(sentences, labelled=False).to("cpu")
    assert moved.labelled is False and moved.sentences is sentences
    assert moved.input_ids.dtype == torch.long


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 4, 7, 64])
def test_bucketed_batches_keep_every_sentence_once_and_respect_the_batch_size(
        tokenizer, shuffle, batch_size):
    sentences = sentences_of_lengths(tokenizer)
    batches = bucketed_batches(sentences, batch_size, shuffle=shuffle, rng=random.Random(1),
                               bucket_factor=2)
    assert sorted(s.index for batch in batches for s in batch) == list(range(len(sentences)))
    assert all(1 <= len(batch) <= batch_size for batch in batches)
    chunk = batch_size * 2
    assert len(batches) == sum(-(-len(sentences[i:i + chunk]) // batch_size)
                               for i in range(0, len(sentences), chunk))


def test_without_shuffling_batches_follow_length(tokenizer):
    batches = bucketed_batches(sentences_of_lengths(tokenizer), 8, shuffle=False)
    lengths = [s.length for batch in batches for s in batch]
    assert lengths == sorted(lengths)


def test_shuffled_batches_are_length_buckets_and_seeded(tokenizer):
    sentences = sentences_of_lengths(tokenizer)
    batches = bucketed_batches(sentences, 8, shuffle=True, rng=random.Random(5))
    spans = sorted((min(s.length for s in b), max(s.length for s in b)) for b in batches)
    for (_, high), (low, _) in zip(spans, spans[1:]):
        assert high <= low  # one chunk: batches are consecutive runs of the sorted lengths
    again = bucketed_batches(sentences, 8, shuffle=True, rng=random.Random(5))
    assert [[s.index for s in b] for b in again] == [[s.index for s in b] for b in batches]
    other = bucketed_batches(sentences, 8, shuffle=True, rng=random.Random(6))
    assert [[s.index for s in b] for b in other] != [[s.index for s in b] for b in batches]
