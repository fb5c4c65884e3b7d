"""Annotation layers (independent mode) over HTTP and through the services: each annotator
edits and sees only their own layer, with their own status and lock version; curators edit
the curated layer; assignments decide what "Annotate next" serves."""
import json

import pytest
from django.urls import reverse

from annotation.models import (
    AnnotationMode,
    Assignment,
    AuditEvent,
    Entity,
    EntityType,
    Sentence,
    SentenceLayer,
    SentenceScore,
    SentenceStatus,
)
from annotation.selectors.annotations import sentence_annotations
from annotation.selectors.layers import (
    layer_annotators,
    layer_for,
    sentence_in_layer,
    sentences_for_annotator,
)
from annotation.selectors.training import training_examples
from annotation.services.layers import assignment_auto, assignment_create, project_mode_update
from annotation.services.projects import membership_set
from tests.annotation.ml_fixtures import make_version
from tests.annotation.test_views_annotate import HX, create, url
from tests.annotation.test_views_queue import seeded
from tests.browser.scenario import make_document, span


@pytest.fixture
def independent(project, users, make_user):
    """``project`` in independent mode with a second annotator, ``bob``; one document assigned
    to both annotators, one to nobody."""
    bob = make_user("bob")
    membership_set(project=project, user=bob, role="annotator")
    project_mode_update(project=project, mode=AnnotationMode.INDEPENDENT)
    document = make_document(project)
    make_document(project, name="NCT00000002_inc")
    for user in (users["annotator"], bob):
        assignment_create(project=project, document=document, annotator=user)
    return {"project": project, "alice": users["annotator"], "bob": bob,
            "sentence": Sentence.objects.get(document=document, index=2)}


@pytest.fixture
def condition(project):
    return EntityType.objects.get(project=project, name="Condition")


def shown_entities(client, sentence) -> list[str]:
    html = client.get(url(sentence)).content.decode()
    return [line.split('data-text="')[1].split('"')[0]
            for line in html.splitlines() if "<li data-entity-id=" in line]


def test_two_annotators_annotate_the_same_sentence_without_seeing_each_other(
        independent, client_for, users, condition):
    sentence = independent["sentence"]
    alice, bob = client_for(independent["alice"]), client_for(independent["bob"])
    assert create(alice, sentence, condition, "heart failure", 1).status_code == 200
    # bob's layer is still at version 1: alice's write did not move it (no 409)
    assert create(bob, sentence, condition, "severe renal impairment", 1).status_code == 200
    assert shown_entities(alice, sentence) == ["heart failure"]
    assert shown_entities(bob, sentence) == ["severe renal impairment"]
    # the curated layer (what a reviewer edits, what trains) holds neither
    assert shown_entities(client_for(users["reviewer"]), sentence) == []
    assert not Entity.objects.filter(sentence=sentence, annotator__isnull=True).exists()
    sentence.refresh_from_db()
    assert (sentence.version, sentence.status) == (1, SentenceStatus.NEW)
    layers = dict(SentenceLayer.objects.filter(sentence=sentence).values_list("annotator__username", "version"))
    assert layers == {"annotator": 2, "bob": 2}
    # each entity is in its annotator's layer, and so is its audit event
    assert set(Entity.objects.filter(sentence=sentence).values_list("annotator__username", flat=True)) == {
        "annotator", "bob"}
    event = AuditEvent.objects.filter(object_type="entity").latest("pk")
    assert event.payload["annotator"] == independent["bob"].pk


def test_a_stale_version_in_ones_own_layer_is_409_and_changes_nothing(independent, client_for, condition):
    sentence = independent["sentence"]
    alice = client_for(independent["alice"])
    assert create(alice, sentence, condition, "heart failure", 1).status_code == 200
    response = create(alice, sentence, condition, "severe renal impairment", 1)
    assert response.status_code == 409
    assert 'data-version="2"' in response.content.decode()
    assert Entity.objects.filter(sentence=sentence).count() == 1


def test_one_cannot_reach_another_annotators_entity(independent, client_for, condition):
    sentence = independent["sentence"]
    alice, bob = client_for(independent["alice"]), client_for(independent["bob"])
    create(alice, sentence, condition, "heart failure", 1)
    entity = Entity.objects.get(sentence=sentence)
    response = bob.post(url(sentence, "entity-delete"), {"entity": entity.pk, "version": 1}, **HX)
    assert response.status_code == 422
    assert Entity.objects.filter(pk=entity.pk).exists()


def test_done_and_undo_act_on_ones_own_layer(independent, client_for, condition):
    sentence = independent["sentence"]
    alice = client_for(independent["alice"])
    create(alice, sentence, condition, "heart failure", 1)
    assert alice.post(url(sentence, "undo"), {"version": 2}, **HX).status_code == 200
    assert not Entity.objects.filter(sentence=sentence).exists()
    create(alice, sentence, condition, "heart failure", 3)
    assert alice.post(url(sentence, "status"), {"status": "done", "version": 4}, **HX).status_code == 200
    layer = SentenceLayer.objects.get(sentence=sentence, annotator=independent["alice"])
    assert (layer.status, layer.version) == (SentenceStatus.DONE, 5)
    sentence.refresh_from_db()
    assert sentence.status == SentenceStatus.NEW  # the curated layer is untouched


def test_annotate_next_serves_own_assigned_unfinished_criteria(independent, client_for, make_user,
                                                                project):
    alice = client_for(independent["alice"])
    queue = reverse("project_queue", args=["trial"])
    order = seeded(Sentence.objects.filter(document=independent["sentence"].document))
    first = order[0]
    assert alice.get(queue)["Location"] == url(first)
    SentenceLayer.objects.create(sentence=first, annotator=independent["alice"], status="done")
    assert alice.get(queue)["Location"] == url(order[1])
    # the filter the ranking-ordered Next can call: only her assigned document, unfinished
    mine = sentences_for_annotator(project=project, user=independent["alice"])
    assert set(mine.values_list("document__name", flat=True)) == {"NCT00000001_inc"}
    assert first not in mine
    # opening a document: her first unfinished criterion there (document order); one not
    # assigned to her, none
    second = Sentence.objects.filter(document=first.document).exclude(pk=first.pk).order_by(
        "index").first()
    assert alice.get(reverse("document_open", args=["trial", first.document_id]))["Location"] == url(second)
    other = project.documents.get(name="NCT00000002_inc")
    assert alice.get(reverse("document_open", args=["trial", other.pk]))["Location"] == reverse(
        "document_list", args=["trial"])
    # an annotator with no assignment gets nothing to annotate
    carol = make_user("carol")
    membership_set(project=project, user=carol, role="annotator")
    assert client_for(carol).get(queue)["Location"] == reverse("project_dashboard", args=["trial"])


def test_next_serves_every_assigned_annotator_the_first_ranked_criterion(independent, client_for,
                                                                         project):
    """Own layers take no claims: two annotators assigned the same document are both served its
    first-ranked criterion; the unassigned document, though ranked above it, never."""
    assigned = independent["sentence"].document
    version = make_version(project)
    ordered = list(Sentence.objects.filter(project=project).order_by("-document_id", "-index"))
    SentenceScore.objects.bulk_create(
        SentenceScore(project=project, sentence=s, model_version=version, score=1 - i / 100,
                      scores={"combined": 1 - i / 100}) for i, s in enumerate(ordered))
    top = next(s for s in ordered if s.document_id == assigned.pk)
    assert ordered[0].document_id != assigned.pk  # the unassigned document ranks above it
    alice, bob = client_for(independent["alice"]), client_for(independent["bob"])
    queue = reverse("project_queue", args=["trial"])
    assert alice.get(queue)["Location"] == url(top)
    assert bob.get(queue)["Location"] == url(top)
    assert alice.get(url(top)).status_code == 200 and bob.get(url(top)).status_code == 200
    served = set()
    location = alice.get(queue)["Location"]
    while location != reverse("project_dashboard", args=["trial"]):
        sentence = Sentence.objects.get(pk=int(location.rstrip("/").split("/")[-1]))
        assert sentence.document_id == assigned.pk and sentence.pk not in served
        served.add(sentence.pk)
        response = alice.post(reverse("sentence_action", args=["trial", sentence.pk, "status"]),
                              {"status": "done", "advance": "on", "version": 1}, **HX)
        assert response.status_code == 200
        location = response["HX-Redirect"]
    assert served == set(assigned.sentences.values_list("pk", flat=True))
    assert bob.get(queue)["Location"] == url(top)  # her layer's status is not his
    assert set(SentenceScore.objects.values_list("is_open", flat=True)) == {True}


def test_curators_edit_the_curated_layer_that_trains(independent, client_for, users, condition, project):
    sentence = independent["sentence"]
    create(client_for(independent["alice"]), sentence, condition, "heart failure", 1)
    reviewer = client_for(users["reviewer"])
    assert create(reviewer, sentence, condition, "renal impairment", 1).status_code == 200
    reviewer.post(url(sentence, "status"), {"status": "reviewed", "version": 2}, **HX)
    examples = [e for e in training_examples(project) if e.spans]
    assert [sentence.text[s.start:s.end] for e in examples for s in e.spans] == ["renal impairment"]
    assert layer_for(project=project, user=users["reviewer"], role="reviewer") is None
    assert layer_for(project=project, user=independent["alice"], role="annotator") == independent["alice"].pk
    assert list(layer_annotators(project=project).values_list("username", flat=True)) == ["annotator", "bob"]


def test_shared_mode_is_unchanged(project, users, client_for, condition):
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=2)
    assert create(client_for(users["annotator"]), sentence, condition, "heart failure", 1).status_code == 200
    assert Entity.objects.get(sentence=sentence).annotator_id is None
    sentence.refresh_from_db()
    assert sentence.version == 2 and not SentenceLayer.objects.exists()


def test_assignment_auto_is_balanced_and_keeps_what_exists(project, users, make_user):
    annotators = [users["annotator"], make_user("bob"), make_user("carol")]
    for user in annotators[1:]:
        membership_set(project=project, user=user, role="annotator")
    documents = [make_document(project, name=f"NCT0000000{i}_inc") for i in range(4)]
    assignment_create(project=project, document=documents[0], annotator=annotators[2])
    assert assignment_auto(project=project, annotators=annotators, k=2) == 7
    per_document = {d.pk: Assignment.objects.filter(document=d).count() for d in documents}
    assert set(per_document.values()) == {2}
    loads = sorted(Assignment.objects.filter(annotator=u).count() for u in annotators)
    assert loads == [2, 3, 3]
    assert assignment_auto(project=project, annotators=annotators, k=2) == 0


def test_assignment_auto_refuses_bad_input(project, users, make_user):
    from django.core.exceptions import ValidationError

    make_document(project)
    with pytest.raises(ValidationError, match="at least 3 annotators"):
        assignment_auto(project=project, annotators=[users["annotator"]], k=3)
    with pytest.raises(ValidationError, match="not a member"):
        assignment_auto(project=project, annotators=[make_user("stranger")], k=1)
    assert not Assignment.objects.exists()


def test_assignments_page(project, users, client_for, make_user):
    make_document(project)
    page = reverse("assignments", args=["trial"])
    assert client_for(users["reviewer"]).get(page).status_code == 403
    manager = client_for(users["manager"])
    assert manager.get(page).status_code == 200
    response = manager.post(page, {"action": "mode", "annotation_mode": "independent",
                                   "annotators_per_document": 1})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.annotation_mode == "independent" and project.annotators_per_document == 1
    response = manager.post(page, {"action": "auto", "annotators": ["annotator"], "k": 1})
    assert response.status_code == 302
    assert list(Assignment.objects.values_list("annotator__username", flat=True)) == ["annotator"]
    body = manager.get(page).content.decode()
    assert 'data-annotator="annotator"' in body and "1 assignments made." in body
    # bad input: a 400 naming the problem, nothing changed
    response = manager.post(page, {"action": "auto", "annotators": ["annotator"], "k": 2})
    assert response.status_code == 400 and "at least 2 annotators" in response.content.decode()
    document = project.documents.get()
    response = manager.post(page, {"action": "assign", "document": document.pk, "annotator": "annotator"})
    assert response.status_code == 400 and "already assigned" in response.content.decode()
    response = manager.post(page, {"action": "assign", "document": document.pk,
                                   "annotator": "annotator", "remove": "1"})
    assert response.status_code == 302 and not Assignment.objects.exists()
    assert Assignment.objects.count() == 0


def test_export_writes_one_annotators_layer(independent, client_for, users, condition):
    sentence = independent["sentence"]
    create(client_for(independent["alice"]), sentence, condition, "heart failure", 1)
    api = client_for(users["manager"])
    base = "/api/projects/trial/export/jsonl/"
    curated = b"".join(api.get(base).streaming_content).decode()
    mine = b"".join(api.get(base + "?layer=annotator").streaming_content).decode()
    fragment = json.dumps(span(sentence, "heart failure"))[1:-1].replace(" ", "")
    assert fragment not in curated.replace(" ", "") and fragment in mine.replace(" ", "")
    response = api.get(base + "?layer=nobody")
    assert response.status_code == 400 and "nobody has no layer" in response.content.decode()
    page = api.post(reverse("corpus_export", args=["trial"]), {"format": "jsonl", "layer": "annotator"})
    assert page.status_code == 200 and page["Content-Disposition"].count("trial-annotator-jsonl")


def test_the_api_sets_the_mode_and_assigns(project, users, make_user):
    from rest_framework.test import APIClient

    make_document(project)
    document = project.documents.get()
    bob = make_user("bob")
    membership_set(project=project, user=bob, role="annotator")
    api = APIClient()
    api.force_authenticate(users["manager"])
    base = f"/api/projects/{project.name}"
    response = api.put(f"{base}/annotation-mode/", {"annotation_mode": "independent",
                                                     "annotators_per_document": 2}, format="json")
    assert response.json() == {"annotation_mode": "independent", "annotators_per_document": 2}
    response = api.put(f"{base}/annotation-mode/", {"annotation_mode": "solo"}, format="json")
    assert response.status_code == 400 and "annotation_mode" in response.json()["error"]["details"]
    assert api.post(f"{base}/assignments/auto/", {}, format="json").json() == {"created": 2}
    listed = api.get(f"{base}/assignments/").json()["results"]
    assert [(a["document_name"], a["annotator"]) for a in listed] == [
        ("NCT00000001_inc", "annotator"), ("NCT00000001_inc", "bob")]
    assert api.delete(f"{base}/assignments/{document.pk}/bob/").status_code == 204
    response = api.delete(f"{base}/assignments/{document.pk}/bob/")
    assert response.status_code == 400 and "is not assigned to bob" in str(response.json()["error"])
    response = api.post(f"{base}/assignments/", {"document": document.pk, "annotator": "annotator"},
                        format="json")
    assert response.status_code == 400 and "already assigned" in str(response.json()["error"])
    response = api.post(f"{base}/assignments/", {"document": document.pk, "annotator": "bob"},
                        format="json")
    assert response.status_code == 201 and response.json()["assigned_by"] == "manager"


def test_the_api_reads_and_writes_the_annotators_own_layer(independent, condition):
    from rest_framework.test import APIClient

    sentence = independent["sentence"]
    base = f"/api/projects/trial/sentences/{sentence.pk}/"
    alice, bob = APIClient(), APIClient()
    alice.force_authenticate(independent["alice"])
    bob.force_authenticate(independent["bob"])
    body = {"type": condition.pk, "fragments": [span(sentence, "heart failure")], "expected_version": 1}
    assert alice.post(base + "entities/", body, format="json").status_code == 201
    assert alice.get(base).json()["version"] == 2
    assert bob.get(base).json()["entities"] == [] and bob.get(base).json()["version"] == 1
    response = alice.post(base + "entities/", {**body, "fragments": [span(sentence, "renal")]},
                          format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["current_version"] == 2
    response = alice.post(base + "status/", {"status": "done", "expected_version": 2}, format="json")
    assert response.json()["status"] == "done" and response.json()["version"] == 3
    assert bob.get(base).json()["status"] == "new"


def test_each_layer_reads_only_its_own_notes(independent, client_for, users, condition):
    """The one query that reads a sentence's annotations (``sentence_annotations``) reads its
    layer only: entities, relations and what hangs on them."""
    sentence = independent["sentence"]
    for name, words in (("alice", "heart failure"), ("bob", "severe renal impairment")):
        client = client_for(independent[name])
        assert create(client, sentence, condition, words, 1).status_code == 200
        entity = Entity.objects.get(sentence=sentence, annotator=independent[name])
        response = client.post(url(sentence, "note-create"), {
            "entity": entity.pk, "text": f"{name}'s note", "version": 2}, **HX)
        assert response.status_code == 200
    for name in ("alice", "bob"):
        seen = sentence_annotations(sentence=sentence_in_layer(
            sentence=Sentence.objects.get(pk=sentence.pk), layer=independent[name].pk))
        assert [n.text for n in seen.notes] == [f"{name}'s note"]
        assert [n.annotator_id for n in seen.notes] == [independent[name].pk]
        assert {e.annotator_id for e in seen.entities} == {independent[name].pk}
        page = client_for(independent[name]).get(url(sentence)).content.decode()
        other = "bob" if name == "alice" else "alice"
        assert f"{name}&#x27;s note" in page and f"{other}&#x27;s note" not in page
    curated = sentence_annotations(sentence=sentence_in_layer(
        sentence=Sentence.objects.get(pk=sentence.pk), layer=None))
    assert (curated.entities, curated.notes) == ([], [])
