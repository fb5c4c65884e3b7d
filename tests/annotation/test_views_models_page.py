"""The models page over HTTP: a run that stops early, the versions table reloaded by htmx,
the ETA in words, a refused Retrain, option labels, and what annotators see."""
import re

import pytest

from annotation.models import TrainingRun, TrainingRunStatus
from annotation.services import tasks as tasks_service
from annotation.services.training import training_run_execute
from tests.annotation.ml_fixtures import early_stopping, make_version, ml_project  # noqa: F401

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks_service, "task_send", lambda name, args, task_id=None: calls.append((name, args)))
    return calls


def progress(client, run):
    return client.get(f"/projects/trial/runs/{run.pk}/progress/", **HX)


def test_an_early_stopped_run_ends_complete_and_says_where_it_stopped(
        ml_project, users, client_for, early_stopping, settings):
    settings.ELIGO_TRAINING_HEARTBEAT_S = 3600  # its own connection would wait on this test's transaction
    manager = client_for(users["manager"])
    assert manager.post("/projects/trial/runs/").status_code == 302
    run = TrainingRun.objects.get()
    response = progress(manager, run)
    assert 'data-status="queued"' in response.content.decode() and "HX-Trigger" not in response
    training_run_execute(run_id=run.pk)
    response = progress(manager, run)
    html = response.content.decode()
    assert 'data-status="succeeded"' in html and 'aria-valuenow="100"' in html
    assert 'style="width: 100%"' in html and "stopped early at epoch 2 of 6" in html
    assert response["HX-Trigger"] == "eligo:run-finished"  # the page reloads the versions table


def test_the_versions_table_reloads_itself_when_a_run_finishes(ml_project, users, client_for):
    annotator = client_for(users["annotator"])
    page = annotator.get("/projects/trial/models/").content.decode()
    section = re.search(r'<section class="ml-card" id="versions"[^>]*>', page).group(0)
    assert 'hx-get="/projects/trial/models/versions/"' in section
    assert 'hx-trigger="eligo:run-finished from:body"' in section and 'hx-swap="outerHTML"' in section
    assert "No model yet" in annotator.get("/projects/trial/models/versions/", **HX).content.decode()
    make_version(ml_project, 1, duration_s=130)
    html = annotator.get("/projects/trial/models/versions/", **HX).content.decode()
    assert html.lstrip().startswith('<section class="ml-card" id="versions"') and "<html" not in html
    assert 'data-version="1" data-active="1"' in html and "about 2 min" in html
    assert client_for(users["outsider"]).get("/projects/trial/models/versions/").status_code == 404


@pytest.mark.parametrize("eta, shown", [(40.2, "40 s left"), (185, "about 3 min left"),
                                        (4000, "about 1 h 7 min left")])
def test_the_eta_is_in_words(ml_project, users, client_for, eta, shown):
    run = TrainingRun.objects.create(project=ml_project, status=TrainingRunStatus.RUNNING, step=3,
                                     total_steps=10, eta_s=eta)
    html = progress(client_for(users["annotator"]), run).content.decode()
    assert shown in html and f"{eta:.0f} s" not in html.replace(shown, "")


def test_a_refused_retrain_is_shown_as_an_error(ml_project, users, client_for):
    reviewer = client_for(users["reviewer"])
    reviewer.post("/projects/trial/runs/")
    response = reviewer.post("/projects/trial/runs/", follow=True)
    html = response.content.decode()
    assert re.search(r'<li class="error">Retrain refused: A training run is in progress', html)
    assert TrainingRun.objects.count() == 1


def test_model_options_are_labelled_in_words(ml_project, users, client_for):
    make_version(ml_project, 1)
    html = client_for(users["manager"]).get("/projects/trial/models/").content.decode()
    assert '<label for="id_re_head">Relation head:</label>' in html and "Re head" not in html
    assert "Uncertainty strategy" in html and "Activate automatically" in html
    assert "<th class=\"num\">Training sentences</th>" in html and "RE F1 (gold entities)" in html


def test_annotators_see_who_can_train_instead_of_an_empty_card(ml_project, users, client_for):
    def training_card(username):
        html = client_for(users[username]).get("/projects/trial/models/").content.decode()
        return html.split('<section class="ml-card" id="training">')[1].split("</section>")[0]

    assert "Reviewers and managers of the project can start training runs." in training_card("annotator")
    reviewer_card = training_card("reviewer")
    assert ">Retrain</button>" in reviewer_card and "can start training runs" not in reviewer_card
