"""The assignments page (managers): the project's annotation mode, documents assigned to
annotators by hand, and balanced automatic assignment (``annotation.services.layers``)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from annotation import forms
from annotation.access import ASSIGNER, project_for_user
from annotation.selectors.layers import (
    assignment_table,
    project_annotator_users,
    project_member_users,
)
from annotation.services import layers as services


def _forms(project, data=None, action=""):
    """The page's three forms; only the one posted (``action``) is bound to ``data``."""
    members = project_member_users(project=project)
    bound = {name: (data if action == name else None) for name in ("mode", "assign", "auto")}
    return {
        "mode": forms.AnnotationModeForm(bound["mode"], initial={
            "annotation_mode": project.annotation_mode,
            "annotators_per_document": project.annotators_per_document}),
        "assign": forms.AssignmentForm(bound["assign"], documents=project.documents.order_by("name"),
                                       members=members),
        "auto": forms.AssignmentAutoForm(bound["auto"], members=members, initial={
            "annotators": list(project_annotator_users(project=project)),
            "k": project.annotators_per_document}),
    }


def _perform(request, project, action: str, data: dict) -> str:
    """Apply the posted action; its success message (``ValidationError`` when refused)."""
    if action == "mode":
        services.project_mode_update(project=project, mode=data["annotation_mode"],
                                     annotators_per_document=data["annotators_per_document"])
        return f"Mode: {project.get_annotation_mode_display()}."
    if action == "auto":
        made = services.assignment_auto(project=project, annotators=list(data["annotators"]),
                                        k=data["k"], assigned_by=request.user)
        return f"{made} assignments made."
    if request.POST.get("remove"):
        services.assignment_delete(project=project, document=data["document"],
                                   annotator=data["annotator"])
        return f"{data['document'].name} taken back from {data['annotator'].username}."
    services.assignment_create(project=project, document=data["document"],
                               annotator=data["annotator"], assigned_by=request.user)
    return f"{data['document'].name} assigned to {data['annotator'].username}."


@login_required
@require_http_methods(["GET", "POST"])
def assignments_page(request, name):
    project, _ = project_for_user(user=request.user, name=name, min_role=ASSIGNER)
    action = request.POST.get("action", "")
    page_forms = _forms(project, request.POST, action)
    status, error = 200, ""
    if request.method == "POST":
        form = page_forms.get(action)
        if form is not None and form.is_valid():
            try:
                messages.success(request, _perform(request, project, action, form.cleaned_data))
                return redirect("assignments", name=project.name)
            except ValidationError as exc:
                error = " ".join(exc.messages)
        status = 400
    return render(request, "annotation/assignments.html", {
        "project": project, "forms": page_forms, "rows": assignment_table(project=project),
        "error": error}, status=status)
