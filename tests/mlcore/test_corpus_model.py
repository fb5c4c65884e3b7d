"""The shared flattening rule and the sentence view used by the CoNLL export and the model."""
from mlcore.corpus.model import (
    Document,
    Entity,
    FlattenStats,
    Fragment,
    Relation,
    Schema,
    Sentence,
    SentenceExample,
    Span,
    flat_example,
    flatten_entities,
    sentence_examples,
)


def entity(id_, type_, *fragments):
    return Entity(id_, type_, tuple(Fragment(s, e) for s, e in fragments))


def test_extent_of_fragments_in_any_order():
    e = entity("T1", "X", (20, 25), (5, 10))
    assert (e.start, e.end) == (5, 25)
    assert e.text("0123456789" * 3) == "01234 56789"


def test_longest_span_wins_and_ties_go_to_the_earlier_start_then_entity_order():
    entities = [
        entity("a", "Inner", (2, 5)),
        entity("b", "Outer", (0, 10)),
        entity("c", "Crossing", (8, 14)),
        entity("d", "Late", (12, 16)),
        entity("e", "SameAsD", (12, 16)),
    ]
    stats = FlattenStats()
    kept = flatten_entities(entities, stats)
    assert kept == {"b": Span(0, 10, "Outer"), "d": Span(12, 16, "Late")}
    assert (stats.entities_in, stats.entities_kept, stats.dropped_overlap) == (5, 2, 3)


def test_discontinuous_entity_becomes_its_extent():
    stats = FlattenStats()
    kept = flatten_entities([entity("a", "X", (10, 12), (0, 3))], stats)
    assert kept == {"a": Span(0, 12, "X")}
    assert stats.discontinuous_merged == 1


def test_sentence_examples_use_local_offsets_and_keep_relations_within_a_sentence():
    text = "Age 18\r\nBMI 30 kg\r\n"
    doc = Document(
        "d", text, sentences=[Sentence(0, 6), Sentence(8, 17)],
        entities=[entity("T1", "Person", (0, 3)), entity("T2", "Value", (4, 6)),
                  entity("T3", "Measurement", (8, 11)), entity("T4", "Value", (12, 17)),
                  entity("T5", "Scope", (3, 8)), entity("T6", "Value", (17, 19))],
        relations=[Relation("R1", "Has_value", "T1", "T2"), Relation("R2", "Has_value", "T3", "T4"),
                   Relation("R3", "Cross", "T1", "T4")],
    )
    stats = FlattenStats()
    examples = sentence_examples(doc, stats)
    assert [e.text for e in examples] == ["Age 18", "BMI 30 kg"]
    assert examples[1].offset == 8 and examples[1].document == "d"
    assert examples[0].spans == [Span(0, 3, "Person")]
    assert examples[1].spans == [Span(0, 3, "Measurement"), Span(4, 9, "Value")]
    assert examples[1].relations == [(0, 1, "Has_value")]
    assert stats.dropped_cross_sentence == 1  # T5 runs from line 1 into line 2
    assert stats.dropped_overlap == 1  # T2 lies inside T5, which was taken first
    assert stats.dropped_outside_sentence == 1  # T6 is the final CRLF, in no sentence
    assert (stats.entities_in, stats.entities_kept) == (6, 3)
    assert (stats.relations_in, stats.relations_kept) == (3, 1)


def test_entities_of_a_document_without_sentences_count_as_dropped():
    stats = FlattenStats()
    assert sentence_examples(Document("d", "NA", entities=[entity("T1", "X", (0, 2))]), stats) == []
    assert (stats.entities_kept, stats.entities_dropped, stats.dropped_outside_sentence) == (0, 1, 1)


def test_flatten_stats_add_and_schema_extension():
    total = FlattenStats(entities_in=2, entities_kept=1)
    total.add(FlattenStats(entities_in=3, entities_kept=3, dropped_outside_sentence=1))
    assert (total.entities_in, total.entities_dropped, total.dropped_outside_sentence) == (5, 1, 1)
    schema = Schema()
    schema.extend_from_documents([Document("d", "ab", entities=[entity("T1", "X", (0, 1))])])
    assert schema.entity_names == ["X"]


def test_flat_example_applies_the_flattening_rule_to_a_full_example():
    """Nested and discontinuous spans of ``sentence_examples(flat=False)`` reduced as
    ``flatten_entities`` reduces a document's: the same spans, relations re-indexed."""
    text = "severe renal and hepatic impairment"
    doc = Document("d", text, sentences=[Sentence(0, len(text))],
                   entities=[entity("T1", "Qualifier", (0, 6)),
                             entity("T2", "Condition", (0, 12), (25, 35)),
                             entity("T3", "Condition", (17, 35))],
                   relations=[Relation("R1", "Has_qualifier", "T2", "T1"),
                              Relation("R2", "Has_qualifier", "T3", "T1")])
    full = sentence_examples(doc, flat=False)[0]
    flat = flat_example(full)
    assert flat == sentence_examples(doc)[0]
    assert flat.spans == [Span(0, 35, "Condition")] and flat.relations == []
    nested = SentenceExample("a b", [Span(0, 1, "X"), Span(0, 3, "Y"), Span(2, 3, "Z")],
                             [(1, 0, "r"), (0, 2, "s")], "d", 4)
    assert flat_example(nested) == SentenceExample("a b", [Span(0, 3, "Y")], [], "d", 4)
