"""HTTP: the review queue page and the suggestion partial's actions."""
import re
from types import SimpleNamespace

import pytest

from annotation.models import (
    AuditEvent, Entity, Relation, Sentence, SentenceScore, SentenceStatus, Source, SuggestionStatus,
)
from annotation.views.training import REVIEW_PAGE_SIZE
from tests.annotation.ml_fixtures import make_version, ml_project, suggest, suggest_relation  # noqa: F401


def test_review_page_ranks_filters_and_paginates(ml_project, users, client_for):
    version = make_version(ml_project)
    sentences = list(Sentence.objects.filter(project=ml_project))
    SentenceScore.objects.bulk_create([
        SentenceScore(project=ml_project, sentence=s, model_version=version, score=i / 100)
        for i, s in enumerate(sentences)])
    client = client_for(users["annotator"])
    html = client.get("/projects/trial/review/").content.decode()
    scores = [float(x) for x in re.findall(r'data-score="([\d.]+)"', html)]
    assert len(scores) == min(REVIEW_PAGE_SIZE, len(sentences))
    assert scores == sorted(scores, reverse=True) and scores[0] == (len(sentences) - 1) / 100
    html = client.get("/projects/trial/review/?status=new").content.decode()
    assert len(re.findall(r"data-sentence=", html)) == 10
    assert client.get("/projects/trial/review/?page=2").status_code == 200


def test_review_page_says_whether_it_is_the_random_order(ml_project, users, client_for):
    version = make_version(ml_project)
    client = client_for(users["annotator"])
    html = client.get("/projects/trial/review/").content.decode()
    assert "Random order: sentences in a random order drawn with model v1" in html
    assert "no uncertainty ranking beat random order" in html
    ml_project.model_options = {**ml_project.model_options, "strategy": "per_input"}
    ml_project.save()
    html = client.get("/projects/trial/review/").content.decode()
    assert f"uncertainty of model v{version.number} (per_input)" in html and "Random order:" not in html


def test_accept_reject_and_accept_all_over_http(ml_project, users, client_for):
    version = make_version(ml_project)
    sentence = Sentence.objects.filter(status=SentenceStatus.NEW, text__startswith="No ").first()
    negation = suggest(version, sentence, "No", "Negation", 0.95)
    condition = suggest(version, sentence, sentence.text.split()[3], "Condition", 0.5)
    relation = suggest_relation(condition, negation)
    client = client_for(users["reviewer"])
    base = f"/projects/trial/sentences/{sentence.pk}/suggestions/"
    html = client.get(base).content.decode()
    assert f'data-suggestion="entity-{negation.pk}" data-status="pending"' in html
    # a stale sentence version is refused with 409 and changes nothing
    response = client.post(f"{base}entity/{negation.pk}/accept/", {"version": 99}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and not Entity.objects.filter(source=Source.MODEL).exists()
    response = client.post(f"{base}entity/{negation.pk}/accept/", {"version": 1}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "eligo:annotations-changed"
    assert 'data-sentence-version="2"' in response.content.decode()
    response = client.post(f"{base}relation/{relation.pk}/reject/", {"version": 2}, HTTP_HX_REQUEST="true")
    relation.refresh_from_db()
    assert relation.status == SuggestionStatus.REJECTED
    response = client.post(f"{base}accept-all/", {"version": 2, "threshold": "0.4"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    condition.refresh_from_db()
    assert condition.status == SuggestionStatus.ACCEPTED
    assert Entity.objects.filter(source=Source.MODEL, source_detail="model v1").count() == 2
    assert client.post(f"{base}entity/{negation.pk}/explode/").status_code == 404
    assert client_for(users["outsider"]).get(base).status_code == 404


def test_the_annotation_page_draws_the_suggestions_read_only_for_annotators(ml_project, users,
                                                                            client_for):
    sentence = Sentence.objects.filter(status=SentenceStatus.NEW).first()
    prediction = suggest(make_version(ml_project), sentence, sentence.text.split()[0], "Condition")
    page = f"/projects/trial/sentences/{sentence.pk}/"
    html = client_for(users["annotator"]).get(page).content.decode()
    assert f'class="chip sugg" data-suggestion="entity-{prediction.pk}"' in html
    assert "data-suggestions-readonly" in html and 'data-act="suggestion-accept"' not in html
    html = client_for(users["reviewer"]).get(page).content.decode()
    assert 'data-act="suggestion-accept"' in html and "data-suggestions-readonly" not in html


def test_review_page_query_count_does_not_grow_with_documents(ml_project, users, client_for,
                                                            django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotation.models import Document

    version = make_version(ml_project)
    SentenceScore.objects.bulk_create([
        SentenceScore(project=ml_project, sentence=s, model_version=version, score=0.5)
        for s in Sentence.objects.filter(project=ml_project)])
    client = client_for(users["annotator"])
    client.get("/projects/trial/review/")
    with CaptureQueriesContext(connection) as before:
        client.get("/projects/trial/review/")
    Document.objects.bulk_create(Document(project=ml_project, name=f"extra-{i}", text="x")
                                 for i in range(25))
    with django_assert_num_queries(len(before.captured_queries)):
        html = client.get("/projects/trial/review/").content.decode()
    assert all(f">extra-{i}</option>" in html for i in range(25))


# --- deciding suggestions: who, what a second decision does, where a form may send you ----------


@pytest.fixture
def offered(ml_project):
    """A new sentence 'No history of ...' with the suggestions Negation, Condition, the
    relation Condition -is negated-> Negation and the reverse one the schema forbids."""
    version = make_version(ml_project)
    sentence = Sentence.objects.filter(status=SentenceStatus.NEW, text__startswith="No ").first()
    negation = suggest(version, sentence, "No", "Negation", 0.95)
    condition = suggest(version, sentence, sentence.text.split()[3], "Condition", 0.5)
    return SimpleNamespace(
        sentence=sentence, negation=negation, condition=condition,
        relation=suggest_relation(condition, negation),
        forbidden=suggest_relation(negation, condition),
        base=f"/projects/trial/sentences/{sentence.pk}/suggestions/")


def _post(client, url, version=1, **data):
    return client.post(url, {"version": version, **data}, HTTP_HX_REQUEST="true")


def _statuses(*predictions) -> list[str]:
    return [type(p).objects.get(pk=p.pk).status for p in predictions]


def _decisions(prediction) -> list[str]:
    return list(AuditEvent.objects.filter(object_type=type(prediction).__name__.lower(),
                                          object_id=prediction.pk).values_list("action", flat=True))


def test_annotators_see_suggestions_but_cannot_decide_them(offered, users, client_for):
    annotator = client_for(users["annotator"])
    html = annotator.get(offered.base).content.decode()
    assert f'data-suggestion="entity-{offered.negation.pk}" data-status="pending"' in html
    assert "data-suggestions-readonly" in html and 'title="Accept"' not in html
    for url in (f"{offered.base}entity/{offered.negation.pk}/accept/",
                f"{offered.base}entity/{offered.negation.pk}/reject/",
                f"{offered.base}relation/{offered.relation.pk}/accept/",
                f"{offered.base}relation/{offered.relation.pk}/reject/",
                f"{offered.base}accept-all/"):
        assert _post(annotator, url).status_code == 403, url
    assert set(_statuses(offered.negation, offered.condition, offered.relation)) == {
        SuggestionStatus.PENDING}
    assert not Entity.objects.filter(source=Source.MODEL).exists()
    assert Sentence.objects.get(pk=offered.sentence.pk).version == 1
    html = client_for(users["reviewer"]).get(offered.base).content.decode()
    assert 'title="Accept"' in html and "data-suggestions-readonly" not in html


def test_accepting_an_accepted_suggestion_again_changes_nothing(offered, users, client_for):
    reviewer = client_for(users["reviewer"])
    url = f"{offered.base}relation/{offered.relation.pk}/accept/"
    assert _post(reviewer, url).status_code == 200
    # the same click from a page still showing version 1: the decision already holds
    again = _post(client_for(users["manager"]), url)
    assert again.status_code == 200
    assert Sentence.objects.get(pk=offered.sentence.pk).version == 2
    assert Relation.objects.filter(source=Source.MODEL).count() == 1
    assert Entity.objects.filter(source=Source.MODEL).count() == 2
    assert _decisions(offered.relation) == ["accepted"]


def test_a_decision_against_one_already_made_is_409_naming_it(offered, users, client_for):
    reviewer, manager = client_for(users["reviewer"]), client_for(users["manager"])
    assert _post(manager, f"{offered.base}relation/{offered.relation.pk}/reject/").status_code == 200
    refused = _post(reviewer, f"{offered.base}relation/{offered.relation.pk}/accept/")
    assert refused.status_code == 409
    assert "already rejected by manager" in refused.content.decode()
    assert _post(reviewer, f"{offered.base}entity/{offered.condition.pk}/accept/").status_code == 200
    refused = _post(manager, f"{offered.base}entity/{offered.condition.pk}/reject/", version=2)
    assert refused.status_code == 409
    assert "already accepted by reviewer" in refused.content.decode()
    assert _statuses(offered.relation, offered.condition) == [SuggestionStatus.REJECTED,
                                                              SuggestionStatus.ACCEPTED]
    assert not Relation.objects.filter(source=Source.MODEL).exists()


def test_an_accepted_relation_suggestion_is_refused_when_its_types_are_not_allowed(
        offered, users, client_for):
    """'is negated' goes from a Condition or Drug to a Negation: the reverse suggestion is
    refused like the same hand-made relation, and accepting it accepts nothing else either."""
    reviewer = client_for(users["reviewer"])
    refused = _post(reviewer, f"{offered.base}relation/{offered.forbidden.pk}/accept/")
    assert refused.status_code == 422
    assert "is negated cannot go from Negation to Condition." in refused.content.decode()
    assert set(_statuses(offered.negation, offered.condition, offered.forbidden)) == {
        SuggestionStatus.PENDING}
    assert not Entity.objects.filter(source=Source.MODEL).exists()
    assert Sentence.objects.get(pk=offered.sentence.pk).version == 1
    # accept-all takes what the schema allows and leaves the forbidden one for a decision
    assert _post(reviewer, f"{offered.base}accept-all/").status_code == 200
    assert _statuses(offered.relation, offered.forbidden) == [SuggestionStatus.ACCEPTED,
                                                             SuggestionStatus.PENDING]
    relation = Relation.objects.get(source=Source.MODEL)
    assert (relation.head.type.name, relation.tail.type.name) == ("Condition", "Negation")


@pytest.mark.parametrize("target, followed", [
    ("/projects/trial/review/", True),
    ("//evil.example/phish", False),
    ("///evil.example/phish", False),
    ("/\\evil.example/phish", False),
    ("https://evil.example/phish", False),
    ("javascript:alert(1)", False),
])
def test_a_decision_follows_next_only_within_the_site(offered, users, client_for, target, followed):
    response = client_for(users["reviewer"]).post(
        f"{offered.base}entity/{offered.negation.pk}/reject/", {"version": 1, "next": target})
    assert _statuses(offered.negation) == [SuggestionStatus.REJECTED]
    if followed:
        assert response.status_code == 302 and response["Location"] == target
    else:
        assert response.status_code == 200 and "Location" not in response


def test_discontinuous_and_overlapping_suggestions_are_shown_and_accepted_whole(
        ml_project, users, client_for):
    """What the span layer pre-annotates: a discontinuous Condition (first and fourth word)
    and a Negation overlapping it; the partial shows both, accepting keeps every fragment."""
    from annotation.models import PredictedEntity

    version = make_version(ml_project)
    sentence = Sentence.objects.filter(status=SentenceStatus.NEW, text__startswith="No ").first()
    words = [(m.start() + sentence.start, m.end() + sentence.start)
             for m in re.finditer(r"\S+", sentence.text)]
    fragments = [list(words[0]), list(words[3])]
    whole = PredictedEntity.objects.create(
        model_version=version, sentence=sentence, fragments=fragments, start=fragments[0][0],
        end=fragments[1][1], probability=0.8,
        type=ml_project.entity_types.get(name="Condition"))
    overlapping = suggest(version, sentence, "No", "Negation", 0.9)
    client = client_for(users["reviewer"])
    base = f"/projects/trial/sentences/{sentence.pk}/suggestions/"
    html = client.get(base).content.decode()
    text = sentence.document.text
    assert f"{text[slice(*words[0])]} {text[slice(*words[3])]}" in html
    assert f'data-suggestion="entity-{overlapping.pk}"' in html
    assert client.post(f"{base}entity/{whole.pk}/accept/", {"version": 1},
                       HTTP_HX_REQUEST="true").status_code == 200
    assert client.post(f"{base}entity/{overlapping.pk}/accept/", {"version": 2},
                       HTTP_HX_REQUEST="true").status_code == 200
    accepted = Entity.objects.get(sentence=sentence, type__name="Condition", source=Source.MODEL)
    assert accepted.fragments == fragments
    assert Entity.objects.filter(sentence=sentence, source=Source.MODEL).count() == 2
