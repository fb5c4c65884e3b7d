"""The span entity layer: nested, overlapping and discontinuous entities, fitted and decoded."""
import pytest
import torch

from mlcore.contract import FRAGMENT_RELATION
from mlcore.corpus.model import SentenceExample, Span
from mlcore.encoding import LabelSpace, encode_examples
from mlcore.evaluator import evaluate
from mlcore.inference import PredictedEntity, PredictedRelation, SentencePrediction
from mlcore.inference import join_fragments, load_model, predict
from mlcore.sampling import SpanSet, decode_spans, gold_span_labels, sample_spans, span_grid

from .conftest import tiny_options


def span(text: str, *surfaces: str, type_: str, after: int = 0) -> Span:
    """A span over the given surface pieces (left to right, from ``after``); two or more
    pieces make a discontinuous span."""
    pieces, cursor = [], after
    for surface in surfaces:
        start = text.index(surface, cursor)
        pieces.append((start, start + len(surface)))
        cursor = start + len(surface)
    return Span(pieces[0][0], pieces[-1][1], type_, tuple(pieces) if len(pieces) > 1 else ())


def corpus() -> list[SentenceExample]:
    t1 = "Breast and ovarian cancer"  # discontinuous + overlapping (shared fragment)
    t2 = "History of type 2 diabetes mellitus"  # nested
    t3 = "Severe renal impairment within 6 months"  # crossing overlap + relation
    t4 = "Hepatitis B or C infection treated with interferon"  # discontinuous + a relation
    t5 = "No insulin for 6 months"
    return [
        SentenceExample(t1, [span(t1, "Breast", "cancer", type_="Condition"),
                             span(t1, "ovarian cancer", type_="Condition")]),
        SentenceExample(t2, [span(t2, "type 2 diabetes mellitus", type_="Condition"),
                             span(t2, "type 2", type_="Qualifier"),
                             span(t2, "diabetes", type_="Condition")]),
        SentenceExample(t3, [span(t3, "Severe renal", type_="Qualifier"),
                             span(t3, "renal impairment", type_="Condition"),
                             span(t3, "6 months", type_="Temporal")],
                        [(1, 2, "Has_temporal")]),
        SentenceExample(t4, [span(t4, "Hepatitis B", "infection", type_="Condition"),
                             span(t4, "Hepatitis", "C infection", type_="Condition"),
                             span(t4, "interferon", type_="Drug")],
                        [(2, 0, "Treats")]),
        SentenceExample(t5, [span(t5, "insulin", type_="Drug"),
                             span(t5, "6 months", type_="Temporal")], [(0, 1, "Has_temporal")]),
    ]


def labels_of(examples) -> LabelSpace:
    seen = LabelSpace.from_examples(examples)
    return LabelSpace(seen.entity_types, [*seen.relation_types, FRAGMENT_RELATION])


def entity_keys(spans) -> set:
    return {(s.start, s.end, s.type, s.pieces) for s in spans}


@pytest.fixture(scope="module")
def span_model_dir(tmp_path_factory):
    from mlcore.trainer import train

    out = tmp_path_factory.mktemp("span") / "joint"
    train(corpus(), [], tiny_options(entity_layer="span", epochs=60), out)
    return out


def test_span_layer_fits_nested_overlapping_discontinuous_exactly(span_model_dir):
    model = load_model(span_model_dir, device="cpu", precision="fp32")
    examples = corpus()
    for example, prediction in zip(examples, predict(model, examples)):
        assert entity_keys(prediction.spans()) == entity_keys(example.spans), example.text
    metrics = evaluate(model, examples)
    assert metrics["ner"]["f1"] == 1.0
    assert metrics["re_end_to_end"]["f1"] == 1.0
    assert metrics["re_gs"]["f1"] == 1.0


def test_predictions_carry_fragments(span_model_dir):
    model = load_model(span_model_dir, device="cpu", precision="fp32")
    (prediction,) = predict(model, [corpus()[0].text])
    fragments = sorted(e.fragments for e in prediction.entities)
    assert fragments == [[(0, 6), (19, 25)], [(11, 25)]]
    assert prediction.to_dict()["entities"][0]["fragments"]
    assert 0 <= prediction.uncertainty["combined"] <= 1


def test_encoding_keeps_overlaps_and_links_fragments(tokenizer):
    examples = corpus()
    labels = labels_of(examples)
    encoded, stats = encode_examples(examples, tokenizer, labels, entity_layer="span")
    breast = encoded[0]  # words: Breast and ovarian cancer
    condition = labels.entity_id("Condition")
    assert breast.entities == [(0, 0, condition), (3, 3, condition), (2, 3, condition)]
    assert breast.relations == [(0, 1, labels.relation_id(FRAGMENT_RELATION))]
    assert breast.entity_spans == [0, 0, 1]  # both fragments stand for the first span
    assert stats.dropped_overlap == 0 and stats.entities_kept == stats.entities_in == 13
    assert set(breast.word_labels) == {0}  # the BIO targets stay O
    flat, flat_stats = encode_examples(examples, tokenizer, labels)
    assert flat_stats.dropped_overlap > 0 and not flat[0].relations


def test_same_words_with_another_type_is_dropped(tokenizer):
    text = "Hepatitis B"
    examples = [SentenceExample(text, [Span(0, 11, "Condition"), Span(0, 11, "Drug")])]
    encoded, stats = encode_examples(examples, tokenizer, labels_of(examples), entity_layer="span")
    assert len(encoded[0].entities) == 1 and stats.dropped_overlap == 1


def test_span_grid_sampling_and_decoding():
    word_mask = torch.tensor([[True, True, True], [True, False, False]])
    grid = span_grid(word_mask, max_width=2)
    assert grid.sum() == 5 + 1  # 3 + 2 spans, and 1
    sentence = type("S", (), {"entities": [(1, 2, 0), (0, 2, 1)]})()  # the second is too wide
    gold = gold_span_labels([sentence, type("S", (), {"entities": []})()], grid)
    assert gold.sum() == 1 and gold[0, 1, 1] == 1
    torch.manual_seed(0)
    chosen = sample_spans(grid, gold, negatives=2)
    assert chosen[0, 1, 1] and chosen[0].sum() == 3 and chosen[1].sum() == 1
    assert not (chosen & ~grid).any()
    spans = SpanSet.from_grid(grid)
    labels = torch.zeros(len(spans.batch), dtype=torch.long)
    labels[[0, 1, 5]] = torch.tensor([2, 1, 1])
    logits = torch.nn.functional.one_hot(labels, 3).float() * 5
    logits[1, 1] = 7.0  # the more probable of sentence 0's two entities
    assert decode_spans(logits, spans, 2) == [[(0, 0, 1), (0, 1, 0)], [(0, 0, 0)]]
    assert decode_spans(logits, spans, 2, limit=1) == [[(0, 1, 0)], [(0, 0, 0)]]


def _entity(start, end, type_="Condition", prob=0.9):
    return PredictedEntity(start, end, type_, prob)


def test_join_fragments_follows_chains_and_moves_relations():
    # 0 Breast, 1 ovarian cancer, 2 cancer, 3 a drug; Breast -> cancer is a fragment link
    prediction = SentencePrediction("", [_entity(0, 6), _entity(11, 25), _entity(19, 25),
                                         _entity(30, 40, "Drug", 0.5)], [
        PredictedRelation(0, 2, FRAGMENT_RELATION, 0.8),
        PredictedRelation(3, 2, "Treats", 0.6), PredictedRelation(3, 0, "Treats", 0.7),
        PredictedRelation(2, 0, FRAGMENT_RELATION, 0.9),  # backwards: not a link
    ])
    join_fragments(prediction)
    assert [(e.start, e.end, e.fragments) for e in prediction.entities] == [
        (0, 25, [(0, 6), (19, 25)]), (11, 25, [(11, 25)]), (30, 40, [(30, 40)])]
    assert prediction.entities[0].prob == pytest.approx(0.9)
    assert [(r.head, r.tail, r.type, r.prob) for r in prediction.relations] == [
        (2, 0, "Treats", 0.7)]


def test_a_shared_fragment_joins_both_chains():
    prediction = SentencePrediction("", [_entity(0, 6), _entity(11, 18), _entity(19, 25)], [
        PredictedRelation(0, 2, FRAGMENT_RELATION, 0.8),
        PredictedRelation(1, 2, FRAGMENT_RELATION, 0.8)])
    join_fragments(prediction)
    assert [e.fragments for e in prediction.entities] == [[(0, 6), (19, 25)],
                                                          [(11, 18), (19, 25)]]
    assert prediction.relations == []


def test_unflattened_sentence_examples_keep_every_entity():
    from mlcore.corpus.model import Document, Entity, FlattenStats, Fragment, Sentence
    from mlcore.corpus.model import sentence_examples

    text = "Intro.\nBreast and ovarian cancer"
    document = Document("d", text, [Sentence(0, 6), Sentence(7, len(text))], [
        Entity("T1", "Condition", (Fragment(26, 32), Fragment(7, 13))),
        Entity("T2", "Condition", (Fragment(18, 32),)),
        Entity("T3", "Condition", (Fragment(26, 32),))])
    stats = FlattenStats()
    (_, example) = sentence_examples(document, stats, flat=False)
    assert example.spans == [Span(0, 25, "Condition", ((0, 6), (19, 25))),
                             Span(11, 25, "Condition"), Span(19, 25, "Condition")]
    assert stats.entities_kept == 3
    (_, flat) = sentence_examples(document)
    assert flat.spans == [Span(0, 25, "Condition")]


def _span_model(tokenizer, labels, **config):
    from mlcore.encoders import encoder_from_config
    from mlcore.models import JointNerReModel, ModelConfig

    from .conftest import TINY_ENCODER

    torch.manual_seed(0)
    encoder = encoder_from_config({"vocab_size": len(tokenizer), **TINY_ENCODER})
    values = dict(num_bio=labels.num_bio, num_relations=labels.num_relations, ner_hidden=16,
                  pair_dim=8, dropout=0.0, entity_layer="span", max_span_width=4)
    return JointNerReModel(encoder, ModelConfig(**{**values, **config}))


def _batch(tokenizer, labels, examples, labelled=True):
    from mlcore.data import collate

    encoded, _ = encode_examples(examples, tokenizer, labels, entity_layer="span")
    return collate(encoded, labelled=labelled)


@pytest.mark.parametrize("re_head", ["additive", "biaffine", "biaffine_bilinear_only"])
@pytest.mark.parametrize("candidates", ["gold", "incremental", "predicted"])
def test_span_model_losses_for_every_head_and_candidate_kind(tokenizer, re_head, candidates):
    examples = corpus()
    labels = labels_of(examples)
    model = _span_model(tokenizer, labels, re_head=re_head, span_negatives=2).train()
    batch = _batch(tokenizer, labels, examples)
    out = model(batch, candidates=candidates)
    assert out.ner_logits is None and out.span_logits.shape[1] == 1 + len(labels.entity_types)
    assert torch.isclose(out.loss, out.ner_loss + out.re_loss)
    out.loss.backward()
    assert model.label_embedding.weight.grad is not None
    assert model.span_head.width.weight.grad is not None
    # training scores the gold spans plus the sampled negatives (here 2 per sentence)
    gold = gold_span_labels(batch.sentences, span_grid(batch.word_mask, 4))
    assert len(out.spans.batch) == int((gold > 0).sum()) + 2 * len(examples)


def test_span_inference_scores_every_span_and_padding_changes_nothing(tokenizer):
    examples = corpus()
    labels = labels_of(examples)
    model = _span_model(tokenizer, labels).eval()
    alone = model(_batch(tokenizer, labels, examples[4:], labelled=False))
    padded = model(_batch(tokenizer, labels, [examples[4], examples[1]], labelled=False))
    words = 5  # No insulin for 6 months
    assert len(alone.spans.batch) == sum(min(4, words - first) for first in range(words))
    own = padded.spans.batch == 0
    torch.testing.assert_close(alone.span_logits, padded.span_logits[own], atol=1e-5, rtol=1e-4)
    assert alone.loss is None


@pytest.mark.slow
def test_the_standalone_pipeline_joins_fragments_too(tmp_path):
    from mlcore.trainer import train_pipeline

    examples = corpus()
    train_pipeline(examples, [], tiny_options(entity_layer="span", epochs=60), tmp_path / "p")
    pipeline = load_model(tmp_path / "p", device="cpu", precision="fp32")
    predictions = predict(pipeline, examples)
    # the crossing fragments of "Hepatitis B or C infection" are left out: the pipeline's
    # linear RE model (no label embedding) does not separate them in 60 tiny epochs
    for example, prediction in [*zip(examples, predictions)][:3] + [(examples[4], predictions[4])]:
        assert entity_keys(prediction.spans()) == entity_keys(example.spans), example.text
    assert any(len(e.fragments) == 2 for e in predictions[3].entities)


def test_calibration_fits_the_span_layer_and_leaves_fragment_links_out(span_model_dir):
    from mlcore.calibration import calibrate, dev_logits

    model = load_model(span_model_dir, device="cpu", precision="fp32")
    examples = corpus()
    logits = dev_logits(model, examples)
    link = model.labels.relation_id(FRAGMENT_RELATION)
    assert logits["ner"][0].shape[1] == len(model.labels.entity_types) + 1  # span logits
    assert len(logits["re"][1]) and link not in set(logits["re"][1].tolist())
    report = calibrate(model, examples)
    assert report["ner_temperature"] != 1.0 and report["re_temperature"] > 0
    assert report["ece"]["entity"]["count"] == sum(len(e.spans) for e in examples)
    assert report["ece"]["relation"]["count"] == sum(len(e.relations) for e in examples)
    predictions = predict(model, examples)
    assert all(r.type != FRAGMENT_RELATION for p in predictions for r in p.relations)
    entities = [e for p in predictions for e in p.entities]
    assert any(abs(e.confidence - e.prob) > 1e-6 for e in entities)
    assert all(0 < e.confidence <= 1 for e in entities)


def test_span_layer_draws_bald_over_its_spans(span_model_dir):
    from mlcore.inference import load_model, predict

    model = load_model(span_model_dir)
    plain = predict(model, corpus())
    sampled = predict(model, corpus(), mc_samples=3)
    assert [p.spans() for p in sampled] == [p.spans() for p in plain]
    assert all(p.uncertainty["bald"] >= 0.0 for p in sampled)
