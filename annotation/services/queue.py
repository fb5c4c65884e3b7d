"""Writes for the annotation queue: taking, refreshing and releasing claims, and serving the
next criterion with its claim.

Decisions:
- A claim is taken atomically without a read-then-write race: refresh it if the user holds
  it, else one upsert inserts it or takes it over if it expired (``ON CONFLICT (sentence)
  DO UPDATE ... WHERE expires_at <= now``: of two concurrent takers the one-to-one on the
  sentence lets one in, and the other gets no row back). So two concurrent "next" requests
  never leave with the same criterion: the loser moves on to the next candidate.
- A user holds one claim per project: taking one releases their others there (the criterion
  they left, done or not, is free for the next annotator at once).
- Activity keeps a claim: every action of the holder on the criterion moves its expiry on
  (:func:`claim_refresh`); inactivity ends it after ``ELIGO_CLAIM_MINUTES``.
- Only managers release other people's claims (``annotation.access.claim_release_authorize``).
- No claims in an annotator's own layer (independent mode): nobody else edits that layer, and
  a claim on the criterion would block the other annotators assigned the same document.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from annotation.access import claim_release_authorize
from annotation.models import Claim, Project, Sentence
from annotation.selectors.queue import queue_next

#: how many times :func:`queue_serve` moves on when a candidate was claimed under its feet
SERVE_ATTEMPTS = 8


def claim_expiry(now: datetime) -> datetime:
    return now + timedelta(minutes=settings.ELIGO_CLAIM_MINUTES)


def claim_take(*, sentence_id: int, project_id: int, user,
               now: datetime | None = None) -> bool:
    """Claim the sentence for ``user``; ``False`` when someone else holds an unexpired claim.

    At most three statements: refresh the user's own claim; else one upsert that inserts the
    claim or takes over an expired one (the one-to-one on the sentence decides between two
    concurrent takers: of them the database lets one in); then release the user's others."""
    now = now or timezone.now()
    if claim_refresh(sentence_id=sentence_id, user=user, now=now):
        return True  # the usual case: the page opened after "next" claimed it
    if not _claim_upsert(sentence_id=sentence_id, project_id=project_id, user_id=user.pk,
                         now=now):
        return False
    Claim.objects.filter(project_id=project_id, user_id=user.pk).exclude(
        sentence_id=sentence_id).delete()
    return True


def _claim_upsert(*, sentence_id: int, project_id: int, user_id: int, now: datetime) -> bool:
    """``INSERT ... ON CONFLICT (sentence) DO UPDATE ... WHERE expired`` (PostgreSQL and
    SQLite >= 3.35 alike): whether a row came back, i.e. the claim is now the user's."""
    table = connection.ops.quote_name(Claim._meta.db_table)
    expires = claim_expiry(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (project_id, sentence_id, user_id, claimed_at, expires_at) "
            f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (sentence_id) DO UPDATE SET "
            f"project_id = excluded.project_id, user_id = excluded.user_id, "
            f"claimed_at = excluded.claimed_at, expires_at = excluded.expires_at "
            f"WHERE {table}.expires_at <= %s RETURNING id",
            [project_id, sentence_id, user_id, *_db_times(now, expires), _db_times(now)[0]])
        return cursor.fetchone() is not None


def _db_times(*moments: datetime) -> list:
    field = Claim._meta.get_field("expires_at")
    return [field.get_db_prep_value(m, connection) for m in moments]


def claim_refresh(*, sentence_id: int, user, now: datetime | None = None) -> bool:
    """Move the expiry of ``user``'s claim on the sentence on; whether they hold one."""
    now = now or timezone.now()
    return bool(Claim.objects.filter(sentence_id=sentence_id, user_id=user.pk)
                .update(expires_at=claim_expiry(now)))


def claim_release(*, claim_id: int, project: Project, user) -> Claim:
    """A manager frees a claim of the project (``Claim.DoesNotExist`` when there is none)."""
    claim_release_authorize(user=user, project_id=project.pk)
    claim = Claim.objects.select_related("user").get(pk=claim_id, project=project)
    claim.delete()
    return claim


def queue_serve(*, project: Project, user, skipped: Collection[int] = (),
                scope: QuerySet[Sentence] | None = None, layer: int | None = None) -> int | None:
    """The next criterion for ``user`` by the ranking (``annotation.selectors.queue``),
    claimed for them (not in their own ``layer``); ``None`` when nothing is left to serve them."""
    if layer is not None:
        return queue_next(project=project, user=user, skipped=skipped, scope=scope, layer=layer)
    for _ in range(SERVE_ATTEMPTS):
        # a lost claim was committed by the winner, so the next read no longer offers it
        # (unless that claim had expired already: then it is worth another try)
        sentence_id = queue_next(project=project, user=user, skipped=skipped, scope=scope)
        if sentence_id is None or claim_take(sentence_id=sentence_id, project_id=project.pk,
                                             user=user):
            return sentence_id
    return None
