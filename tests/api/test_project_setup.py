"""The API never adds types silently: ``new_types`` ask (409 listing the types and the keys
they would get, then confirm), add (the report lists them and their keys), refuse; a project
set to refuse refuses whatever the request asks. Projects can start from a preset."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Document, ImportJob
from tests.annotation.conftest import FIXTURES
from tests.annotation.test_views_io import _zip_of


def _small_zip() -> SimpleUploadedFile:
    return SimpleUploadedFile("small.zip", _zip_of(FIXTURES / "brat_small"))


def _keys(project) -> list[str]:
    return [k for k in (*project.entity_types.values_list("key", flat=True),
                        *project.relation_types.values_list("key", flat=True)) if k]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _upload(api, **extra):
    return api.post("/api/projects/trial/imports/", {"format": "brat", "file": _small_zip(), **extra},
                    format="multipart")


def test_ask_answers_409_with_the_types_and_keys_then_confirm_imports(project, users, api_for):
    api = api_for(users["manager"])
    response = _upload(api)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "new_types_pending" and "would add 8 types" in error["message"]
    job = error["details"]["job"]
    assert job["status"] == "needs_confirmation" and job["new_types"] == "ask"
    pending = {(t["kind"], t["name"]): t["key"] for t in job["report"]["new_types"]}
    assert set(pending) >= {("entity", "Value"), ("entity", "Informed_consent"), ("relation", "Has_value")}
    assert not set(pending.values()) & set(_keys(project)), "the keys it would get are free"
    assert not Document.objects.exists() and project.entity_types.count() == 3

    response = api.post(f"/api/projects/trial/imports/{job['id']}/confirm/")
    assert response.status_code == 201, response.json()
    report = response.json()["report"]
    assert report["documents"] == 3 and len(report["types_added"]) == 8
    assert report["type_keys"]["entity Value"] == pending[("entity", "Value")]
    assert any("entity Value (key " in line for line in report["changes"])
    keys = _keys(project)
    assert len(keys) == len(set(keys)) == 3 + 1 + 8

    again = api.post(f"/api/projects/trial/imports/{job['id']}/confirm/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "import_conflict"


def test_cancel_drops_a_pending_import(project, users, api_for, tmp_path):
    api = api_for(users["manager"])
    job = _upload(api).json()["error"]["details"]["job"]
    response = api.post(f"/api/projects/trial/imports/{job['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "failed"
    assert list((tmp_path / "uploads").iterdir()) == []
    assert api.post(f"/api/projects/trial/imports/{job['id']}/confirm/").status_code == 409
    assert not Document.objects.exists()


def test_add_imports_and_reports_the_added_types_with_non_colliding_keys(project, users, api_for):
    response = _upload(api_for(users["manager"]), new_types="add")
    assert response.status_code == 201
    report = response.json()["report"]
    assert "entity Informed_consent" in report["types_added"]
    keys = _keys(project)
    assert len(keys) == len(set(keys)) and set(report["type_keys"].values()) <= set(keys)


@pytest.mark.parametrize("project_policy, requested", [("ask", "refuse"), ("refuse", "add"), ("refuse", None)])
def test_refuse_imports_nothing(project, users, api_for, project_policy, requested):
    project.new_types = project_policy
    project.save()
    extra = {"new_types": requested} if requested else {}
    response = _upload(api_for(users["manager"]), **extra)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_failed" and "refuses imports that add types" in error["message"]
    assert not Document.objects.exists() and project.entity_types.count() == 3
    assert ImportJob.objects.get().status == "failed"


def test_an_import_adding_no_type_needs_no_confirmation(project, users, api_for):
    header = b'{"eligo": 1, "schema": {"entity_types": [{"name": "Drug"}], "relation_types": []}}\n'
    line = (b'{"name": "extra", "text": "No Drug.", "sentences": [{"start": 0, "end": 8}], '
            b'"entities": [{"id": "T1", "type": "Drug", "fragments": [[3, 7]]}], "relations": []}\n')
    response = api_for(users["manager"]).post(
        "/api/projects/trial/imports/", {"format": "jsonl", "file": SimpleUploadedFile(
            "one.jsonl", header + line)}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["report"]["types_added"] == []


def test_a_bad_policy_is_a_400(project, users, api_for):
    response = _upload(api_for(users["manager"]), new_types="sometimes")
    assert response.status_code == 400 and "new_types" in response.json()["error"]["details"]
    assert not ImportJob.objects.exists()


def test_staff_create_a_project_from_a_preset(users, make_user, api_for):
    staff = make_user("staff", is_staff=True)
    response = api_for(staff).post("/api/projects/", {"name": "chia", "preset": "chia", "new_types": "refuse"},
                                   format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["schema"]["entity_types"]) == 17 and body["new_types"] == "refuse"
    response = api_for(staff).post("/api/projects/", {"name": "x", "preset": "chia",
                                                      "schema": {"entity_types": []}}, format="json")
    assert response.status_code == 400
    assert api_for(users["manager"]).post("/api/projects/", {"name": "y", "preset": "chia"},
                                          format="json").status_code == 403
