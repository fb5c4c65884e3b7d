"""Reads for import jobs: a project's jobs, one job, and the progress of a running one."""
from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from annotation.models import ImportJob, ImportJobStatus, Project
from annotation.services.imports import import_task_id


def import_jobs_for_project(*, project: Project) -> QuerySet[ImportJob]:
    """The project's import jobs with their users (the model's order: newest first)."""
    return ImportJob.objects.filter(project=project).select_related("user")


def import_job_get(*, project: Project, job_id: int) -> ImportJob:
    """The project's import job ``job_id`` (404 for another project's)."""
    return get_object_or_404(ImportJob.objects.select_related("user"), project=project, pk=job_id)


def import_job_progress(*, job: ImportJob) -> dict:
    """``{"documents": done, "expected": total or None, "percent": 0-100 or None}``.

    A running job's count comes from the Celery result backend, where the worker task
    reports it after each batch; a finished job counts what it imported.
    """
    expected = (job.report or {}).get("expected_documents")
    if job.status == ImportJobStatus.SUCCEEDED:
        done = job.report.get("documents", 0)
        return {"documents": done, "expected": done, "percent": 100}
    done = 0
    if job.status == ImportJobStatus.RUNNING:
        done = _reported_documents(job.pk)
    percent = min(99, round(100 * done / expected)) if expected else None
    return {"documents": done, "expected": expected, "percent": percent}


def _reported_documents(job_id: int) -> int:
    from webapp.celery import app

    result = app.AsyncResult(import_task_id(job_id=job_id))
    try:
        info = result.info if result.state == "PROGRESS" else None
    except Exception:  # noqa: BLE001 - an unreachable result backend only costs the progress bar
        return 0
    return int(info.get("documents", 0)) if isinstance(info, dict) else 0


def import_report_kinds(*, report: dict) -> list[dict]:
    """A stored report's quirks as rows ``{"kind", "label", "count", "examples"}``, most first."""
    quirks = (report or {}).get("quirks") or {}
    if not isinstance(quirks, dict):
        return []
    labels, examples = quirks.get("labels", {}), quirks.get("examples", {})
    return [{"kind": kind, "label": labels.get(kind, kind), "count": count,
             "examples": examples.get(kind, [])}
            for kind, count in quirks.get("by_kind", {}).items()]


def import_types_added(*, report: dict) -> list[dict]:
    """The types a finished import added, ``{"type": "entity Value", "key": "h"}`` each."""
    keys = (report or {}).get("type_keys") or {}
    return [{"type": name, "key": keys.get(name, "")} for name in (report or {}).get("types_added") or []]
