"""HTTP: the models page, options, activation, runs (start, progress, log, cancel), roles."""
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.services import tasks as tasks_service
from annotation.models import ModelVersion, PredictedEntity, SuggestionStatus, TrainingRun, TrainingRunStatus
from tests.annotation.ml_fixtures import make_version, ml_project, suggest  # noqa: F401


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks_service, "task_send", lambda name, args, task_id=None: calls.append((name, args)))
    return calls


METRICS = {
    "ner": {"precision": 0.8, "recall": 0.7, "f1": 0.75,
            "per_type": {"Condition": {"f1": 0.6}, "Negation": {"f1": 0.9}}},
    "re_gs": {"f1": 0.5, "per_type": {}},
    "re_end_to_end": {"f1": 0.4, "per_type": {"is negated": {"f1": 0.4}}},
}


def test_models_page_shows_versions_metrics_acceptance_and_charts(ml_project, users, client_for):
    v1 = make_version(ml_project, 1, active=False, dev_metrics=METRICS, train_size=10)
    make_version(ml_project, 2, active=True, dev_metrics=METRICS, train_size=24)
    sentence = ml_project.sentences.filter(status="new").first()
    suggest(v1, sentence, sentence.text.split()[0], "Negation")
    PredictedEntity.objects.update(status=SuggestionStatus.ACCEPTED)
    html = client_for(users["annotator"]).get("/projects/trial/models/").content.decode()
    assert 'data-version="2" data-active="1"' in html and 'data-version="1"' in html
    assert "<polyline" in html and "Negation: F1 0.900" in html
    assert ">1/1<" in html  # v1: one suggestion shown, one accepted
    assert "Retrain" not in html  # annotators cannot train
    manager_html = client_for(users["manager"]).get("/projects/trial/models/").content.decode()
    assert "Retrain" in manager_html and "Roll back to" in manager_html


def test_outsiders_get_404_and_annotators_cannot_train(ml_project, users, client_for):
    assert client_for(users["outsider"]).get("/projects/trial/models/").status_code == 404
    assert client_for(users["annotator"]).post("/projects/trial/runs/").status_code == 403
    assert not TrainingRun.objects.exists()


def test_retrain_twice_gives_one_run_and_a_409_for_htmx(ml_project, users, client_for, sent,
                                                       django_capture_on_commit_callbacks):
    reviewer, manager = client_for(users["reviewer"]), client_for(users["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = reviewer.post("/projects/trial/runs/", HTTP_HX_REQUEST="true")
    assert response.status_code == 201 and 'data-status="queued"' in response.content.decode()
    assert "Cancel" in response.content.decode()
    response = manager.post("/projects/trial/runs/", HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert TrainingRun.objects.count() == 1 and len(sent) == 1


def test_progress_marks_a_stale_run_lost_and_shows_the_log(ml_project, users, client_for, settings):
    settings.ELIGO_TRAINING_STALE_AFTER_S = 5
    run = TrainingRun.objects.create(project=ml_project, status=TrainingRunStatus.RUNNING, step=3,
                                     total_steps=10, heartbeat_at=timezone.now(), log="line one\n")
    client = client_for(users["annotator"])
    html = client.get(f"/projects/trial/runs/{run.pk}/progress/").content.decode()
    assert 'data-status="running"' in html and 'aria-valuenow="30"' in html and "hx-get" in html
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=6))
    html = client.get(f"/projects/trial/runs/{run.pk}/progress/").content.decode()
    assert 'data-status="lost"' in html and "hx-get" not in html
    log = client.get(f"/projects/trial/runs/{run.pk}/log/")
    assert log["Content-Type"].startswith("text/plain") and "line one" in log.content.decode()
    assert "heartbeat" in log.content.decode()


def test_cancel_activate_delete_and_options_over_http(ml_project, users, client_for, sent,
                                                      django_capture_on_commit_callbacks):
    manager = client_for(users["manager"])
    manager.post("/projects/trial/runs/")
    run = TrainingRun.objects.get()
    assert manager.post(f"/projects/trial/runs/{run.pk}/cancel/").status_code == 302
    run.refresh_from_db()
    assert run.status == TrainingRunStatus.CANCELLED
    v1, v2 = make_version(ml_project, 1), make_version(ml_project, 2, active=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert manager.post("/projects/trial/models/2/activate/").status_code == 302
    assert ("worker.tasks.preannotate", [v2.pk, None]) in sent
    manager.post("/projects/trial/models/2/delete/")  # refused: active
    assert ModelVersion.objects.filter(pk=v2.pk).exists()
    manager.post("/projects/trial/models/1/delete/")
    assert not ModelVersion.objects.filter(pk=v1.pk).exists()
    form = {"mode": "joint", "re_head": "additive", "negatives": "incremental", "encoder": "",
            "entity_layer": "span", "epochs": 5, "batch_size": 16, "min_steps": 20, "warm_start": "",
            "strategy": "margin", "auto_activate": ""}
    assert manager.post("/projects/trial/models/options/", form).status_code == 302
    ml_project.refresh_from_db()
    assert ml_project.model_options["re_head"] == "additive"
    assert ml_project.model_options["auto_activate"] is False
    assert ml_project.model_options["min_steps"] == 20
    assert ml_project.model_options["entity_layer"] == "span"
    assert ml_project.model_options["warm_start"] is False
    assert ml_project.model_options["encoder_config"]  # untouched by the form
    assert client_for(users["reviewer"]).post("/projects/trial/models/options/", form).status_code == 403


def test_the_options_form_offers_the_contracts_choices(ml_project, users, client_for):
    import re

    from mlcore import contract

    html = client_for(users["manager"]).get("/projects/trial/models/").content.decode()

    def options_of(name):
        select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group()
        return re.findall(r'<option value="([^"]*)"', select)

    assert options_of("mode") == list(contract.PROJECT_MODES)
    assert options_of("re_head") == list(contract.RE_HEADS)
    assert options_of("negatives") == list(contract.NEGATIVES)
    assert options_of("entity_layer") == ["auto", "span", "bio"]
    assert options_of("strategy") == list(contract.PROJECT_STRATEGIES)
    low, high = contract.OPTION_RANGES["epochs"]
    assert re.search(rf'name="epochs"[^>]*max="{high}"[^>]*min="{low}"|'
                     rf'name="epochs"[^>]*min="{low}"[^>]*max="{high}"', html)


def test_options_outside_the_contract_are_refused_and_change_nothing(ml_project, users, client_for):
    manager = client_for(users["manager"])
    before = dict(ml_project.model_options)
    form = {"mode": "ner", "re_head": "biaffine", "negatives": "gs", "encoder": "",
            "entity_layer": "auto", "epochs": 5, "batch_size": 16, "strategy": "margin", "auto_activate": "on"}
    response = manager.post("/projects/trial/models/options/", form, follow=True)
    assert response.status_code == 200 and "Model options not saved" in response.content.decode()
    for bad in ({"mode": "joint", "epochs": 0}, {"mode": "joint", "strategy": "astrology"}):
        manager.post("/projects/trial/models/options/", {**form, **bad})
    ml_project.refresh_from_db()
    assert ml_project.model_options == before
