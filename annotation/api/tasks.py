"""Celery tasks of the API (registered through ``CELERY_IMPORTS``; default queue)."""
from celery import shared_task


@shared_task(name="annotation.api.tasks.import_job_run")
def import_job_run(job_id: int) -> str:
    from annotation.api.jobs import import_job_run as run

    return run(job_id=job_id).status
