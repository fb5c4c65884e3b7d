"""Queueing worker tasks: sent once the transaction commits, never when it rolls back."""
import pytest
from django.db import transaction

from annotation.services import tasks


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "task_send",
                        lambda *, name, args, task_id=None: calls.append((name, args, task_id)))
    return calls


def test_task_is_sent_after_commit(db, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.task_enqueue(name=tasks.TRAIN_MODEL, args=[7], task_id="t-7")
        assert sent == []
    assert sent == [("worker.tasks.train_model", [7], "t-7")]


@pytest.mark.django_db(transaction=True)
def test_task_is_not_sent_when_the_transaction_rolls_back(sent):
    with pytest.raises(RuntimeError), transaction.atomic():
        tasks.task_enqueue(name=tasks.PREANNOTATE, args=[1, None])
        raise RuntimeError
    assert sent == []
    tasks.task_enqueue(name=tasks.IMPORT_CORPUS, args=[3])
    assert sent == [("worker.tasks.import_corpus", [3], None)]


def test_task_send_goes_to_the_celery_app_by_name(monkeypatch):
    from webapp.celery import app

    calls = []
    monkeypatch.setattr(app, "send_task", lambda name, **kwargs: calls.append((name, kwargs)))
    tasks.task_send(name="worker.tasks.ping", args=["x"])
    assert calls == [("worker.tasks.ping", {"args": ["x"], "task_id": None})]
