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


@shared_task(bind=True, name="worker.tasks.import_corpus")
def import_corpus(self, job_id: int) -> str:
    """Import the queued ``ImportJob`` ``job_id`` (default queue); returns its final status.

    Reports ``{"documents": n}`` as task state ``PROGRESS`` after each batch, for the import
    page's progress bar. A redelivered message finds the job no longer queued and does nothing.
    """
    from annotation.services.imports import import_job_run

    def progress(documents: int) -> None:
        if self.request.id:
            self.update_state(state="PROGRESS", meta={"documents": documents})

    return import_job_run(job_id=job_id, progress=progress).status
