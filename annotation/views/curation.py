"""Curation (independent mode): one criterion with every annotator's version beside the
curated layer; every action a small htmx POST carrying the version, answered with the
re-rendered body (200 applied, 422 refused, 409 changed meanwhile)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation import forms
from annotation.access import CURATOR, project_for_user, sentence_for_user
from annotation.models import SentenceStatus
from annotation.selectors.curation import criterion_annotators, next_to_curate, sentence_curation
from annotation.services import annotations as services
from annotation.services.curation import curation_take


def _sentence(request, name, sentence_id):
    sentence, _ = sentence_for_user(user=request.user, name=name, sentence_id=sentence_id,
                                    min_role=CURATOR)
    return sentence


def _render(request, sentence, *, message="", level="info", status=200, partial=False):
    context = {"project": sentence.project, "sentence": sentence, "message": message,
               "level": level, "c": sentence_curation(sentence=sentence)}
    template = "annotation/partials/curation.html" if partial else "annotation/curate.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def curation_page(request, name, sentence_id):
    return _render(request, _sentence(request, name, sentence_id), partial=bool(request.htmx))


@login_required
@require_GET
def curation_next(request, name):
    """The next criterion to curate (ready first), or the dashboard when none is left."""
    project, _ = project_for_user(user=request.user, name=name, min_role=CURATOR)
    target = next_to_curate(project=project)
    if target is None:
        messages.info(request, "Nothing left to curate.")
        return redirect("project_dashboard", name=project.name)
    return redirect("curation_page", name=project.name, sentence_id=target.pk)


def _annotator(sentence, username: str):
    user = next((u for u in criterion_annotators(sentence=sentence) if u.username == username),
                None)
    if user is None:
        raise ValidationError(f"{username} has no version of this criterion.")
    return user


def _perform(sentence, user, data) -> None:
    action, version = data["action"], data["version"]
    if action == "finish":
        services.sentence_set_status(sentence=sentence, user=user, status=SentenceStatus.REVIEWED,
                                     expected_version=version)
    elif action == "drop-entity":
        services.entity_delete(sentence=sentence, user=user, entity_id=data["target"],
                               expected_version=version)
    elif action == "merge-agreed":
        agreed = sentence_curation(sentence=sentence)
        if not agreed["agreed_missing"]:
            raise ValidationError("Every agreed annotation is curated already.")
        curation_take(sentence=sentence, user=user, annotator=agreed["annotators"][0],
                      entity_ids=agreed["agreed"]["entities"],
                      relation_ids=agreed["agreed"]["relations"], expected_version=version)
    else:
        curation_take(sentence=sentence, user=user,
                      annotator=_annotator(sentence, data["annotator"]),
                      entity_ids=[data["target"]] if action == "take-entity" else None,
                      replace=action == "take-all", expected_version=version)


@login_required
@require_POST
def curation_action(request, name, sentence_id):
    sentence = _sentence(request, name, sentence_id)
    form = forms.CurationActionForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return _render(request, sentence, message=errors, level="error", status=422, partial=True)
    try:
        with services.action_transaction():
            _perform(sentence, request.user, form.cleaned_data)
    except services.StaleVersion:
        fresh = _sentence(request, name, sentence_id)
        return _render(request, fresh, level="conflict", status=409, partial=True, message=(
            f"Not saved: the criterion changed meanwhile (now version {fresh.version}); "
            "you are looking at the current one."))
    except ValidationError as exc:
        return _render(request, _sentence(request, name, sentence_id), level="error",
                       message=" ".join(exc.messages), status=422, partial=True)
    response = _render(request, sentence, partial=True)
    if form.cleaned_data["action"] == "finish" and request.POST.get("advance"):
        response["HX-Redirect"] = reverse("curation_next", args=[name])
    return response
