"""The annotation view: one sentence at a time, every action a small htmx POST.

A POST answers with the re-rendered sentence fragment: 200 when applied, 422 when
refused as invalid, 409 when the sentence changed since the page was rendered
(the fragment then shows the fresh version, and nothing was written).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation import forms
from annotation.access import may_review, project_for_user, sentence_for_user
from annotation.models import Normalization
from annotation.selectors.annotations import (
    first_open_sentence,
    sentence_annotations,
    sentence_context,
    sentence_neighbour,
    sentence_snapshot,
    undo_step,
)
from annotation.selectors.layout import sentence_view
from annotation.services import annotations as services
from annotation.services.dependents import Dependents

UNDO_DEPTH = 30
UNDO_SENTENCES = 20


def _fragment_context(*, role, sentence, annotations=None, message="", level="info", request=None,
                      partial=False):
    """``partial``: an action's answer, which leaves out what the page already shows and
    keeps (the neighbouring criteria and the type palettes, marked ``hx-preserve``)."""
    before, after = ([], []) if partial else sentence_context(sentence=sentence)
    stack = request.session.get("undo", {}).get(str(sentence.pk), []) if request else []
    return {
        "project": sentence.project,
        "role": role,
        "can_review": may_review(role),
        "view": sentence_view(sentence=sentence, annotations=annotations, with_schema=not partial),
        "partial": partial,
        "message": message,
        "level": level,
        "undo_label": stack[-1]["label"] if stack and stack[-1]["version"] == sentence.version else "",
        "suggestions": [],
        "before": before,
        "after": after,
    }


@login_required
@require_GET
def sentence_annotate(request, name, sentence_id):
    sentence, role = sentence_for_user(user=request.user, name=name, sentence_id=sentence_id)
    context = _fragment_context(role=role, sentence=sentence, request=request)
    if request.htmx:
        return render(request, "annotation/partials/sentence.html", context)
    return render(request, "annotation/annotate.html", context)


@login_required
@require_GET
def sentence_step(request, name, sentence_id, direction):
    """Go to the previous/next sentence, or ``skip`` to the next unfinished one."""
    sentence, _ = sentence_for_user(user=request.user, name=name, sentence_id=sentence_id)
    project = sentence.project
    if direction not in {"next", "previous", "skip"}:
        raise Http404("Unknown direction.")
    target = sentence_neighbour(
        sentence=sentence, direction="previous" if direction == "previous" else "next",
        open_only=direction == "skip",
    )
    if target is None:
        return redirect("project_dashboard", name=project.name)
    return redirect("sentence_annotate", name=project.name, sentence_id=target.pk)


@login_required
@require_GET
def project_queue(request, name):
    project, _ = project_for_user(user=request.user, name=name)
    target = first_open_sentence(project=project)
    if target is None:
        return redirect("project_dashboard", name=project.name)
    return redirect("sentence_annotate", name=project.name, sentence_id=target.pk)


@dataclass(frozen=True)
class Action:
    form: type
    perform: Callable
    label: Callable[[dict], str]


def _set_status(sentence, user, data, version, annotations):
    return services.sentence_set_status(sentence=sentence, user=user, status=data["status"],
                                        expected_version=version, annotations=annotations)


ACTIONS = {
    "entity-create": Action(
        forms.EntityCreateForm,
        lambda s, u, d, v, a: services.entity_create(
            sentence=s, user=u, type=d["type"], fragments=d["fragments"], expected_version=v,
            annotations=a),
        lambda d: "create entity"),
    "entity-type": Action(
        forms.EntityTypeForm,
        lambda s, u, d, v, a: services.entity_update_type(
            sentence=s, user=u, entity_id=d["entity"], type=d["type"], expected_version=v,
            annotations=a),
        lambda d: "change type"),
    "entity-extend": Action(
        forms.EntityExtendForm,
        lambda s, u, d, v, a: services.entity_extend(
            sentence=s, user=u, entity_id=d["entity"], fragments=d["fragments"],
            expected_version=v, annotations=a),
        lambda d: "extend entity"),
    "entity-delete": Action(
        forms.EntityDeleteForm,
        lambda s, u, d, v, a: services.entity_delete(
            sentence=s, user=u, entity_id=d["entity"], expected_version=v, annotations=a),
        lambda d: "delete entity"),
    "relation-create": Action(
        forms.RelationCreateForm,
        lambda s, u, d, v, a: services.relation_create(
            sentence=s, user=u, type=d["type"], head_id=d["head"], tail_id=d["tail"],
            expected_version=v, annotations=a),
        lambda d: "create relation"),
    "relation-delete": Action(
        forms.RelationDeleteForm,
        lambda s, u, d, v, a: services.relation_delete(
            sentence=s, user=u, relation_id=d["relation"], expected_version=v, annotations=a),
        lambda d: "delete relation"),
    "normalization-create": Action(
        forms.NormalizationCreateForm,
        lambda s, u, d, v, a: services.normalization_create(
            sentence=s, user=u, entity_id=d["entity"], resource=d["resource"],
            reference=d["reference"], text=d["text"], expected_version=v, annotations=a),
        lambda d: "add normalization"),
    "normalization-delete": Action(
        forms.NormalizationDeleteForm,
        lambda s, u, d, v, a: services.normalization_delete(
            sentence=s, user=u, normalization_id=d["normalization"], expected_version=v,
            annotations=a),
        lambda d: "delete normalization"),
    "status": Action(forms.StatusForm, _set_status, lambda d: f"mark {d['status']}"),
}


def _push_undo(session, sentence, entry: dict) -> None:
    stacks = session.get("undo", {})
    key = str(sentence.pk)
    stack = stacks.pop(key, [])[-(UNDO_DEPTH - 1):] + [entry]
    stacks[key] = stack
    while len(stacks) > UNDO_SENTENCES:
        stacks.pop(next(iter(stacks)))
    session["undo"] = stacks


def _respond(request, role, sentence, *, annotations=None, message="", level="info", status=200):
    context = _fragment_context(role=role, sentence=sentence, annotations=annotations,
                                message=message, level=level, request=request, partial=True)
    return render(request, "annotation/partials/sentence.html", context, status=status)


def _stale_response(request, role, sentence):
    fresh, _ = sentence_for_user(user=request.user, name=sentence.project.name,
                                 sentence_id=sentence.pk)
    who = fresh.updated_by.username if fresh.updated_by else "someone else"
    message = (f"Not saved: {who} changed this sentence meanwhile (now version {fresh.version}). "
               "You are looking at the current version; redo your change if it still applies.")
    return _respond(request, role, fresh, message=message, level="conflict", status=409)


@login_required
@require_POST
def sentence_action(request, name, sentence_id, action):
    """Apply one action; the write, its audit events and the undo step (in the session) are
    one transaction, and the answer is rendered from what was read and written, unread."""
    action_spec = ACTIONS.get(action)
    if action_spec is None:
        raise Http404("Unknown action.")
    sentence, role = sentence_for_user(user=request.user, name=name, sentence_id=sentence_id)
    form = action_spec.form(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return _respond(request, role, sentence, message=errors, level="error", status=422)
    data = form.cleaned_data
    if data["version"] != sentence.version:
        return _stale_response(request, role, sentence)
    annotations = sentence_annotations(sentence=sentence)
    before = sentence_snapshot(sentence=sentence, annotations=annotations)
    try:
        with services.action_transaction():
            outcome = action_spec.perform(sentence, request.user, data, data["version"],
                                          annotations)
            step = undo_step(before=before, after=annotations)
            if isinstance(outcome, Dependents):
                step["dependents"] = outcome.rows
            elif isinstance(outcome, Normalization):
                step["created_normalizations"] = [outcome.pk]
            _push_undo(request.session, sentence, {"version": sentence.version, "step": step,
                                                   "label": action_spec.label(data)})
            request.session.save_in_transaction()
    except services.StaleVersion:
        return _stale_response(request, role, sentence)
    except ValidationError as exc:
        return _respond(request, role, sentence, annotations=annotations,
                        message=" ".join(exc.messages), level="error", status=422)
    response = _respond(request, role, sentence, annotations=annotations)
    if action == "status" and data.get("advance"):
        response["HX-Redirect"] = _next_address(sentence)
    return response


def _next_address(sentence) -> str:
    target = sentence_neighbour(sentence=sentence, direction="next", open_only=True) \
        or sentence_neighbour(sentence=sentence, direction="next")
    if target is None:
        return reverse("project_dashboard", args=[sentence.project.name])
    return reverse("sentence_annotate", args=[sentence.project.name, target.pk])


@login_required
@require_POST
def sentence_undo(request, name, sentence_id):
    """Undo this user's last action on the sentence, if nobody changed it since."""
    sentence, role = sentence_for_user(user=request.user, name=name, sentence_id=sentence_id)
    form = forms.UndoForm(request.POST)
    if not form.is_valid():
        return _respond(request, role, sentence, message="Missing version.", level="error",
                        status=422)
    version = form.cleaned_data["version"]
    if version != sentence.version:
        return _stale_response(request, role, sentence)
    stacks = request.session.get("undo", {})
    stack = stacks.get(str(sentence.pk), [])
    if not stack:
        return _respond(request, role, sentence, message="Nothing to undo.", level="error",
                        status=422)
    if stack[-1]["version"] != version:
        return _drop_undo(request, role, sentence,
                          "Cannot undo: the sentence was changed by someone else since.")
    entry = stack[-1]
    try:
        with services.action_transaction():
            services.action_undo(sentence=sentence, user=request.user, step=entry.get("step", {}),
                                 expected_version=version)
            stack.pop()
            if stack:
                stack[-1]["version"] = sentence.version
            request.session["undo"] = stacks
            request.session.save_in_transaction()
    except services.StaleVersion:
        return _stale_response(request, role, sentence)
    except ValidationError as exc:
        return _drop_undo(request, role, sentence, " ".join(exc.messages))
    return _respond(request, role, sentence, message=f"Undone: {entry['label']}.")


def _drop_undo(request, role, sentence, message: str):
    """Forget the sentence's undo stack (it no longer applies) and say why."""
    stacks = request.session.get("undo", {})
    stacks.pop(str(sentence.pk), None)
    request.session["undo"] = stacks
    return _respond(request, role, sentence, level="error", status=422, message=message)
