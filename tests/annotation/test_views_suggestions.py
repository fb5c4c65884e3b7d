"""HTTP: model suggestions drawn in the annotation view, decided through its actions (undoable
like any edit), the relation threshold accept, and the display threshold a manager sets."""
import pytest
from django.urls import reverse

from annotation.models import (
    AnnotationMode, Entity, PredictedEntity, PredictedRelation, Project, Relation, Sentence,
    SentenceLayer, SentenceStatus, Source, SuggestionStatus,
)
from annotation.selectors.layers import sentence_in_layer
from annotation.services.layers import assignment_create, project_mode_update
from annotation.services.undo import undo_entry, undo_labels, undo_record
from annotation.services.training import model_version_activate
from tests.annotation.ml_fixtures import make_version, ml_project, suggest, suggest_relation  # noqa: F401

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def negated(ml_project):
    """A new sentence "No history of <condition> ." with three suggestions of the active
    model: the condition (0.9), the negation (0.8) and the relation between them (0.7)."""
    sentence = Sentence.objects.filter(project=ml_project, status=SentenceStatus.NEW,
                                       text__startswith="No").first()
    version = make_version(ml_project)
    condition = suggest(version, sentence, sentence.text.split()[3], "Condition", 0.9)
    negation = suggest(version, sentence, "No", "Negation", 0.8)
    relation = suggest_relation(condition, negation, probability=0.7)
    return sentence, version, condition, negation, relation


def act(client, sentence, action, **values):
    sentence.refresh_from_db()
    return client.post(reverse("sentence_action", args=["trial", sentence.pk, action]),
                       {"version": sentence.version, **values}, **HX)


def undo(client, sentence, direction="undo"):
    sentence.refresh_from_db()
    return client.post(reverse(f"sentence_{direction}", args=["trial", sentence.pk]),
                       {"version": sentence.version}, **HX)


def status(prediction):
    prediction.refresh_from_db()
    return prediction.status


def test_suggestions_are_drawn_in_the_text_with_their_confidence(negated, users, client_for):
    sentence, _, condition, negation, relation = negated
    html = client_for(users["reviewer"]).get(
        reverse("sentence_annotate", args=["trial", sentence.pk])).content.decode()
    assert f'class="chip sugg" data-suggestion="entity-{condition.pk}"' in html
    assert f'data-suggs="entity-{negation.pk}"' in html  # the dashed span over "No"
    assert "confidence 0.90" in html  # on hover (the chip's title)
    assert (f'data-suggestion="relation-{relation.pk}"' in html
            and f'data-head-ref="s{condition.pk}" data-tail-ref="s{negation.pk}"' in html)


def test_accepting_an_entity_suggestion_is_undone_and_redone(negated, users, client_for):
    sentence, _, condition, _, _ = negated
    client = client_for(users["reviewer"])
    response = act(client, sentence, "suggestion-accept", kind="entity", suggestion=condition.pk)
    assert response.status_code == 200
    entity = Entity.objects.get(sentence=sentence)
    assert (entity.source, entity.source_detail) == (Source.MODEL, "model v1")
    assert status(condition) == SuggestionStatus.ACCEPTED and condition.entity_id == entity.pk
    html = response.content.decode()
    assert f'data-suggestion="entity-{condition.pk}"' not in html  # now drawn as an entity
    assert f'data-entity-id="{entity.pk}"' in html

    assert undo(client, sentence).status_code == 200
    assert not Entity.objects.filter(sentence=sentence).exists()
    assert status(condition) == SuggestionStatus.PENDING and condition.entity_id is None
    assert condition.decided_by_id is None
    sentence.refresh_from_db()
    assert sentence.status == SentenceStatus.NEW

    assert undo(client, sentence, "redo").status_code == 200
    assert Entity.objects.get(sentence=sentence).pk == entity.pk
    assert status(condition) == SuggestionStatus.ACCEPTED and condition.entity_id == entity.pk


def test_rejecting_is_undone_back_to_pending(negated, users, client_for):
    sentence, _, condition, _, relation = negated
    client = client_for(users["manager"])
    assert act(client, sentence, "suggestion-reject", kind="entity",
               suggestion=condition.pk).status_code == 200
    # rejecting an entity rejects the pending relation suggestions that use it
    assert status(condition) == status(relation) == SuggestionStatus.REJECTED
    assert undo(client, sentence).status_code == 200
    assert status(condition) == status(relation) == SuggestionStatus.PENDING
    assert not Entity.objects.filter(sentence=sentence).exists()


def test_accepting_a_relation_accepts_its_ends_and_undo_takes_all_back(negated, users, client_for):
    sentence, _, condition, negation, relation = negated
    client = client_for(users["reviewer"])
    assert act(client, sentence, "suggestion-accept", kind="relation",
               suggestion=relation.pk).status_code == 200
    assert Relation.objects.filter(sentence=sentence).count() == 1
    assert {status(condition), status(negation), status(relation)} == {SuggestionStatus.ACCEPTED}
    assert undo(client, sentence).status_code == 200
    assert not Relation.objects.filter(sentence=sentence).exists()
    assert not Entity.objects.filter(sentence=sentence).exists()
    assert {status(condition), status(negation), status(relation)} == {SuggestionStatus.PENDING}


def test_accept_all_shown_takes_relations_at_the_threshold_too(negated, users, client_for):
    sentence, version, condition, negation, relation = negated
    low = suggest_relation(negation, condition, probability=0.2)  # below: hidden, left pending
    Project.objects.filter(pk=sentence.project_id).update(suggestion_threshold=0.5)
    response = act(client_for(users["reviewer"]), sentence, "suggestions-accept-shown")
    assert response.status_code == 200
    assert {status(condition), status(negation), status(relation)} == {SuggestionStatus.ACCEPTED}
    assert status(low) == SuggestionStatus.PENDING
    assert Relation.objects.filter(sentence=sentence).count() == 1


def test_threshold_accept_endpoint_covers_relations(negated, users, client_for):
    """The suggestions partial's "accept at p >= t" now accepts relations at or above t
    (between entities accepted now or before) and leaves the others pending."""
    sentence, _, condition, negation, relation = negated
    weak = suggest_relation(negation, condition, probability=0.6)
    PredictedRelation.objects.filter(pk=weak.pk).update(calibrated_confidence=0.3)
    base = f"/projects/trial/sentences/{sentence.pk}/suggestions/"
    response = client_for(users["reviewer"]).post(
        f"{base}accept-all/", {"version": sentence.version, "threshold": "0.5"}, **HX)
    assert response.status_code == 200
    assert {status(condition), status(negation), status(relation)} == {SuggestionStatus.ACCEPTED}
    assert status(weak) == SuggestionStatus.PENDING  # its calibrated confidence is what counts
    assert Relation.objects.filter(sentence=sentence, source=Source.MODEL).count() == 1


def test_suggestions_below_the_threshold_are_stored_but_not_shown(negated, users, client_for):
    sentence, _, condition, negation, relation = negated
    PredictedEntity.objects.filter(pk=negation.pk).update(calibrated_confidence=0.1)
    Project.objects.filter(pk=sentence.project_id).update(suggestion_threshold=0.5)
    html = client_for(users["reviewer"]).get(
        reverse("sentence_annotate", args=["trial", sentence.pk])).content.decode()
    assert f'data-suggestion="entity-{condition.pk}"' in html
    assert f'data-suggestion="entity-{negation.pk}"' not in html
    # the relation is hidden with its end; both still stored
    assert f'data-suggestion="relation-{relation.pk}"' not in html
    assert 'data-suggestions-hidden="2"' in html
    assert PredictedEntity.objects.filter(pk=negation.pk, status=SuggestionStatus.PENDING).exists()


def test_annotators_cannot_decide_and_bad_decisions_are_refused(negated, users, client_for,
                                                               ml_project):
    sentence, version, condition, _, _ = negated
    annotator = client_for(users["annotator"])
    assert act(annotator, sentence, "suggestion-accept", kind="entity",
               suggestion=condition.pk).status_code == 403
    assert act(annotator, sentence, "suggestions-accept-shown").status_code == 403
    assert status(condition) == SuggestionStatus.PENDING
    reviewer = client_for(users["reviewer"])
    assert act(reviewer, sentence, "suggestion-accept", kind="bogus",
               suggestion=condition.pk).status_code == 422
    old = suggest(make_version(ml_project, number=2, active=False), sentence, "No", "Negation")
    response = act(reviewer, sentence, "suggestion-accept", kind="entity", suggestion=old.pk)
    assert response.status_code == 422 and "No such suggestion" in response.content.decode()
    assert act(reviewer, sentence, "suggestion-reject", kind="entity",
               suggestion=condition.pk).status_code == 200
    response = act(reviewer, sentence, "suggestion-accept", kind="entity", suggestion=condition.pk)
    assert response.status_code == 409 and "already rejected by reviewer" in response.content.decode()
    assert not Entity.objects.filter(sentence=sentence).exists()


def test_managers_set_the_display_threshold(ml_project, users, client_for):
    url = reverse("suggestion_threshold", args=["trial"])
    for role in ("annotator", "reviewer"):
        assert client_for(users[role]).post(url, {"threshold": "0.4"}).status_code == 403
    manager = client_for(users["manager"])
    for bad in ({"threshold": "1.5"}, {"threshold": "x"}, {}):
        response = manager.post(url, bad)
        assert response.status_code == 400 and b"not saved" in response.content
    ml_project.refresh_from_db()
    assert (ml_project.suggestion_threshold, ml_project.suggestion_threshold_auto) == (0.0, True)
    assert manager.post(url, {"threshold": "0.4"}).status_code == 302
    ml_project.refresh_from_db()
    assert (ml_project.suggestion_threshold, ml_project.suggestion_threshold_auto) == (0.4, False)
    page = manager.get(reverse("model_versions", args=["trial"])).content.decode()
    assert 'data-threshold>0.40<' in page and 'name="threshold"' in page
    assert 'name="threshold"' not in client_for(users["annotator"]).get(
        reverse("model_versions", args=["trial"])).content.decode()


def test_the_automatic_threshold_follows_the_active_model(ml_project, users, client_for):
    calibration = {"ner_temperature": 1.7, "re_temperature": 1.2, "display_threshold": 0.35,
                   "ece": {"entity": {"before": 0.2, "after": 0.05, "count": 40},
                           "relation": {"before": 0.3, "after": 0.1, "count": 12}}}
    version = make_version(ml_project, active=False, dev_metrics={"calibration": calibration})
    model_version_activate(version=version)
    ml_project.refresh_from_db()
    assert ml_project.suggestion_threshold == 0.35
    page = client_for(users["reviewer"]).get(reverse("model_versions", args=["trial"])).content.decode()
    assert "data-threshold-auto" in page and 'id="calibration"' in page and "0.050" in page
    manager = client_for(users["manager"])
    manager.post(reverse("suggestion_threshold", args=["trial"]), {"threshold": "0.8"})
    model_version_activate(version=version)  # a manager's choice stays
    ml_project.refresh_from_db()
    assert ml_project.suggestion_threshold == 0.8
    manager.post(reverse("suggestion_threshold", args=["trial"]), {"auto": "on"})
    ml_project.refresh_from_db()
    assert (ml_project.suggestion_threshold, ml_project.suggestion_threshold_auto) == (0.35, True)


def test_the_suggestions_are_read_in_one_query_however_many(negated, users, client_for,
                                                           django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sentence, version, condition, negation, _ = negated
    client = client_for(users["reviewer"])
    page = reverse("sentence_annotate", args=["trial", sentence.pk])
    with CaptureQueriesContext(connection) as few:
        client.get(page, **HX)
    for word in ("history", "of", "."):
        suggest(version, sentence, word, "Drug", 0.5)
    suggest_relation(negation, condition, probability=0.6)
    with django_assert_num_queries(len(few.captured_queries)):
        html = client.get(page, **HX).content.decode()
    assert html.count('class="chip sugg" data-suggestion=') == 5  # drawn in the text


def test_a_refused_relation_accept_writes_nothing_and_shows_nothing_made(negated, users,
                                                                        client_for):
    """'is negated' goes from a Condition to a Negation: the reverse suggestion is refused
    (422) like the same hand-made relation; its ends are not accepted, nor shown as entities."""
    sentence, _, condition, negation, _ = negated
    backwards = suggest_relation(negation, condition, probability=0.9)
    response = act(client_for(users["reviewer"]), sentence, "suggestion-accept", kind="relation",
                   suggestion=backwards.pk)
    assert response.status_code == 422
    html = response.content.decode()
    assert "is negated cannot go from Negation to Condition." in html
    assert 'data-entity-id="' not in html  # the rolled-back ends are not drawn as entities
    assert {status(condition), status(negation), status(backwards)} == {SuggestionStatus.PENDING}
    assert not Entity.objects.filter(sentence=sentence).exists()


def test_in_independent_mode_reviewers_decide_in_the_curated_layer(negated, users, client_for):
    """An accept writes into the layer of who decides: a reviewer's is the curated one; the
    annotator's own layer is untouched, they see the suggestions but cannot decide, and the
    reviewer's undo works on the curated layer."""
    sentence, _, condition, negation, relation = negated
    project = sentence.project
    project_mode_update(project=project, mode=AnnotationMode.INDEPENDENT)
    assignment_create(project=project, document=sentence.document, annotator=users["annotator"])
    annotator = client_for(users["annotator"])
    page = reverse("sentence_annotate", args=["trial", sentence.pk])
    refused = annotator.post(reverse("sentence_action", args=["trial", sentence.pk, "suggestion-accept"]),
                             {"version": 1, "kind": "entity", "suggestion": condition.pk}, **HX)
    assert refused.status_code == 403 and status(condition) == SuggestionStatus.PENDING

    reviewer = client_for(users["reviewer"])
    assert act(reviewer, sentence, "suggestion-accept", kind="entity",
               suggestion=condition.pk).status_code == 200
    # the annotator's layer has none of it, and draws no relation suggestion on what it lacks
    html = annotator.get(page).content.decode()
    assert "data-entity-id=" not in html and f'data-suggestion="relation-{relation.pk}"' not in html
    assert status(condition) == SuggestionStatus.ACCEPTED
    assert f'data-head-ref="e{condition.entity_id}"' in reviewer.get(page).content.decode()
    assert act(reviewer, sentence, "suggestion-accept", kind="relation",
               suggestion=relation.pk).status_code == 200
    assert set(Entity.objects.filter(sentence=sentence).values_list("annotator", flat=True)) == {None}
    assert Relation.objects.get(sentence=sentence).annotator_id is None
    assert not SentenceLayer.objects.filter(sentence=sentence).exists()
    sentence.refresh_from_db()
    assert sentence.version == 3

    assert undo(reviewer, sentence).status_code == 200
    assert Entity.objects.filter(sentence=sentence).count() == 1
    assert not Relation.objects.filter(sentence=sentence).exists()
    assert (status(condition), status(negation), status(relation)) == (
        SuggestionStatus.ACCEPTED, SuggestionStatus.PENDING, SuggestionStatus.PENDING)


def test_undo_stacks_are_per_layer(negated, users):
    """What was done in one layer of a sentence is never undone in another (a user whose role
    changed, or the same versions in two layers)."""
    sentence = negated[0]
    session = {}
    undo_record(session=session, tab="t", sentence=sentence, step={}, label="accept")
    assert undo_entry(session=session, tab="t", sentence=sentence, direction="undo")["label"] == "accept"
    own = sentence_in_layer(sentence=Sentence.objects.get(pk=sentence.pk), layer=users["annotator"].pk)
    assert own.version == sentence.version
    assert undo_entry(session=session, tab="t", sentence=own, direction="undo") is None
    assert undo_labels(session=session, sentence=own) == {}
