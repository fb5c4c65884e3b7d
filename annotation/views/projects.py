"""Project list, dashboard and guidelines."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotation.access import may_create_project, may_curate, project_for_user, role_at_least
from annotation.forms import GuidelinesForm
from annotation.models import Role
from annotation.selectors.curation import curation_progress
from annotation.selectors.dashboard import project_dashboard, projects_with_progress
from annotation.selectors.layers import is_independent


@login_required
@require_GET
def project_list(request):
    return render(request, "annotation/project_list.html",
                  {"projects": projects_with_progress(user=request.user),
                   "can_create": may_create_project(request.user)})


@login_required
@require_GET
def project_dashboard_view(request, name):
    project, role = project_for_user(user=request.user, name=name)
    context = {"project": project, "role": role, "is_manager": role == Role.MANAGER,
               "can_train": role_at_least(role, Role.REVIEWER), "can_curate": may_curate(role),
               "curation": curation_progress(project=project) if is_independent(project) else None,
               **project_dashboard(project=project)}
    template = "annotation/partials/dashboard_body.html" if request.htmx else "annotation/dashboard.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def project_guidelines(request, name):
    """Read the guidelines; managers edit them (``?edit=1``, then POST)."""
    project, role = project_for_user(user=request.user, name=name)
    editing = request.method == "POST" or request.GET.get("edit") == "1"
    if editing and not role_at_least(role, Role.MANAGER):
        raise PermissionDenied("Only managers can edit the guidelines.")
    form = GuidelinesForm(request.POST or None, instance=project) if editing else None
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Guidelines saved.")
        return redirect("project_guidelines", name=project.name)
    template = ("annotation/partials/guidelines_body.html" if request.htmx
                else "annotation/guidelines.html")
    return render(request, template, {"project": project, "role": role, "form": form,
                                      "is_manager": role == Role.MANAGER})
