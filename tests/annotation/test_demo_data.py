"""The demo corpus and the default schema: offsets, coverage, schema conformance, palette."""
import collections
import itertools
import math
import re

import pytest

from annotation import demo_data
from annotation.demo_data import CRITERIA, demo_documents, entity_fragments, find_surface
from annotation.schema_presets import DEFAULT_SCHEMA, RELATION_KEYS, default_schema
from mlcore.corpus.model import FlattenStats, sentence_examples

ENTITY_TYPES = [
    "Condition", "Observation", "Procedure", "Device", "Drug", "Investigational product", "Event",
    "Refractory condition", "Demographics", "Measurement", "Temporal constraint",
    "Qualifier/modifier", "Anatomic location", "Negation cue", "Permission cue",
]
RELATION_TYPES = [
    "is negated", "is permitted", "modified by", "has value", "has temporal constraint",
    "is located", "specified by",
]
UI_COMMAND_KEYS = {"?", "z", "n", "p", "s", "j", "k"}


@pytest.fixture(scope="module")
def documents():
    return demo_documents()


def _parts(spec):
    return (spec[0],) if isinstance(spec[0], str) else spec[0]


def _gold(criterion):
    return criterion[5] != "new"


# --- the schema preset -------------------------------------------------------------------


def test_schema_has_exactly_the_default_types():
    assert DEFAULT_SCHEMA.entity_names == ENTITY_TYPES
    assert DEFAULT_SCHEMA.relation_names == RELATION_TYPES
    assert set(RELATION_KEYS) == set(RELATION_TYPES)


def test_relation_ends_are_declared_entity_types():
    names = set(ENTITY_TYPES)
    for relation_type in DEFAULT_SCHEMA.relation_types:
        assert set(relation_type.heads) <= names and set(relation_type.tails) <= names


def test_keys_are_unique_single_characters_free_of_ui_commands():
    keys = [t.key for t in DEFAULT_SCHEMA.entity_types] + list(RELATION_KEYS.values())
    assert len(keys) == len(set(keys)) == 22
    for key in keys:
        assert re.fullmatch(r"[a-z0-9]", key), key
        assert key not in UI_COMMAND_KEYS


def _luminance(hex_colour):
    def linear(channel):
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a, b):
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _lab(hex_colour):
    def linear(channel):
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_colours_are_distinct_and_readable_on_light_and_dark():
    colours = [t.color for t in DEFAULT_SCHEMA.entity_types]
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colours)
    for colour in colours:
        assert _contrast(colour, "#FFFFFF") >= 1.9, colour
        assert _contrast(colour, "#1E1E1E") >= 2.7, colour
    for a, b in itertools.combinations(colours, 2):
        assert math.dist(_lab(a), _lab(b)) >= 14, (a, b)


def test_default_schema_is_a_copy():
    schema = default_schema()
    schema.entity_types.pop()
    assert len(DEFAULT_SCHEMA.entity_types) == 15


# --- locating surfaces -------------------------------------------------------------------


def test_find_surface_matches_whole_words_only():
    assert find_surface("aged 18 years", "aged") == (0, 4)
    with pytest.raises(ValueError, match="not found"):
        find_surface("aged 18 years", "age")
    assert find_surface("esketamine or ketamine", "ketamine") == (14, 22)


def test_find_surface_requires_an_occurrence_when_ambiguous():
    text = "insulin or insulin analogues"
    with pytest.raises(ValueError, match="occurs 2 times"):
        find_surface(text, "insulin")
    assert find_surface(text, "insulin", 1) == (11, 18)
    with pytest.raises(ValueError, match="no occurrence 2"):
        find_surface(text, "insulin", 2)


def test_discontinuous_fragments_follow_each_other():
    text = "Acute or chronic pancreatitis"
    assert entity_fragments(text, (("Acute", "pancreatitis"), "Condition")) == ((0, 5), (17, 29))


# --- the criteria ------------------------------------------------------------------------


def test_every_surface_is_found_where_it_is_written():
    for _, _, text, entities, relations, _ in CRITERIA:
        for spec in entities:
            fragments = entity_fragments(text, spec)
            assert tuple(text[b:e] for b, e in fragments) == _parts(spec)
        for head, tail, _ in relations:
            assert 0 <= head < len(entities) and 0 <= tail < len(entities) and head != tail


def test_enough_criteria_and_a_quarter_left_new():
    assert len(CRITERIA) >= 88
    assert {c[5] for c in CRITERIA} <= {"new", "done", "reviewed"}
    new = [c for c in CRITERIA if not _gold(c)]
    assert 0.20 <= len(new) / len(CRITERIA) <= 0.30
    assert all(not c[3] and not c[4] for c in new)
    assert all(c[3] for c in CRITERIA if _gold(c))
    assert {"done", "reviewed"} <= {c[5] for c in CRITERIA}


def test_no_sentence_is_written_or_annotated_twice():
    texts = [c[2] for c in CRITERIA]
    assert len(texts) == len(set(texts))
    for _, _, text, entities, relations, _ in CRITERIA:
        spans = [(entity_fragments(text, spec), spec[1]) for spec in entities]
        assert len(spans) == len(set(spans)), text
        assert len(relations) == len(set(relations)), text


def test_about_ten_trials_each_with_both_sections(documents):
    trials = collections.defaultdict(set)
    for document in documents:
        assert re.fullmatch(r"DEMO-T\d\d_(inc|exc)", document.name)
        trials[document.metadata["nct_id"]].add(document.metadata["section"])
    assert len(trials) == 10
    assert all(sections == {"inclusion", "exclusion"} for sections in trials.values())
    assert set(trials) == set(demo_data.TRIAL_TITLES)


# --- the documents -----------------------------------------------------------------------


def test_sentences_are_the_lines_with_a_status_each(documents):
    assert sum(len(d.sentences) for d in documents) == len(CRITERIA)
    for document in documents:
        lines = document.text.split("\n")
        assert [document.text[s.start:s.end] for s in document.sentences] == lines
        assert len(document.metadata["sentence_status"]) == len(lines)


def test_entity_offsets_slice_back_to_the_surfaces(documents):
    specs = iter(spec for c in CRITERIA for spec in c[3])
    for document in documents:
        for entity in document.entities:
            spec = next(specs)
            assert entity.type == spec[1]
            assert tuple(document.text[f.start:f.end] for f in entity.fragments) == _parts(spec)
            inside = [s for s in document.sentences if s.start <= entity.start < s.end]
            assert len(inside) == 1 and entity.end <= inside[0].end
    assert next(specs, None) is None


def test_ids_are_numbered_and_relations_point_at_entities(documents):
    for document in documents:
        assert [e.id for e in document.entities] == [
            f"T{i}" for i in range(1, len(document.entities) + 1)]
        assert [r.id for r in document.relations] == [
            f"R{i}" for i in range(1, len(document.relations) + 1)]
        by_id = document.entity_by_id()
        assert all(r.head in by_id and r.tail in by_id for r in document.relations)


def test_only_new_sentences_are_unannotated(documents):
    for document in documents:
        annotated = {i for i, s in enumerate(document.sentences)
                     for e in document.entities if s.start <= e.start < s.end}
        statuses = document.metadata["sentence_status"]
        assert annotated == {i for i, status in enumerate(statuses) if status != "new"}


def test_every_type_is_used_at_least_three_times(documents):
    entity_counts = collections.Counter(e.type for d in documents for e in d.entities)
    relation_counts = collections.Counter(r.type for d in documents for r in d.relations)
    assert set(entity_counts) == set(ENTITY_TYPES)
    assert set(relation_counts) == set(RELATION_TYPES)
    assert min(entity_counts.values()) >= 3, entity_counts
    assert min(relation_counts.values()) >= 3, relation_counts


def test_relations_obey_the_schema(documents):
    allowed = {t.name: t for t in DEFAULT_SCHEMA.relation_types}
    for document in documents:
        by_id = document.entity_by_id()
        for relation in document.relations:
            rule = allowed[relation.type]
            head, tail = by_id[relation.head].type, by_id[relation.tail].type
            assert not rule.heads or head in rule.heads, (document.name, relation, head)
            assert not rule.tails or tail in rule.tails, (document.name, relation, tail)


def test_some_nested_and_discontinuous_entities(documents):
    entities = [e for d in documents for e in d.entities]
    assert sum(len(e.fragments) > 1 for e in entities) >= 2
    nested = sum(
        1 for d in documents for a, b in itertools.permutations(d.entities, 2)
        if a.start <= b.start and b.end <= a.end and (a.start, a.end) != (b.start, b.end)
        and len(a.fragments) == len(b.fragments) == 1
    )
    assert 1 <= nested <= 0.05 * len(entities)


def test_model_examples_keep_most_of_the_gold(documents):
    stats = FlattenStats()
    examples = [x for d in documents for x in sentence_examples(d, stats)]
    assert len(examples) == len(CRITERIA)
    assert stats.dropped_cross_sentence == 0
    assert stats.entities_kept >= 0.95 * stats.entities_in
    assert stats.relations_kept >= 0.9 * stats.relations_in
