"""``manage.py retrain`` and ``manage.py review_queue``."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotation.services import tasks as tasks_service
from annotation.models import ModelVersion, Sentence, SentenceScore, TrainingRun, TrainingRunStatus
from annotation.services.training import training_run_execute
from tests.annotation.ml_fixtures import build_ml_project, make_version, ml_project  # noqa: F401


@pytest.fixture
def inline_worker(monkeypatch):
    """Run ``train_model`` in this process when it is enqueued (preannotate is dropped)."""
    def send(name, args, task_id=None):
        if name == "worker.tasks.train_model":
            training_run_execute(run_id=args[0])

    monkeypatch.setattr(tasks_service, "task_send", send)


def test_retrain_without_wait_prints_the_queued_run(ml_project, monkeypatch):
    monkeypatch.setattr(tasks_service, "task_send", lambda *a, **k: None)
    out = StringIO()
    call_command("retrain", "--project", "trial", stdout=out)
    run = TrainingRun.objects.get()
    assert json.loads(out.getvalue()) == {"run": run.pk, "status": "queued"}
    with pytest.raises(CommandError, match="in progress"):
        call_command("retrain", "--project", "trial")
    with pytest.raises(CommandError, match="No project"):
        call_command("retrain", "--project", "nope")


@pytest.mark.django_db(transaction=True)
def test_retrain_wait_prints_dev_metrics(project, inline_worker):
    build_ml_project(project)
    project.model_options = {**project.model_options, "epochs": 3}
    project.save()
    out = StringIO()
    call_command("retrain", "--project", "trial", "--wait", "--poll", "0.1", stdout=out)
    metrics = json.loads(out.getvalue())
    assert set(metrics) >= {"ner", "re_gs", "re_end_to_end"}
    assert {"precision", "recall", "f1", "per_type"} <= set(metrics["ner"])
    assert metrics == ModelVersion.objects.get().dev_metrics


@pytest.mark.django_db(transaction=True)
def test_retrain_wait_fails_when_the_run_fails(project, inline_worker):
    build_ml_project(project, done_documents=1)
    with pytest.raises(CommandError, match="failed"):
        call_command("retrain", "--project", "trial", "--wait", "--poll", "0.1")
    assert TrainingRun.objects.get().status == TrainingRunStatus.FAILED


def test_review_queue_prints_json_lines_most_uncertain_first(ml_project):
    with pytest.raises(CommandError, match="no active model"):
        call_command("review_queue", "--project", "trial")
    version = make_version(ml_project)
    SentenceScore.objects.bulk_create([
        SentenceScore(project=ml_project, sentence=s, model_version=version, score=(s.pk % 5) / 5)
        for s in Sentence.objects.filter(project=ml_project)])
    out = StringIO()
    call_command("review_queue", "--project", "trial", "--limit", "4", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 4 and [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert rows[0]["score"] == 0.8 and set(rows[0]) >= {"sentence", "document", "score"}
