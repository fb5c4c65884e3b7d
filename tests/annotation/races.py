"""Requests racing each other: each runs in its own thread with its own database connection
while the test holds a lock they all need (PostgreSQL: until every one waits on a lock;
SQLite: the write lock of ``BEGIN IMMEDIATE``, for half a second, during which none can
write), so all of them were under way at once when the lock goes."""
import threading
import time

from django.db import connection, connections, transaction

WAIT_S = 20


def _blocked_backends() -> int:
    """PostgreSQL: how many other sessions of this database wait for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def _wait_until_both_blocked(threads) -> None:
    deadline = time.monotonic() + WAIT_S
    if connection.vendor == "postgresql":
        while _blocked_backends() < len(threads):
            assert time.monotonic() < deadline, "the requests never waited for the lock"
            time.sleep(0.02)
    else:
        time.sleep(0.5)
    assert all(t.is_alive() for t in threads), "a request finished while the lock was held"


def race_while(hold, *requests):
    """Run ``requests`` at once, each in a thread of its own, while this thread's
    transaction holds what ``hold()`` locks (it runs first inside that transaction, which
    ends, and lets them go, once every request is waiting for it); their responses, in order."""
    responses, started = [None] * len(requests), [threading.Event() for _ in requests]

    def run(i, request):
        try:
            started[i].set()
            responses[i] = request()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    with transaction.atomic():
        hold()
        for thread in threads:
            thread.start()
        assert all(event.wait(WAIT_S) for event in started)
        _wait_until_both_blocked(threads)
    for thread in threads:
        thread.join(WAIT_S)
    assert not any(t.is_alive() for t in threads)
    return responses
