"""Agreement figures computed by hand on a two-criterion fixture with a nested, a
discontinuous and a relation disagreement (see docs/agreement.md for the rules)."""
from fractions import Fraction

import pytest

from mlcore.corpus.agreement import (
    agreement_report, cohen_kappa, criterion_comparison, relaxed_matches, word_labels, word_spans,
)
from mlcore.corpus.model import Document, Entity, Fragment, Relation, Sentence

TEXT = "Adults with type 2 diabetes. No prior insulin or metformin therapy."


def at(surface: str, occurrence: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = TEXT.index(surface, start + 1)
    return start, start + len(surface)


def document(entities: dict, relations=()) -> Document:
    """``entities``: id -> (type, surfaces...); ``relations``: (type, head id, tail id)."""
    return Document(
        "NCT1_inc", TEXT, sentences=[Sentence(0, 28), Sentence(29, len(TEXT))],
        entities=[Entity(id_, type_, tuple(Fragment(*at(s)) for s in surfaces))
                  for id_, (type_, *surfaces) in entities.items()],
        relations=[Relation(f"R{i}", *r) for i, r in enumerate(relations, 1)],
    )


# A: "type 2 diabetes" with a nested Value "2", a discontinuous "insulin … therapy".
ANN_A = document({"T1": ("Person", "Adults"), "T2": ("Condition", "type 2 diabetes"),
                  "T3": ("Value", "2"), "T4": ("Drug", "insulin"), "T5": ("Drug", "metformin"),
                  "T6": ("Procedure", "insulin", "therapy")},
                 [("OR", "T4", "T5"), ("Has_value", "T2", "T3")])
# B: "diabetes" only (relaxed match), "metformin therapy" (relaxed match with the
# discontinuous one), an extra Temporal, and its Has_value starts at its own Condition.
ANN_B = document({"T1": ("Person", "Adults"), "T2": ("Condition", "diabetes"),
                  "T3": ("Value", "2"), "T4": ("Drug", "insulin"), "T5": ("Drug", "metformin"),
                  "T6": ("Procedure", "metformin therapy"), "T7": ("Temporal", "prior")},
                 [("OR", "T4", "T5"), ("Has_value", "T2", "T3")])
KAPPA_AB = Fraction(59, 124)  # po = 8/13, pe = 45/169


def test_pair_figures():
    report = agreement_report({"alice": {"NCT1_inc": ANN_A}, "bob": {"NCT1_inc": ANN_B}})
    pair = report["pairs"][0]
    assert pair["annotators"] == ["alice", "bob"] and pair["documents"] == 1
    entities = pair["entities"]
    assert entities["strict_f1"] == round(8 / 13, 4)   # 4 strict matches, 6 + 7 entities
    assert entities["relaxed_f1"] == round(12 / 13, 4)  # 6 relaxed matches
    assert entities["by_type"]["Condition"] == {
        "strict_f1": 0.0, "relaxed_f1": 1.0, "strict_matched": 0, "relaxed_matched": 1, "count": 2}
    assert entities["by_type"]["Procedure"]["strict_f1"] == 0.0
    assert entities["by_type"]["Procedure"]["relaxed_f1"] == 1.0
    assert entities["by_type"]["Value"]["strict_f1"] == 1.0   # the nested one agrees
    assert entities["by_type"]["Temporal"]["relaxed_f1"] == 0.0
    assert pair["relations"]["strict_f1"] == 0.5
    assert pair["relations"]["by_type"]["OR"]["strict_f1"] == 1.0
    assert pair["relations"]["by_type"]["Has_value"]["strict_f1"] == 0.0
    assert pair["kappa"] == round(float(KAPPA_AB), 4)
    # Condition on words "type 2 diabetes" against "diabetes": po = 11/13, pe = 123/169
    assert pair["kappa_by_type"]["Condition"] == round(20 / 46, 4)
    assert pair["kappa_by_type"]["Value"] == 1.0  # the nested Value, invisible to the labels
    assert pair["criteria"] == [
        {"document": "NCT1_inc", "sentence": 0, "entities": 2, "relations": 2},
        {"document": "NCT1_inc", "sentence": 1, "entities": 3, "relations": 0},
    ]
    assert {k: report[k] for k in ("kappa", "entities", "relations")} == {
        k: pair[k] for k in ("kappa", "entities", "relations")}


def test_overall_is_micro_over_pairs_and_kappa_the_mean():
    report = agreement_report({"alice": {"NCT1_inc": ANN_A}, "bob": {"NCT1_inc": ANN_B},
                               "carol": {"NCT1_inc": ANN_A}})
    assert [p["annotators"] for p in report["pairs"]] == [
        ["alice", "bob"], ["alice", "carol"], ["bob", "carol"]]
    assert report["pairs"][1]["entities"]["strict_f1"] == 1.0
    assert report["pairs"][1]["criteria"] == []
    assert report["entities"]["strict_f1"] == round(2 * 14 / 38, 4)
    assert report["relations"]["strict_f1"] == round(2 * 4 / 12, 4)
    assert report["kappa"] == round((2 * float(KAPPA_AB) + 1) / 3, 4)


def test_word_labels_take_the_longest_entity_and_skip_the_gap_of_a_discontinuous_one():
    words = word_spans(ANN_A)
    assert len(words) == 13
    labels, types = word_labels(ANN_A, words)
    assert labels == ["Person", "O", "Condition", "Condition", "Condition", "O",
                      "O", "O", "Procedure", "O", "Drug", "Procedure", "O"]
    assert types[3] == {"Condition", "Value"}
    assert types[8] == {"Drug", "Procedure"}


def test_documents_only_one_annotator_has_are_not_compared():
    other = Document("NCT2_exc", "Pregnancy.", sentences=[Sentence(0, 10)])
    report = agreement_report({"alice": {"NCT1_inc": ANN_A, "NCT2_exc": other},
                               "bob": {"NCT1_inc": ANN_B}})
    assert report["documents"] == 1


def test_relaxed_matching_is_one_to_one_and_prefers_exact_then_larger_overlap():
    left = [Entity("a", "X", (Fragment(0, 10),)), Entity("b", "X", (Fragment(8, 12),))]
    right = [Entity("c", "X", (Fragment(8, 12),)), Entity("d", "X", (Fragment(0, 4),))]
    assert sorted(relaxed_matches(left, right)) == [(0, 1), (1, 0)]
    assert relaxed_matches(left[:1], right[:1] + [Entity("e", "Y", (Fragment(0, 10),))]) == [(0, 0)]


def test_kappa_edge_cases():
    assert cohen_kappa({}) is None
    assert cohen_kappa({("O", "O"): 5}) == 1.0
    assert cohen_kappa({("X", "O"): 1, ("O", "X"): 1}) == -1.0


def test_criterion_comparison_marks_each_side():
    sides = criterion_comparison(ANN_A, ANN_B, 1)
    left = [(e.type, mark) for e, mark in sides["entities"][0]]
    right = [(e.type, mark) for e, mark in sides["entities"][1]]
    assert left == [("Drug", "agreed"), ("Procedure", "overlap"), ("Drug", "agreed")]
    assert right == [("Temporal", "only"), ("Drug", "agreed"), ("Drug", "agreed"),
                     ("Procedure", "overlap")]
    assert [(r.type, mark) for r, mark in sides["relations"][0]] == [("OR", "agreed")]
    zero = criterion_comparison(ANN_A, ANN_B, 0)
    assert [(r.type, mark) for r, mark in zero["relations"][1]] == [("Has_value", "only")]
    assert pytest.approx(float(KAPPA_AB), abs=1e-4) == agreement_report(
        {"a": {"d": ANN_A}, "b": {"d": ANN_B}})["kappa"]
