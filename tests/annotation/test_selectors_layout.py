"""How a sentence is drawn: underline layers, segments, labels and relation rows."""
import pytest

from annotation.models import EntityType, RelationType, Sentence
from annotation.selectors.annotations import sentence_annotations
from annotation.selectors.layout import sentence_view
from annotation.services import annotations as svc
from tests.browser.scenario import make_document, span


@pytest.fixture
def sentence(project):
    make_document(project)
    return Sentence.objects.get(project=project, index=1)


def _entity(sentence, user, type_name, fragments):
    sentence.refresh_from_db()
    return svc.entity_create(sentence=sentence, user=user,
                             type=EntityType.objects.get(name=type_name), fragments=fragments,
                             expected_version=sentence.version)


def test_nested_entities_get_layers_innermost_lowest(sentence, users):
    outer = _entity(sentence, users["annotator"], "Condition", [span(sentence, "type 2 diabetes")])
    inner = _entity(sentence, users["annotator"], "Condition", [span(sentence, "diabetes")])
    view = sentence_view(sentence=sentence)
    layers = {m.entity.pk: m.layer for m in view.marks}
    assert layers == {inner.pk: 0, outer.pk: 1} and view.max_layer == 1
    assert "".join(seg.text for seg in view.segments) == sentence.text
    covered = next(seg for seg in view.segments if seg.text == "diabetes")
    assert [m.entity.pk for m in covered.marks] == [inner.pk, outer.pk]
    assert covered.entity_ids == f"{inner.pk} {outer.pk}"
    assert [m.entity.pk for m in covered.labels] == [inner.pk]


def test_discontinuous_entity_labels_its_first_fragment_and_continues(sentence, users):
    a, b = span(sentence, "type 2"), span(sentence, "metformin")
    entity = _entity(sentence, users["annotator"], "Condition", [a, b])
    view = sentence_view(sentence=sentence)
    (mark,) = view.marks
    assert mark.text == "type 2 … metformin"
    starts = {seg.start: seg for seg in view.segments}
    assert [m.entity.pk for m in starts[a[0]].labels] == [entity.pk]
    assert [m.entity.pk for m in starts[b[0]].continuations] == [entity.pk]


def test_relation_rows_name_both_ends_and_schema_is_optional(sentence, users):
    head = _entity(sentence, users["annotator"], "Drug", [span(sentence, "metformin")])
    tail = _entity(sentence, users["annotator"], "Negation", [span(sentence, "Adults")])
    sentence.refresh_from_db()
    svc.relation_create(sentence=sentence, user=users["annotator"], type=RelationType.objects.get(),
                        head_id=head.pk, tail_id=tail.pk, expected_version=sentence.version)
    view = sentence_view(sentence=sentence, annotations=sentence_annotations(sentence=sentence))
    assert [(r["head"], r["tail"]) for r in view.relation_rows] == [("metformin", "Adults")]
    assert [t.name for t in view.entity_types] == ["Condition", "Drug", "Negation"]
    bare = sentence_view(sentence=sentence, with_schema=False)
    assert (bare.entity_types, bare.relation_types) == ([], [])


def test_empty_sentence_is_one_plain_segment(sentence):
    view = sentence_view(sentence=sentence, with_schema=False)
    assert [(s.text, s.marks) for s in view.segments] == [(sentence.text, [])]
    assert view.max_layer == -1
