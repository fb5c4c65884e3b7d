"""Queueing work for the Celery worker: the one place web code sends a task.

Tasks are sent by name (``worker.tasks``; routing by ``CELERY_TASK_ROUTES``), so the web
process never imports the worker's code (nor torch). A task is sent once the current
transaction commits, so the worker always finds the rows it is given.
"""
from __future__ import annotations

from django.db import transaction

TRAIN_MODEL = "worker.tasks.train_model"
PREANNOTATE = "worker.tasks.preannotate"
IMPORT_CORPUS = "worker.tasks.import_corpus"


def task_send(*, name: str, args: list, task_id: str | None = None) -> None:
    """Send the task ``name`` now (tests replace this to run or record tasks)."""
    from webapp.celery import app

    app.send_task(name, args=args, task_id=task_id)


def task_enqueue(*, name: str, args: list, task_id: str | None = None) -> None:
    """Send the task ``name`` with ``args`` once the current transaction commits (at once
    outside a transaction)."""
    transaction.on_commit(lambda: task_send(name=name, args=args, task_id=task_id))
