"""The annotation view with brat data: normalizations shown, added, deleted and undone by
htmx POSTs (audited like every edit), events shown read-only."""
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from annotation.models import AuditEvent, Entity, Normalization, Project
from annotation.services.projects import membership_set
from tests.annotation.test_services_corpus_io_brat import REAL

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def news(db, users):
    call_command("import_corpus", "--project", "news", "--format", "brat",
                 str(REAL / "brat-tutorial-news"), stdout=io.StringIO())
    project = Project.objects.get(name="news")
    membership_set(project=project, user=users["annotator"], role="annotator")
    return project


def _sentence_of(entity):
    return entity.sentence


def _post(client, sentence, action, **values):
    return client.post(reverse("sentence_action", args=["news", sentence.pk, action]),
                       {**values, "version": sentence.version}, **HX)


def test_imported_normalization_and_events_are_shown(news, users, client_for):
    norm = Normalization.objects.get(document__project=news, reference="64488")
    sentence = norm.entity.sentence
    html = client_for(users["annotator"]).get(reverse("sentence_annotate", args=["news", sentence.pk])) \
        .content.decode()
    assert "Wikipedia:64488" in html and "Carlos Salinas de Gortari" in html
    event_sentence = news.documents.get(name="000-introduction").events.get().trigger.sentence
    html = client_for(users["annotator"]).get(
        reverse("sentence_annotate", args=["news", event_sentence.pk])).content.decode()
    assert 'id="event-list"' in html and "Transfer-money" in html and "Giver-Arg:" in html


def test_add_delete_and_undo_a_normalization(news, users, client_for):
    client = client_for(users["annotator"])
    entity = Entity.objects.get(document__project=news, document__name="000-introduction",
                                type__name="Organization", start=418)
    sentence = entity.sentence
    response = _post(client, sentence, "normalization-create", entity=entity.pk, resource="UMLS",
                     reference="C0000001", text="Citibank  N.A.")
    assert response.status_code == 200 and "UMLS:C0000001" in response.content.decode()
    created = Normalization.objects.get(entity=entity)
    assert (created.text, created.source, created.created_by) == ("Citibank N.A.", "human", users["annotator"])
    assert AuditEvent.objects.filter(object_type="normalization", action="created", object_id=created.pk).exists()
    sentence.refresh_from_db()
    response = client.post(reverse("sentence_undo", args=["news", sentence.pk]),
                           {"version": sentence.version}, **HX)
    assert response.status_code == 200 and not Normalization.objects.filter(entity=entity).exists()

    norm = Normalization.objects.get(reference="64488")
    sentence = norm.entity.sentence
    response = _post(client, sentence, "normalization-delete", normalization=norm.pk)
    assert response.status_code == 200 and "Wikipedia:64488" not in response.content.decode()
    assert not Normalization.objects.filter(pk=norm.pk).exists()
    assert AuditEvent.objects.filter(object_type="normalization", action="deleted", object_id=norm.pk).exists()
    sentence.refresh_from_db()
    client.post(reverse("sentence_undo", args=["news", sentence.pk]), {"version": sentence.version}, **HX)
    restored = Normalization.objects.get(pk=norm.pk)
    assert (restored.resource, restored.text) == ("Wikipedia", "Carlos Salinas de Gortari")


@pytest.mark.parametrize("resource,reference", [("UM LS", "C1"), ("UMLS:x", "C1"), ("UMLS", "C 1")])
def test_a_normalization_brat_could_not_carry_is_refused(news, users, client_for, resource, reference):
    entity = Entity.objects.filter(document__project=news).first()
    sentence = entity.sentence
    response = _post(client_for(users["annotator"]), sentence, "normalization-create", entity=entity.pk,
                     resource=resource, reference=reference)
    assert response.status_code == 422
    sentence.refresh_from_db()
    assert not Normalization.objects.filter(entity=entity, source="human").exists()


def test_a_trigger_cannot_be_deleted_from_the_view(news, users, client_for):
    trigger = news.documents.get(name="000-introduction").events.get().trigger
    response = _post(client_for(users["annotator"]), trigger.sentence, "entity-delete", entity=trigger.pk)
    assert response.status_code == 422 and "read-only" in response.content.decode()
    assert Entity.objects.filter(pk=trigger.pk).exists()
