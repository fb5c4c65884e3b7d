"""Import (upload) and export (download) pages, for project managers."""
from __future__ import annotations

import zipfile

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_http_methods

from annotation.models import Role, SentenceStatus
from annotation.security import UploadRejected, upload_check, upload_save
from annotation.selectors.projects import project_get_for_user
from annotation.services.corpus_io import CorpusImportError, corpus_export_file, corpus_import

IMPORT_FORMATS = {
    "brat": ("brat standoff (.zip of .txt/.ann pairs)", ".zip"),
    "jsonl": ("Eligo JSONL", ".jsonl"),
    "text": ("Plain text, one criterion per line or an eligibility section", ".txt"),
    "ctgov": ("ClinicalTrials.gov API v2 study JSON", ".json"),
}
EXPORT_FORMATS = {
    "brat": ("brat standoff (.zip)", ".zip", "application/zip"),
    "jsonl": ("Eligo JSONL (lossless)", ".jsonl", "application/x-ndjson"),
    "conll": ("CoNLL BIO (flattened)", ".conll", "text/plain; charset=utf-8"),
}


class ImportForm(forms.Form):
    format = forms.ChoiceField(choices=[(k, label) for k, (label, _) in IMPORT_FORMATS.items()])
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
    format = forms.ChoiceField(choices=[(k, label) for k, (label, *_) in EXPORT_FORMATS.items()])
    statuses = forms.MultipleChoiceField(
        choices=SentenceStatus.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Keep only the annotations of sentences with these statuses (none ticked: all).",
    )


@login_required
@require_http_methods(["GET", "POST"])
def corpus_import_view(request, name):
    project = project_get_for_user(request.user, name, min_role=Role.MANAGER)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = error = None
    status = 200
    if request.method == "POST" and form.is_valid():
        report, error, status = _import_upload(project, form.cleaned_data["file"],
                                               form.cleaned_data["format"], request.user)
    elif request.method == "POST":
        status = 400
    return render(request, "annotation/io/import.html",
                  {"project": project, "form": form, "report": report, "error": error},
                  status=status)


def _import_upload(project, upload, fmt: str, user):
    """Save the upload under MEDIA_ROOT/uploads, check it, import it, delete it.

    Returns ``(report, error message, HTTP status)``; error messages name the uploaded file
    (not the temporary copy), its member file and line.
    """
    try:
        path = upload_save(upload, suffix=IMPORT_FORMATS[fmt][1])
    except UploadRejected as rejected:
        return None, str(rejected), rejected.status
    try:
        upload_check(path, fmt, display_name=upload.name)
        return corpus_import(project=project, path=path, fmt=fmt, user=user), None, 200
    except UploadRejected as rejected:
        return None, str(rejected), rejected.status
    except CorpusImportError as failure:
        return None, str(failure).replace(str(path), upload.name), 400
    finally:
        path.unlink(missing_ok=True)


@login_required
@require_http_methods(["GET", "POST"])
def corpus_export_view(request, name):
    project = project_get_for_user(request.user, name, min_role=Role.MANAGER)
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fmt = form.cleaned_data["format"]
        _, suffix, content_type = EXPORT_FORMATS[fmt]
        download = corpus_export_file(
            project=project, fmt=fmt, statuses=form.cleaned_data["statuses"] or None
        )
        return FileResponse(download, as_attachment=True, filename=f"{project.name}-{fmt}{suffix}",
                            content_type=content_type)
    return render(request, "annotation/io/export.html", {"project": project, "form": form},
                  status=400 if request.method == "POST" else 200)
