"""Two decisions on one suggestion at the same moment, through the real endpoints.

Each request runs in its own thread with its own database connection. The test holds the
sentence row locked in a transaction of its own (``SELECT ... FOR UPDATE`` on PostgreSQL;
on SQLite the write lock of ``BEGIN IMMEDIATE``), starts both requests, waits until both are
in flight and blocked (PostgreSQL: both backends wait on a lock; SQLite: neither answers while
the lock is held) and then lets go: both decisions were under way at once, and they are
decided one after the other. No test skips: SQLite (a file database in the tests, one
connection per thread) serialises the two write transactions, which is the overlap the
decision code must survive there.
"""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotation.models import (
    AuditEvent, Entity, PredictedEntity, PredictedRelation, Relation, Sentence, SentenceStatus,
    Source, SuggestionStatus,
)
from tests.annotation.ml_fixtures import make_document, make_version, suggest, suggest_relation
from tests.annotation.races import race_while

@pytest.fixture
def offered(transactional_db, project):
    """One new sentence with the suggestions Negation, Condition and the relation between."""
    document = make_document(project, "race", ["No history of asthma ."], SentenceStatus.NEW, False)
    sentence = document.sentences.get()
    version = make_version(project)
    negation = suggest(version, sentence, "No", "Negation", 0.9)
    condition = suggest(version, sentence, "asthma", "Condition", 0.8)
    return sentence, negation, condition, suggest_relation(condition, negation)


def _page(user, kind, prediction, action):
    """The annotation page's suggestion form (htmx), from a page showing version 1."""
    client = Client()
    client.force_login(user)
    url = (f"/projects/trial/sentences/{prediction.sentence_id}/suggestions/"
           f"{kind}/{prediction.pk}/{action}/")
    return lambda: client.post(url, {"version": 1}, HTTP_HX_REQUEST="true")


def _api(user, kind, prediction, action):
    client = APIClient()
    client.force_authenticate(user)
    plural = {"entity": "entities", "relation": "relations"}[kind]
    url = f"/api/projects/trial/predicted-{plural}/{prediction.pk}/{action}/"
    return lambda: client.post(url, {"expected_version": 1}, format="json")


def race(sentence, *requests):
    """Run ``requests`` at once against a locked sentence; their responses, in order."""
    return race_while(lambda: Sentence.objects.select_for_update().get(pk=sentence.pk), *requests)


def _decisions(prediction) -> list[str]:
    return list(AuditEvent.objects.filter(object_type=type(prediction).__name__.lower(),
                                          object_id=prediction.pk).values_list("action", flat=True))


@pytest.mark.parametrize("via", [_page, _api], ids=["page", "api"])
def test_accept_and_reject_at_once_one_wins_the_other_gets_409(offered, users, via):
    sentence, negation, condition, relation = offered
    accept, reject = race(sentence, via(users["reviewer"], "relation", relation, "accept"),
                          via(users["manager"], "relation", relation, "reject"))
    assert sorted([accept.status_code, reject.status_code]) == [200, 409]
    won = "accepted" if accept.status_code == 200 else "rejected"
    loser = reject if won == "accepted" else accept
    by = "reviewer" if won == "accepted" else "manager"
    assert f"already {won} by {by}" in loser.content.decode()
    relation.refresh_from_db()
    assert relation.status == won and _decisions(relation) == [won]  # no decision lost
    sentence.refresh_from_db()
    if won == "accepted":
        assert Relation.objects.get(source=Source.MODEL).suggestions.get() == relation
        assert sentence.version == 2
    else:
        assert not Relation.objects.exists() and not Entity.objects.exists()
        assert sentence.version == 1
        assert set(PredictedEntity.objects.values_list("status", flat=True)) == {
            SuggestionStatus.PENDING}


@pytest.mark.parametrize("via", [_page, _api], ids=["page", "api"])
def test_two_accepts_at_once_write_once_and_move_the_version_once(offered, users, via):
    sentence, negation, _, _ = offered
    first, second = race(sentence, via(users["reviewer"], "entity", negation, "accept"),
                         via(users["manager"], "entity", negation, "accept"))
    assert first.status_code == second.status_code == 200
    if via is _api:
        assert first.json()["entity"] == second.json()["entity"]
    sentence.refresh_from_db()
    assert sentence.version == 2
    assert Entity.objects.filter(source=Source.MODEL).count() == 1
    assert _decisions(negation) == ["accepted"]
    assert PredictedRelation.objects.get().status == SuggestionStatus.PENDING
