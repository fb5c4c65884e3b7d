"""Normalizations (brat ``N``) as part of an entity, added and deleted through the API with the
annotation view's services; brat events read-only. Data: brat's own news tutorial."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import AuditEvent, Entity, Event, Normalization, Sentence
from tests.annotation.test_views_annotate_brat import news  # noqa: F401  (fixture)


def _url(sentence, *rest) -> str:
    return "/".join([f"/api/projects/news/sentences/{sentence.pk}", *map(str, rest)]) + "/"


def test_an_entity_carries_its_normalizations(news, users, api_for):
    norm = Normalization.objects.get(document__project=news, reference="64488")
    sentence = norm.entity.sentence
    api = api_for(users["annotator"])
    detail = api.get(_url(sentence)).json()
    entity = next(e for e in detail["entities"] if e["id"] == norm.entity_id)
    assert entity["normalizations"] == [{
        "id": norm.pk, "entity": norm.entity_id, "type": "Reference", "resource": "Wikipedia",
        "reference": "64488", "text": "Carlos Salinas de Gortari", "source": "imported",
        "created_by": None, "created_at": entity["normalizations"][0]["created_at"]}]
    assert api.get(_url(sentence, "entities", norm.entity_id)).json()["normalizations"][0]["id"] == norm.pk
    listed = api.get(_url(sentence, "entities", norm.entity_id, "normalizations")).json()
    assert [n["reference"] for n in listed["results"]] == ["64488"]


def test_the_entity_list_reads_normalizations_in_a_fixed_number_of_queries(news, users, api_for):
    sentence = max(Sentence.objects.filter(project=news), key=lambda s: s.entities.count())
    api = api_for(users["annotator"])
    with CaptureQueriesContext(connection) as queries:
        response = api.get(_url(sentence, "entities"))
    assert response.status_code == 200 and response.json()["count"] > 3
    assert len(queries) <= 8, [q["sql"] for q in queries]


def test_add_and_delete_a_normalization_through_the_api(news, users, api_for):
    api = api_for(users["annotator"])
    entity = Entity.objects.get(document__project=news, document__name="000-introduction",
                                type__name="Organization", start=418)
    sentence = entity.sentence
    response = api.post(_url(sentence, "entities", entity.pk, "normalizations"),
                        {"resource": " UMLS ", "reference": "C0000001", "text": "Citibank  N.A.",
                         "expected_version": sentence.version}, format="json")
    assert response.status_code == 201, response.json()
    created = Normalization.objects.get(pk=response.json()["id"])
    assert (created.entity, created.resource, created.text, created.source, created.created_by) == (
        entity, "UMLS", "Citibank N.A.", "human", users["annotator"])
    assert AuditEvent.objects.filter(object_type="normalization", action="created", object_id=created.pk,
                                     user=users["annotator"]).exists()
    sentence.refresh_from_db()
    assert response.json()["resource"] == "UMLS"

    stale = api.delete(_url(sentence, "entities", entity.pk, "normalizations", created.pk)
                       + f"?expected_version={sentence.version - 1}")
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    deleted = api.delete(_url(sentence, "entities", entity.pk, "normalizations", created.pk)
                         + f"?expected_version={sentence.version}")
    assert deleted.status_code == 204
    assert not Normalization.objects.filter(pk=created.pk).exists()
    assert AuditEvent.objects.filter(object_type="normalization", action="deleted", object_id=created.pk).exists()


@pytest.mark.parametrize("body, field", [
    ({"resource": "UM LS", "reference": "C1"}, "non_field_errors"),
    ({"resource": "UMLS:x", "reference": "C1"}, "non_field_errors"),
    ({"resource": "UMLS", "reference": "C 1"}, "non_field_errors"),
    ({"resource": "", "reference": "C1"}, "resource"),
    ({"resource": "U\x00MLS", "reference": "C1"}, "resource"),
    ({"resource": "UMLS", "reference": ["C1"]}, "reference"),
    ({"resource": "UMLS", "reference": "C1", "text": "x" * 501}, "text"),
    ({"resource": "UMLS"}, "reference"),
])
def test_a_bad_normalization_is_a_400_and_changes_nothing(news, users, api_for, body, field):
    entity = Entity.objects.filter(document__project=news, normalizations__isnull=True).first()
    sentence = entity.sentence
    response = api_for(users["annotator"]).post(
        _url(sentence, "entities", entity.pk, "normalizations"),
        {**body, "expected_version": sentence.version}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not entity.normalizations.exists()
    assert Sentence.objects.get(pk=sentence.pk).version == sentence.version


def test_the_same_reference_twice_is_a_400(news, users, api_for):
    norm = Normalization.objects.get(document__project=news, reference="64488")
    sentence = norm.entity.sentence
    response = api_for(users["annotator"]).post(
        _url(sentence, "entities", norm.entity_id, "normalizations"),
        {"resource": "Wikipedia", "reference": "64488", "expected_version": sentence.version}, format="json")
    assert response.status_code == 400 and "already refers" in str(response.json())


def test_normalizations_are_looked_up_inside_the_entity_and_sentence(news, users, api_for):
    norm = Normalization.objects.get(document__project=news, reference="64488")
    sentence = norm.entity.sentence
    other = Entity.objects.filter(sentence=sentence).exclude(pk=norm.entity_id).first()
    api = api_for(users["annotator"])
    assert api.get(_url(sentence, "entities", other.pk, "normalizations", norm.pk)).status_code == 404
    elsewhere = Sentence.objects.filter(project=news).exclude(pk=sentence.pk).first()
    assert api.get(_url(elsewhere, "entities", norm.entity_id, "normalizations")).status_code == 404
    assert api.delete(_url(sentence, "entities", other.pk, "normalizations", norm.pk)
                      + f"?expected_version={sentence.version}").status_code == 404
    assert api_for(users["outsider"]).get(
        _url(sentence, "entities", norm.entity_id, "normalizations")).status_code == 404
    assert Normalization.objects.filter(pk=norm.pk).exists()


def test_events_are_listed_read_only_with_their_arguments(news, users, api_for):
    event = Event.objects.get(document__project=news, document__name="000-introduction")
    sentence = event.trigger.sentence
    api = api_for(users["annotator"])
    listed = api.get(_url(sentence, "events")).json()["results"]
    assert [e["id"] for e in listed] == [event.pk]
    one = api.get(_url(sentence, "events", event.pk)).json()
    assert (one["type"], one["trigger"]) == ("Transfer-money", event.trigger_id)
    assert [(a["role"], a["entity"], a["event"]) for a in one["arguments"]] == [
        (a.role, a.entity_id, a.argument_event_id) for a in event.arguments.all()]
    assert any(a["role"] == "Giver-Arg" for a in one["arguments"])
    assert api.get(_url(sentence)).json()["events"] == listed
    assert api.post(_url(sentence, "events"), {}, format="json").status_code == 405
    assert api.delete(_url(sentence, "events", event.pk)).status_code == 405
    elsewhere = Sentence.objects.filter(project=news).exclude(pk=sentence.pk).first()
    assert api.get(_url(elsewhere, "events", event.pk)).status_code == 404
