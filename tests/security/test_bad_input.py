"""Bad input gets a clear 4xx, never a 500, and changes nothing: damaged zips, deep JSON, NUL
bytes in paths and imported files, unusable document names; import reports without server paths.

Everything goes through HTTP (pages and API) or the command line, on SQLite and PostgreSQL.
"""
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from annotation.models import AuditEvent, Document, Entity, ImportJob, Sentence
from tests.api.conftest import (  # noqa: F401  (fixtures)
    _fresh_cache, api_for, client_for, imported_project, make_user, project, users,
)

from tests.security.test_uploads import _zip

IMPORTS = "/api/projects/trial/imports/"
PAGE = "/projects/trial/import/"
DEEP = "[" * 100_000 + "]" * 100_000


def _bad_crc_zip() -> bytes:
    """A stored zip whose doc.txt bytes were changed after the CRC was written."""
    data = bytearray(_zip({"doc.txt": "Adults with diabetes\n", "doc.ann": ""}, zipfile.ZIP_STORED))
    at = data.index(b"Adults with diabetes")
    data[at:at + 6] = b"ADULTS"
    return bytes(data)


HEADER = {"eligo": 1, "schema": {"entity_types": [], "relation_types": []}}


def _jsonl(*documents: dict) -> bytes:
    return "".join(json.dumps(d) + "\n" for d in (HEADER, *documents)).encode()


def _doc(name: str, text: str = "No prior chemotherapy.") -> dict:
    return {"name": name, "text": text, "sentences": [{"start": 0, "end": len(text)}],
            "entities": [], "relations": []}


def _api_upload(client, data: bytes, fmt: str, name: str):
    return client.post(IMPORTS, {"format": fmt, "file": SimpleUploadedFile(name, data)}, format="multipart")


def _page_upload(client, data: bytes, fmt: str, name: str):
    return client.post(PAGE, {"format": fmt, "file": SimpleUploadedFile(name, data)})


# --- damaged zip (BadZipFile on a member's CRC) ---------------------------------------------


def test_zip_with_a_bad_crc_is_a_400_on_the_api(project, users, api_for):
    response = _api_upload(api_for(users["manager"]), _bad_crc_zip(), "brat", "crc.zip")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "zip_damaged" and "doc.txt" in error["message"]
    assert not Document.objects.exists() and not ImportJob.objects.exists()


def test_zip_with_a_bad_crc_is_a_400_on_the_import_page(project, users, client_for):
    response = _page_upload(client_for(users["manager"]), _bad_crc_zip(), "brat", "crc.zip")
    assert response.status_code == 400
    assert b"damaged" in response.content and b"doc.txt" in response.content
    assert not Document.objects.exists()


def test_zip_with_a_bad_crc_is_a_clear_error_on_the_command_line(db, tmp_path):
    path = tmp_path / "crc.zip"
    path.write_bytes(_bad_crc_zip())
    with pytest.raises(CommandError, match=r"crc\.zip.*damaged"):
        call_command("import_corpus", str(path), "--project", "p", "--format", "brat", stdout=io.StringIO())
    assert not Document.objects.exists()


def test_empty_zip_is_an_error_not_an_empty_success(project, users, api_for, client_for):
    response = _api_upload(api_for(users["manager"]), _zip({}), "brat", "empty.zip")
    assert response.status_code == 400
    assert "no documents" in response.json()["error"]["message"]
    page = _page_upload(client_for(users["manager"]), _zip({}), "brat", "empty.zip")
    assert page.status_code == 400
    assert b"no documents" in page.content and b"Imported." not in page.content
    assert not AuditEvent.objects.filter(action="imported").exists()


# --- deeply nested JSON ----------------------------------------------------------------------


def test_deeply_nested_json_body_is_a_400_on_the_api(imported_project, users, api_for):
    sentence = Sentence.objects.filter(project=imported_project).first()
    client = api_for(users["manager"])
    for url in (f"/api/projects/trial/sentences/{sentence.pk}/entities/",
                "/api/projects/trial/schema/", "/api/projects/trial/members/"):
        response = client.post(url, DEEP, content_type="application/json")
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "too_deeply_nested"
    response = client.put("/api/projects/trial/model-options/", '{"options": ' + DEEP + "}",
                          content_type="application/json")
    assert response.status_code == 400


def test_deeply_nested_json_form_field_is_a_400_on_a_page(imported_project, users, client_for):
    sentence = Sentence.objects.filter(project=imported_project).first()
    entities = Entity.objects.count()
    response = client_for(users["annotator"]).post(
        f"/projects/trial/sentences/{sentence.pk}/do/entity-create/",
        {"type": imported_project.entity_types.first().pk, "fragments": DEEP, "version": sentence.version})
    assert response.status_code == 400
    assert Entity.objects.count() == entities


def test_deeply_nested_jsonl_import_is_a_400_naming_file_and_line(project, users, api_for):
    data = _jsonl(_doc("fine")) + DEEP.encode() + b"\n"
    response = _api_upload(api_for(users["manager"]), data, "jsonl", "deep.jsonl")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "deep.jsonl" in message and "nested too deeply" in message
    assert not Document.objects.exists()


# --- NUL bytes -------------------------------------------------------------------------------


def test_nul_in_a_url_path_segment_is_a_400(imported_project, users, api_for, client_for):
    api = api_for(users["manager"])
    for url in ("/api/projects/trial/members/anno%00tator/", "/api/projects/tr%00ial/documents/"):
        response = api.get(url)
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "invalid_path"
    response = api.patch("/api/projects/trial/members/anno%00tator/", {"role": "reviewer"}, format="json")
    assert response.status_code == 400
    page = client_for(users["manager"]).get("/projects/tr%00ial/")
    assert page.status_code == 400 and b"NUL" in page.content


@pytest.mark.parametrize("document, where", [
    (_doc("nul-text", "No prior\x00 chemotherapy."), "the text"),
    ({**_doc("nul-meta"), "metadata": {"source": "a\x00b"}}, "the metadata"),
    ({**_doc("nul-type"), "entities": [{"id": "T1", "type": "Dr\x00ug", "fragments": [[9, 21]]}]},
     "entity T1's type"),
])
def test_nul_in_an_imported_file_is_a_400_that_names_it(project, users, api_for, document, where):
    response = _api_upload(api_for(users["manager"]), _jsonl(document), "jsonl", "nul.jsonl")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "NUL" in message and where in message and "nul.jsonl" in message
    assert "DataError" not in message and "psycopg" not in message
    assert not Document.objects.exists()


_DRUG = [{"id": "T1", "type": "Drug", "fragments": [[9, 21]]}]


@pytest.mark.parametrize("document, where, what", [
    (_doc("surrogate-text", "No prior\ud800 chemotherapy."), "the text", "lone surrogate (U+D800"),
    ({**_doc("surrogate-type"), "entities": [{**_DRUG[0], "type": "Dr\udfffug"}]}, "entity T1's type",
     "lone surrogate (U+DFFF"),
    ({**_doc("nul-norm"), "entities": _DRUG, "normalizations": [
        {"id": "N1", "target": "T1", "resource": "UMLS", "reference": "C1", "text": "che\x00mo"}]},
     "normalization N1", "NUL"),
    ({**_doc("nul-event"), "entities": _DRUG, "events": [
        {"id": "E1", "type": "Tre\x00at", "trigger": "T1", "arguments": []}]}, "event E1", "NUL"),
])
def test_unstorable_characters_anywhere_in_an_import_are_a_400_that_names_them(
        project, users, api_for, document, where, what):
    """A JSON escape can carry a lone surrogate (no UTF-8 database stores it) and a NUL can hide
    in a normalization or an event (PostgreSQL refuses it): refused by name, not a server error."""
    response = _api_upload(api_for(users["manager"]), _jsonl(document), "jsonl", "odd.jsonl")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert what in message and where in message, message
    assert not Document.objects.exists()


def _annotated(**extra) -> dict:
    return {**_doc("shapes"), "entities": _DRUG, **extra}


@pytest.mark.parametrize("document, reason", [
    (_annotated(attributes=[{"id": "A1", "name": "Neg", "target": "T1", "value": 5}]),
     "attribute A1: names, ids and texts must be strings"),
    (_annotated(notes=[{"id": "#1", "type": "AnnotatorNotes", "target": "T1", "text": ["x"]}]),
     "note #1: names, ids and texts must be strings"),
    (_annotated(groups=[{"id": "*1", "type": "OR", "members": "T1"}]), "'members' must be a list"),
    (_annotated(relations="R1"), "'relations' must be a list of objects"),
    ({**_doc("shapes"), "metadata": [1]}, "'metadata' must be an object"),
    ({**_doc("shapes"), "entities": [{**_DRUG[0], "fragments": "ab"}]}, "a span is [start, end]"),
    ({**_doc("shapes"), "entities": [{**_DRUG[0], "fragments": [[0]]}]}, "a span is [start, end]"),
    ({**_doc("shapes"), "entities": [{**_DRUG[0], "fragments": [[False, True]]}]}, "out of range"),
    (_annotated(normalizations=[{"id": "N1", "target": "T1", "resource": "U MLS", "reference": "C1"}]),
     "N1: The resource is a short name without blanks or colons"),
    (_annotated(normalizations=[{"id": "N1", "target": "T1", "resource": "UMLS", "reference": "C 1"}]),
     "N1: The reference is an id without blanks"),
])
def test_a_jsonl_document_of_the_wrong_shape_is_a_400_that_says_what(project, users, api_for, document,
                                                                    reason):
    """Found probing: an attribute value 5 was an 'unexpected server error', a string of
    fragments or metadata a raw Python message, booleans offsets 0 and 1, and a normalization
    brat cannot write back was imported."""
    response = _api_upload(api_for(users["manager"]), _jsonl(document), "jsonl", "shapes.jsonl")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert reason in message and "unexpected" not in message, message
    assert not Document.objects.exists()


@pytest.mark.parametrize("schema, reason", [
    ({"entity_types": "Drug"}, "entity_types must be a list of objects with a name"),
    ([1], "the schema must be an object"),
    ({"entity_types": [5]}, "entity_types must be a list of objects with a name"),
    ({"relation_types": [{"name": "treats", "heads": "Drug"}]}, "relation type 'treats': heads must be a list of type names"),
    ({"group_types": [1]}, "group_types must be a list of names"),
])
def test_a_jsonl_header_of_the_wrong_shape_is_a_400_without_python_text(project, users, api_for, schema,
                                                                       reason):
    data = (json.dumps({"eligo": 1, "schema": schema}) + "\n" + json.dumps(_doc("x")) + "\n").encode()
    response = _api_upload(api_for(users["manager"]), data, "jsonl", "head.jsonl")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert f"head.jsonl:1: bad schema in header: {reason}" in message, message
    assert "Error(" not in message
    assert not Document.objects.exists() and not project.relation_types.filter(name="treats").exists()


def test_nul_in_a_brat_text_is_refused_on_the_page(project, users, client_for):
    data = _zip({"doc.txt": "Adults\x00 with diabetes\n", "doc.ann": ""})
    response = _page_upload(client_for(users["manager"]), data, "brat", "nul.zip")
    assert response.status_code == 400 and b"NUL" in response.content
    assert not Document.objects.exists()


def test_an_unexpected_import_error_does_not_quote_the_raw_exception(project, users, api_for, monkeypatch):
    from annotation.services import imports

    def explode(**kwargs):
        raise RuntimeError("secret /srv/eligo/var/media/uploads/abc.jsonl details")

    monkeypatch.setattr(imports, "corpus_import", explode)
    response = _api_upload(api_for(users["manager"]), _jsonl(_doc("a")), "jsonl", "a.jsonl")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "unexpected server error" in message and "secret" not in message and "/srv" not in message


# --- document names ----------------------------------------------------------------------------

BAD_NAMES = ["../../x", "/abs", "a/b", "line\nbreak", "back\\slash", "nul\x00", "", "  ", ".hidden",
             "..", "x" * 256, "tab\tname"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_jsonl_import_refuses_unusable_document_names(project, users, api_for, name):
    response = _api_upload(api_for(users["manager"]), _jsonl(_doc("fine"), _doc(name)), "jsonl", "n.jsonl")
    assert response.status_code == 400
    assert "document name" in response.json()["error"]["message"]
    assert not Document.objects.exists(), "all or nothing"


def test_import_corpus_command_refuses_a_bad_name_too(db, tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_bytes(_jsonl(_doc("a\nb")))
    with pytest.raises(CommandError, match=r"n\.jsonl: document name 'a\\nb' contains the control character U\+000A"):
        call_command("import_corpus", str(path), "--project", "p", "--format", "jsonl", stdout=io.StringIO())


def test_brat_zip_member_with_a_newline_in_its_name_is_refused(project, users, api_for):
    data = _zip({"a\nb.txt": "Adults\n", "a\nb.ann": ""})
    response = _api_upload(api_for(users["manager"]), data, "brat", "n.zip")
    assert response.status_code == 400 and "document name" in response.json()["error"]["message"]


@pytest.mark.parametrize("name", ["../../x", "a/b", "x\ny", "back\\slash", ""])
def test_rename_refuses_the_same_names(imported_project, users, api_for, name):
    document = Document.objects.filter(project=imported_project).first()
    response = api_for(users["manager"]).patch(f"/api/projects/trial/documents/{document.pk}/",
                                               {"name": name}, format="json")
    assert response.status_code == 400
    document.refresh_from_db()
    assert document.name == "doc_a"


def test_rename_works_for_managers_only_and_is_audited(imported_project, users, api_for):
    document = Document.objects.get(project=imported_project, name="doc_a")
    url = f"/api/projects/trial/documents/{document.pk}/"
    assert api_for(users["annotator"]).patch(url, {"name": "x"}, format="json").status_code == 403
    taken = api_for(users["manager"]).patch(url, {"name": "doc_b"}, format="json")
    assert taken.status_code == 400 and "already exists" in json.dumps(taken.json())
    response = api_for(users["manager"]).patch(url, {"name": "NCT00000001_inc"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "NCT00000001_inc"
    event = AuditEvent.objects.get(object_type="document", object_id=document.pk)
    assert event.payload == {"name": ["doc_a", "NCT00000001_inc"]}


@pytest.mark.parametrize("bad", ["../../x", "/abs", "a/b", "a\nT1\tCondition 0 3\tinjected", "back\\slash"])
def test_a_bad_legacy_name_does_not_break_the_exports(imported_project, users, api_for, bad, tmp_path):
    """A name stored before the rule existed: every export still answers, the name made safe."""
    Document.objects.filter(project=imported_project, name="doc_a").update(name=bad)
    client = api_for(users["manager"])
    brat = client.get("/api/projects/trial/export/brat/")
    assert brat.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(brat.streaming_content)))
    names = archive.namelist()
    assert len([n for n in names if n.endswith(".txt")]) == 3
    assert all("/" not in n and "\\" not in n and "\n" not in n and not n.startswith(".") for n in names)
    assert any("-renamed-" in n for n in names)
    conll = client.get("/api/projects/trial/export/conll/")
    assert conll.status_code == 200
    lines = b"".join(conll.streaming_content).decode().splitlines()
    assert not any(line.startswith("T1\tCondition") for line in lines), "no injected line"
    assert not any("injected" in line and not line.startswith("#") for line in lines)
    jsonl = client.get("/api/projects/trial/export/jsonl/")
    assert jsonl.status_code == 200 and json.dumps(bad)[1:-1].encode() in b"".join(jsonl.streaming_content)


# --- import reports: by kind, no server paths ---------------------------------------------------


def test_import_report_groups_quirks_by_kind_without_server_paths(project, users, api_for, settings):
    ann = "T1\tCondition 0 6\tAdults\nR1\tHas_value Arg1:T1 Arg2:T9\nstray text\n"
    data = _zip({"doc.txt": "Adults with diabetes\n", "doc.ann": ann})
    response = _api_upload(api_for(users["manager"]), data, "brat", "quirky.zip")
    assert response.status_code == 201, response.json()
    report = response.json()["report"]
    by_kind = report["quirks"]["by_kind"]
    assert by_kind.get("unknown_id") == 1 and by_kind.get("stray_line") == 1
    assert report["quirks"]["total"] == sum(by_kind.values())
    examples = report["quirks"]["examples"]["unknown_id"]
    assert examples == ["quirky.zip!doc.ann:2: R1: unknown id 'T9' (skipped)"]
    assert str(settings.MEDIA_ROOT) not in json.dumps(report)
    assert any("unknown id" in line for line in report["changes"])
