"""Import (upload) and export (download) pages, for project managers."""
from __future__ import annotations

import zipfile

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.access import project_for_user
from annotation.models import Role, SentenceStatus
from annotation.security import UploadRejected
from annotation.selectors.imports import (
    import_job_get, import_job_progress, import_report_kinds, import_types_added,
)
from annotation.selectors.layers import layer_annotators
from annotation.services.corpus_io import corpus_export_download
from annotation.services.corpus_io import CorpusImportError
from annotation.services.imports import (
    ImportJobConflict, import_job_cancel, import_job_confirm, import_job_create,
)
from mlcore.corpus.formats import READ_FORMATS, WRITE_FORMATS, format_choices


class ImportForm(forms.Form):
    format = forms.ChoiceField(choices=format_choices(READ_FORMATS))
    file = forms.FileField()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.ELIGO_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}."
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        upload, fmt = cleaned.get("file"), cleaned.get("format")
        if upload and fmt == "brat" and not zipfile.is_zipfile(upload):
            self.add_error("file", "A brat upload must be a .zip of .txt/.ann pairs.")
        return cleaned


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=format_choices(WRITE_FORMATS))
    statuses = forms.MultipleChoiceField(
        choices=SentenceStatus.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Keep only the annotations of sentences with these statuses (none ticked: all).",
    )
    layer = forms.ChoiceField(
        required=False, label="Layer",
        help_text="The curated (shared) layer, or one annotator's own layer.")

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.annotators = {u.username: u for u in layer_annotators(project=project)}
        self.fields["layer"].choices = [("", "curated (shared)")] + [
            (name, name) for name in self.annotators]

    def clean_layer(self):
        return self.annotators.get(self.cleaned_data["layer"])


JOB_STATUS_CODES = {"succeeded": 200, "failed": 400, "queued": 202, "running": 202,
                    "needs_confirmation": 200}


@login_required
@require_http_methods(["GET", "POST"])
def corpus_import_view(request, name):
    """The upload form; a valid upload becomes an import job (``annotation.services.imports``)
    shown below the form: finished when small, else queued for a worker and polled."""
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    form = ImportForm(request.POST or None, request.FILES or None)
    job = error = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_create(project=project, user=request.user, upload=form.cleaned_data["file"],
                                    fmt=form.cleaned_data["format"])
            status = JOB_STATUS_CODES[job.status]
        except UploadRejected as rejected:
            error, status = str(rejected), rejected.status
    elif request.method == "POST":
        status = 400
    return render(request, "annotation/io/import.html",
                  {"project": project, "form": form, "error": error, **_job_context(job)}, status=status)


@login_required
@require_GET
def import_job_view(request, name, job_id):
    """One import job: the htmx-polled status partial, or the import page showing it."""
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    job = import_job_get(project=project, job_id=job_id)
    context = {"project": project, **_job_context(job)}
    if request.htmx:
        return render(request, "annotation/io/_import_job.html", context)
    return render(request, "annotation/io/import.html", {**context, "form": ImportForm()})


@login_required
@require_POST
def import_job_decide_view(request, name, job_id, decision):
    """Confirm (add the new types and import) or cancel a job waiting for a confirmation."""
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    job = import_job_get(project=project, job_id=job_id)
    error, status = None, 200
    try:
        job = (import_job_confirm(job=job, user=request.user) if decision == "confirm"
               else import_job_cancel(job=job))
        status = JOB_STATUS_CODES[job.status] if decision == "confirm" else 200
    except ImportJobConflict as conflict:
        error, status = str(conflict), 409
    except CorpusImportError as refused:
        error, status = str(refused), 400
    return render(request, "annotation/io/import.html",
                  {"project": project, "form": ImportForm(), "error": error, **_job_context(job)},
                  status=status)


def _job_context(job) -> dict:
    if job is None:
        return {"job": None}
    return {"job": job, "progress": import_job_progress(job=job), "report": job.report,
            "kinds": import_report_kinds(report=job.report),
            "types_added": import_types_added(report=job.report)}


@login_required
@require_http_methods(["GET", "POST"])
def corpus_export_view(request, name):
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    form = ExportForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        download = corpus_export_download(project=project, fmt=form.cleaned_data["format"],
                                          statuses=form.cleaned_data["statuses"], user=request.user,
                                          layer=form.cleaned_data["layer"])
        return FileResponse(download.file, as_attachment=True, filename=download.filename,
                            content_type=download.content_type)
    return render(request, "annotation/io/export.html", {"project": project, "form": form},
                  status=400 if request.method == "POST" else 200)
