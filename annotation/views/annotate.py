"""The annotation view: one sentence at a time, every action a small htmx POST.

A POST answers with the re-rendered sentence fragment: 200 when applied, 422 when
refused as invalid, 409 when the sentence changed since the page was rendered
(the fragment then shows the fresh version, and nothing was written).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation import forms
from annotation.access import may_decide_suggestions, may_review, sentence_for_user
from annotation.models import ModelVersion, PredictedEntity, PredictedRelation, Sentence
from annotation.selectors.annotations import (
    OPEN_STATUSES,
    SentenceAnnotations,
    sentence_annotations,
    sentence_context,
    sentence_neighbour,
)
from annotation.selectors.layers import layer_for, sentence_in_layer
from annotation.selectors.layout import sentence_view
from annotation.selectors.review import DrawnSuggestions, drawn_suggestions
from annotation.selectors.queue import claim_of, sentence_rank
from annotation.services import annotations as services
from annotation.services import predictions
from annotation.services import undo
from annotation.services.dependents import Dependents
from annotation.services.queue import claim_refresh, claim_refresh_due, claim_take
from annotation.views.queue import next_address


def _fragment_context(*, role, sentence, annotations=None, message="", level="info", request=None,
                      partial=False, suggestions=None):
    """``partial``: an action's answer, which leaves out what the page already shows and
    keeps (the neighbouring criteria and the type palettes, marked ``hx-preserve``)."""
    before, after = ([], []) if partial else sentence_context(sentence=sentence)
    return {
        "project": sentence.project,
        "role": role,
        "can_review": may_review(role),
        "can_decide": may_decide_suggestions(role),
        "view": sentence_view(sentence=sentence, annotations=annotations, with_schema=not partial,
                              suggestions=suggestions),
        "partial": partial,
        "message": message,
        "level": level,
        "undo_json": json.dumps(undo.undo_labels(session=request.session, sentence=sentence)
                                if request else {}),
        "before": before,
        "after": after,
        "urls": _sentence_urls(sentence),
    }


def _sentence_urls(sentence) -> dict[str, str]:
    """The addresses the fragment links and posts to, each reversed once per render (the
    fragment names them up to ~20 times). ``do`` + an action's name + ``/`` is that action's
    address, as ``static/eligo/annotate.js`` builds it from ``action`` (its ``x/`` replaced)."""
    args = [sentence.project.name, sentence.pk]
    urls = {direction: reverse("sentence_step", args=[*args, direction])
            for direction in ("next", "previous", "skip")}
    urls.update(undo=reverse("sentence_undo", args=args), redo=reverse("sentence_redo", args=args),
                action=reverse("sentence_action", args=[*args, "x"]))
    urls["do"] = urls["action"].removesuffix("x/")
    return urls


def _sentence_for(request, name, sentence_id):
    """The sentence for the user (``annotation.access``), read in the layer they edit: their
    own in an independent-mode project they annotate, else the shared or curated one."""
    sentence, role = sentence_for_user(user=request.user, name=name, sentence_id=sentence_id)
    layer = layer_for(project=sentence.project, user=request.user, role=role)
    return sentence_in_layer(sentence=sentence, layer=layer), role


@login_required
@require_GET
def sentence_annotate(request, name, sentence_id):
    """Open a criterion: an open one is claimed for the user unless someone else holds it
    (then the page says who; no claims in an annotator's own layer, docs/queue.md); the page
    says why the criterion ranks where it does."""
    sentence, role = _sentence_for(request, name, sentence_id)
    context = _fragment_context(role=role, sentence=sentence, request=request)
    context["rank"] = sentence_rank(sentence=sentence)
    if sentence.layer is None and sentence.status in OPEN_STATUSES and not claim_take(
            sentence_id=sentence.pk, project_id=sentence.project_id, user=request.user):
        context["claim"] = claim_of(sentence=sentence)
    if request.htmx:
        return render(request, "annotation/partials/sentence.html", context)
    return render(request, "annotation/annotate.html", context)


@login_required
@require_GET
def sentence_step(request, name, sentence_id, direction):
    """``skip`` to the next criterion of the ranking (remembering this one as skipped);
    ``next``/``previous``: the neighbouring criterion in the document, for reading on (in an
    annotator's own layer: among the criteria assigned to them)."""
    sentence, _ = _sentence_for(request, name, sentence_id)
    project = sentence.project
    if direction not in {"next", "previous", "skip"}:
        raise Http404("Unknown direction.")
    if direction == "skip":
        return redirect(next_address(request, project, layer=sentence.layer,
                                     skipping=sentence.pk))
    target = sentence_neighbour(sentence=sentence, direction=direction)
    if target is None:
        return redirect("project_dashboard", name=project.name)
    return redirect("sentence_annotate", name=project.name, sentence_id=target.pk)


@dataclass(frozen=True)
class Action:
    form: type
    perform: Callable
    label: Callable[[dict], str]
    #: a decision on model suggestions: ``perform`` also gets the suggestions drawn, and
    #: the undo step remembers the decisions it changed
    decides: bool = False
    #: ``False``: the action leaves the annotations alone, so they are read only to render
    #: the answer (Done-and-advance renders none)
    edits: bool = True


SUGGESTION_MODELS = {"entity": PredictedEntity, "relation": PredictedRelation}


def _drawn_suggestion(suggestions: DrawnSuggestions, data: dict, sentence_id: int):
    """The suggestion the form names, unsaved (the service reads it under its lock), if it is
    one of the active model's on this sentence."""
    found = suggestions.get(data["kind"], data["suggestion"])
    if found is None:
        raise ValidationError("No such suggestion of the active model on this criterion.")
    return SUGGESTION_MODELS[data["kind"]](pk=found.pk, sentence_id=sentence_id)


def _suggestion_decide(accept: bool):
    """The perform of accepting (``accept``) or rejecting one suggestion."""
    def perform(sentence, user, data, version, annotations, suggestions):
        prediction = _drawn_suggestion(suggestions, data, sentence.pk)
        if accept:
            service = (predictions.predicted_entity_accept if data["kind"] == "entity"
                       else predictions.predicted_relation_accept)
            return service(prediction=prediction, user=user, expected_version=version,
                           annotations=annotations)
        service = (predictions.predicted_entity_reject if data["kind"] == "entity"
                   else predictions.predicted_relation_reject)
        return service(prediction=prediction, user=user, expected_version=version)
    return perform


def _suggestions_accept_shown(sentence, user, data, version, annotations, suggestions):
    if suggestions.model_version_id is None:
        raise ValidationError("No active model: there is nothing to accept.")
    return predictions.predictions_accept_all(
        sentence=sentence, model_version=ModelVersion(pk=suggestions.model_version_id),
        user=user, threshold=suggestions.threshold, expected_version=version,
        annotations=annotations)


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
    "attribute-create": Action(
        forms.AttributeCreateForm,
        lambda s, u, d, v, a: services.attribute_create(
            sentence=s, user=u, name=d["name"], value=d["value"], entity_id=d["entity"],
            relation_id=d["relation"], expected_version=v, annotations=a),
        lambda d: "add attribute"),
    "attribute-update": Action(
        forms.AttributeUpdateForm,
        lambda s, u, d, v, a: services.attribute_update(
            sentence=s, user=u, attribute_id=d["attribute"], value=d["value"],
            expected_version=v, annotations=a),
        lambda d: "change attribute"),
    "attribute-delete": Action(
        forms.AttributeDeleteForm,
        lambda s, u, d, v, a: services.attribute_delete(
            sentence=s, user=u, attribute_id=d["attribute"], expected_version=v, annotations=a),
        lambda d: "delete attribute"),
    "note-create": Action(
        forms.NoteCreateForm,
        lambda s, u, d, v, a: services.note_create(
            sentence=s, user=u, text=d["text"], entity_id=d["entity"], relation_id=d["relation"],
            expected_version=v, annotations=a),
        lambda d: "add note"),
    "note-update": Action(
        forms.NoteUpdateForm,
        lambda s, u, d, v, a: services.note_update(
            sentence=s, user=u, note_id=d["note"], text=d["text"], expected_version=v,
            annotations=a),
        lambda d: "edit note"),
    "note-delete": Action(
        forms.NoteDeleteForm,
        lambda s, u, d, v, a: services.note_delete(
            sentence=s, user=u, note_id=d["note"], expected_version=v, annotations=a),
        lambda d: "delete note"),
    "group-add": Action(
        forms.GroupAddForm,
        lambda s, u, d, v, a: services.group_member_add(
            sentence=s, user=u, entity_id=d["entity"], group_id=d["group"], type=d["type"],
            expected_version=v, annotations=a),
        lambda d: "add to group"),
    "group-remove": Action(
        forms.GroupRemoveForm,
        lambda s, u, d, v, a: services.group_member_remove(
            sentence=s, user=u, member_id=d["member"], expected_version=v, annotations=a),
        lambda d: "remove from group"),
    "status": Action(forms.StatusForm, _set_status, lambda d: f"mark {d['status']}", edits=False),
    "suggestion-accept": Action(forms.SuggestionDecideForm, _suggestion_decide(True),
                                lambda d: f"accept {d['kind']} suggestion", decides=True),
    "suggestion-reject": Action(forms.SuggestionDecideForm, _suggestion_decide(False),
                                lambda d: f"reject {d['kind']} suggestion", decides=True),
    "suggestions-accept-shown": Action(forms.SuggestionsAcceptShownForm, _suggestions_accept_shown,
                                       lambda d: "accept the shown suggestions", decides=True),
}


def _respond(request, role, sentence, *, annotations=None, message="", level="info", status=200,
             suggestions=None):
    context = _fragment_context(role=role, sentence=sentence, annotations=annotations,
                                message=message, level=level, request=request, partial=True,
                                suggestions=suggestions)
    return render(request, "annotation/partials/sentence.html", context, status=status)


def _stale_response(request, role, sentence):
    fresh, _ = _sentence_for(request, sentence.project.name, sentence.pk)
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
    sentence, role = _sentence_for(request, name, sentence_id)
    form = action_spec.form(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return _respond(request, role, sentence, message=errors, level="error", status=422)
    data = form.cleaned_data
    if data["version"] != sentence.version:
        return _stale_response(request, role, sentence)
    advance = action == "status" and data.get("advance")
    annotations = (sentence_annotations(sentence=sentence) if action_spec.edits or not advance
                   else SentenceAnnotations(entities=[], relations=[]))
    before = undo.sentence_snapshot(sentence=sentence, annotations=annotations)
    suggestions = drawn_suggestions(sentence=sentence) if action_spec.decides else None
    try:
        with services.action_transaction():
            if action_spec.decides:
                step, suggestions = _decide(action_spec, sentence, request.user, data,
                                            annotations, before, suggestions)
            else:
                outcome = action_spec.perform(sentence, request.user, data, data["version"],
                                              annotations)
                step = undo.undo_step(before=before, after=annotations, dependents=(
                    outcome.rows if isinstance(outcome, Dependents) else None))
            undo.undo_record(session=request.session, tab=undo.undo_tab(request),
                             sentence=sentence, step=step, label=action_spec.label(data))
            request.session.save_in_transaction()
    except services.StaleVersion:
        return _stale_response(request, role, sentence)
    except ValidationError as exc:
        # a refused relation accept may have added its (rolled back) ends: read them again
        return _respond(request, role, sentence,
                        annotations=None if action_spec.decides else annotations,
                        message=" ".join(exc.messages), level="error", status=422)
    except predictions.SuggestionError as exc:
        return _respond(request, role, sentence, message=str(exc), level="conflict", status=409)
    if advance:
        # htmx follows HX-Redirect without swapping the body: render nothing, and the claim
        # moves to the next criterion instead of being refreshed here
        response = HttpResponse(status=200)
        response["HX-Redirect"] = next_address(request, sentence.project, layer=sentence.layer)
        return response
    if sentence.layer is None and claim_refresh_due(expires_at=sentence.claim_expires_at):
        claim_refresh(sentence_id=sentence.pk, user=request.user)
    return _respond(request, role, sentence, annotations=annotations, suggestions=suggestions)


def _decide(action_spec, sentence, user, data, annotations, before, suggestions):
    """A decision on suggestions (the predictions services, which lock the sentence and move
    its version themselves), then its undo step: the annotations it made and the decisions
    as they were. Returns the step and the suggestions as they are now (for the answer)."""
    action_spec.perform(sentence, user, data, data["version"], annotations, suggestions)
    fresh = Sentence.objects.filter(pk=sentence.pk).values("version", "status").get()
    if fresh["version"] != sentence.version:
        sentence.version, sentence.status, sentence.updated_by = fresh["version"], fresh["status"], user
    after = drawn_suggestions(sentence=sentence)
    step = undo.undo_step(before=before, after=annotations)
    step["suggestions"] = undo.decisions_changed(before=suggestions.decisions(),
                                                 after=after.decisions())
    return step, after


@login_required
@require_POST
def sentence_undo(request, name, sentence_id):
    """Undo this tab's last action on the sentence, if nobody changed it since."""
    return _undo_or_redo(request, name, sentence_id, "undo")


@login_required
@require_POST
def sentence_redo(request, name, sentence_id):
    """Redo what this tab undid last on the sentence, if nobody changed it since."""
    return _undo_or_redo(request, name, sentence_id, "redo")


def _undo_or_redo(request, name, sentence_id, direction: str):
    sentence, role = _sentence_for(request, name, sentence_id)
    form = forms.UndoForm(request.POST)
    if not form.is_valid():
        return _respond(request, role, sentence, message="Missing version.", level="error",
                        status=422)
    version = form.cleaned_data["version"]
    if version != sentence.version:
        return _stale_response(request, role, sentence)
    tab = undo.undo_tab(request)
    entry = undo.undo_entry(session=request.session, tab=tab, sentence=sentence,
                            direction=direction)
    if entry is None:
        return _respond(request, role, sentence, message=f"Nothing to {direction}.",
                        level="error", status=422)
    if entry["version"] != version:
        return _drop_undo(request, role, sentence, tab,
                          f"Cannot {direction}: the sentence was changed by someone else since "
                          "(or by you in another tab).")
    try:
        with services.action_transaction():
            reverse, annotations = undo.step_apply(sentence=sentence, user=request.user,
                                                   step=entry.get("step", {}),
                                                   expected_version=version)
            undo.undo_moved(session=request.session, tab=tab, sentence=sentence,
                            direction=direction, reverse=reverse)
            request.session.save_in_transaction()
    except services.StaleVersion:
        return _stale_response(request, role, sentence)
    except ValidationError as exc:
        return _drop_undo(request, role, sentence, tab, " ".join(exc.messages))
    done = "Undone" if direction == "undo" else "Redone"
    return _respond(request, role, sentence, annotations=annotations,
                    message=f"{done}: {entry['label']}.")


def _drop_undo(request, role, sentence, tab: str, message: str):
    """Forget this tab's stacks of the sentence (they no longer apply) and say why."""
    undo.undo_forget(session=request.session, tab=tab, sentence=sentence)
    return _respond(request, role, sentence, level="error", status=422, message=message)
