from mlcore.corpus.model import SentenceExample, Span
from mlcore.encoding import IGNORE, LabelSpace, encode_example, encode_examples, words_to_span
from mlcore.sampling import decode_bio

from .conftest import TINY_CORPUS, make_example


def labels_for(examples):
    return LabelSpace.from_examples(examples)


def test_label_space_ids():
    labels = LabelSpace(["Condition", "Drug"], ["Has_value"])
    assert labels.bio_labels == ["O", "B-Condition", "I-Condition", "B-Drug", "I-Drug"]
    assert labels.num_bio == 5 and labels.relation_labels == ["no_relation", "Has_value"]
    assert labels.entity_id("Drug") == 1 and labels.relation_id("Has_value") == 1
    assert LabelSpace.from_dict(labels.to_dict()) == labels


def test_bio_on_first_piece_only(tokenizer):
    example = make_example("Uncontrolled hyperlipidemia today", [("hyperlipidemia", "Condition")])
    labels = labels_for([example])
    encoded = encode_example(example, 0, tokenizer, labels)
    # "hyperlipidemia" is several word-pieces: only its first piece is labelled
    first, last = encoded.word_first[1], encoded.word_last[1]
    assert last > first
    assert encoded.word_labels == [0, 1, 0]
    assert encoded.input_ids[0] == tokenizer.cls_token_id
    assert encoded.input_ids[-1] == tokenizer.sep_token_id


def test_spans_bio_spans_round_trip(tokenizer):
    import torch

    labels = labels_for(TINY_CORPUS)
    encoded, stats = encode_examples(TINY_CORPUS, tokenizer, labels)
    assert stats.entities_kept == stats.entities_in and stats.snapped == 0
    for example, sentence in zip(TINY_CORPUS, encoded):
        words = torch.tensor([sentence.word_labels])
        decoded = decode_bio(words, torch.ones_like(words, dtype=torch.bool))[0]
        spans = [words_to_span(sentence, e, labels) for e in decoded]
        assert spans == example.spans


def test_relations_follow_entities(tokenizer):
    labels = labels_for(TINY_CORPUS)
    sentence = encode_example(TINY_CORPUS[2], 0, tokenizer, labels)
    assert sentence.relations == [(1, 0, labels.relation_id("Treats"))]
    assert sentence.entity_spans == [0, 1]


def test_mid_word_boundary_is_snapped_and_counted(tokenizer):
    example = SentenceExample("history of hypertension", [Span(14, 23, "Condition")])  # "ertension"
    labels = labels_for([example])
    encoded, stats = encode_examples([example], tokenizer, labels)
    assert stats.snapped == 1
    assert encoded[0].entity_chars(0) == (11, 23)


def test_truncation_drops_and_counts(tokenizer):
    text = "fever " * 40 + "and diabetes"
    example = SentenceExample(text, [Span(0, 5, "Condition"),
                                     Span(len(text) - 8, len(text), "Condition")],
                              [(0, 1, "Has_x")])
    labels = labels_for([example])
    encoded, stats = encode_examples([example], tokenizer, labels, max_length=16)
    assert encoded[0].length == 16
    assert stats.truncated_sentences == 1 and stats.dropped_truncated == 1
    assert stats.relations_in == 1 and stats.relations_kept == 0
    assert len(encoded[0].entities) == 1


def test_unknown_type_and_overlap_counted(tokenizer):
    example = SentenceExample("severe chronic pain", [Span(0, 14, "Condition"),
                                                        Span(7, 19, "Condition"),
                                                        Span(15, 19, "Other")])
    encoded, stats = encode_examples([example], tokenizer, LabelSpace(["Condition"], []))
    assert stats.dropped_overlap == 1 and stats.dropped_unknown_type == 1
    assert encoded[0].word_labels == [1, 2, 0]


def test_token_labels_ignore_everything_but_first_pieces(tokenizer):
    from mlcore.data import collate

    labels = labels_for(TINY_CORPUS)
    encoded, _ = encode_examples(TINY_CORPUS, tokenizer, labels)
    batch = collate(encoded)
    for b, sentence in enumerate(encoded):
        labelled = (batch.token_labels[b] != IGNORE).nonzero().flatten().tolist()
        assert labelled == sentence.word_first
        assert batch.attention_mask[b].sum() == sentence.length
        assert (batch.token_word[b, sentence.length:] == -1).all()
        assert batch.token_word[b, 0] == -1


def test_batched_encoding_equals_one_by_one(tokenizer):
    """encode_examples tokenizes in batches; it must give what encode_example gives, stats
    included, also for truncated sentences and for an empty input."""
    from dataclasses import asdict

    labels = LabelSpace.from_examples(TINY_CORPUS)
    long = make_example("no " * 60 + "aspirin", [("aspirin", "Drug")])
    examples = list(TINY_CORPUS) + [long, SentenceExample(text="")]
    batched, batched_stats = encode_examples(examples, tokenizer, labels, max_length=16)
    from mlcore.encoding import EncodingStats

    one_stats = EncodingStats()
    one_by_one = [encode_example(e, i, tokenizer, labels, 16, one_stats)
                  for i, e in enumerate(examples)]
    assert [asdict(e) for e in batched] == [asdict(e) for e in one_by_one]
    assert asdict(batched_stats) == asdict(one_stats) and one_stats.truncated_sentences >= 1
    assert encode_examples([], tokenizer, labels) == ([], EncodingStats())
