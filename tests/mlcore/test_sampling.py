import torch

from mlcore.data import collate
from mlcore.encoding import LabelSpace, encode_examples
from mlcore.sampling import build_candidates, decode_bio, gold_candidates, incremental_candidates

from .conftest import TINY_CORPUS


def decode(row):
    labels = torch.tensor([row])
    return decode_bio(labels, torch.ones_like(labels, dtype=torch.bool))[0]


def test_decode_bio_rules():
    # O B-0 I-0 I-0 O B-1 B-1 I-0 I-1 : I-0 after B-1 starts a new type-0 entity
    assert decode([0, 1, 2, 2, 0, 3, 3, 2, 4]) == [
        (1, 3, 0), (5, 5, 1), (6, 6, 1), (7, 7, 0), (8, 8, 1)]
    assert decode([2, 2, 0]) == [(0, 1, 0)]  # I without B starts an entity
    assert decode([0, 0]) == []


def test_decode_bio_respects_mask_and_rows():
    labels = torch.tensor([[1, 2, 2], [2, 0, 0]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    assert decode_bio(labels, mask) == [[(0, 1, 0)], [(0, 0, 0)]]


def encoded_corpus(tokenizer):
    labels = LabelSpace.from_examples(TINY_CORPUS)
    return encode_examples(TINY_CORPUS, tokenizer, labels)[0]


def test_gold_candidates_are_all_ordered_pairs(tokenizer):
    sentences = encoded_corpus(tokenizer)
    entities, pairs, labels = gold_candidates(sentences)
    assert pairs[0] == [(0, 1), (1, 0)]
    # relation ids: Has_temporal 1, Has_value 2, Treats 3 (sorted names)
    assert labels == [0, 0, 1, 0, 0, 3, 2, 0]
    assert [len(e) for e in entities] == [2, 2, 2, 2]


def test_incremental_candidates_follow_predictions(tokenizer):
    sentence = encoded_corpus(tokenizer)[1]  # "No insulin for 6 months": insulin -> 6 months
    gold_head, gold_tail = sentence.entities
    nothing = incremental_candidates([sentence], [[]])
    assert nothing[1] == [[(0, 1)]] and nothing[2] == [sentence.relations[0][2]]
    wrong = (0, 0, 0)  # "No" predicted as an entity
    guessed = incremental_candidates([sentence], [[wrong, gold_tail]])
    entities, pairs, labels = guessed
    assert wrong in entities[0]
    assert len(pairs[0]) == 3  # the gold pair + (wrong, tail) + (tail, wrong)
    assert sorted(labels) == [0, 0, sentence.relations[0][2]]
    perfect = incremental_candidates([sentence], [[gold_head, gold_tail]])
    assert perfect[1] == [[(0, 1), (1, 0)]] and perfect[2] == [sentence.relations[0][2], 0]


def test_candidate_tensors_point_at_word_pieces(tokenizer):
    sentences = encoded_corpus(tokenizer)
    batch = collate(sentences)
    cands = build_candidates("gold", batch, None)
    assert cands.num_pairs == 8
    assert cands.ent_batch.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    first_word = sentences[0].entities[0][0]
    assert cands.ent_first_token[0] == sentences[0].word_first[first_word]
    assert (cands.ent_last_token >= cands.ent_first_token).all()


def test_predicted_pairs_of_a_labelled_batch_are_labelled_against_gold(tokenizer):
    sentences = encoded_corpus(tokenizer)
    guessed = [list(s.entities) for s in sentences]  # the NER layer found the gold entities
    labelled = build_candidates("predicted", collate(sentences), guessed)
    gold = build_candidates("gold", collate(sentences), None)
    assert labelled.pair_labels.tolist() == gold.pair_labels.tolist()
    assert sorted(labelled.pair_labels.tolist()).count(0) == 5  # 3 gold relations of 8 pairs
    unlabelled = build_candidates("predicted", collate(sentences, labelled=False), guessed)
    assert unlabelled.pair_labels is None
    assert build_candidates("gold", collate(sentences, labelled=False), None).pair_labels is None
