"""Annotation services: validation, optimistic locking, undo by snapshot."""
import json

import pytest
from django.core.exceptions import ValidationError

from annotation.models import (
    Entity,
    EntityType,
    Note,
    Relation,
    RelationType,
    Sentence,
    SentenceStatus,
)
from annotation.selectors.annotations import sentence_annotations
from annotation.services.undo import (
    SESSION_KEY,
    sentence_snapshot,
    step_apply,
    undo_entry,
    undo_record,
    undo_step,
)
from annotation.services import annotations as svc
from tests.browser.scenario import make_document, span


@pytest.fixture
def sentence(project):
    make_document(project)
    return Sentence.objects.get(project=project, index=1)


@pytest.fixture
def types(project):
    return {t.name: t for t in EntityType.objects.filter(project=project)}


def create(sentence, user, type_, words, version=None):
    return svc.entity_create(sentence=sentence, user=user, type=type_,
                             fragments=[span(sentence, words)],
                             expected_version=sentence.version if version is None else version)


def test_entity_create_bumps_version_and_starts_progress(sentence, users, types):
    entity = create(sentence, users["annotator"], types["Condition"], "type 2 diabetes")
    fresh = Sentence.objects.get(pk=sentence.pk)
    assert (fresh.version, fresh.status, fresh.updated_by) == (2, "in_progress", users["annotator"])
    assert entity.fragments == [span(sentence, "type 2 diabetes")]
    assert (entity.start, entity.end, entity.source, entity.created_by) == (
        *span(sentence, "type 2 diabetes"), "human", users["annotator"])


def test_stale_version_is_refused_and_nothing_written(sentence, users, types):
    create(sentence, users["annotator"], types["Condition"], "type 2 diabetes")
    stale = Sentence.objects.get(pk=sentence.pk)
    stale.version = 1
    with pytest.raises(svc.StaleVersion):
        create(stale, users["reviewer"], types["Drug"], "metformin", version=1)
    assert Entity.objects.count() == 1
    assert Sentence.objects.get(pk=sentence.pk).version == 2


@pytest.mark.parametrize("fragments, message", [
    ([], "Select some text"),
    ([[0, 5]], "inside the sentence"),
    ([["a", 3]], "pairs"),
])
def test_fragments_are_validated(sentence, users, types, fragments, message):
    with pytest.raises(ValidationError, match=message):
        svc.entity_create(sentence=sentence, user=users["annotator"], type=types["Condition"],
                          fragments=fragments, expected_version=1)
    assert Sentence.objects.get(pk=sentence.pk).version == 1


def test_whitespace_only_selection_is_refused(sentence, users, types):
    gap = sentence.start + sentence.text.index(" ")
    with pytest.raises(ValidationError, match="whitespace"):
        svc.entity_create(sentence=sentence, user=users["annotator"], type=types["Condition"],
                          fragments=[[gap, gap + 1]], expected_version=1)


def test_type_of_other_project_is_refused(sentence, users, make_user):
    from annotation.services.projects import project_create

    other = project_create(name="other")
    foreign = EntityType.objects.filter(project=other).first()
    with pytest.raises(ValidationError, match="Unknown entity type"):
        svc.entity_create(sentence=sentence, user=users["annotator"], type=foreign,
                          fragments=[span(sentence, "Adults")], expected_version=1)


def test_duplicate_entity_is_refused(sentence, users, types):
    create(sentence, users["annotator"], types["Condition"], "type 2 diabetes")
    with pytest.raises(ValidationError, match="identical"):
        create(sentence, users["annotator"], types["Condition"], "type 2 diabetes")


def test_update_type_and_delete(sentence, users, types):
    entity = create(sentence, users["annotator"], types["Condition"], "metformin")
    svc.entity_update_type(sentence=sentence, user=users["annotator"], entity_id=entity.pk,
                           type=types["Drug"].pk, expected_version=sentence.version)
    assert Entity.objects.get(pk=entity.pk).type == types["Drug"]
    svc.entity_delete(sentence=sentence, user=users["annotator"], entity_id=entity.pk,
                      expected_version=sentence.version)
    assert not Entity.objects.exists()
    assert Sentence.objects.get(pk=sentence.pk).version == 4


def test_extend_merges_touching_text_and_adds_distant_fragment(sentence, users, types):
    entity = create(sentence, users["annotator"], types["Condition"], "type 2")
    svc.entity_extend(sentence=sentence, user=users["annotator"], entity_id=entity.pk,
                      fragments=[span(sentence, "diabetes")], expected_version=sentence.version)
    entity.refresh_from_db()
    assert entity.fragments == [span(sentence, "type 2 diabetes")]
    svc.entity_extend(sentence=sentence, user=users["annotator"], entity_id=entity.pk,
                      fragments=[span(sentence, "3 months")], expected_version=sentence.version)
    entity.refresh_from_db()
    assert entity.fragments == [span(sentence, "type 2 diabetes"), span(sentence, "3 months")]
    assert (entity.start, entity.end) == (entity.fragments[0][0], entity.fragments[1][1])


def test_entity_of_another_sentence_cannot_be_touched(project, sentence, users, types):
    other = Sentence.objects.get(project=project, index=2)
    entity = create(other, users["annotator"], types["Condition"], "heart failure")
    with pytest.raises(ValidationError, match="not in this sentence"):
        svc.entity_delete(sentence=sentence, user=users["annotator"], entity_id=entity.pk,
                          expected_version=sentence.version)


def test_relation_create_checks_allowed_types(project, users, types):
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=2)
    negation = create(sentence, users["annotator"], types["Negation"], "No")
    condition = create(sentence, users["annotator"], types["Condition"], "heart failure")
    rtype = RelationType.objects.get(project=project, name="is negated")
    with pytest.raises(ValidationError, match="cannot go from Negation to Condition"):
        svc.relation_create(sentence=sentence, user=users["annotator"], type=rtype,
                            head_id=negation.pk, tail_id=condition.pk,
                            expected_version=sentence.version)
    relation = svc.relation_create(sentence=sentence, user=users["annotator"], type=rtype.pk,
                                   head_id=condition.pk, tail_id=negation.pk,
                                   expected_version=sentence.version)
    assert (relation.head, relation.tail, relation.sentence) == (condition, negation, sentence)
    with pytest.raises(ValidationError, match="already exists"):
        svc.relation_create(sentence=sentence, user=users["annotator"], type=rtype,
                            head_id=condition.pk, tail_id=negation.pk,
                            expected_version=sentence.version)
    with pytest.raises(ValidationError, match="two different"):
        svc.relation_create(sentence=sentence, user=users["annotator"], type=rtype,
                            head_id=condition.pk, tail_id=condition.pk,
                            expected_version=sentence.version)
    svc.relation_delete(sentence=sentence, user=users["annotator"], relation_id=relation.pk,
                        expected_version=sentence.version)
    assert not Relation.objects.exists()


def test_set_status_validates(sentence, users):
    svc.sentence_set_status(sentence=sentence, user=users["annotator"], status="done",
                            expected_version=1)
    assert Sentence.objects.get(pk=sentence.pk).status == SentenceStatus.DONE
    with pytest.raises(ValidationError):
        svc.sentence_set_status(sentence=sentence, user=users["annotator"], status="bogus",
                                expected_version=2)


def test_undo_restores_snapshot_with_same_ids(project, users, types):
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=2)
    negation = create(sentence, users["annotator"], types["Negation"], "No")
    condition = create(sentence, users["annotator"], types["Condition"], "heart failure")
    rtype = RelationType.objects.get(project=project, name="is negated")
    relation = svc.relation_create(sentence=sentence, user=users["annotator"], type=rtype,
                                   head_id=condition.pk, tail_id=negation.pk,
                                   expected_version=sentence.version)
    annotations = sentence_annotations(sentence=sentence)
    before = sentence_snapshot(sentence=sentence, annotations=annotations)
    dependents = svc.entity_delete(sentence=sentence, user=users["annotator"],
                                   entity_id=condition.pk, expected_version=sentence.version,
                                   annotations=annotations)
    assert not Relation.objects.exists()
    step = undo_step(before=before, after=annotations, dependents=dependents.rows)
    assert (len(step["entities"]), len(step["relations"]), step["created_entities"]) == (1, 1, [])
    reverse, _ = step_apply(sentence=sentence, user=users["annotator"], step=step,
                            expected_version=sentence.version)
    now = sentence_annotations(sentence=sentence)
    assert sentence_snapshot(sentence=sentence, annotations=now) == before
    assert Relation.objects.get().pk == relation.pk
    with pytest.raises(svc.StaleVersion):
        step_apply(sentence=sentence, user=users["annotator"], step=step, expected_version=1)
    # the reverse step deletes them again: redo
    step_apply(sentence=sentence, user=users["annotator"], step=reverse,
               expected_version=sentence.version)
    assert not Relation.objects.exists() and list(Entity.objects.all()) == [negation]


def _references(model) -> set[tuple[str, str, str]]:
    return {(ref.related_model.__name__, ref.field.name, ref.on_delete.__name__)
            for ref in model._meta.related_objects if not ref.many_to_many}


def test_raw_deletes_handle_every_reference_to_entities_and_relations():
    """``services.dependents`` deletes without Django's collector: its tables must be exactly
    those that reference entities and relations, with the same on-delete behaviour."""
    from annotation.services.dependents import CASCADES, REFUSES, UNLINKS

    handled = {(model.__name__, fk, "CASCADE") for _, model, fk, _ in CASCADES}
    handled |= {(model.__name__, fk, "SET_NULL") for _, model, fk in UNLINKS}
    handled |= {(model.__name__, fk, "RESTRICT") for _, model, fk in REFUSES}
    handled |= {("Relation", "head", "CASCADE"), ("Relation", "tail", "CASCADE")}
    assert _references(Entity) == {ref for ref in handled if ref[1] != "relation"}
    assert _references(Relation) == (
        {(model.__name__, fk, "CASCADE") for _, model, _, fk in CASCADES if fk}
        | {(model.__name__, fk, "SET_NULL") for _, model, fk in UNLINKS if fk == "relation"})


def test_type_change_refused_by_a_relation_changes_nothing(project, users, types):
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=2)
    negation = create(sentence, users["annotator"], types["Negation"], "No")
    condition = create(sentence, users["annotator"], types["Condition"], "heart failure")
    svc.relation_create(sentence=sentence, user=users["annotator"],
                        type=RelationType.objects.get(project=project), head_id=condition.pk,
                        tail_id=negation.pk, expected_version=sentence.version)
    with pytest.raises(ValidationError, match="Condition is not allowed by this relation"):
        svc.entity_update_type(sentence=sentence, user=users["annotator"], entity_id=negation.pk,
                               type=types["Condition"], expected_version=sentence.version)
    assert Entity.objects.get(pk=negation.pk).type == types["Negation"]
    assert Sentence.objects.get(pk=sentence.pk).version == 4


def test_undo_of_a_create_also_removes_a_relation_made_to_it_from_another_sentence(
        project, users, types):
    """Someone annotating the neighbouring criterion does not bump this one's version."""
    make_document(project)
    first, second = (Sentence.objects.get(project=project, index=i) for i in (1, 2))
    annotations = sentence_annotations(sentence=second)
    before = sentence_snapshot(sentence=second, annotations=annotations)
    target = svc.entity_create(sentence=second, user=users["annotator"], type=types["Negation"],
                               fragments=[span(second, "No")], expected_version=1,
                               annotations=annotations)
    drug = create(first, users["reviewer"], types["Drug"], "metformin")
    Relation.objects.create(document=first.document, sentence=first, head=drug, tail=target,
                            type=RelationType.objects.get(project=project))
    step_apply(sentence=second, user=users["annotator"],
               step=undo_step(before=before, after=annotations), expected_version=2)
    assert not Relation.objects.exists()
    assert list(Entity.objects.all()) == [drug]


def test_only_reviewers_set_reviewed_whoever_calls(sentence, users):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match="needs the reviewer role"):
        svc.sentence_set_status(sentence=sentence, user=users["annotator"], status="reviewed",
                                expected_version=1)
    assert Sentence.objects.get(pk=sentence.pk).status == SentenceStatus.NEW
    svc.sentence_set_status(sentence=sentence, user=users["reviewer"], status="reviewed",
                            expected_version=1)
    assert Sentence.objects.get(pk=sentence.pk).status == SentenceStatus.REVIEWED


def test_a_step_comes_back_from_the_session_as_it_went_in_at_half_the_size(project, users, types):
    """The session keeps rows as value lists and leaves empty parts out; what undo reads back
    (after the JSON round trip every session makes) is the step as it was recorded."""
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=2)
    negation = create(sentence, users["annotator"], types["Negation"], "No")
    condition = create(sentence, users["annotator"], types["Condition"], "heart failure")
    svc.relation_create(sentence=sentence, user=users["annotator"],
                        type=RelationType.objects.get(project=project, name="is negated"),
                        head_id=condition.pk, tail_id=negation.pk,
                        expected_version=sentence.version)
    Note.objects.create(document=sentence.document, entity=condition, text="check the dose")
    annotations = sentence_annotations(sentence=sentence)
    before = sentence_snapshot(sentence=sentence, annotations=annotations)
    dependents = svc.entity_delete(sentence=sentence, user=users["annotator"],
                                   entity_id=condition.pk, expected_version=sentence.version,
                                   annotations=annotations)
    step = undo_step(before=before, after=annotations, dependents=dependents.rows)
    assert step["dependents"]["notes"] and step["relations"]
    session = {}
    undo_record(session=session, tab="t1", sentence=sentence, step=step, label="delete entity")
    session = json.loads(json.dumps(session))
    entry = undo_entry(session=session, tab="t1", sentence=sentence, direction="undo")
    assert entry["step"] == json.loads(json.dumps(step)) and entry["label"] == "delete entity"
    kept = session[SESSION_KEY][f"t1/{sentence.pk}"]["undo"][0]["step"]
    assert len(json.dumps(kept)) < len(json.dumps(step)) / 2
