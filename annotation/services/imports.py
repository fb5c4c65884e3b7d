"""Import jobs, for the import page and the API alike.

An upload is saved and checked by ``annotation.security`` (a refused file records nothing),
recorded as an ``ImportJob`` and imported by ``annotation.services.corpus_io.corpus_import``:
inline for small files, by the Celery task ``worker.tasks.import_corpus`` (default queue)
for files of at least ``ELIGO_IMPORT_ASYNC_BYTES``. Either way the outcome is recorded on the
job (report or error) with an ``IMPORTED`` audit event on success, and the upload is deleted.
An import that would add types to the project under the policy ``ask`` (``NewTypes``) stops
before writing anything as ``needs_confirmation``, its upload kept and the types it would add
(with their keys) in ``report["new_types"]``: ``import_job_confirm`` runs it again with ``add``,
``import_job_cancel`` drops it.
While the task runs it reports progress to the Celery result backend under
:func:`import_task_id` (read by ``annotation.selectors.imports.import_job_progress``): the
import itself is one transaction, so progress cannot be written to the job row meanwhile.
"""
from __future__ import annotations

import logging
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils import timezone

from annotation.audit import acting_user, audit_record
from annotation.models import AuditAction, Document, ImportJob, ImportJobStatus, NewTypes, Project
from annotation.security import upload_check, upload_save
from annotation.services.corpus_io import CorpusImportError, NewTypesPending, corpus_import
from annotation.services.tasks import IMPORT_CORPUS, task_enqueue
from mlcore.corpus.formats import FORMATS

logger = logging.getLogger(__name__)
UNEXPECTED_ERROR = "The import failed on an unexpected server error (logged); nothing was imported."
SAMPLE_DOCUMENTS = 10


def import_task_id(*, job_id: int) -> str:
    """The Celery task id of a job's import: fixed, so progress can be looked up by job."""
    return f"eligo-import-{job_id}"


class ImportJobConflict(Exception):
    """The job is not waiting for a confirmation (any more): someone else decided it."""


def import_policy(*, project: Project, requested: str | None = None) -> str:
    """The new-types policy an import runs under: the request's (``ask``, ``add``,
    ``refuse``), else the project's; a project set to ``refuse`` refuses whatever is asked."""
    if project.new_types == NewTypes.REFUSE:
        return NewTypes.REFUSE
    return requested or project.new_types


def import_job_create(*, project: Project, user, upload, fmt: str,
                      new_types: str | None = None, annotator=None) -> ImportJob:
    """Save and check the upload, record the job, and run it now or queue it; ``annotator``:
    import into that user's own layer (``corpus_io``).

    ``new_types`` is the request's policy for types the project lacks (``import_policy``).
    Raises ``UploadRejected`` (nothing recorded, nothing left on disk) for a refused file.
    """
    path = upload_save(upload, suffix=FORMATS[fmt].suffix)
    try:
        upload_check(path, fmt, display_name=upload.name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    job = ImportJob.objects.create(
        project=project, user=user, annotator=annotator, format=fmt, file_name=upload.name[:255],
        path=str(path),
        size=path.stat().st_size, report={"expected_documents": _expected_documents(path, fmt)},
        new_types=import_policy(project=project, requested=new_types))
    return _import_job_start(job)


def _import_job_start(job: ImportJob) -> ImportJob:
    """Run a queued job now, or queue it for a worker when its file is large."""
    if job.size >= int(settings.ELIGO_IMPORT_ASYNC_BYTES):
        import_job_enqueue(job=job)
        return job
    return import_job_run(job_id=job.pk)


def import_job_confirm(*, job: ImportJob, user) -> ImportJob:
    """Add the types the job would add, and import: the job runs again (or is queued) with
    the policy ``add``. Raises ``ImportJobConflict`` unless it waits for a confirmation (a
    second confirmation, or one after a cancel) and ``CorpusImportError`` when the project
    refuses new types meanwhile."""
    if import_policy(project=job.project) == NewTypes.REFUSE:
        raise CorpusImportError(job.file_name, None, "this project refuses imports that add types")
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJobStatus.NEEDS_CONFIRMATION).update(
        status=ImportJobStatus.QUEUED, new_types=NewTypes.ADD, user=user)
    if not claimed:
        raise ImportJobConflict("This import is no longer waiting for a confirmation.")
    job.refresh_from_db()
    return _import_job_start(job)


def import_job_cancel(*, job: ImportJob) -> ImportJob:
    """Drop a job waiting for a confirmation: nothing is imported, its upload is deleted."""
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJobStatus.NEEDS_CONFIRMATION).update(
        status=ImportJobStatus.FAILED, error="Cancelled: the new types were not confirmed; "
                                             "nothing was imported.", finished_at=timezone.now())
    if not claimed:
        raise ImportJobConflict("This import is no longer waiting for a confirmation.")
    Path(job.path).unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def import_job_enqueue(*, job: ImportJob) -> None:
    """Queue the job's import for a worker, once the job row is committed."""
    task_enqueue(name=IMPORT_CORPUS, args=[job.pk], task_id=import_task_id(job_id=job.pk))


def import_job_run(*, job_id: int, progress=None) -> ImportJob:
    """Import a queued job's file (all or nothing) and record the outcome; deletes the file.

    ``progress(documents_so_far)`` is called after each batch of documents. A job that is no
    longer queued (a redelivered task message) is returned as it is.
    """
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).update(
        status=ImportJobStatus.RUNNING)
    job = ImportJob.objects.select_related("project", "user", "annotator").get(pk=job_id)
    if not claimed:
        return job
    path = Path(job.path)
    keep_upload = False
    try:
        with acting_user(job.user):
            report = corpus_import(project=job.project, path=path, fmt=job.format, user=job.user,
                                   display_name=job.file_name, progress=progress,
                                   new_types=job.new_types, annotator=job.annotator)
    except NewTypesPending as pending:
        keep_upload = not pending.refused
        job.status = ImportJobStatus.FAILED if pending.refused else ImportJobStatus.NEEDS_CONFIRMATION
        job.error, job.report = str(pending), {**job.report, "new_types": pending.additions}
    except CorpusImportError as failure:
        job.status, job.error = ImportJobStatus.FAILED, str(failure)
    except Exception:  # noqa: BLE001 - the traceback goes to the log, never to the client
        logger.exception("import job %s failed", job_id)
        job.status, job.error = ImportJobStatus.FAILED, UNEXPECTED_ERROR
    else:
        job.status = ImportJobStatus.SUCCEEDED
        job.report = {**report.as_dict(), "sample_documents": _sample(report.document_ids)}
        audit_record(project=job.project, user=job.user, action=AuditAction.IMPORTED,
                     obj=job, object_type="import_job", payload={"job": job.pk, **job.report})
    finally:
        if not keep_upload:
            path.unlink(missing_ok=True)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "report", "finished_at"])
    return job


def _sample(document_ids: list[int]) -> list[dict]:
    """The first few imported documents (id and name), for links to what was imported."""
    ids = document_ids[:SAMPLE_DOCUMENTS]
    names = dict(Document.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [{"id": pk, "name": names[pk]} for pk in ids if pk in names]


def _expected_documents(path: Path, fmt: str) -> int | None:
    """About how many documents the file holds (for a progress bar), when cheap to tell."""
    if fmt == "brat":
        with zipfile.ZipFile(path) as archive:
            stems = {name.rpartition(".")[0] for name in archive.namelist()
                     if name.endswith(".txt") and not any(
                         part.startswith(".") or part == "__MACOSX"
                         for part in PurePosixPath(name).parts)}
        return len(stems)
    if fmt == "jsonl":
        with open(path, "rb") as handle:
            header = 1 if b'"eligo"' in handle.readline()[:100] else 0
            handle.seek(0)
            return max(sum(1 for line in handle if line.strip()) - header, 0)
    return None
