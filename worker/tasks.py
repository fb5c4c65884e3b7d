"""Celery tasks: thin wrappers that call annotation services and mlcore."""
from celery import shared_task


@shared_task(name="worker.tasks.ping")
def ping(payload: str) -> str:
    """Round-trip check used by health checks and tests: echoes its payload."""
    return f"pong:{payload}"
