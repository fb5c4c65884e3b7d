"""Training runs in-process (no worker): start, execute, versions, cancel, failure, lost runs."""
import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from annotation.services import tasks as tasks_service
from annotation.models import Document, ModelVersion, SentenceStatus, TrainingRun, TrainingRunStatus
from annotation.selectors.training import (
    document_trials, model_options_get, training_data_split, training_examples,
)
from annotation.services import training as training_service
from annotation.services.training import (
    ModelVersionError, ProgressRecorder, TrainingRunInProgress, model_options_update,
    model_version_activate, model_version_delete, training_run_cancel, training_run_execute,
    training_run_start, training_runs_mark_lost,
)
from mlcore.checkpoint import read_config
from mlcore.contract import INCUMBENT, dev_split_by_trial, trial_of
from tests.annotation.ml_fixtures import (  # noqa: F401
    TINY_OPTIONS, _sentence_texts, build_ml_project, make_document, ml_project,
)


@pytest.fixture(autouse=True)
def quiet_heartbeat(settings):
    """The heartbeat thread has its own connection, which would wait on this test's open
    transaction (SQLite); the worker tests cover it."""
    settings.ELIGO_TRAINING_HEARTBEAT_S = 3600


@pytest.fixture
def sent(monkeypatch):
    """Tasks the services enqueue, captured instead of sent."""
    calls = []
    monkeypatch.setattr(tasks_service, "task_send", lambda name, args, task_id=None: calls.append((name, args)))
    return calls


def test_training_examples_are_done_sentences_split_by_document(ml_project):
    examples = training_examples(ml_project)
    assert len(examples) == 32  # 4 done documents x 8; the new document is left out
    assert {e.document for e in examples} == {"doc-0", "doc-1", "doc-2", "doc-3"}
    negated = next(e for e in examples if e.text.startswith("No "))
    assert [s.type for s in negated.spans] == ["Negation", "Condition"]
    assert negated.relations == [(1, 0, "is negated")]
    train, dev = training_data_split(examples, dev_fraction=0.25, seed=13)
    assert {e.document for e in train}.isdisjoint({e.document for e in dev})
    assert len(dev) == 8 and len(train) == 24
    assert training_data_split(examples, dev_fraction=0.25, seed=13) == (train, dev)


TRIAL_DOCUMENTS = ["NCT00000001_inc", "NCT00000001_exc", "NCT00000002_inc", "NCT00000002_exc",
                   "NCT00000003_inc", "NCT00000003_exc", "site-4_inc", "site-4_exc", "loose"]


def _trial_project(project, dev_fraction=0.4):
    """Four trials of two documents (the fourth's NCT id only in the metadata) and a document
    without a trial id."""
    for number, name in enumerate(TRIAL_DOCUMENTS):
        make_document(project, name, _sentence_texts(number, 4), SentenceStatus.DONE, True)
    Document.objects.filter(name__startswith="site-4").update(metadata={"nct_id": "NCT00000004"})
    project.model_options = {**TINY_OPTIONS, "epochs": 1, "dev_fraction": dev_fraction}
    project.save(update_fields=["model_options"])
    return {d.name: trial_of(d.name, d.metadata) for d in Document.objects.filter(project=project)}


def test_retrain_snapshot_keeps_a_trials_documents_together(project, sent):
    """By the trial ids the CLI reads too (the metadata's ``nct_id`` first), each trial's side
    fixed by ``dev_split_by_trial`` so that later Retrains keep it there."""
    trials = _trial_project(project)
    version = training_run_execute(run_id=training_run_start(project=project).pk)
    run = version.run
    data = (training_service.run_dir(run) / "data.json").read_bytes()
    snapshot = json.loads(data)
    sides = {side: {e["document"] for e in snapshot[side]} for side in ("train", "dev")}
    assert sides["train"] | sides["dev"] == set(TRIAL_DOCUMENTS)
    assert {trials[n] for n in sides["train"]}.isdisjoint({trials[n] for n in sides["dev"]})
    _, dev = dev_split_by_trial(TRIAL_DOCUMENTS, trial=trials.get, dev_fraction=0.4, seed=13)
    assert sides["dev"] == set(dev)
    # one data hash: the snapshot file's, on the run, the version and the checkpoint
    assert run.data_hash == hashlib.sha256(data).hexdigest() == version.data_hash
    assert read_config(version.checkpoint_dir)["data_hash"] == run.data_hash


def test_every_seed_keeps_a_trials_documents_together(project):
    trials = _trial_project(project)
    examples = training_examples(project)
    for seed in range(12):
        train, dev = training_data_split(examples, trials=document_trials(project=project),
                                         dev_fraction=0.4, seed=seed)
        assert train and dev and len(train) + len(dev) == len(examples)
        assert {trials[e.document] for e in train}.isdisjoint({trials[e.document] for e in dev})


def test_a_second_retrain_is_refused_while_a_run_is_queued(ml_project, users, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = training_run_start(project=ml_project, user=users["manager"])
    with pytest.raises(TrainingRunInProgress) as refused:
        training_run_start(project=ml_project, user=users["manager"])
    assert refused.value.run == run
    assert TrainingRun.objects.filter(project=ml_project).count() == 1
    assert sent == [("worker.tasks.train_model", [run.pk])]
    assert run.options["epochs"] == 12


def test_execute_trains_registers_v1_and_auto_activates(ml_project, users, sent, django_capture_on_commit_callbacks):
    run = training_run_start(project=ml_project, user=users["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        version = training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRunStatus.SUCCEEDED, run.log
    assert (version.number, version.is_active, version.train_size, version.dev_size) == (1, True, 24, 8)
    assert set(version.dev_metrics) >= {"ner", "re_gs", "re_end_to_end"}
    assert version.dev_metrics["ner"]["f1"] > 0.5, version.dev_metrics
    # calibrated on the dev split; the automatic display threshold follows the active version
    calibration = version.dev_metrics["calibration"]
    assert calibration["ner_temperature"] > 0 and calibration["ece"]["entity"]["count"] > 0
    ml_project.refresh_from_db()
    assert ml_project.suggestion_threshold == calibration["display_threshold"]
    assert Path(version.checkpoint_dir, "config.json").exists()
    assert version.data_hash == run.data_hash and len(run.data_hash) == 64
    assert run.step == run.total_steps > 0 and run.heartbeat_at is not None
    assert "snapshot: 24 train / 8 dev sentences" in run.log
    assert ("worker.tasks.preannotate", [version.pk, None]) in sent
    # a shorter second run is not better: v2 exists, v1 stays active
    model_options_update(project=ml_project, options={"epochs": 2})
    run2 = training_run_start(project=ml_project, user=users["manager"])
    v2 = training_run_execute(run_id=run2.pk)
    assert v2.number == 2 and not ModelVersion.objects.get(pk=v2.pk).is_active
    assert ModelVersion.objects.get(pk=version.pk).is_active
    # v1 was scored on v2's dev split, and the log says by how much v2 fell short
    incumbent = v2.dev_metrics[INCUMBENT]
    assert incumbent["version"] == 1 and "checkpoint" not in incumbent  # no server path
    run2.refresh_from_db()
    assert "model v1 stays active: its dev F1 on this run's dev split is" in run2.log


def _version(project, number: int, ner: float, re: float, incumbent: int | None = None,
             active: bool = False) -> ModelVersion:
    metrics = {"ner": {"f1": ner}, "re_end_to_end": {"f1": re}}
    if incumbent:
        metrics[INCUMBENT] = {"version": incumbent, "score": 0.3}
    run = TrainingRun.objects.create(project=project, status=TrainingRunStatus.SUCCEEDED)
    return ModelVersion.objects.create(project=project, number=number, run=run,
                                       checkpoint_dir=f"/m/v{number}", dev_metrics=metrics,
                                       is_active=active)


def test_auto_activation_compares_on_the_new_dev_split_only_with_the_version_active_now(
        ml_project, sent):
    """v1 scores 0.4 on its own dev split; a new version's 0.375 beats v1's 0.3 on the new
    split, but not a score it recorded for a version that is no longer the active one."""
    v1 = _version(ml_project, 1, 0.5, 0.3, active=True)
    stale = _version(ml_project, 2, 0.45, 0.3, incumbent=9)
    training_service._auto_activate(stale)
    assert ModelVersion.objects.get(pk=v1.pk).is_active
    assert "model v1 stays active: its dev F1 on its own dev split is 0.400" in \
        TrainingRun.objects.get(pk=stale.run_id).log
    scored = _version(ml_project, 3, 0.45, 0.3, incumbent=1)
    training_service._auto_activate(scored)
    assert ModelVersion.objects.get(pk=scored.pk).is_active


def test_a_redelivered_task_does_nothing(ml_project, sent):
    run = training_run_start(project=ml_project)
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRunStatus.CANCELLED)
    assert training_run_execute(run_id=run.pk) is None
    assert not ModelVersion.objects.exists()


def test_failure_records_the_reason_and_leaves_the_active_model(project, sent):
    build_ml_project(project, done_documents=1)
    active = ModelVersion.objects.create(project=project, number=1, checkpoint_dir="/nowhere", is_active=True)
    run = training_run_start(project=project)
    assert training_run_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == TrainingRunStatus.FAILED
    assert "at least two trials" in run.error and "failed" in run.log
    assert list(ModelVersion.objects.filter(project=project)) == [active]
    assert ModelVersion.objects.get(pk=active.pk).is_active


def test_cancel_stops_a_running_run_within_one_step(ml_project, sent, monkeypatch):
    from mlcore import trainer

    real_train = trainer.train
    steps = []

    def cancelling_train(*args, progress=None, **kwargs):
        def spy(p):
            steps.append(p.step)
            if p.step == 3:
                training_run_cancel(run=TrainingRun.objects.get(pk=run.pk))
            progress(p)
        return real_train(*args, progress=spy, **kwargs)

    monkeypatch.setattr(trainer, "train", cancelling_train)
    run = training_run_start(project=ml_project)
    assert training_run_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == TrainingRunStatus.CANCELLED and run.cancel_requested
    assert max(steps) == 3  # the step that saw the flag was the last one
    assert not ModelVersion.objects.exists()
    assert not (training_service.run_dir(run) / "model").exists()


def test_cancel_of_a_queued_run_ends_it_at_once(ml_project, sent):
    run = training_run_cancel(run=training_run_start(project=ml_project))
    assert run.status == TrainingRunStatus.CANCELLED
    assert training_run_start(project=ml_project).status == TrainingRunStatus.QUEUED


def test_progress_writes_are_throttled(ml_project, sent):
    from mlcore.trainer import Progress, TrainingCancelled

    run = training_run_start(project=ml_project)
    recorder = ProgressRecorder(run.pk, TrainingCancelled)
    recorder(Progress("train", 1, 3, 1, 30, 0.9, 12.0, 5.0))
    recorder(Progress("train", 1, 3, 2, 30, 0.8, 12.0, 4.0))  # within 0.5 s: not written
    run.refresh_from_db()
    assert (run.phase, run.epoch, run.epochs, run.step, run.total_steps) == ("train", 1, 3, 1, 30)
    assert run.loss == pytest.approx(0.9) and run.eta_s == pytest.approx(5.0)
    recorder(Progress("evaluate", 1, 3, 10, 30, 0.5, 0.0, None))  # a new phase: written
    run.refresh_from_db()
    assert (run.phase, run.step) == ("evaluate", 10)
    assert run.log.count("\n") == 2


def test_runs_with_a_stale_heartbeat_are_marked_lost(ml_project, sent):
    run = training_run_start(project=ml_project)
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRunStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(seconds=30))
    assert training_runs_mark_lost(stale_after=timedelta(seconds=60)) == 0
    assert training_runs_mark_lost(stale_after=timedelta(seconds=10)) == 1
    run.refresh_from_db()
    assert run.status == TrainingRunStatus.LOST and "heartbeat" in run.error
    # the next press is not blocked by the lost run
    assert training_run_start(project=ml_project).status == TrainingRunStatus.QUEUED


def test_activate_rolls_back_and_the_active_version_cannot_be_deleted(ml_project, sent, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.ELIGO_MODEL_DIR = tmp_path
    (tmp_path / "trial" / "run-1" / "model").mkdir(parents=True)
    v1 = ModelVersion.objects.create(project=ml_project, number=1, is_active=True,
                                     checkpoint_dir=str(tmp_path / "trial" / "run-1" / "model"))
    v2 = ModelVersion.objects.create(project=ml_project, number=2, checkpoint_dir="/elsewhere")
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=v2)
    assert sent == [("worker.tasks.preannotate", [v2.pk, None])]
    assert list(ModelVersion.objects.filter(is_active=True)) == [v2]
    with pytest.raises(ModelVersionError):
        model_version_delete(version=ModelVersion.objects.get(pk=v2.pk))
    model_version_activate(version=v1)  # roll back
    model_version_delete(version=ModelVersion.objects.get(pk=v2.pk))
    assert list(ModelVersion.objects.all()) == [v1]


def test_model_options_update_validates(ml_project):
    options = model_options_update(project=ml_project, options={"strategy": "mnlp", "epochs": 3})
    assert options["strategy"] == "mnlp" and model_options_get(ml_project)["epochs"] == 3
    with pytest.raises(ValueError):
        model_options_update(project=ml_project, options={"strategy": "astrology"})
    with pytest.raises(ValueError):
        model_options_update(project=ml_project, options={"colour": "red"})
    ml_project.refresh_from_db()
    assert ml_project.model_options["strategy"] == "mnlp"


def test_a_retrain_warm_starts_from_the_active_version(ml_project):
    """Pressing Retrain again starts from the active version's checkpoint (the app's recipe),
    and not when the project turns ``warm_start`` off."""
    first = training_run_execute(run_id=training_run_start(project=ml_project).pk)
    assert first.is_active and read_config(first.checkpoint_dir)["options"]["warm_start"] is None
    second = training_run_execute(run_id=training_run_start(project=ml_project).pk)
    assert read_config(second.checkpoint_dir)["options"]["warm_start"] == first.checkpoint_dir
    model_options_update(project=ml_project, options={"warm_start": False})
    third = training_run_execute(run_id=training_run_start(project=ml_project).pk)
    assert read_config(third.checkpoint_dir)["options"]["warm_start"] is None


def test_auto_trains_bio_on_little_data_and_span_from_the_threshold(ml_project, monkeypatch):
    """The app's default layer follows the amount of done and reviewed criteria (32 here); the
    run and its version say which layer they trained."""
    import mlcore.contract

    first = training_run_execute(run_id=training_run_start(project=ml_project).pk)
    assert first.options["entity_layer"] == "bio"
    assert read_config(first.checkpoint_dir)["options"]["entity_layer"] == "bio"
    assert "entity layer: bio (auto: 32 done or reviewed criteria" in first.run.log
    assert "ranking: random (auto: random order (no ranking beat it on Chia" in first.run.log
    monkeypatch.setattr(mlcore.contract, "SPAN_LAYER_MIN_CRITERIA", 32)
    second = training_run_execute(run_id=training_run_start(project=ml_project).pk)
    assert second.options["entity_layer"] == "span"
    assert read_config(second.checkpoint_dir)["options"]["entity_layer"] == "span"
    assert ml_project.model_options.get("entity_layer", "auto") == "auto"
