"""Deleting entities with what hangs on them, and putting it all back."""
import pytest
from django.core.exceptions import ValidationError

from annotation.models import (
    Attribute, Entity, EntityType, Event, Note, Relation, RelationType, Sentence,
)
from annotation.rows import row_of, rows_insert
from annotation.services import annotations as svc
from annotation.services.dependents import annotations_delete, dependents_restore
from tests.annotation.ml_fixtures import make_version, suggest
from tests.browser.scenario import make_document, span


@pytest.fixture
def sentences(project):
    make_document(project)
    return list(Sentence.objects.filter(project=project).order_by("index"))


def _entity(sentence, user, type_name, words):
    sentence.refresh_from_db()
    return svc.entity_create(sentence=sentence, user=user, type=EntityType.objects.get(name=type_name),
                             fragments=[span(sentence, words)], expected_version=sentence.version)


def test_delete_takes_dependents_and_restore_puts_them_back(project, users, sentences):
    sentence, other = sentences[2], sentences[1]
    heart = _entity(sentence, users["annotator"], "Condition", "heart failure")
    no = _entity(other, users["annotator"], "Negation", "Adults")
    # a relation of another sentence that uses the entity
    cross = Relation.objects.create(document=heart.document, sentence=other,
                                    type=RelationType.objects.get(), head=heart, tail=no)
    Attribute.objects.create(document=heart.document, name="Severity", value="high", entity=heart)
    Note.objects.create(document=heart.document, type="AnnotatorNotes", text="check", entity=heart)
    suggestion = suggest(make_version(project), sentence, "heart failure", "Condition")
    suggestion.entity = heart
    suggestion.save()
    entity_row = row_of(heart)

    dependents = annotations_delete(entities=[heart], relations=[])
    assert not Entity.objects.filter(pk=heart.pk).exists()
    assert not Relation.objects.filter(pk=cross.pk).exists()
    assert (Attribute.objects.count(), Note.objects.count()) == (0, 0)
    suggestion.refresh_from_db()
    assert suggestion.entity_id is None
    assert [r.pk for r in dependents.relations] == [cross.pk]
    assert set(dependents.rows) == {"relations", "attributes", "notes", "entity_suggestions"}

    rows_insert(Entity, [entity_row])
    restored = dependents_restore(rows=dependents.rows)
    assert [r.pk for r in restored] == [cross.pk]
    assert Relation.objects.filter(pk=cross.pk, head=heart, tail=no).exists()
    assert (Attribute.objects.get().entity_id, Note.objects.get().entity_id) == (heart.pk, heart.pk)
    suggestion.refresh_from_db()
    assert suggestion.entity_id == heart.pk


def test_an_entity_with_nothing_attached_deletes_alone(users, sentences):
    entity = _entity(sentences[1], users["annotator"], "Drug", "metformin")
    dependents = annotations_delete(entities=[entity], relations=[])
    assert dependents.rows == {} and dependents.relations == []
    assert not Entity.objects.exists()


def test_an_event_trigger_refuses_the_delete(users, sentences):
    trigger = _entity(sentences[1], users["annotator"], "Drug", "metformin")
    Event.objects.create(document=trigger.document, type="Treatment", trigger=trigger)
    with pytest.raises(ValidationError, match="read-only"):
        annotations_delete(entities=[trigger], relations=[])
    assert Entity.objects.filter(pk=trigger.pk).exists()
