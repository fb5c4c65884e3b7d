import pytest

from worker.tasks import ping


@pytest.mark.celery
def test_ping_round_trips_through_a_real_worker(celery_worker_process):
    result = ping.delay("hello")
    try:
        assert result.get(timeout=60) == "pong:hello"
    except Exception:
        print(celery_worker_process.output())
        raise
