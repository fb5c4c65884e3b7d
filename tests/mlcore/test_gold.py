"""Gold standards (original, flattened, chia11) and scoring predictions against them."""
import pytest

from mlcore.corpus.model import Document, Entity, Fragment, Relation, Sentence, Span
from mlcore.evaluator import score_predictions
from mlcore.gold import CHIA11_TYPES, gold_blocks, gold_standard, gold_standards
from mlcore.inference import PredictedEntity, PredictedRelation, SentencePrediction

TEXT = "Severe breast and ovarian cancer on tamoxifen"
#       0      7      14  18      26     33 36


def entity(id_, type_, *fragments):
    return Entity(id_, type_, tuple(Fragment(s, e) for s, e in fragments))


def document():
    """Nested (cancer inside ovarian cancer), discontinuous (breast ... cancer), overlapping
    types outside chia11 (Qualifier inside a Condition), and relations on each."""
    return Document(
        "NCT00000001_inc", TEXT, sentences=[Sentence(0, len(TEXT))],
        entities=[
            entity("T1", "Condition", (7, 13), (26, 32)),    # breast cancer (discontinuous)
            entity("T2", "Condition", (18, 32)),             # ovarian cancer
            entity("T3", "Condition", (26, 32)),             # cancer (nested in T2)
            entity("T4", "Qualifier", (0, 6)),               # Severe
            entity("T5", "Drug", (36, 45)),                  # tamoxifen
            entity("T6", "Scope", (0, 32)),                  # not a chia11 type
        ],
        relations=[Relation("R1", "Has_qualifier", "T2", "T4"),
                   Relation("R2", "Has_qualifier", "T3", "T4")],
    )


def prediction(*entities, relations=()):
    return SentencePrediction(
        TEXT, [PredictedEntity(s, e, t, 1.0, list(f)) for s, e, t, f in entities],
        [PredictedRelation(h, t, name, 1.0) for h, t, name in relations])


CANCER = (26, 32, "Condition", [])
OVARIAN = (18, 32, "Condition", [])
SEVERE = (0, 6, "Qualifier", [])


def scores(predicted, names=("original", "flattened")):
    return score_predictions(gold_standards([document()], names), [predicted])


def test_original_gold_keeps_every_entity_with_its_fragments():
    (example,) = gold_standard("original", [document()]).examples
    assert Span(7, 32, "Condition", ((7, 13), (26, 32))) in example.spans
    assert {(s.start, s.end) for s in example.spans} >= {(18, 32), (26, 32), (0, 6)}
    assert len(example.spans) == 6 and len(example.relations) == 2


def test_a_correct_nested_prediction_is_a_true_positive_against_the_original_gold():
    metrics = scores(prediction(CANCER, OVARIAN, SEVERE,
                                relations=[(0, 2, "Has_qualifier"), (1, 2, "Has_qualifier")]))
    assert metrics["gold"] == "original"
    assert metrics["ner"]["precision"] == 1.0
    assert metrics["ner"]["recall"] == pytest.approx(3 / 6)
    assert metrics["re_end_to_end"]["f1"] == 1.0
    flattened = metrics["flattened"]
    assert flattened["gold"] == "flattened"
    # flattening kept only the longest span (the Scope 0-32) and tamoxifen: against it the same
    # three correct entities and two correct relations are all false positives
    assert flattened["ner"]["precision"] == 0.0 and flattened["re_end_to_end"]["precision"] == 0.0
    assert flattened["ner"]["per_type"]["Scope"]["support"] == 1


def test_a_discontinuous_entity_counts_only_with_all_its_fragments():
    extent = (7, 32, "Condition", [])
    exact = (7, 32, "Condition", [(7, 13), (26, 32)])
    assert scores(prediction(extent))["ner"]["precision"] == 0.0
    assert scores(prediction(exact))["ner"]["precision"] == 1.0


def test_relations_on_gold_entities_read_an_extent_as_its_discontinuous_entity():
    """RE gs of the BIO layer: its input holds the flattened entities; scored on the original
    relations, a relation of an entity it cannot hold is a false negative."""
    golds = gold_standards([document()])
    flat_input = gold_standard("flattened", [document()]).examples[0]
    on_gold = SentencePrediction(TEXT, [PredictedEntity(s.start, s.end, s.type, 1.0)
                                        for s in flat_input.spans])
    by_span = {(s.start, s.end): k for k, s in enumerate(flat_input.spans)}
    assert (18, 32) not in by_span  # ovarian cancer lies inside the flattened scope span
    metrics = score_predictions(golds, None, [on_gold])
    assert metrics["re_gs"]["recall"] == 0.0 and metrics["ner"] is None
    assert set(metrics["flattened"]["re_gs"]["per_type"]) == set()


def test_chia11_selects_the_eleven_types_and_resolves_overlaps_to_the_longest_span():
    gold = gold_standard("chia11", [document()])
    assert len(CHIA11_TYPES) == 11 and "Qualifier" not in CHIA11_TYPES
    (example,) = gold.examples
    # Scope and Qualifier are gone; breast...cancer (7-32) is the longest Condition and wins
    # over ovarian cancer and cancer; tamoxifen does not overlap it
    assert example.spans == [Span(7, 32, "Condition"), Span(36, 45, "Drug")]
    assert gold.tasks == ("ner",)


def test_chia11_reads_predictions_by_the_same_rule():
    predicted = prediction((7, 32, "Condition", [(7, 13), (26, 32)]), CANCER, SEVERE,
                           (36, 45, "Drug", []))
    metrics = scores(predicted, ("chia11",))
    assert metrics["gold"] == "chia11"
    assert metrics["ner"]["precision"] == 1.0 and metrics["ner"]["recall"] == 1.0
    assert metrics["re_gs"] is None and metrics["re_end_to_end"] is None
    assert [name for name, _ in gold_blocks(metrics)] == ["chia11"]


def test_unknown_gold_is_refused():
    with pytest.raises(ValueError, match="unknown gold"):
        gold_standard("nested", [document()])
