"""Two annotators press "Annotate next" at the same moment: they get different criteria.

The test holds an uncommitted, already expired claim of a third user on the top-ranked
criterion while both requests run (tests/annotation/races.py): neither sees it, so both pick
that criterion, try to claim it and wait on the test's row (PostgreSQL: the unique key of
the uncommitted insert; SQLite: the write lock). When the test commits, both inserts are
refused, both pick the criterion again (its claim has expired) and race to take it over:
one conditional UPDATE wins, the other request moves on to the next of the ranking.
"""
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import Claim, SentenceScore
from annotation.services.projects import membership_set
from tests.annotation.ml_fixtures import make_version
from tests.annotation.races import race_while
from tests.browser.scenario import make_document


@pytest.fixture
def ranked(transactional_db, project):
    document = make_document(project)
    sentences = list(document.sentences.order_by("index"))
    version = make_version(project)
    SentenceScore.objects.bulk_create(
        SentenceScore(project=project, sentence=s, model_version=version, score=1 - i / 10)
        for i, s in enumerate(sentences))
    return sentences


def _next(user):
    client = Client()
    client.force_login(user)
    return lambda: client.get(reverse("project_queue", args=["trial"]))


def _hold_top(sentence, user):
    def hold():
        Claim.objects.create(project_id=sentence.project_id, sentence=sentence, user=user,
                             claimed_at=timezone.now(), expires_at=timezone.now())
    return hold


def test_two_nexts_at_once_get_different_criteria(ranked, users, make_user, project):
    other = make_user("annotator2")
    membership_set(project=project, user=other, role="annotator")
    first, second = race_while(_hold_top(ranked[0], users["manager"]),
                               _next(users["annotator"]), _next(other))
    locations = {first["Location"], second["Location"]}
    assert locations == {reverse("sentence_annotate", args=["trial", s.pk]) for s in ranked[:2]}
    assert set(Claim.objects.values_list("sentence_id", flat=True)) == {s.pk for s in ranked[:2]}
