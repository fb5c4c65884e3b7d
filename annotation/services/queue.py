"""Writes for the annotation queue: taking, refreshing and releasing claims, and serving the
next criterion with its claim.

Decisions:
- A claim is taken atomically without a read-then-write race: one upsert refreshes it if
  the user holds it, inserts it, or takes it over if it expired (``ON CONFLICT (sentence)
  DO UPDATE ... WHERE mine OR expires_at <= now``: of two concurrent takers the one-to-one
  on the sentence lets one in, and the other gets no row back). So two concurrent "next" requests
  never leave with the same criterion: the loser moves on to the next candidate.
- A user holds one claim per project: taking one releases their others there (the criterion
  they left, done or not, is free for the next annotator at once).
- Activity keeps a claim: an action of the holder on the criterion moves its expiry on
  (:func:`claim_refresh`) when it is at least ``CLAIM_REFRESH_STEP`` behind a fresh one
  (:func:`claim_refresh_due`; the expiry comes with the sentence's own read), so a burst of
  edits writes it once a minute, not once an edit; inactivity ends it between
  ``ELIGO_CLAIM_MINUTES`` less that step and ``ELIGO_CLAIM_MINUTES`` after the last action.
- Only managers release other people's claims (``annotation.access.claim_release_authorize``).
- No claims in an annotator's own layer (independent mode): nobody else edits that layer, and
  a claim on the criterion would block the other annotators assigned the same document.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from annotation.access import claim_release_authorize
from annotation.models import Claim, Project, Sentence
from annotation.selectors.queue import queue_next

#: how many times :func:`queue_serve` moves on when a candidate was claimed under its feet
SERVE_ATTEMPTS = 8
#: how far behind a fresh expiry a claim's may fall before an action writes it again
CLAIM_REFRESH_STEP = timedelta(minutes=1)


def claim_expiry(now: datetime) -> datetime:
    return now + timedelta(minutes=settings.ELIGO_CLAIM_MINUTES)


def claim_take(*, sentence_id: int, project_id: int, user,
               now: datetime | None = None) -> bool:
    """Claim the sentence for ``user``; ``False`` when someone else holds an unexpired claim.

    One upsert refreshes the user's own claim, inserts a new one or takes over an expired one
    (the one-to-one on the sentence decides between two concurrent takers: the database lets
    one in); only a new claim releases the user's others. On PostgreSQL both are one
    statement (the release a data-modifying CTE of the upsert), elsewhere the release is a
    second, plain DELETE."""
    now = now or timezone.now()
    claimed_at = _claim_upsert(sentence_id=sentence_id, project_id=project_id,
                               user_id=user.pk, now=now)
    if claimed_at is None:
        return False
    if claimed_at == now and connection.vendor != "postgresql":  # new: leave the others
        (Claim.objects.filter(project_id=project_id, user_id=user.pk)
         .exclude(sentence_id=sentence_id)._raw_delete(Claim.objects.db))
    return True


def _claim_upsert(*, sentence_id: int, project_id: int, user_id: int,
                  now: datetime) -> datetime | None:
    """``INSERT ... ON CONFLICT (sentence) DO UPDATE ... WHERE mine or expired`` (PostgreSQL
    and SQLite >= 3.35 alike). Returns the claim's ``claimed_at`` (``now`` when it is new to
    the user, earlier when they held it already), ``None`` when someone else holds it. On
    PostgreSQL the same statement deletes the user's other claims in the project when the
    claim is new (a CTE's DELETE sees the table as it was, so it cannot touch the new row)."""
    table = connection.ops.quote_name(Claim._meta.db_table)
    field = Claim._meta.get_field("claimed_at")
    stamp, expires = (field.get_db_prep_value(m, connection) for m in (now, claim_expiry(now)))
    upsert = (
        f"INSERT INTO {table} (project_id, sentence_id, user_id, claimed_at, expires_at) "
        f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (sentence_id) DO UPDATE SET "
        f"claimed_at = CASE WHEN {table}.user_id = excluded.user_id "
        f"THEN {table}.claimed_at ELSE excluded.claimed_at END, "
        f"project_id = excluded.project_id, user_id = excluded.user_id, "
        f"expires_at = excluded.expires_at "
        f"WHERE {table}.user_id = excluded.user_id OR {table}.expires_at <= %s "
        f"RETURNING claimed_at")
    params = [project_id, sentence_id, user_id, stamp, expires, stamp]
    if connection.vendor == "postgresql":
        upsert = (f"WITH taken AS ({upsert}), released AS (DELETE FROM {table} "
                  f"WHERE project_id = %s AND user_id = %s AND sentence_id <> %s "
                  f"AND EXISTS (SELECT 1 FROM taken WHERE claimed_at = %s)) "
                  f"SELECT claimed_at FROM taken")
        params += [project_id, user_id, sentence_id, stamp]
    with connection.cursor() as cursor:
        cursor.execute(upsert, params)
        row = cursor.fetchone()
    if row is None:
        return None
    # as stored: SQLite gives the UTC text (or a naive datetime), PostgreSQL an aware one
    value = datetime.fromisoformat(row[0]) if isinstance(row[0], str) else row[0]
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt_timezone.utc)


def claim_refresh_due(*, expires_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a claim expiring at ``expires_at`` (``None``: no claim) is worth moving on now:
    a refresh would push it by ``CLAIM_REFRESH_STEP`` or more."""
    if expires_at is None:
        return False
    return claim_expiry(now or timezone.now()) - expires_at >= CLAIM_REFRESH_STEP


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
