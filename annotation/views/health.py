"""``/health/``: is this web process able to serve? JSON, 200 when every check passes, else 503.

Checks: the database (``SELECT 1``), the Celery broker (a kombu connection established
within ``BROKER_TIMEOUT_S``) and, with ``?workers=1``, the workers (a ``ping`` broadcast
answered within ``WORKER_TIMEOUT_S``; the filesystem broker of development has no
broadcast, so it reports ``unsupported`` there instead of failing). No secrets, hosts or
error traces are returned: only ``ok``/``error`` and a short reason.
"""
from __future__ import annotations

import logging
import time

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)
BROKER_TIMEOUT_S = 2.0
WORKER_TIMEOUT_S = 1.0


def _timed(name: str, check) -> dict:
    started = time.monotonic()
    try:
        result = check()
    except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
        logger.warning("health check %s failed: %s", name, exc)
        result = {"status": "error", "reason": type(exc).__name__}
    result["ms"] = round(1000 * (time.monotonic() - started), 1)
    return result


def database_check() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok"}


def broker_check() -> dict:
    from webapp.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
    return {"status": "ok"}


def workers_check() -> dict:
    from webapp.celery import app

    if app.conf.broker_url.startswith("filesystem"):
        return {"status": "unsupported", "reason": "the filesystem broker has no broadcast"}
    replies = app.control.inspect(timeout=WORKER_TIMEOUT_S).ping() or {}
    if not replies:
        return {"status": "error", "reason": "no worker answered", "workers": 0}
    return {"status": "ok", "workers": len(replies)}


@never_cache
@require_GET
def health(request):
    checks = {"database": _timed("database", database_check),
              "broker": _timed("broker", broker_check)}
    if request.GET.get("workers") in ("1", "true", "yes"):
        checks["workers"] = _timed("workers", workers_check)
    healthy = all(c["status"] in ("ok", "unsupported") for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks},
                        status=200 if healthy else 503)
