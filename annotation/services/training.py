"""Writes for the active-learning loop: training runs, model versions, model options.

Flow: ``training_run_start`` (web) creates a queued run and enqueues
``worker.tasks.train_model``; the worker calls ``training_run_execute``, which claims the
run, snapshots the project's done+reviewed sentences, trains with ``mlcore`` while
recording progress and honouring cancellation, and on success creates the next
``ModelVersion`` (auto-activated when its dev F1 beats the active one).
A worker that dies stops heart-beating; ``training_runs_mark_lost`` then ends its run.
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
import traceback
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Concat
from django.utils import timezone

from annotation.models import ModelVersion, Project, TrainingRun, TrainingRunStatus
from annotation.selectors.training import (
    dev_display_threshold, document_trials, model_options_get, model_version_active, primary_f1,
    training_criteria_count, training_data_split, training_examples,
)
from mlcore import contract
from mlcore.contract import (
    INCUMBENT, MODEL_OPTION_DEFAULTS, PIPELINE, SPAN_LAYER_MIN_CRITERIA, data_hash,
    entity_layer_for, keeps_new_version, option_errors, score_to_beat, snapshot_json,
    strategy_for,
)
from annotation.services.tasks import PREANNOTATE, TRAIN_MODEL, task_enqueue

logger = logging.getLogger(__name__)

PROGRESS_WRITE_INTERVAL_S = 0.5  # at most two progress writes a second
LOG_LINE_INTERVAL_S = 10.0


class TrainingRunInProgress(Exception):
    """Retrain was pressed while the project already has a queued or running run."""

    def __init__(self, run: TrainingRun | None):
        super().__init__("A training run is in progress for this project.")
        self.run = run


class ModelVersionError(Exception):
    """An action on a model version that is not allowed (e.g. deleting the active one)."""


def heartbeat_interval_s() -> float:
    return float(getattr(settings, "ELIGO_TRAINING_HEARTBEAT_S", 2.0))


def stale_after_default() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "ELIGO_TRAINING_STALE_AFTER_S", 60.0)))


# --- model options ---------------------------------------------------------------------


def model_options_update(*, project: Project, options: dict) -> dict:
    """Validate (``mlcore.contract.option_errors``) and store the project's model options;
    on any error nothing is stored and ``ValueError`` says what is wrong."""
    merged = {**(project.model_options or {}), **options}
    errors = option_errors(merged)
    if errors:
        raise ValueError("; ".join(errors))
    project.model_options = merged
    project.save(update_fields=["model_options"])
    return model_options_get(project)


# --- starting, cancelling, losing runs ----------------------------------------------------


def training_run_start(*, project: Project, user=None) -> TrainingRun:
    """Queue a training run; raises ``TrainingRunInProgress`` if one is queued or running.

    The partial unique constraint ``one_active_training_run_per_project`` makes two
    concurrent presses yield exactly one run. A run whose worker died is marked lost first,
    so it does not block the new one.
    """
    training_runs_mark_lost(project=project)
    task_id = str(uuid.uuid4())
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                project=project, started_by=user, options=model_options_get(project),
                celery_task_id=task_id,
            )
            task_enqueue(name=TRAIN_MODEL, args=[run.pk], task_id=task_id)
    except IntegrityError:
        existing = TrainingRun.objects.filter(
            project=project, status__in=[TrainingRunStatus.QUEUED, TrainingRunStatus.RUNNING]
        ).first()
        raise TrainingRunInProgress(existing) from None
    return run


def training_run_cancel(*, run: TrainingRun) -> TrainingRun:
    """Cancel a run: a queued one ends at once, a running one at its worker's next step."""
    now = timezone.now()
    ended = TrainingRun.objects.filter(pk=run.pk, status=TrainingRunStatus.QUEUED).update(
        status=TrainingRunStatus.CANCELLED, finished_at=now, cancel_requested=True,
        error="Cancelled before it started.",
    )
    if not ended:
        TrainingRun.objects.filter(pk=run.pk, status=TrainingRunStatus.RUNNING).update(
            cancel_requested=True
        )
    run.refresh_from_db()
    return run


def training_runs_mark_lost(*, project: Project | None = None, stale_after: timedelta | None = None) -> int:
    """Mark running runs whose heartbeat is older than ``stale_after`` as lost; returns how many."""
    cutoff = timezone.now() - (stale_after or stale_after_default())
    runs = TrainingRun.objects.filter(status=TrainingRunStatus.RUNNING, heartbeat_at__lt=cutoff)
    if project is not None:
        runs = runs.filter(project=project)
    return runs.update(
        status=TrainingRunStatus.LOST, finished_at=timezone.now(),
        error="The worker stopped sending heartbeats (killed, crashed or out of memory).",
        log=Concat(F("log"), Value(f"{_stamp()} lost: no heartbeat since {cutoff:%H:%M:%S}\n")),
    )


# --- executing a run (worker side) ---------------------------------------------------------


def _stamp() -> str:
    return timezone.now().strftime("%Y-%m-%d %H:%M:%S")


def _append_log(run_id: int, line: str, **fields) -> None:
    TrainingRun.objects.filter(pk=run_id).update(
        log=Concat(F("log"), Value(f"{_stamp()} {line}\n")), **fields
    )


class _Heartbeat(threading.Thread):
    """Touches ``heartbeat_at`` every few seconds, independent of how long a step takes."""

    def __init__(self, run_id: int, interval: float):
        super().__init__(name=f"heartbeat-run-{run_id}", daemon=True)
        self.run_id, self.interval = run_id, interval
        self.stopped = threading.Event()

    def run(self):
        try:
            while not self.stopped.wait(self.interval):
                TrainingRun.objects.filter(pk=self.run_id, status=TrainingRunStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except Exception:  # a heartbeat failure must not kill training; staleness will show
            logger.exception("heartbeat of run %s failed", self.run_id)
        finally:
            connection.close()

    def stop(self):
        self.stopped.set()
        self.join(timeout=10)


class ProgressRecorder:
    """The ``progress`` callback given to ``mlcore.trainer.train``.

    Every call checks the cancel flag (one indexed SELECT) and raises
    ``TrainingCancelled`` when it is set, so a cancel takes effect within one step.
    Progress is written at most every ``PROGRESS_WRITE_INTERVAL_S``; a log line on each
    phase or epoch change and otherwise every ``LOG_LINE_INTERVAL_S``.
    """

    def __init__(self, run_id: int, cancelled_exc: type[Exception]):
        self.run_id, self.cancelled_exc = run_id, cancelled_exc
        self.last_write = self.last_line = 0.0
        self.last_key = None

    def __call__(self, progress) -> None:
        if TrainingRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            raise self.cancelled_exc("cancelled by a user")
        now = time.monotonic()
        key = (getattr(progress, "phase", ""), getattr(progress, "epoch", 0))
        is_new = key != self.last_key
        if not is_new and now - self.last_write < PROGRESS_WRITE_INTERVAL_S:
            return
        fields = self._fields(progress)
        if is_new or now - self.last_line >= LOG_LINE_INTERVAL_S:
            _append_log(self.run_id, self._line(progress), **fields)
            self.last_line = now
        else:
            TrainingRun.objects.filter(pk=self.run_id).update(**fields)
        self.last_write, self.last_key = now, key

    @staticmethod
    def _fields(progress) -> dict:
        def number(name, cast=float):
            value = getattr(progress, name, None)
            return None if value is None else cast(value)

        fields = {
            "phase": str(getattr(progress, "phase", "") or "")[:40],
            "epoch": number("epoch", int) or 0, "epochs": number("epochs", int) or 0,
            "step": number("step", int) or 0, "total_steps": number("total_steps", int) or 0,
            "loss": number("loss"), "examples_per_s": number("examples_per_s"),
            "eta_s": number("eta_s"), "heartbeat_at": timezone.now(),
        }
        if fields["phase"] == "done" and fields["epoch"] < fields["epochs"]:
            # early stopping: the steps of the epochs not run will never come, the run is complete
            fields["phase"] = f"stopped early at epoch {fields['epoch']} of {fields['epochs']}"
            fields["total_steps"] = fields["step"]
        return fields

    @staticmethod
    def _line(progress) -> str:
        loss = getattr(progress, "loss", None)
        return (
            f"{getattr(progress, 'phase', '')} epoch {getattr(progress, 'epoch', 0)}/"
            f"{getattr(progress, 'epochs', 0)} step {getattr(progress, 'step', 0)}/"
            f"{getattr(progress, 'total_steps', 0)}"
            + (f" loss {loss:.4f}" if loss is not None else "")
        )


def run_dir(run: TrainingRun) -> Path:
    return Path(settings.ELIGO_MODEL_DIR) / run.project.name / f"run-{run.pk}"


def _train_options(options: dict, project: Project):
    """Map the project's model options onto ``mlcore.trainer.TrainOptions``.

    The label space is the project's schema, so every type gets an output even before
    the training data holds an example of it. With ``warm_start`` a joint run starts from
    the active version's checkpoint (``mlcore.trainer.shrink_and_perturb``: the tensors
    whose names and shapes still match).
    """
    from dataclasses import fields

    from mlcore.trainer import TrainOptions

    wanted = {k: v for k, v in options.items() if v is not None}
    wanted["mode"] = "joint" if options.get("mode") == PIPELINE else options.get("mode", "joint")
    wanted["encoder"] = options.get("encoder") or settings.ELIGO_ENCODER or None
    wanted["entity_types"] = list(project.entity_types.values_list("name", flat=True))
    wanted["relation_types"] = list(project.relation_types.values_list("name", flat=True))
    active = _active_checkpoint(project)
    wanted["warm_start"] = active if options.get("warm_start") else None
    wanted["incumbent"] = active
    known = {f.name for f in fields(TrainOptions)}
    return TrainOptions(**{k: v for k, v in wanted.items() if k in known})


def _active_checkpoint(project: Project) -> str | None:
    """The active version's checkpoint: the warm start, and the incumbent a run scores on
    its own dev split (``mlcore.contract.keeps_new_version``)."""
    active = model_version_active(project)
    return active.checkpoint_dir if active is not None else None


def _train(train, dev, options: dict, project: Project, out_dir: Path, progress) -> tuple[dict, str]:
    """Train (joint, or the standalone pipeline) and return (dev metrics, device)."""
    from mlcore import trainer

    train_options = _train_options(options, project)
    if options.get("mode") == PIPELINE:
        from mlcore.evaluator import evaluate
        from mlcore.inference import load_model

        results = trainer.train_pipeline(train, dev, train_options, out_dir, progress=progress)
        metrics = evaluate(load_model(out_dir), dev, train_options.eval_batch_size)
        return metrics, results["ner"].runtime
    result = trainer.train(train, dev, train_options, out_dir, progress=progress)
    return _incumbent_named(result.dev_metrics or {}, project), result.runtime


def _incumbent_named(metrics: dict, project: Project) -> dict:
    """The scored active version by its number, not its checkpoint's path on the server."""
    incumbent = metrics.get(INCUMBENT)
    if not incumbent:
        return metrics
    number = ModelVersion.objects.filter(
        project=project, checkpoint_dir=incumbent["checkpoint"]
    ).values_list("number", flat=True).first()
    named = {k: v for k, v in incumbent.items() if k != "checkpoint"}
    return {**metrics, INCUMBENT: {**named, "version": number}}


def _write_snapshot(directory: Path, train, dev) -> None:
    """``data.json``: the contract's canonical snapshot, whose SHA-256 is the run's data hash."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data.json").write_text(snapshot_json(train, dev), encoding="utf-8")


def training_run_execute(*, run_id: int) -> ModelVersion | None:
    """Run a queued training run to its end (the body of ``worker.tasks.train_model``).

    Returns the new version, or None when the run was not queued (already claimed,
    cancelled, or a redelivered message) or did not succeed.
    """
    claimed = TrainingRun.objects.filter(pk=run_id, status=TrainingRunStatus.QUEUED).update(
        status=TrainingRunStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(),
        phase="preparing",
    )
    if not claimed:
        logger.info("training run %s is not queued; nothing to do", run_id)
        return None
    from mlcore.trainer import TrainingCancelled

    heartbeat = _Heartbeat(run_id, heartbeat_interval_s())
    heartbeat.start()
    started = time.monotonic()
    try:
        version = _train_and_register(run_id, started, TrainingCancelled)
    except TrainingCancelled:
        _finish(run_id, TrainingRunStatus.CANCELLED, "cancelled by a user")
        _discard_checkpoint(run_id)
        return None
    except BaseException as exc:  # noqa: BLE001 - OOM, bad data, bugs: the run fails, the model stays
        reason = f"{type(exc).__name__}: {exc}"
        _finish(run_id, TrainingRunStatus.FAILED, reason, traceback.format_exc(limit=8))
        _discard_checkpoint(run_id)
        if not isinstance(exc, Exception):
            raise
        return None
    finally:
        heartbeat.stop()
    return version


def _discard_checkpoint(run_id: int) -> None:
    """A run that did not succeed leaves no checkpoint behind (the snapshot and log stay)."""
    run = TrainingRun.objects.select_related("project").get(pk=run_id)
    shutil.rmtree(run_dir(run) / "model", ignore_errors=True)


def _finish(run_id: int, status: str, reason: str, details: str = "") -> None:
    _append_log(
        run_id, f"{status}: {reason}\n{details}".rstrip(), status=status, finished_at=timezone.now(),
        error=reason if status != TrainingRunStatus.SUCCEEDED else "",
    )


def _train_and_register(run_id: int, started: float, cancelled_exc) -> ModelVersion:
    run = TrainingRun.objects.select_related("project").get(pk=run_id)
    options = run.options or model_options_get(run.project)
    options = _entity_layer_resolved(run, options)
    examples = training_examples(run.project, flat=options["entity_layer"] == "bio")
    trials = document_trials(project=run.project)
    train, dev = training_data_split(
        examples, trials=trials, dev_fraction=float(options["dev_fraction"]),
        seed=int(options["seed"]),
    )
    if not train or not dev:
        documents = {e.document for e in examples}
        raise ValueError(
            "Not enough data: training needs done or reviewed sentences in at least two "
            f"trials (found {len(examples)} sentences in {len(documents)} documents of "
            f"{len({trials.get(d, d) for d in documents})} trials)."
        )
    directory = run_dir(run)
    _write_snapshot(directory, train, dev)
    _append_log(
        run_id, f"snapshot: {len(train)} train / {len(dev)} dev sentences",
        train_size=len(train), dev_size=len(dev), data_hash=data_hash(train, dev),
    )
    _append_log(run_id, _ranking_line(options["strategy"]))
    metrics, device = _train(train, dev, options, run.project, directory / "model",
                             ProgressRecorder(run_id, cancelled_exc))
    return _register_version(run_id, metrics, device, directory / "model", time.monotonic() - started)


def _ranking_line(option: str) -> str:
    """What the version's predictions will rank the open criteria by (``strategy_for``)."""
    if option == "cold_start":  # resolved by the version's size and dev score
        return f"ranking: {contract.PROJECT_STRATEGIES[option]}"
    ranking = strategy_for(option)
    if option != "auto":
        return f"ranking: {ranking}"
    return f"ranking: {ranking} (auto: {contract.PROJECT_STRATEGIES['auto']})"


def _entity_layer_resolved(run: TrainingRun, options: dict) -> dict:
    """``options`` with the entity layer the run trains (``auto``: by the number of done and
    reviewed criteria, ``mlcore.contract.entity_layer_for``), kept on the run so that its
    version says which layer it has."""
    option = options.get("entity_layer", MODEL_OPTION_DEFAULTS["entity_layer"])
    if option != "auto":
        return options
    criteria = training_criteria_count(project=run.project)
    layer = entity_layer_for(option, criteria=criteria)
    run.options = {**options, "entity_layer": layer}
    _append_log(run.pk, f"entity layer: {layer} (auto: {criteria} done or reviewed criteria, "
                        f"span from {SPAN_LAYER_MIN_CRITERIA})", options=run.options)
    return run.options


def _register_version(run_id: int, metrics: dict, device: str, checkpoint: Path,
                      duration: float) -> ModelVersion:
    """Create the version row (only now: a failed run never leaves one) and maybe activate it."""
    with transaction.atomic():
        run = TrainingRun.objects.select_related("project").select_for_update().get(pk=run_id)
        number = (ModelVersion.objects.filter(project=run.project).aggregate(n=Max("number"))["n"] or 0) + 1
        version = ModelVersion.objects.create(
            project=run.project, number=number, run=run, checkpoint_dir=str(checkpoint),
            options=run.options, dev_metrics=metrics, train_size=run.train_size,
            dev_size=run.dev_size, data_hash=run.data_hash, duration_s=duration, device=device,
            started_by=run.started_by,
        )
        TrainingRun.objects.filter(pk=run_id).update(device=device)
        _finish(run_id, TrainingRunStatus.SUCCEEDED,
                f"model v{number}, dev F1 {primary_f1(metrics):.3f} (NER/RE end-to-end mean)")
        if run.options.get("auto_activate"):
            _auto_activate(version)
    return version


def _auto_activate(version: ModelVersion) -> None:
    active = model_version_active(version.project)
    metrics = dict(version.dev_metrics or {})
    scored = (metrics.get(INCUMBENT) or {}).get("version")
    if active is not None and scored != active.number:
        metrics.pop(INCUMBENT, None)  # it scored another version than the one active now
    if keeps_new_version(metrics, None if active is None else active.dev_metrics or {}):
        model_version_activate(version=version)
        _append_log(version.run_id, f"auto-activated model v{version.number}")
        return
    baseline = score_to_beat(metrics, active.dev_metrics or {})
    where = "on this run's dev split" if INCUMBENT in metrics else "on its own dev split"
    _append_log(version.run_id, f"model v{active.number} stays active: its dev F1 {where} is "
                                f"{baseline:.3f}, v{version.number}'s {primary_f1(metrics):.3f}")


# --- versions: activate, roll back, delete ---------------------------------------------------


def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make ``version`` the project's active model (also a roll back) and pre-annotate with it."""
    with transaction.atomic():
        ModelVersion.objects.filter(project=version.project, is_active=True).exclude(
            pk=version.pk
        ).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True, activated_at=timezone.now())
        _threshold_follow(version)
        task_enqueue(name=PREANNOTATE, args=[version.pk, None])
    version.refresh_from_db()
    return version


def _threshold_follow(version: ModelVersion) -> None:
    """A project whose display threshold is automatic takes the newly active version's."""
    threshold = dev_display_threshold(version)
    if threshold is not None:
        Project.objects.filter(pk=version.project_id, suggestion_threshold_auto=True).update(
            suggestion_threshold=threshold)


def suggestion_threshold_set(*, project: Project, threshold: float | None) -> Project:
    """Set the project's display threshold (a manager's choice, in [0, 1]), or with ``None``
    make it automatic again: the active version's, chosen on its dev split (0 without one:
    every suggestion shown). The view checks the role (``annotation.access``)."""
    if threshold is None:
        chosen = dev_display_threshold(model_version_active(project))
        project.suggestion_threshold_auto = True
        project.suggestion_threshold = 0.0 if chosen is None else chosen
    elif not 0.0 <= threshold <= 1.0:
        raise ValidationError("The display threshold is a confidence between 0 and 1.")
    else:
        project.suggestion_threshold_auto, project.suggestion_threshold = False, float(threshold)
    project.save(update_fields=["suggestion_threshold", "suggestion_threshold_auto"])
    return project


def model_version_delete(*, version: ModelVersion) -> None:
    """Delete an inactive version, its suggestions and its checkpoint folder."""
    if version.is_active:
        raise ModelVersionError("The active model version cannot be deleted; activate another first.")
    checkpoint = Path(version.checkpoint_dir)
    version.delete()
    store = Path(settings.ELIGO_MODEL_DIR).resolve()
    folder = checkpoint.resolve().parent if checkpoint.name == "model" else checkpoint.resolve()
    if store in folder.parents and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
