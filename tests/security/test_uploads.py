"""Hostile uploads: huge bodies, traversal and bomb archives, non-UTF-8, malformed brat."""
import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from annotation.models import Document, ImportJob
from annotation.security import UploadRejected, upload_check, upload_save, utf8_check_stream, zip_check
from tests.api.conftest import api_for, imported_project, make_user, project, users  # noqa: F401

IMPORTS = "/api/projects/trial/imports/"


def _zip(members: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _upload(client, data: bytes, fmt: str, name: str = "corpus.zip"):
    return client.post(IMPORTS, {"format": fmt, "file": SimpleUploadedFile(name, data)},
                       format="multipart")


def _media_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_one_gigabyte_upload_is_refused_from_the_header(project, users, client):
    """A fake Content-Length of 1 GiB with a tiny body: 413 before the body is read."""
    client.force_login(users["manager"])
    response = client.generic("POST", IMPORTS, b"x" * 10, content_type="multipart/form-data; boundary=x",
                              CONTENT_LENGTH=str(1024 ** 3))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"
    page = client.generic("POST", "/projects/trial/import/", b"x", content_type="multipart/form-data; boundary=x",
                          CONTENT_LENGTH=str(1024 ** 3))
    assert page.status_code == 413 and b"limit" in page.content


@override_settings(ELIGO_UPLOAD_MAX_BYTES=1000)
def test_body_over_the_limit_without_a_matching_header_is_stopped(project, users, api_for, settings):
    response = _upload(api_for(users["manager"]), b"a" * 5000, "text", "big.txt")
    assert response.status_code in (400, 413)
    assert not Document.objects.filter(project__name="trial").exists()


def test_upload_save_refuses_over_the_limit_and_leaves_nothing(settings, tmp_path):
    settings.MEDIA_ROOT, settings.ELIGO_UPLOAD_MAX_BYTES = tmp_path, 10
    with pytest.raises(UploadRejected) as refused:
        upload_save(SimpleUploadedFile("x.txt", b"y" * 11), suffix=".txt")
    assert refused.value.status == 413
    assert not list(tmp_path.rglob("*.txt"))


def test_upload_save_ignores_the_client_name_and_stays_in_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    path = upload_save(SimpleUploadedFile("../../etc/passwd", b"hello"), suffix=".txt")
    assert tmp_path.resolve() in path.resolve().parents and "passwd" not in path.name
    with pytest.raises(UploadRejected):
        upload_save(SimpleUploadedFile("a", b"b"), suffix="/../../x")


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "C:/evil.txt"])
def test_zip_with_unsafe_paths_is_refused(project, users, api_for, settings, member):
    data = _zip({member: "Adults\n", "doc.txt": "Adults\n", "doc.ann": ""})
    response = _upload(api_for(users["manager"]), data, "brat")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "zip_unsafe_path"
    assert not list(Path(settings.MEDIA_ROOT).rglob("evil*"))
    assert not _media_files(settings), "the refused upload must be deleted"


def test_zip_symlink_member_is_refused(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    info = zipfile.ZipInfo("link.txt")
    info.external_attr = (0o120777 << 16)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, "/etc/passwd")
    path = tmp_path / "a.zip"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UploadRejected, match="symbolic link"):
        zip_check(path)


def test_zip_bomb_is_refused_by_ratio_and_total(project, users, api_for, settings):
    bomb = _zip({"doc.txt": b"\0" * (50 * 1024 * 1024), "doc.ann": b""})
    assert len(bomb) < 100_000
    response = _upload(api_for(users["manager"]), bomb, "brat")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "zip_bomb"
    settings.ELIGO_ZIP_MAX_TOTAL_BYTES = 1000
    stored = _zip({"doc.txt": b"a" * 5000, "doc.ann": b""}, zipfile.ZIP_STORED)
    response = _upload(api_for(users["manager"]), stored, "brat")
    assert response.json()["error"]["code"] == "zip_bomb"


def test_zip_with_too_many_members_is_refused(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    path = tmp_path / "many.zip"
    path.write_bytes(_zip({f"d{i}.txt": "x" for i in range(30)}))
    with pytest.raises(UploadRejected, match="entries"):
        zip_check(path, max_members=10)


def test_non_utf8_text_is_refused_with_line_and_byte(project, users, api_for):
    data = "Adults\nâge ≥ 18\n".encode("latin-1", errors="replace")
    response = _upload(api_for(users["manager"]), data, "text", "criteria.txt")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "not_utf8"
    assert "criteria.txt" in error["message"] and "line 2" in error["message"]


def test_non_utf8_member_of_a_brat_zip_is_refused(project, users, api_for):
    data = _zip({"doc.txt": "Fièvre".encode("cp1252"), "doc.ann": b""})
    response = _upload(api_for(users["manager"]), data, "brat")
    assert response.json()["error"]["code"] == "not_utf8"
    assert "doc.txt" in response.json()["error"]["message"]


def test_utf8_check_handles_characters_split_across_chunks():
    from annotation import security

    text = ("é" * (security.READ_CHUNK // 2 + 1)).encode()
    utf8_check_stream(io.BytesIO(text), "ok.txt")
    with pytest.raises(UploadRejected, match="byte 3"):
        utf8_check_stream(io.BytesIO(b"abc\xff"), "bad.txt")


def test_not_a_zip_is_refused(project, users, api_for):
    response = _upload(api_for(users["manager"]), b"PK not really", "brat")
    assert response.status_code == 400


@pytest.mark.parametrize("ann,reason", [
    ("T1\tCondition 0 999\tAdults\n", "out of range"),
    ("T1\tCondition 5 2\tx\n", "out of range"),
    ("T1\tCondition zero six\tAdults\n", "offsets"),
    ("T1\tCondition\n", "bad offsets"),
])
def test_malformed_brat_is_refused_and_nothing_imported(project, users, api_for, ann, reason):
    data = _zip({"doc.txt": "Adults with diabetes\n", "doc.ann": ann})
    response = _upload(api_for(users["manager"]), data, "brat")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "import_failed"
    assert reason in error["message"]
    assert "corpus.zip" in error["message"], "the message names the upload, not the temporary copy"
    assert not Document.objects.filter(project__name="trial").exists()
    assert ImportJob.objects.get().status == "failed"


def test_import_page_refuses_traversal_zip_too(project, users, client, settings):
    """The import page (annotation/views/io.py) must use the same checks."""
    client.force_login(users["manager"])
    data = _zip({"../evil.txt": "x", "doc.txt": "Adults\n", "doc.ann": ""})
    response = client.post("/projects/trial/import/",
                           {"format": "brat", "file": SimpleUploadedFile("c.zip", data)})
    assert response.status_code in (400, 404)
    assert not Document.objects.filter(project__name="trial").exists()


def test_upload_check_refuses_a_path_outside_media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    outside = tmp_path / "x.txt"
    outside.write_text("hi")
    with pytest.raises(UploadRejected):
        upload_check(outside, "text")
