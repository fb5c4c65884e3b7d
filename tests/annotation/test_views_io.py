import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation.models import Document, Entity, ImportJob, ImportJobStatus
from annotation.views.io import ImportForm
from mlcore.corpus.formats import read_corpus
from tests.annotation.conftest import FIXTURES


def _zip_of(folder) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in sorted(folder.iterdir()):
            archive.write(item, item.name)
    return buffer.getvalue()


@pytest.mark.parametrize("url_name", ["corpus_import", "corpus_export"])
@pytest.mark.parametrize("username, expected", [("outsider", 404), ("annotator", 403),
                                                ("reviewer", 403), ("manager", 200)])
def test_permissions(project, users, client_for, url_name, username, expected):
    response = client_for(users[username]).get(reverse(url_name, args=["trial"]))
    assert response.status_code == expected


def test_login_required(project, client):
    response = client.get(reverse("corpus_import", args=["trial"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_upload_brat_zip_asks_for_its_new_types_then_imports_and_deletes_the_file(
        project, users, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("small.zip", _zip_of(FIXTURES / "brat_small"))
    client = client_for(users["manager"])
    response = client.post(reverse("corpus_import", args=["trial"]), {"format": "brat", "file": upload})
    assert response.status_code == 200
    content = response.content.decode()
    assert "This import would add 8 types to the project." in content
    assert 'data-kind="entity" data-name="Value"' in content and "Imported." not in content
    assert not Document.objects.exists() and len(list((tmp_path / "uploads").iterdir())) == 1
    job = ImportJob.objects.get()
    assert job.status == ImportJobStatus.NEEDS_CONFIRMATION
    response = client.post(reverse("import_job_confirm", args=["trial", job.pk]))
    assert response.status_code == 200
    assert b"Imported." in response.content and b"<td>16</td>" in response.content
    assert b"types added to the project:" in response.content
    assert Entity.objects.filter(document__project=project).count() == 16
    assert Entity.objects.filter(created_by=users["manager"]).count() == 16
    assert list((tmp_path / "uploads").iterdir()) == []


def test_upload_with_an_error_shows_file_and_line_and_imports_nothing(project, users, client_for,
                                                                       settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("bad.zip", _zip_of(FIXTURES / "brat_bad_third"))
    response = client_for(users["manager"]).post(
        reverse("corpus_import", args=["trial"]), {"format": "brat", "file": upload})
    assert response.status_code == 400
    content = response.content.decode()
    assert "Import failed" in content and "c_third.ann:2" in content and "out of range" in content
    assert str(tmp_path) not in content
    assert Document.objects.count() == 0
    assert list((tmp_path / "uploads").iterdir()) == []


def test_upload_validation(project, users, client_for, settings):
    client = client_for(users["manager"])
    url = reverse("corpus_import", args=["trial"])
    response = client.post(url, {"format": "brat", "file": SimpleUploadedFile("x.zip", b"not a zip")})
    assert response.status_code == 400 and b"must be a .zip" in response.content
    response = client.post(url, {"format": "xml", "file": SimpleUploadedFile("x.txt", b"x")})
    assert response.status_code == 400 and b"Select a valid choice" in response.content
    settings.ELIGO_UPLOAD_MAX_BYTES = 10
    response = client.post(url, {"format": "text", "file": SimpleUploadedFile("x.txt", b"x" * 11)})
    assert response.status_code in (400, 413)  # 413: refused by the upload middleware, if installed
    assert Document.objects.count() == 0


def test_upload_with_an_unsafe_member_is_refused(project, users, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.txt", "Adults\n")
    response = client_for(users["manager"]).post(
        reverse("corpus_import", args=["trial"]),
        {"format": "brat", "file": SimpleUploadedFile("evil.zip", buffer.getvalue())})
    assert response.status_code == 400 and b"evil.txt" in response.content
    assert Document.objects.count() == 0 and list((tmp_path / "uploads").iterdir()) == []


def test_import_form_enforces_the_size_limit_itself(settings):
    settings.ELIGO_UPLOAD_MAX_BYTES = 10
    form = ImportForm({"format": "text"}, {"file": SimpleUploadedFile("x.txt", b"x" * 11)})
    assert not form.is_valid() and "the limit is 10" in form.errors["file"][0]


def test_upload_text(project, users, client_for):
    upload = SimpleUploadedFile("criteria.txt", b"Adults aged 18 or older\nNo asthma\n")
    response = client_for(users["manager"]).post(
        reverse("corpus_import", args=["trial"]), {"format": "text", "file": upload})
    assert response.status_code == 200
    document = Document.objects.get(project=project)
    assert list(document.sentences.values_list("status", flat=True)) == ["new", "new"]
    assert document.name == "criteria"  # the uploaded file's name, not the stored copy's


def test_upload_text_twice_is_refused_as_brat_is(project, users, client_for):
    """The same plain-text file imported again is refused by the one duplicate-name rule."""
    client, url = client_for(users["manager"]), reverse("corpus_import", args=["trial"])
    for _ in range(2):
        upload = SimpleUploadedFile("NCT01234567.txt", b"Inclusion Criteria:\n- Adults\n"
                                                       b"Exclusion Criteria:\n- Asthma\n")
        response = client.post(url, {"format": "text", "file": upload})
    assert response.status_code == 400
    assert "NCT01234567.txt: document NCT01234567_inc: a document with this name already exists" \
        in response.content.decode()
    assert sorted(Document.objects.values_list("name", flat=True)) == ["NCT01234567_exc", "NCT01234567_inc"]


def test_download_brat_zip_and_jsonl(imported_project, users, client_for, tmp_path):
    client = client_for(users["manager"])
    url = reverse("corpus_export", args=["trial"])
    response = client.post(url, {"format": "brat"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="trial-brat.zip"')
    archive = tmp_path / "export.zip"
    archive.write_bytes(b"".join(response.streaming_content))
    documents = {d.name: d for d in read_corpus(archive, "brat").documents}
    assert sorted(documents) == ["doc_a", "doc_b", "doc_c"]
    assert documents["doc_a"].text == (FIXTURES / "brat_small" / "doc_a.txt").read_bytes().decode()
    response = client.post(url, {"format": "jsonl", "statuses": ["reviewed"]})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Disposition"].endswith('filename="trial-jsonl.jsonl"')
    assert body.count("\n") >= 4 and '"T1"' not in body


def test_download_validation(imported_project, users, client_for):
    response = client_for(users["manager"]).post(
        reverse("corpus_export", args=["trial"]), {"format": "pdf"})
    assert response.status_code == 400


# --- the import page runs large imports on the worker, as the API does -----------------------


def _queued_page_upload(client, settings, tmp_path, on_commit=None):
    """Upload above the async threshold, the worker's queue mocked; ``on_commit`` runs the
    transaction's on-commit callbacks (the enqueue) while the mock is in place."""
    from contextlib import nullcontext
    from unittest import mock

    settings.MEDIA_ROOT, settings.ELIGO_IMPORT_ASYNC_BYTES = tmp_path, 10
    upload = SimpleUploadedFile("small.zip", _zip_of(FIXTURES / "brat_small"))
    with mock.patch("webapp.celery.app.send_task") as send, (on_commit or nullcontext)():
        response = client.post(reverse("corpus_import", args=["trial"]), {"format": "brat", "file": upload})
    return response, send


def test_a_large_upload_is_queued_and_the_page_polls_it(project, users, client_for, settings, tmp_path,
                                                        django_capture_on_commit_callbacks):
    from annotation.models import AuditEvent, ImportJob
    from worker.tasks import import_corpus

    project.new_types = "add"  # the project adds new types without asking (the report lists them)
    project.save()
    client = client_for(users["manager"])
    response, send = _queued_page_upload(
        client, settings, tmp_path, lambda: django_capture_on_commit_callbacks(execute=True))
    job = ImportJob.objects.get()
    assert response.status_code == 202
    content = response.content.decode()
    assert "Queued for a worker" in content and 'role="progressbar"' in content
    poll = reverse("import_job", args=["trial", job.pk])
    assert f'hx-get="{poll}"' in content and 'hx-trigger="every 1s"' in content
    assert "of about 3 documents" in content
    send.assert_called_once_with("worker.tasks.import_corpus", args=[job.pk], task_id=f"eligo-import-{job.pk}")
    assert not Entity.objects.exists(), "nothing imported inside the request"

    assert import_corpus(job.pk) == "succeeded"
    partial = client.get(poll, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert partial.status_code == 200 and "Imported." in body and "<td>16</td>" in body
    assert "hx-get" not in body, "a finished job stops polling"
    assert reverse("document_list", args=["trial"]) in body
    doc_a = Document.objects.get(project=project, name="doc_a")
    assert reverse("document_open", args=["trial", doc_a.pk]) in body
    assert "undeclared types added to the schema" in body and "Informed_consent" in body
    assert str(tmp_path) not in body
    assert AuditEvent.objects.filter(action="imported", object_id=job.pk, user=users["manager"]).exists()
    assert list((tmp_path / "uploads").iterdir()) == []


def test_a_running_job_shows_the_workers_progress(project, users, client_for, settings, tmp_path):
    from annotation.models import ImportJob
    from annotation.services.imports import import_task_id
    from webapp.celery import app

    client = client_for(users["manager"])
    _queued_page_upload(client, settings, tmp_path)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    app.backend.store_result(import_task_id(job_id=job.pk), {"documents": 2}, "PROGRESS")
    try:
        body = client.get(reverse("import_job", args=["trial", job.pk]), HTTP_HX_REQUEST="true").content.decode()
    finally:
        app.backend.forget(import_task_id(job_id=job.pk))
    assert "Importing" in body and "2 of about 3 documents" in body and 'aria-valuenow="67"' in body


def test_a_failed_job_shows_its_error_and_the_full_page_works_too(project, users, client_for, settings,
                                                                 tmp_path):
    from annotation.models import ImportJob
    from worker.tasks import import_corpus

    settings.MEDIA_ROOT, settings.ELIGO_IMPORT_ASYNC_BYTES = tmp_path, 10
    client = client_for(users["manager"])
    from unittest import mock

    with mock.patch("webapp.celery.app.send_task"):
        client.post(reverse("corpus_import", args=["trial"]),
                    {"format": "brat", "file": SimpleUploadedFile("bad.zip", _zip_of(FIXTURES / "brat_bad_third"))})
    job = ImportJob.objects.get()
    assert import_corpus(job.pk) == "failed"
    page = client.get(reverse("import_job", args=["trial", job.pk]))
    content = page.content.decode()
    assert page.status_code == 200 and "Import failed" in content and "bad.zip!c_third.ann:2" in content
    assert str(tmp_path) not in content and '<form method="post"' in content
    other = client_for(users["annotator"]).get(reverse("import_job", args=["trial", job.pk]))
    assert other.status_code == 403


@pytest.mark.celery
def test_the_page_import_runs_on_a_real_worker(project, users, settings, celery_worker_process):
    import time

    from django.test import Client

    from annotation.models import ImportJob

    settings.ELIGO_IMPORT_ASYNC_BYTES = 0
    client = Client()
    client.force_login(users["manager"])
    upload = SimpleUploadedFile("small.zip", _zip_of(FIXTURES / "brat_small"))
    response = client.post(reverse("corpus_import", args=["trial"]), {"format": "brat", "file": upload})
    assert response.status_code == 202
    job = ImportJob.objects.get()

    def wait_for(text: bytes) -> bytes:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            body = client.get(reverse("import_job", args=["trial", job.pk]), HTTP_HX_REQUEST="true").content
            if text in body:
                return body
            time.sleep(0.5)
        raise AssertionError(celery_worker_process.output())

    # the worker reads the corpus, finds 8 types the project lacks and asks first
    assert b'data-name="Informed_consent"' in wait_for(b"This import would add 8 types")
    assert not Entity.objects.filter(document__project=project).exists()
    response = client.post(reverse("import_job_confirm", args=["trial", job.pk]))
    assert response.status_code == 202, "confirmed: queued for the worker again"
    wait_for(b"Imported.")
    assert Entity.objects.filter(document__project=project).count() == 16
    keys = [*project.entity_types.values_list("key", flat=True),
            *project.relation_types.values_list("key", flat=True)]
    assert len(keys) == len(set(keys))


def test_page_export_is_audited_like_the_api(imported_project, users, client_for):
    from annotation.models import AuditEvent

    response = client_for(users["manager"]).post(reverse("corpus_export", args=["trial"]),
                                                 {"format": "conll", "statuses": ["done"]})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    event = AuditEvent.objects.get(action="exported")
    assert (event.user, event.payload) == (users["manager"], {"format": "conll", "statuses": ["done"]})


def test_page_format_choices_come_from_the_registry(imported_project, users, client_for):
    from mlcore.corpus.formats import FORMATS

    client = client_for(users["manager"])
    imports = client.get(reverse("corpus_import", args=["trial"])).content.decode()
    exports = client.get(reverse("corpus_export", args=["trial"])).content.decode()
    for name, spec in FORMATS.items():
        assert (f'value="{name}"' in imports) == spec.can_import
        assert (f'value="{name}"' in exports) == spec.can_export
        assert spec.label in (imports if spec.can_import else exports)
