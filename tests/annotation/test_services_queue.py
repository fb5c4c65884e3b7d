"""Claims and the ranked next criterion, below the views: the scope hook, one claim per user
and project, takeover of an expired claim, who may release."""
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from annotation.models import Claim, Sentence
from annotation.selectors.queue import claims_active, queue_next
from annotation.services.queue import (
    CLAIM_REFRESH_STEP, claim_expiry, claim_refresh_due, claim_release, claim_take, queue_serve,
)
from tests.browser.scenario import make_document


@pytest.fixture
def sentences(project):
    make_document(project, "NCT00000001_inc")
    make_document(project, "NCT00000002_exc")
    return list(Sentence.objects.filter(project=project).order_by("pk"))


def test_scope_limits_what_next_serves(project, users, sentences):
    """The hook for assignments: only the sentences of ``scope`` are served."""
    second = sentences[0].document_id + 1
    scope = Sentence.objects.filter(document_id=second)
    served = queue_next(project=project, user=users["annotator"], scope=scope)
    expected = min((s for s in sentences if s.document_id == second),
                   key=lambda s: s.queue_key)
    assert served == expected.pk


def test_one_claim_per_user_and_project(project, users, sentences):
    user = users["annotator"]
    assert claim_take(sentence_id=sentences[0].pk, project_id=project.pk, user=user)
    assert claim_take(sentence_id=sentences[1].pk, project_id=project.pk, user=user)
    assert list(Claim.objects.values_list("sentence_id", flat=True)) == [sentences[1].pk]


def test_an_unexpired_claim_is_refused_an_expired_one_taken_over(project, users, sentences):
    target = sentences[0].pk
    assert claim_take(sentence_id=target, project_id=project.pk, user=users["annotator"])
    assert not claim_take(sentence_id=target, project_id=project.pk, user=users["reviewer"])
    later = timezone.now() + timedelta(minutes=31)
    assert claim_take(sentence_id=target, project_id=project.pk, user=users["reviewer"], now=later)
    claim = Claim.objects.get()
    assert claim.user == users["reviewer"] and claim.claimed_at == later
    assert not claims_active(project=project, now=later + timedelta(minutes=31)).exists()


def test_serve_skips_the_skipped_and_claims(project, users, sentences):
    order = sorted(sentences, key=lambda s: s.queue_key)
    served = queue_serve(project=project, user=users["annotator"], skipped=[order[0].pk])
    assert served == order[1].pk
    assert Claim.objects.get().sentence_id == order[1].pk


def test_only_managers_release(project, users, sentences):
    claim_take(sentence_id=sentences[0].pk, project_id=project.pk, user=users["annotator"])
    claim = Claim.objects.get()
    with pytest.raises(PermissionDenied):
        claim_release(claim_id=claim.pk, project=project, user=users["reviewer"])
    released = claim_release(claim_id=claim.pk, project=project, user=users["manager"])
    assert (released.user, released.sentence_id) == (users["annotator"], sentences[0].pk)
    assert not Claim.objects.exists()


def test_taking_a_held_claim_again_refreshes_it(project, users, sentences):
    """The one upsert: the holder's own claim keeps when it was taken and moves its expiry."""
    user, target = users["annotator"], sentences[0].pk
    assert claim_take(sentence_id=target, project_id=project.pk, user=user)
    first = Claim.objects.get()
    later = first.claimed_at + timedelta(minutes=10)
    assert claim_take(sentence_id=target, project_id=project.pk, user=user, now=later)
    again = Claim.objects.get()
    assert again.pk == first.pk and again.claimed_at == first.claimed_at
    assert again.expires_at == later + timedelta(minutes=30)


def test_a_claim_is_due_a_refresh_once_it_falls_a_step_behind():
    now = timezone.now()
    fresh = claim_expiry(now)
    assert not claim_refresh_due(expires_at=None, now=now)
    assert not claim_refresh_due(expires_at=fresh, now=now)
    assert not claim_refresh_due(expires_at=fresh - CLAIM_REFRESH_STEP + timedelta(seconds=1), now=now)
    assert claim_refresh_due(expires_at=fresh - CLAIM_REFRESH_STEP, now=now)
