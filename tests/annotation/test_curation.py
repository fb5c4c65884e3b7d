"""Curation over HTTP: a reviewer resolves the fixture's disagreements, and the curated layer
(rows without annotator) is what the training snapshot and the export see."""
import json

import pytest
from django.contrib.auth import get_user_model

from annotation.models import (
    AuditAction, AuditEvent, Entity, Relation, Sentence, SentenceLayer, SentenceStatus,
)
from annotation.selectors.training import training_examples
from annotation.services.corpus_io import corpus_export
from mlcore.corpus.model import Span
from tests.annotation.agreement_fixtures import agreement_project  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _sentence(project, index) -> Sentence:
    return Sentence.objects.get(project=project, index=index)


def _curated(sentence) -> set:
    return {(e.type.name, sentence.document.text[e.start:e.end])
            for e in Entity.objects.filter(sentence=sentence, annotator__isnull=True)}


def _post(client, sentence, **values):
    return client.post(f"/projects/iaa/curate/sentences/{sentence.pk}/do/", values)


def _bob_entity(sentence, type_name) -> Entity:
    return Entity.objects.get(sentence=sentence, annotator__username="bob", type__name=type_name)


@pytest.fixture
def curator(users, client_for):
    return client_for(users["reviewer"])


def test_page_shows_both_versions_marked_and_merges_agreed_on_opening(agreement_project, curator):
    sentence = _sentence(agreement_project, 1)
    html = curator.get(f"/projects/iaa/curate/sentences/{sentence.pk}/").content.decode()
    alice, bob = html.split('data-annotator="alice"', 1)[1].split('<section class="ml-card" data-annotator="bob"')
    assert 'data-mark="agreed" data-target' in alice and 'data-entity="Drug:metformin"' in alice
    assert 'data-mark="differs"' in bob and 'data-entity="Temporal:prior"' in bob
    assert "data-auto-merge" in html and "Merge agreed (3)" in html


def test_a_curator_resolves_the_disagreement_and_training_and_export_see_it(
        agreement_project, curator, tmp_path):
    sentence = _sentence(agreement_project, 1)
    assert _post(curator, sentence, action="merge-agreed", version=1).status_code == 200
    assert _curated(sentence) == {("Drug", "insulin"), ("Drug", "metformin")}
    assert Relation.objects.filter(sentence=sentence, annotator__isnull=True).count() == 1
    procedure = _bob_entity(sentence, "Procedure")
    response = _post(curator, sentence, action="take-entity", annotator="bob", target=procedure.pk,
                     version=2)
    assert response.status_code == 200
    assert 'data-mark="taken"' in response.content.decode()
    assert _post(curator, sentence, action="finish", version=3).status_code == 200
    sentence.refresh_from_db()
    assert sentence.status == SentenceStatus.REVIEWED
    assert _curated(sentence) == {("Drug", "insulin"), ("Drug", "metformin"),
                                  ("Procedure", "metformin therapy")}
    # training: the curated criterion only, flattened (the Procedure holds metformin)
    [example] = training_examples(agreement_project)
    assert example.text.startswith("No prior insulin")
    assert example.spans == [Span(9, 16, "Drug"), Span(20, 37, "Procedure")]
    corpus_export(project=agreement_project, out=tmp_path / "out.jsonl", fmt="jsonl")
    _header, record = (json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines())
    assert sorted(e["type"] for e in record["entities"]) == ["Drug", "Drug", "Procedure"]
    # the annotators' layers are untouched
    assert Entity.objects.filter(sentence=sentence, annotator__username="bob").count() == 4


def test_take_a_whole_version_replaces_the_curated_criterion_with_its_relations(
        agreement_project, curator):
    sentence = _sentence(agreement_project, 0)
    assert _post(curator, sentence, action="take-all", annotator="bob", version=1).status_code == 200
    assert _curated(sentence) == {("Person", "Adults"), ("Condition", "diabetes"), ("Value", "2")}
    assert _post(curator, sentence, action="take-all", annotator="alice", version=2).status_code == 200
    assert _curated(sentence) == {("Person", "Adults"), ("Condition", "type 2 diabetes"),
                                  ("Value", "2")}
    [relation] = Relation.objects.filter(sentence=sentence, annotator__isnull=True)
    assert (relation.type.name, relation.head.end - relation.head.start) == ("Has_value", 15)
    deleted = AuditEvent.objects.filter(project=agreement_project, action=AuditAction.DELETED)
    assert sorted(deleted.values_list("object_type", flat=True)) == [
        "entity", "entity", "entity", "relation"]  # bob's version, replaced


def test_taking_an_entity_brings_its_relations_when_both_ends_are_curated(agreement_project, curator):
    sentence = _sentence(agreement_project, 1)
    insulin, metformin = (Entity.objects.get(sentence=sentence, annotator__username="alice",
                                             type__name="Drug", start=sentence.document.text.index(word))
                          for word in ("insulin", "metformin"))
    _post(curator, sentence, action="take-entity", annotator="alice", target=insulin.pk, version=1)
    assert not Relation.objects.filter(sentence=sentence, annotator__isnull=True).exists()
    _post(curator, sentence, action="take-entity", annotator="alice", target=metformin.pk, version=2)
    assert Relation.objects.filter(sentence=sentence, annotator__isnull=True).count() == 1


def test_bad_and_stale_actions_change_nothing(agreement_project, curator, users, client_for):
    sentence = _sentence(agreement_project, 1)
    procedure = _bob_entity(sentence, "Procedure")
    cases = [({"action": "take-entity", "annotator": "bob", "target": 999999, "version": 1}, 422),
             ({"action": "take-entity", "annotator": "reviewer", "target": procedure.pk,
               "version": 1}, 422),
             ({"action": "take-entity", "annotator": "bob", "version": 1}, 422),
             ({"action": "explode", "version": 1}, 422),
             ({"action": "take-all", "annotator": "bob", "version": 7}, 409)]
    for values, status in cases:
        assert _post(curator, sentence, **values).status_code == status, values
    assert _curated(sentence) == set()
    assert _post(client_for(users["annotator"]), sentence, action="take-all", annotator="bob",
                 version=1).status_code == 403


def test_dashboard_progress_and_next(agreement_project, curator):
    html = curator.get("/projects/iaa/").content.decode()
    assert 'data-curation="annotating">2<' in html
    for user in get_user_model().objects.filter(username__in=["alice", "bob"]):
        SentenceLayer.objects.create(sentence=_sentence(agreement_project, 1), annotator=user,
                                     status=SentenceStatus.DONE)
    html = curator.get("/projects/iaa/").content.decode()
    assert 'data-curation="ready">1<' in html
    response = curator.get("/projects/iaa/curate/")
    assert response.url == f"/projects/iaa/curate/sentences/{_sentence(agreement_project, 1).pk}/"


def test_the_take_service_refuses_a_non_curator_and_an_annotators_layer(agreement_project, users):
    from django.core.exceptions import PermissionDenied, ValidationError

    from annotation.selectors.layers import sentence_in_layer
    from annotation.services.curation import curation_take

    sentence = _sentence(agreement_project, 1)
    bob = _bob_entity(sentence, "Procedure").annotator
    with pytest.raises(PermissionDenied, match="Curating needs the reviewer role"):
        curation_take(sentence=sentence, user=users["annotator"], annotator=bob, expected_version=1)
    in_layer = sentence_in_layer(sentence=sentence, layer=bob.pk)
    with pytest.raises(ValidationError, match="curated layer only"):
        curation_take(sentence=in_layer, user=users["reviewer"], annotator=bob, expected_version=1)
    assert _curated(sentence) == set()
