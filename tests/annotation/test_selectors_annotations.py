"""Reads behind the annotation view: one sentence, its annotations, neighbours and types."""
import pytest
from django.http import Http404

from annotation.models import (
    Attribute,
    Entity,
    EntityType,
    Group,
    GroupMember,
    Normalization,
    Note,
    Relation,
    RelationType,
    Sentence,
    SentenceStatus,
)
from annotation.rows import row_of
from annotation.selectors import annotations as sel
from annotation.services import annotations as svc
from annotation.services.projects import project_create
from mlcore.corpus.model import Schema
from tests.browser.scenario import make_document, span


@pytest.fixture
def document(project):
    return make_document(project)


@pytest.fixture
def sentences(document):
    return list(Sentence.objects.filter(document=document).order_by("index"))


@pytest.fixture
def types(project):
    return {t.name: t for t in EntityType.objects.filter(project=project)}


def _entity(sentence, user, type_, words):
    sentence.refresh_from_db()
    return svc.entity_create(sentence=sentence, user=user, type=type_,
                             fragments=[span(sentence, words)], expected_version=sentence.version)


def _negated_condition(sentence, user, types):
    """"heart failure" (Condition) negated by "No": the two entities and their relation."""
    heart = _entity(sentence, user, types["Condition"], "heart failure")
    no = _entity(sentence, user, types["Negation"], "No")
    sentence.refresh_from_db()
    relation = svc.relation_create(sentence=sentence, user=user, type=RelationType.objects.get(),
                                   head_id=heart.pk, tail_id=no.pk,
                                   expected_version=sentence.version)
    return heart, no, relation


def test_sentence_get_is_scoped_to_the_project(project, sentences):
    assert sel.sentence_get(project=project, sentence_id=sentences[1].pk) == sentences[1]
    other = project_create(name="other", schema=Schema())
    with pytest.raises(Http404):
        sel.sentence_get(project=other, sentence_id=sentences[1].pk)


def test_sentence_annotations_finds_entities_relations_and_lookups(sentences, users, types):
    sentence = sentences[2]
    heart, no, relation = _negated_condition(sentence, users["annotator"], types)
    found = sel.sentence_annotations(sentence=sentence)
    assert {e.pk for e in found.entities} == {heart.pk, no.pk}
    assert found.entity(str(heart.pk)) == heart and found.entity(0) is None
    assert found.relation(relation.pk) == relation
    assert found.identical_entity(types["Condition"].pk, heart.fragments) == heart
    assert found.identical_entity(types["Condition"].pk, heart.fragments, exclude_id=heart.pk) is None
    assert found.identical_relation(relation.type_id, heart.pk, no.pk) == relation
    assert sel.sentence_annotations(sentence=sentences[1]).entities == []


def test_sentence_annotations_reads_in_one_query_what_the_orm_reads(
        sentences, users, types, django_assert_num_queries):
    """Every kind, every column (converted: datetimes, JSON fragments), the types cached on
    entities and relations, in the ORM's order; nothing of the neighbouring sentence."""
    sentence, other = sentences[2], sentences[1]
    heart, no, relation = _negated_condition(sentence, users["annotator"], types)
    elsewhere = _entity(other, users["annotator"], types["Condition"], "type 2 diabetes")
    document = sentence.document
    for target in (heart, elsewhere):
        Normalization.objects.create(document=document, entity=target, resource="UMLS",
                                     reference="C0018801", text="Heart failure")
        Note.objects.create(document=document, entity=target, text="check")
    Attribute.objects.create(document=document, relation=relation, name="Optional")
    Note.objects.create(document=document, relation=relation, text="on the relation")
    group = Group.objects.create(document=document, type="OR")
    for position, member in enumerate((no, heart, elsewhere)):
        GroupMember.objects.create(group=group, entity=member, position=position)
    with django_assert_num_queries(1):
        found = sel.sentence_annotations(sentence=sentence)
    assert [e.pk for e in found.entities] == [no.pk, heart.pk]  # by start
    expected = {
        "entities": Entity.objects.filter(sentence=sentence),
        "relations": Relation.objects.filter(sentence=sentence),
        "normalizations": Normalization.objects.filter(entity__sentence=sentence),
        "attributes": Attribute.objects.filter(relation__sentence=sentence),
        "notes": Note.objects.filter(document=document).exclude(entity=elsewhere),
        "group_members": GroupMember.objects.filter(entity__sentence=sentence).order_by("pk"),
        "groups": Group.objects.all(),
    }
    for kind, rows in expected.items():
        assert [row_of(obj) for obj in getattr(found, kind)] == [row_of(obj) for obj in rows], kind
    with django_assert_num_queries(0):
        assert [e.type.name for e in found.entities] == ["Negation", types["Condition"].name]
        assert found.relations[0].type == relation.type
    assert found.entities[0].fragments == no.fragments
    assert found.entities[0].created_at == Entity.objects.get(pk=no.pk).created_at


def test_relations_refusing_type_names_the_relation_that_forbids_it(sentences, users, types):
    sentence = sentences[2]
    heart, no, relation = _negated_condition(sentence, users["annotator"], types)
    assert sel.relations_refusing_type(entity=heart, type_id=types["Drug"].pk) == []
    assert sel.relations_refusing_type(entity=heart, type_id=types["Negation"].pk) == [relation]
    assert sel.relations_refusing_type(entity=no, type_id=types["Condition"].pk) == [relation]


def test_relation_type_rows_and_allowed(project, types):
    entity_rows, relation_rows = sel.project_type_rows(project=project)
    assert [r.name for r in entity_rows] == ["Condition", "Drug", "Negation"]
    (negated,) = relation_rows
    assert negated.head_ids == {types["Condition"].pk, types["Drug"].pk}
    assert negated.tail_ids == {types["Negation"].pk}
    assert negated.heads_attr == " ".join(str(i) for i in sorted(negated.head_ids))
    assert sel.relation_type_rows(project_id=project.pk, relation_type_id=negated.pk) == [negated]
    assert sel.relation_type_rows(project_id=project.pk, relation_type_id=negated.pk + 99) == []
    assert sel.relation_types_allowed(relation_types=relation_rows, head_type_id=types["Drug"].pk,
                                      tail_type_id=types["Negation"].pk) == [negated]
    assert sel.relation_types_allowed(relation_types=relation_rows, head_type_id=types["Negation"].pk,
                                      tail_type_id=types["Negation"].pk) == []


def test_context_and_neighbours_follow_document_order(project, sentences):
    before, after = sel.sentence_context(sentence=sentences[2], width=1)
    assert ([s.pk for s in before], [s.pk for s in after]) == ([sentences[1].pk], [sentences[3].pk])
    second = make_document(project, name="NCT00000002_inc")
    first_of_second = Sentence.objects.get(document=second, index=0)
    assert sel.sentence_neighbour(sentence=sentences[3], direction="next") == first_of_second
    assert sel.sentence_neighbour(sentence=first_of_second, direction="previous") == sentences[3]
    assert sel.sentence_neighbour(sentence=sentences[0], direction="previous") is None


def test_open_sentences_skip_finished_ones(project, sentences):
    Sentence.objects.filter(pk__in=[sentences[0].pk, sentences[1].pk]).update(
        status=SentenceStatus.DONE)
    assert sel.first_open_sentence(project=project) == sentences[2]
    assert sel.sentence_neighbour(sentence=sentences[0], direction="next", open_only=True) == sentences[2]
    Sentence.objects.filter(project=project).update(status=SentenceStatus.REVIEWED)
    assert sel.first_open_sentence(project=project) == sentences[0]


def test_sentence_events_empty_without_event_types(sentences):
    assert sel.sentence_events(sentence=sentences[1]) == []
