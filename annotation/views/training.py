"""Model versions, training runs (progress, log, cancel), the review queue and suggestions.

Thin views: access via ``annotation.access.project_for_user``, work in ``services.training`` /
``services.predictions``, reads in ``selectors.training`` / ``selectors.review``.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from annotation.access import may_decide_suggestions, project_for_user, project_role, role_at_least
from annotation.models import (
    ModelVersion, PredictedEntity, PredictedRelation, Role, Sentence, SentenceStatus, TrainingRun,
)
from annotation.selectors.queue import claim_holders
from annotation.selectors.review import (
    review_document_choices, review_queue, review_queue_count, sentence_suggestions,
)
from annotation.selectors.training import (
    acceptance_by_version, dev_display_threshold, learning_curve, model_options_get,
    model_version_active, model_versions_for_project, per_type_bars, ranking_strategy,
    training_run_active, training_runs_for_project,
)
from annotation.services.predictions import (
    SentenceVersionConflict, SuggestionError, predicted_entity_accept, predicted_entity_reject,
    predicted_relation_accept, predicted_relation_reject, predictions_accept_all,
)
from annotation.services.training import (
    ModelVersionError, TrainingRunInProgress, model_options_update, model_version_activate,
    model_version_delete, suggestion_threshold_set, training_run_cancel, training_run_start,
    training_runs_mark_lost,
)
from mlcore import contract

REVIEW_PAGE_SIZE = 50


def _bounded(name: str, **kwargs) -> forms.IntegerField:
    low, high = contract.OPTION_RANGES[name]
    return forms.IntegerField(min_value=low, max_value=high, **kwargs)


class ModelOptionsForm(forms.Form):
    """The options a manager sets; names, choices and bounds are ``mlcore.contract``'s."""

    mode = forms.ChoiceField(choices=list(contract.PROJECT_MODES.items()))
    re_head = forms.ChoiceField(label="Relation head", choices=list(contract.RE_HEADS.items()))
    negatives = forms.ChoiceField(label="Negative relation examples",
                                  choices=list(contract.NEGATIVES.items()))
    entity_layer = forms.ChoiceField(label="Entity layer",
                                     choices=list(contract.PROJECT_ENTITY_LAYERS.items()))
    encoder = forms.CharField(required=False, help_text="name or local folder; empty: the default")
    epochs = _bounded("epochs")
    batch_size = _bounded("batch_size")
    min_steps = _bounded("min_steps", label="Minimum steps", help_text="more epochs on little data")
    warm_start = forms.BooleanField(label="Warm start", required=False,
                                    help_text="from the active version (shrink and perturb)")
    strategy = forms.ChoiceField(label="Uncertainty strategy",
                                 choices=list(contract.PROJECT_STRATEGIES.items()))
    auto_activate = forms.BooleanField(label="Activate automatically", required=False,
                                       help_text="when dev F1 improves")


class SuggestionThresholdForm(forms.Form):
    """A manager's display threshold; ``auto`` instead: the active model's, chosen on dev."""

    threshold = forms.FloatField(min_value=0.0, max_value=1.0, required=False)
    auto = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if not data.get("auto") and data.get("threshold") is None and not self.errors:
            raise forms.ValidationError("Give a threshold between 0 and 1, or choose automatic.")
        return data


def _models_url(project) -> str:
    return reverse("model_versions", args=[project.name])


# --- the models page -------------------------------------------------------------------------


RUN_FINISHED_EVENT = "eligo:run-finished"


def _versions_context(project, role) -> dict:
    """The versions table's context: versions (with their acceptance), the active one."""
    versions = list(model_versions_for_project(project))
    acceptance = acceptance_by_version(versions)
    for version in versions:
        version.acceptance = acceptance[version.pk]
    return {"project": project, "versions": versions,
            "active": next((v for v in versions if v.is_active), None),
            "is_manager": role == Role.MANAGER}


@login_required
@require_GET
def models_page(request, name):
    project, role = project_for_user(user=request.user, name=name)
    training_runs_mark_lost(project=project)
    context = _versions_context(project, role)
    versions, active = context["versions"], context["active"]
    shown = active or (versions[0] if versions else None)
    options = model_options_get(project)
    context |= {
        "shown": shown,
        "runs": training_runs_for_project(project), "current_run": training_run_active(project),
        "curve": learning_curve(versions),
        "ner_bars": per_type_bars(shown.dev_metrics, "ner") if shown else None,
        "re_bars": per_type_bars(shown.dev_metrics, "re_end_to_end") if shown else None,
        "options_form": ModelOptionsForm(initial=options),
        "can_train": _can_train(role),
        "calibration": ((active.dev_metrics or {}).get("calibration") if active else None),
        "dev_threshold": dev_display_threshold(active),
    }
    return render(request, "annotation/models/models.html", context)


@login_required
@require_POST
def suggestion_threshold_save(request, name):
    """Managers set the display threshold (suggestions below it are stored but not shown)."""
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    form = SuggestionThresholdForm(request.POST)
    if not form.is_valid():
        return HttpResponse(f"Display threshold not saved: {form.errors.as_text()}", status=400,
                            content_type="text/plain; charset=utf-8")
    data = form.cleaned_data
    suggestion_threshold_set(project=project, threshold=None if data["auto"] else data["threshold"])
    messages.success(request, f"Suggestions below {project.suggestion_threshold:.2f} are now hidden.")
    return redirect(_models_url(project) + "#threshold")


@login_required
@require_GET
def model_versions_partial(request, name):
    """The versions table alone: reloaded by htmx when a run finishes (``RUN_FINISHED_EVENT``)."""
    project, role = project_for_user(user=request.user, name=name)
    return render(request, "annotation/models/_versions.html", _versions_context(project, role))


def _can_train(role) -> bool:
    """Reviewers and managers may start and cancel training runs."""
    return role_at_least(role, Role.REVIEWER)


@login_required
@require_POST
def model_options_save(request, name):
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    form = ModelOptionsForm(request.POST)
    if form.is_valid():
        model_options_update(project=project, options=form.cleaned_data)
        messages.success(request, "Model options saved; they apply to the next run.")
    else:
        messages.error(request, f"Model options not saved: {form.errors.as_text()}")
    return redirect(_models_url(project))


def _managed_version(request, name, number) -> tuple:
    """The project and its model version ``number``, for a manager (else 403/404)."""
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    return project, get_object_or_404(ModelVersion, project=project, number=number)


@login_required
@require_POST
def model_version_activate_view(request, name, number):
    project, version = _managed_version(request, name, number)
    model_version_activate(version=version)
    messages.success(request, f"Model v{number} is active; its suggestions are being computed.")
    return redirect(_models_url(project))


@login_required
@require_POST
def model_version_delete_view(request, name, number):
    project, version = _managed_version(request, name, number)
    try:
        model_version_delete(version=version)
        messages.success(request, f"Model v{number} deleted.")
    except ModelVersionError as exc:
        messages.error(request, str(exc))
    return redirect(_models_url(project))


# --- training runs ---------------------------------------------------------------------------


@login_required
@require_POST
def training_run_start_view(request, name):
    project, role = project_for_user(user=request.user, name=name, min_role=Role.REVIEWER)
    try:
        run = training_run_start(project=project, user=request.user)
        messages.success(request, f"Training run {run.pk} queued.")
        status = 201
    except TrainingRunInProgress as exc:
        run = exc.run
        messages.error(request, f"Retrain refused: {exc}")
        status = 409
    if request.htmx and run is not None:
        return _progress_response(request, project, run, role, status=status)
    return redirect(_models_url(project))


def _progress_response(request, project, run, role, status=200):
    """The run's progress partial; once the run has ended it also tells the page (an htmx
    event) to reload what the run changed, such as the versions table."""
    response = render(request, "annotation/models/_run_progress.html",
                      {"project": project, "run": run, "can_train": _can_train(role)},
                      status=status)
    if not run.is_active:
        response["HX-Trigger"] = RUN_FINISHED_EVENT
    return response


@login_required
@require_GET
def training_run_progress(request, name, run_id):
    """The htmx-polled progress partial; reading it also detects runs whose worker died."""
    project, role = project_for_user(user=request.user, name=name)
    training_runs_mark_lost(project=project)
    run = get_object_or_404(TrainingRun.objects.defer("log"), project=project, pk=run_id)
    return _progress_response(request, project, run, role)


@login_required
@require_GET
def training_run_log(request, name, run_id):
    project, _ = project_for_user(user=request.user, name=name)
    run = get_object_or_404(TrainingRun, project=project, pk=run_id)
    text = run.log + (f"\nerror: {run.error}\n" if run.error else "")
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@login_required
@require_POST
def training_run_cancel_view(request, name, run_id):
    project, role = project_for_user(user=request.user, name=name, min_role=Role.REVIEWER)
    run = training_run_cancel(run=get_object_or_404(TrainingRun, project=project, pk=run_id))
    if request.htmx:
        return _progress_response(request, project, run, role)
    messages.info(request, f"Training run {run.pk}: cancel requested.")
    return redirect(_models_url(project))


# --- the review queue ------------------------------------------------------------------------


class CountedPaginator(Paginator):
    """A paginator told its total, so it never runs ``COUNT(*)`` on the (joined) queryset."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


@login_required
@require_GET
def review_queue_page(request, name):
    project, _ = project_for_user(user=request.user, name=name)
    status = request.GET.get("status") or ""
    status = status if status in SentenceStatus.values else ""
    document = request.GET.get("document") or ""
    document_id = int(document) if document.isdigit() else None
    version = model_version_active(project)
    filters = {"project": project, "model_version": version, "status": status or None,
               "document_id": document_id}
    page = CountedPaginator(review_queue(**filters), REVIEW_PAGE_SIZE,
                            count=review_queue_count(**filters)).get_page(request.GET.get("page"))
    holders = claim_holders(sentence_ids=[row.sentence_id for row in page])
    for row in page:
        row.claimed_by = holders.get(row.sentence_id, "")
    context = {
        "project": project, "version": version, "page": page, "status": status,
        "document_id": document_id, "statuses": SentenceStatus.choices,
        "documents": review_document_choices(project=project),
        "strategy": version and ranking_strategy(version=version, project=project),
    }
    return render(request, "annotation/models/review.html", context)


# --- suggestions on one sentence ---------------------------------------------------------------


def _sentence(project, sentence_id) -> Sentence:
    return get_object_or_404(Sentence.objects.select_related("document", "project"),
                             project=project, pk=sentence_id)


def _suggestions_response(request, project, sentence, status=200, error=""):
    sentence.refresh_from_db(fields=["version", "status"])
    context = {"project": project, "s": sentence_suggestions(sentence=sentence), "error": error,
               "can_decide": may_decide_suggestions(project_role(user=request.user, project_id=project.pk))}
    response = render(request, "annotation/models/_suggestions.html", context, status=status)
    if status == 200 and request.method == "POST":
        # lets the annotation view reload the human annotations the action created
        response["HX-Trigger"] = "eligo:annotations-changed"
    return response


@login_required
@require_GET
def sentence_suggestions_view(request, name, sentence_id):
    project, _ = project_for_user(user=request.user, name=name)
    return _suggestions_response(request, project, _sentence(project, sentence_id))


def _expected_version(request) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


ACTIONS = {
    ("entity", "accept"): (PredictedEntity, predicted_entity_accept),
    ("entity", "reject"): (PredictedEntity, predicted_entity_reject),
    ("relation", "accept"): (PredictedRelation, predicted_relation_accept),
    ("relation", "reject"): (PredictedRelation, predicted_relation_reject),
}


@login_required
@require_POST
def suggestion_decide(request, name, sentence_id, kind, pk, action):
    """Accept or reject one entity or relation suggestion; returns the re-rendered partial."""
    project, _ = project_for_user(user=request.user, name=name)
    sentence = _sentence(project, sentence_id)
    if (kind, action) not in ACTIONS:
        return HttpResponse(status=404)
    model, service = ACTIONS[(kind, action)]
    prediction = get_object_or_404(model, sentence=sentence, pk=pk)
    return _apply(request, project, sentence, lambda version: service(
        prediction=prediction, user=request.user, expected_version=version))


@login_required
@require_POST
def suggestions_accept_all_view(request, name, sentence_id):
    """Accept every pending suggestion, or with ``threshold`` those at or above it."""
    project, _ = project_for_user(user=request.user, name=name)
    sentence = _sentence(project, sentence_id)
    version = model_version_active(project)
    if version is None:
        return _suggestions_response(request, project, sentence, status=409, error="No active model.")
    try:
        threshold = float(request.POST["threshold"]) if request.POST.get("threshold") else None
    except ValueError:
        return _suggestions_response(request, project, sentence, status=400, error="Bad threshold.")
    return _apply(request, project, sentence, lambda expected: predictions_accept_all(
        sentence=sentence, model_version=version, user=request.user, threshold=threshold,
        expected_version=expected))


def _apply(request, project, sentence, action):
    """Run a decision; the role rule is the service's (a 403 for annotators). 409: the
    sentence changed since it was shown, or the suggestion was decided otherwise meanwhile;
    422: the schema refuses what the suggestion would create."""
    try:
        action(_expected_version(request))
    except (SentenceVersionConflict, SuggestionError) as exc:
        return _suggestions_response(request, project, sentence, status=409, error=str(exc))
    except ValidationError as exc:
        return _suggestions_response(request, project, sentence, status=422,
                                     error=" ".join(exc.messages))
    target = request.POST.get("next", "")
    if not request.htmx and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return _suggestions_response(request, project, sentence)
