"""The active-learning loop through a REAL Celery worker process and HTTP, with a tiny model.

Retrain via POST, progress polled over HTTP, a model version, pre-annotations, the
uncertainty-ranked queue, accept/reject via HTTP; cancel; a SIGKILLed worker.
"""
import re
import time

import pytest

from annotation.models import (
    Entity, ModelVersion, PredictedEntity, SentenceScore, SentenceStatus, Source, SuggestionStatus,
    TrainingRun, TrainingRunStatus,
)
from tests.annotation.conftest import client_for, make_user, project, users  # noqa: F401
from tests.annotation.ml_fixtures import ml_project  # noqa: F401

pytestmark = [pytest.mark.celery]


def wait_for(predicate, timeout: float, worker, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s; worker log:\n{worker.output()[-4000:]}")


def progress(client, run) -> dict:
    response = client.get(f"/projects/trial/runs/{run.pk}/progress/")
    assert response.status_code == 200
    html = response.content.decode()
    return {
        "status": re.search(r'data-status="(\w+)"', html).group(1),
        "step": int(re.search(r'data-step="(\d+)"', html).group(1)),
        "total": int(re.search(r'data-total-steps="(\d+)"', html).group(1)),
    }


def press_retrain(client):
    return client.post("/projects/trial/runs/")


def test_retrain_progress_version_preannotations_queue_and_review(
        celery_worker_process, ml_project, users, client_for):
    manager = client_for(users["manager"])
    assert press_retrain(manager).status_code == 302
    assert press_retrain(manager).status_code == 302  # the second press is refused ...
    assert TrainingRun.objects.count() == 1  # ... and makes no second run
    run = TrainingRun.objects.get()

    seen = []

    def finished():
        seen.append(progress(manager, run))
        return seen[-1]["status"] not in ("queued", "running")

    wait_for(finished, 60, celery_worker_process)
    run.refresh_from_db()
    assert run.status == TrainingRunStatus.SUCCEEDED, run.log + run.error
    steps = [p["step"] for p in seen if p["status"] == "running"]
    assert any(0 < s < run.total_steps for s in steps), seen  # it advanced while we polled
    assert steps == sorted(steps)

    version = ModelVersion.objects.get()
    assert version.number == 1 and version.is_active and version.train_size == 24
    # auto-activation queued pre-annotation of the 10 new sentences on the inference queue
    wait_for(lambda: SentenceScore.objects.filter(model_version=version).count() == 10, 40,
             celery_worker_process)
    assert not SentenceScore.objects.filter(sentence__status=SentenceStatus.DONE).exists()
    assert PredictedEntity.objects.filter(model_version=version).exists()
    assert Entity.objects.filter(source=Source.MODEL).count() == 0  # human work untouched

    annotator = client_for(users["annotator"])
    page = annotator.get("/projects/trial/review/").content.decode()
    scores = [float(s) for s in re.findall(r'data-score="([\d.e-]+)"', page)]
    assert len(scores) == 10 and scores == sorted(scores, reverse=True)

    first, second = PredictedEntity.objects.filter(model_version=version)[:2]
    sentence = first.sentence
    url = f"/projects/trial/sentences/{sentence.pk}/suggestions/entity/{first.pk}/accept/"
    reviewer = client_for(users["reviewer"])  # annotators do not decide suggestions
    response = reviewer.post(url, {"version": sentence.version}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    first.refresh_from_db()
    assert first.status == SuggestionStatus.ACCEPTED
    assert first.entity.source == Source.MODEL and first.entity.source_detail == "model v1"
    response = reviewer.post(
        f"/projects/trial/sentences/{second.sentence_id}/suggestions/entity/{second.pk}/reject/",
        HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    second.refresh_from_db()
    assert second.status == SuggestionStatus.REJECTED


def _long_run(project):
    project.model_options = {**project.model_options, "epochs": 400}
    project.save(update_fields=["model_options"])


def test_cancel_ends_a_running_run(celery_worker_process, ml_project, users, client_for):
    _long_run(ml_project)
    manager = client_for(users["manager"])
    press_retrain(manager)
    run = TrainingRun.objects.get()
    wait_for(lambda: progress(manager, run)["step"] > 0, 40, celery_worker_process)
    assert manager.post(f"/projects/trial/runs/{run.pk}/cancel/").status_code == 302
    wait_for(lambda: progress(manager, run)["status"] == "cancelled", 10, celery_worker_process)
    assert not ModelVersion.objects.exists()
    # the project is free again
    assert press_retrain(manager).status_code == 302
    second = TrainingRun.objects.exclude(pk=run.pk).get()
    assert second.status in (TrainingRunStatus.QUEUED, TrainingRunStatus.RUNNING)
    manager.post(f"/projects/trial/runs/{second.pk}/cancel/")
    wait_for(lambda: progress(manager, second)["status"] == "cancelled", 20, celery_worker_process)


@pytest.mark.slow
def test_a_killed_worker_leaves_a_lost_run_and_the_active_model(
        celery_worker_process, ml_project, users, client_for, settings):
    settings.ELIGO_TRAINING_STALE_AFTER_S = 3
    active = ModelVersion.objects.create(project=ml_project, number=1, checkpoint_dir="/unused",
                                         is_active=True, dev_metrics={"ner": {"f1": 0.9}})
    _long_run(ml_project)
    manager = client_for(users["manager"])
    press_retrain(manager)
    run = TrainingRun.objects.get()
    wait_for(lambda: progress(manager, run)["step"] > 0, 40, celery_worker_process)
    celery_worker_process.kill()
    wait_for(lambda: progress(manager, run)["status"] == "lost", 15, celery_worker_process, 0.5)
    run.refresh_from_db()
    assert "heartbeat" in run.error
    assert list(ModelVersion.objects.all()) == [active]
    assert ModelVersion.objects.get().is_active
