"""Import jobs: an upload saved and checked by ``annotation.security``, then imported by
``annotation.services.corpus_io.corpus_import`` inline (small files) or by a Celery task on
the default queue (files of at least ``ELIGO_IMPORT_ASYNC_BYTES``)."""
from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.audit import acting_user, audit_record
from annotation.models import AuditAction, ImportJob, ImportJobStatus, Project
from annotation.security import upload_check, upload_save
from annotation.services.corpus_io import CorpusImportError, corpus_import

logger = logging.getLogger(__name__)
IMPORT_TASK = "annotation.api.tasks.import_job_run"
SUFFIXES = {"brat": ".zip", "jsonl": ".jsonl", "text": ".txt", "ctgov": ".json"}


def import_job_create(*, project: Project, user, upload, fmt: str) -> ImportJob:
    """Save and check the upload, record the job, and run it now or queue it.

    Raises ``UploadRejected`` (nothing recorded, nothing left on disk) for a refused file.
    """
    path = upload_save(upload, suffix=SUFFIXES[fmt])
    try:
        upload_check(path, fmt, display_name=upload.name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    job = ImportJob.objects.create(project=project, user=user, format=fmt, file_name=upload.name[:255],
                                   path=str(path), size=path.stat().st_size)
    if job.size >= int(settings.ELIGO_IMPORT_ASYNC_BYTES):
        from webapp.celery import app

        transaction.on_commit(lambda: app.send_task(IMPORT_TASK, args=[job.pk]))
        return job
    return import_job_run(job_id=job.pk)


def import_job_run(*, job_id: int) -> ImportJob:
    """Import a queued job's file (all or nothing) and record the outcome; deletes the file."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).update(
        status=ImportJobStatus.RUNNING)
    job = ImportJob.objects.select_related("project", "user").get(pk=job_id)
    if not claimed:
        return job
    path = Path(job.path)
    try:
        with acting_user(job.user):
            report = corpus_import(project=job.project, path=path, fmt=job.format, user=job.user)
    except CorpusImportError as failure:
        job.status, job.error = ImportJobStatus.FAILED, str(failure).replace(str(path), job.file_name)
    except Exception as exc:  # noqa: BLE001 - recorded on the job; the traceback goes to the log
        logger.exception("import job %s failed", job_id)
        job.status, job.error = ImportJobStatus.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        job.status = ImportJobStatus.SUCCEEDED
        job.report = {"documents": report.documents, "sentences": report.sentences,
                      "entities": report.entities, "relations": report.relations,
                      "groups": report.groups, "attributes": report.attributes,
                      "notes": report.notes, "quirks": [str(q) for q in report.quirks[:100]],
                      "summary": report.summary()}
        audit_record(project=job.project, user=job.user, action=AuditAction.IMPORTED,
                     obj=job, object_type="import_job", payload={"job": job.pk, **job.report})
    finally:
        path.unlink(missing_ok=True)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "report", "finished_at"])
    return job
