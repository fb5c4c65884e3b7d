import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation.models import Document, Entity
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


def test_upload_brat_zip_imports_and_deletes_the_temporary_file(project, users, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("small.zip", _zip_of(FIXTURES / "brat_small"))
    response = client_for(users["manager"]).post(
        reverse("corpus_import", args=["trial"]), {"format": "brat", "file": upload})
    assert response.status_code == 200
    assert b"Imported." in response.content and b"<td>16</td>" in response.content
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
