"""Celery tasks: thin wrappers that call annotation services and mlcore."""
from celery import shared_task


@shared_task(name="worker.tasks.ping")
def ping(payload: str) -> str:
    """Round-trip check used by health checks and tests: echoes its payload."""
    return f"pong:{payload}"


@shared_task(name="worker.tasks.train_model")
def train_model(run_id: int) -> int | None:
    """Train the queued ``TrainingRun`` ``run_id``; returns the new model version's id, if any.

    Routed to the ``training`` queue. A redelivered message (after a worker died) finds the
    run no longer queued and does nothing.
    """
    from annotation.services.training import training_run_execute

    version = training_run_execute(run_id=run_id)
    return version.pk if version is not None else None


@shared_task(name="worker.tasks.preannotate")
def preannotate(model_version_id: int, sentence_ids: list[int] | None = None) -> int:
    """Store suggestions and uncertainty scores of a model version (``inference`` queue).

    ``sentence_ids`` None: every sentence of the project not yet done or reviewed.
    Returns how many sentences were predicted.
    """
    from annotation.services.predictions import predictions_generate

    return predictions_generate(model_version_id=model_version_id, sentence_ids=sentence_ids)
