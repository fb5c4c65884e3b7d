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
