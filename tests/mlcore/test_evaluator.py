import pytest

from mlcore.corpus.model import Span
from mlcore.evaluator import prf, score_sets, to_markdown

A, B, C = (0, 4, "Drug"), (5, 9, "Condition"), (10, 12, "Value")


def test_prf():
    assert prf(2, 1, 1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)


def test_strict_ner_scores_by_hand():
    gold = [{A, B}, {C}]
    predicted = [{A, (5, 8, "Condition")}, {C, (0, 3, "Drug")}]  # one boundary error, one extra
    m = score_sets(gold, predicted, lambda item: item[2])
    assert (m["precision"], m["recall"]) == pytest.approx((2 / 4, 2 / 3))
    assert m["per_type"]["Drug"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3,
                                                   "support": 1})
    assert m["per_type"]["Condition"]["support"] == 1 and m["per_type"]["Condition"]["f1"] == 0.0


def test_relation_direction_matters():
    gold = [{(A, B, "Treats")}]
    reversed_ = [{(B, A, "Treats")}]
    assert score_sets(gold, reversed_, lambda r: r[2])["f1"] == 0.0
    assert score_sets(gold, gold, lambda r: r[2])["f1"] == 1.0


def test_markdown_lists_every_task():
    metrics = {"ner": score_sets([{A}], [{A}], lambda i: i[2]), "re_gs": None,
               "re_end_to_end": None}
    text = to_markdown(metrics)
    assert "| ner | 100.00 | 100.00 | 100.00 |" in text and "| re_gs | - | - | - |" in text
    assert "| Drug | 100.00 | 100.00 | 100.00 | 1 |" in text


def test_evaluate_end_to_end_needs_matching_entities(trained_dir, tiny_corpus):
    """On the fitted tiny model: perfect on its training data, and RE e2e counts spans+types."""
    from mlcore.evaluator import evaluate
    from mlcore.inference import load_model

    metrics = evaluate(load_model(trained_dir), tiny_corpus)
    assert set(metrics) == {"ner", "re_gs", "re_end_to_end"}
    assert metrics["ner"]["f1"] == pytest.approx(1.0)
    assert metrics["re_gs"]["f1"] == pytest.approx(1.0)
    assert metrics["re_end_to_end"]["f1"] == pytest.approx(1.0)
    shifted = [type(e)(e.text, [Span(s.start, s.end, "Drug") for s in e.spans], e.relations)
               for e in tiny_corpus]
    worse = evaluate(load_model(trained_dir), shifted)
    assert worse["re_end_to_end"]["f1"] < 1.0 and worse["ner"]["f1"] < 1.0


def test_evaluate_skips_tasks_not_asked_for(trained_dir, tiny_corpus):
    from mlcore.evaluator import evaluate
    from mlcore.inference import load_model

    metrics = evaluate(load_model(trained_dir), tiny_corpus, tasks=("ner", "re_end_to_end"))
    assert metrics["re_gs"] is None
    assert metrics["ner"]["f1"] == pytest.approx(1.0)
    assert metrics["re_end_to_end"]["f1"] == pytest.approx(1.0)


def test_ignored_types_leave_gold_and_predictions_alike(trained_dir, tiny_corpus):
    """An unpredictable gold type costs recall until ignored; an ignored predicted type takes
    its relations with it."""
    from mlcore.evaluator import evaluate
    from mlcore.inference import load_model

    model = load_model(trained_dir)
    extra = type(tiny_corpus[0])(tiny_corpus[0].text,
                                 tiny_corpus[0].spans + [Span(0, 8, "Mood")])
    corpus = [extra] + tiny_corpus[1:]
    assert evaluate(model, corpus)["ner"]["recall"] < 1.0
    assert evaluate(model, corpus, ignore_types=["Mood"])["ner"]["f1"] == pytest.approx(1.0)

    without_drug = evaluate(model, tiny_corpus, ignore_types=["Drug"])
    assert set(without_drug["ner"]["per_type"]) == {"Condition", "Value", "Temporal", "Person"}
    for task in ("re_gs", "re_end_to_end"):
        assert set(without_drug[task]["per_type"]) == {"Has_value"}
        assert without_drug[task]["f1"] == pytest.approx(1.0)
