"""Rows as JSON-able dicts and back, ids and timestamps unchanged."""
import json

from annotation.models import Entity, EntityType, Sentence
from annotation.rows import instance_of, row_of, rows_insert
from annotation.services import annotations as svc
from tests.browser.scenario import make_document, span


def test_row_round_trip_restores_a_deleted_row_exactly(project, users):
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=1)
    entity = svc.entity_create(sentence=sentence, user=users["annotator"],
                               type=EntityType.objects.get(name="Drug"),
                               fragments=[span(sentence, "metformin")], expected_version=1)
    row = json.loads(json.dumps(row_of(Entity.objects.get(pk=entity.pk))))
    assert row["id"] == entity.pk and row["type_id"] == entity.type_id
    assert isinstance(row["created_at"], str)
    copy = instance_of(Entity, row)
    assert (copy.pk, copy.fragments, copy.created_at) == (entity.pk, entity.fragments,
                                                          entity.created_at)
    Entity.objects.filter(pk=entity.pk).delete()
    rows_insert(Entity, [row])
    assert row_of(Entity.objects.get(pk=entity.pk)) == row
    rows_insert(Entity, [])
    assert Entity.objects.count() == 1
