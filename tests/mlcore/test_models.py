import pytest
import torch

from mlcore.data import collate
from mlcore.encoders import encoder_from_config
from mlcore.encoding import LabelSpace, encode_examples
from mlcore.models import (AdditiveRelationHead, BiaffineRelationHead, JointNerReModel,
                           LinearRelationHead, ModelConfig, SpanPooler)

from .conftest import TINY_CORPUS, TINY_ENCODER

LABELS = LabelSpace.from_examples(TINY_CORPUS)


def make_model(tokenizer, **config):
    """A tiny joint model with the paper's BIO layer (``test_span_layer.py``: the span one)."""
    torch.manual_seed(0)
    encoder = encoder_from_config({"vocab_size": len(tokenizer), **TINY_ENCODER})
    values = dict(num_bio=LABELS.num_bio, num_relations=LABELS.num_relations, ner_hidden=16,
                  pair_dim=8, dropout=0.0, entity_layer="bio")
    values.update(config)
    return JointNerReModel(encoder, ModelConfig(**values)).eval()


def batch_of(tokenizer, examples=TINY_CORPUS, labelled=True):
    return collate(encode_examples(examples, tokenizer, LABELS)[0], labelled=labelled)


@pytest.mark.parametrize("re_head", ["additive", "biaffine", "biaffine_bilinear_only"])
def test_joint_shapes_and_losses(tokenizer, re_head):
    model = make_model(tokenizer, re_head=re_head)
    batch = batch_of(tokenizer)
    out = model(batch, candidates="gold")
    assert out.ner_logits.shape == (*batch.input_ids.shape, LABELS.num_bio)
    assert out.re_logits.shape == (8, LABELS.num_relations)  # 4 sentences x 2 ordered pairs
    assert torch.isclose(out.loss, out.ner_loss + out.re_loss)
    out.loss.backward()
    assert model.label_embedding.weight.grad is not None


@pytest.mark.parametrize("candidates", ["gold", "incremental", "predicted"])
def test_no_labels_no_loss(tokenizer, candidates):
    out = make_model(tokenizer)(batch_of(tokenizer, labelled=False), candidates=candidates)
    assert out.loss is None and out.ner_loss is None and out.re_loss is None
    assert out.re_logits is not None


def test_labels_give_a_loss_with_predicted_candidates_too(tokenizer):
    """Transformers style: a labelled batch gets its loss whatever the candidates are."""
    model = make_model(tokenizer)
    with torch.no_grad():
        model.ner_head.out.bias[1] += 100.0  # B- of the first type on every word: many pairs
    out = model(batch_of(tokenizer), candidates="predicted")
    assert out.predicted_entities is not None and len(out.predicted_entities) == 4
    assert out.candidates.num_pairs > 0 and out.candidates.pair_labels is not None
    assert out.ner_loss > 0 and out.re_loss > 0
    assert torch.isclose(out.loss, out.ner_loss + out.re_loss)


def test_padding_does_not_change_outputs(tokenizer):
    model = make_model(tokenizer)
    short = TINY_CORPUS[3]
    alone = model(batch_of(tokenizer, [short]), candidates="gold")
    padded = model(batch_of(tokenizer, [short, TINY_CORPUS[0]]), candidates="gold")
    length = alone.ner_logits.shape[1]
    assert padded.ner_logits.shape[1] > length
    torch.testing.assert_close(alone.ner_logits[0], padded.ner_logits[0, :length],
                               atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(alone.re_logits, padded.re_logits[:2], atol=1e-5, rtol=1e-4)


def test_label_embedding_uses_gold_labels_for_gold_candidates(tokenizer):
    model = make_model(tokenizer)
    batch = batch_of(tokenizer)
    before = model(batch, candidates="gold").re_logits
    with torch.no_grad():
        model.ner_head.out.bias[0] += 100.0  # the NER layer now predicts O everywhere
    after = model(batch, candidates="gold").re_logits
    torch.testing.assert_close(before, after)  # teacher forcing: predictions do not matter


def test_standalone_modes(tokenizer):
    ner = make_model(tokenizer, mode="ner")
    out = ner(batch_of(tokenizer), candidates="gold")
    assert out.re_logits is None and out.loss is out.ner_loss
    assert not hasattr(ner, "relation_head") and not hasattr(ner, "label_embedding")
    re = make_model(tokenizer, mode="re")
    out = re(batch_of(tokenizer), candidates="gold")
    assert out.ner_logits is None and torch.equal(out.loss, out.re_loss)
    assert not hasattr(re, "ner_head")
    with pytest.raises(ValueError):
        re(batch_of(tokenizer), candidates="predicted")


def test_relation_heads_by_hand():
    torch.manual_seed(0)
    heads, tails = torch.randn(3, 4), torch.randn(3, 4)
    pair_head, pair_tail = torch.tensor([0, 1, 2, 0]), torch.tensor([1, 0, 0, 2])
    h, t = heads[pair_head], tails[pair_tail]
    additive = AdditiveRelationHead(4, 2)
    torch.testing.assert_close(additive(heads, tails, pair_head, pair_tail), additive.out(h + t))
    biaffine = BiaffineRelationHead(4, 2)
    expected = torch.stack([torch.stack([h[p] @ biaffine.bilinear[k] @ t[p] for k in range(2)])
                            for p in range(4)])
    torch.testing.assert_close(biaffine(heads, tails, pair_head, pair_tail),
                               expected + biaffine.linear(torch.cat([h, t], -1)) + biaffine.bias)
    bilinear_only = BiaffineRelationHead(4, 2, linear=False)
    assert bilinear_only.linear is None
    torch.testing.assert_close(bilinear_only(heads, tails, pair_head, pair_tail),
                               torch.einsum("pm,lmn,pn->pl", h, bilinear_only.bilinear, t))
    linear = LinearRelationHead(4, 2)
    torch.testing.assert_close(linear(heads, tails, pair_head, pair_tail),
                               linear.out(torch.cat([h, t], -1)))


def test_span_pooler_mean_and_first():
    sequence = torch.arange(2 * 5 * 2, dtype=torch.float).reshape(2, 5, 2)
    batch_index, first, last = torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor([3, 2])
    mean = SpanPooler("mean")(sequence, batch_index, first, last)
    torch.testing.assert_close(mean, torch.stack([sequence[0, 1:4].mean(0), sequence[1, 2]]))
    torch.testing.assert_close(SpanPooler("first")(sequence, batch_index, first, last),
                               torch.stack([sequence[0, 1], sequence[1, 2]]))


def test_config_validates():
    with pytest.raises(ValueError):
        ModelConfig(num_bio=3, num_relations=2, re_head="nope")
