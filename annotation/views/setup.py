"""Project setup in the browser: create a project (staff), and, for its managers, its
settings, label schema (types, colours, keys, allowed heads and tails, types from a brat
``annotation.conf``) and members. Every write is a service of ``annotation.services.projects``
(the API's too); a refused change is shown on the page with a 400 (409 for a stale schema)
and changes nothing."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.access import project_create_authorize, project_for_user
from annotation.forms import (
    ConfUploadForm, MemberForm, ProjectCreateForm, ProjectSettingsForm, SchemaEntityTypeForm,
    SchemaRelationTypeForm,
)
from annotation.models import Role
from annotation.schema_presets import preset_schema
from annotation.selectors.annotations import relation_type_rows
from annotation.selectors.projects import project_members, project_schema_additions
from annotation.services import projects as project_services
from annotation.services.layers import project_mode_update
from annotation.services.projects import StaleSchema


@login_required
@require_http_methods(["GET", "POST"])
def project_create_view(request):
    """A new project from a preset or an uploaded ``annotation.conf``; the creator manages it."""
    project_create_authorize(user=request.user)
    form = ProjectCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["schema_source"] == "conf":
            schema, relation_keys = data["schema"], {}
        else:
            schema, relation_keys = preset_schema(data["schema_source"])
        project = project_services.project_create(
            name=data["name"], title=data["title"], schema=schema, relation_keys=relation_keys,
            new_types=data["new_types"], created_by=request.user)
        messages.success(request, f"Project {project.name} created: "
                                  f"{project.entity_types.count()} entity and "
                                  f"{project.relation_types.count()} relation types.")
        return redirect("project_setup", name=project.name)
    return render(request, "annotation/project_new.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_GET
def project_setup_view(request, name):
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    return _setup_page(request, project)


def _setup_page(request, project, *, error: str = "", status: int = 200, **extra):
    project.refresh_from_db()
    entity_types = list(project.entity_types.all())
    context = {
        "project": project, "entity_types": entity_types,
        "relation_types": relation_type_rows(project_id=project.pk),
        "members": project_members(project=project), "roles": Role.choices,
        "settings_form": extra.pop("settings_form", None) or ProjectSettingsForm(instance=project),
        "conf_form": extra.pop("conf_form", None) or ConfUploadForm(),
        "error": error, **extra,
    }
    return render(request, "annotation/setup.html", context, status=status)


def _refused(request, project, error: Exception, **extra):
    """The page again with what was refused: 409 for a stale schema, 400 otherwise."""
    status = 409 if isinstance(error, StaleSchema) else 400
    text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
    return _setup_page(request, project, error=text, status=status, **extra)


def _form_errors(form) -> str:
    return " ".join(f"{'' if field == '__all__' else field + ': '}{' '.join(errors)}"
                    for field, errors in form.errors.items())


@login_required
@require_POST
def project_settings_save(request, name):
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    form = ProjectSettingsForm(request.POST, instance=project)
    if not form.is_valid():
        return _setup_page(request, project, error=_form_errors(form), status=400, settings_form=form)
    data = form.cleaned_data
    with transaction.atomic():
        project_services.project_update(project=project, title=data["title"],
                                        description=data["description"], new_types=data["new_types"])
        project_mode_update(project=project, mode=data["annotation_mode"],
                            annotators_per_document=data["annotators_per_document"])
    messages.success(request, "Settings saved.")
    return redirect("project_setup", name=project.name)


#: kind -> (form, create service, update service, the update's keyword)
_TYPE_WRITES = {
    "entity": (SchemaEntityTypeForm, project_services.entity_type_create,
               project_services.entity_type_update, "entity_type"),
    "relation": (SchemaRelationTypeForm, project_services.relation_type_create,
                 project_services.relation_type_update, "relation_type"),
}


@login_required
@require_POST
def type_save(request, name, kind, type_id=None):
    """Add an entity or relation type (no ``type_id``) or change one: name, key, and the
    colour (entity) or the allowed heads and tails (relation)."""
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    form_class, create, update, keyword = _TYPE_WRITES[kind]
    extra = {"entity_types": project.entity_types.all()} if kind == "relation" else {}
    form = form_class(request.POST, **extra)
    if not form.is_valid():
        return _setup_page(request, project, error=_form_errors(form), status=400)
    fields = {**form.cleaned_data, "expected_version": form.cleaned_data["version"]}
    del fields["version"]
    types = project.entity_types if kind == "entity" else project.relation_types
    try:
        if type_id is None:
            saved = create(project=project, **fields)
        else:
            saved = update(**{keyword: get_object_or_404(types, pk=type_id)}, **fields)
    except (ValidationError, StaleSchema) as refused:
        return _refused(request, project, refused)
    messages.success(request, f"{kind.capitalize()} type {saved.name} saved (key {saved.key or 'none'}).")
    return redirect("project_setup", name=project.name)


@login_required
@require_POST
def schema_conf_apply(request, name):
    """An ``annotation.conf``: first the types it would add, with their keys (a preview);
    ``confirm`` with the schema version of the preview adds them."""
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    form = ConfUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _setup_page(request, project, error=_form_errors(form), status=400, conf_form=form)
    schema = form.cleaned_data["schema"]
    if request.POST.get("confirm") != "1":
        return _setup_page(request, project, conf_text=form.cleaned_data["conf_text"],
                           conf_preview=project_schema_additions(project=project, schema=schema).as_list())
    version = request.POST.get("version", "")
    if not version.isdigit():
        return _setup_page(request, project, error="The preview's schema version is missing.", status=400)
    try:
        added = project_services.project_schema_apply(project=project, schema=schema,
                                                      expected_version=int(version))
    except StaleSchema as refused:
        return _refused(request, project, refused)
    messages.success(request, f"{added['entity_types']} entity and {added['relation_types']} "
                              f"relation types added from the annotation.conf.")
    return redirect("project_setup", name=project.name)


@login_required
@require_POST
def member_save(request, name):
    """Add a member or change a member's role."""
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    form = MemberForm(request.POST)
    if not form.is_valid():
        return _setup_page(request, project, error=_form_errors(form), status=400)
    user = get_user_model().objects.filter(username=form.cleaned_data["username"], is_active=True).first()
    if user is None:
        return _setup_page(request, project, status=400,
                           error=f"There is no user called {form.cleaned_data['username']!r}.")
    try:
        project_services.membership_set(project=project, user=user, role=form.cleaned_data["role"])
    except ValidationError as refused:
        return _refused(request, project, refused)
    messages.success(request, f"{user.username} is now {form.cleaned_data['role']}.")
    return redirect("project_setup", name=project.name)


@login_required
@require_POST
def member_remove(request, name, username):
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    member = get_object_or_404(get_user_model(), username=username, memberships__project=project)
    try:
        project_services.membership_remove(project=project, user=member)
    except ValidationError as refused:
        return _refused(request, project, refused)
    messages.success(request, f"{member.username} removed from the project.")
    return redirect("project_setup", name=project.name)
