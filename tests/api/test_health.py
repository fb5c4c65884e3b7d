"""``/health/``: database and broker checks, optional worker ping, 200 or 503."""
import time
from unittest import mock

import pytest
from django.conf import settings

from annotation.views import health

FILESYSTEM_BROKER = settings.CELERY_BROKER_URL.startswith("filesystem")


def test_health_ok_with_database_and_broker(db, client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"
    assert "workers" not in body["checks"]


def test_health_is_503_when_the_broker_is_down(db, client, settings):
    from kombu import Connection

    from webapp.celery import app

    with mock.patch.object(app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0")), \
            mock.patch.object(health, "BROKER_TIMEOUT_S", 0.5):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {
        "status": "error", "reason": mock.ANY, "ms": mock.ANY}


def test_health_is_503_when_the_database_fails(db, client):
    with mock.patch.object(health, "database_check", side_effect=RuntimeError("down")):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["reason"] == "RuntimeError"


def test_workers_check_reports_no_answer_as_503(db, client):
    with mock.patch.object(health, "workers_check",
                           return_value={"status": "error", "reason": "no worker answered"}):
        response = client.get("/health/?workers=1")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["reason"] == "no worker answered"


@pytest.mark.skipif(not FILESYSTEM_BROKER, reason="only the filesystem broker lacks broadcast")
def test_workers_check_on_the_filesystem_broker_is_unsupported_not_failed(db, client):
    response = client.get("/health/?workers=1")
    assert response.status_code == 200
    assert response.json()["checks"]["workers"]["status"] == "unsupported"


@pytest.mark.celery
@pytest.mark.skipif(FILESYSTEM_BROKER, reason="worker ping needs a broker with broadcast (Redis)")
def test_workers_check_finds_a_real_worker(celery_worker_process, client):
    deadline = time.monotonic() + 60
    while True:
        body = client.get("/health/?workers=1").json()
        if body["checks"]["workers"]["status"] == "ok" or time.monotonic() > deadline:
            break
    assert body["checks"]["workers"] == {"status": "ok", "workers": 1, "ms": mock.ANY}
