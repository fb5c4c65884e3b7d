"""Every endpoint x every role: non-members 404, members below the role 403, others served;
and a member of one project gets 404 for every object of another project."""
import pytest
from django.db import transaction

from annotation.models import Role

# (name, method, url template, body, minimum role, success statuses)
ENDPOINTS = [
    ("project", "get", "/api/projects/{project}/", None, Role.ANNOTATOR, {200}),
    ("schema-apply", "post", "/api/projects/{project}/schema/",
     {"entity_types": [{"name": "Device"}]}, Role.MANAGER, {200}),
    ("members", "get", "/api/projects/{project}/members/", None, Role.MANAGER, {200}),
    ("member-add", "post", "/api/projects/{project}/members/",
     {"username": "outsider", "role": "annotator"}, Role.MANAGER, {201}),
    ("member-role", "patch", "/api/projects/{project}/members/annotator/", {"role": "reviewer"},
     Role.MANAGER, {200}),
    ("member-remove", "delete", "/api/projects/{project}/members/annotator/", None, Role.MANAGER, {204}),
    ("annotation-mode", "get", "/api/projects/{project}/annotation-mode/", None, Role.ANNOTATOR, {200}),
    ("annotation-mode-set", "put", "/api/projects/{project}/annotation-mode/",
     {"annotation_mode": "independent", "annotators_per_document": 1}, Role.MANAGER, {200}),
    ("assignments", "get", "/api/projects/{project}/assignments/", None, Role.MANAGER, {200}),
    ("assignment-create", "post", "/api/projects/{project}/assignments/",
     {"document": "{document}", "annotator": "annotator"}, Role.MANAGER, {201}),
    ("assignments-auto", "post", "/api/projects/{project}/assignments/auto/",
     {"annotators": ["annotator"], "k": 1}, Role.MANAGER, {200}),
    ("documents", "get", "/api/projects/{project}/documents/", None, Role.ANNOTATOR, {200}),
    ("document", "get", "/api/projects/{project}/documents/{document}/", None, Role.ANNOTATOR, {200}),
    ("sentences", "get", "/api/projects/{project}/sentences/", None, Role.ANNOTATOR, {200}),
    ("sentence", "get", "/api/projects/{project}/sentences/{sentence}/", None, Role.ANNOTATOR, {200}),
    ("sentence-status", "post", "/api/projects/{project}/sentences/{sentence}/status/",
     {"status": "done", "expected_version": "{version}"}, Role.ANNOTATOR, {200}),
    ("sentence-reviewed", "post", "/api/projects/{project}/sentences/{sentence}/status/",
     {"status": "reviewed", "expected_version": "{version}"}, Role.REVIEWER, {200}),
    ("entities", "get", "/api/projects/{project}/sentences/{sentence}/entities/", None,
     Role.ANNOTATOR, {200}),
    ("entity", "get", "/api/projects/{project}/sentences/{sentence}/entities/{entity}/", None,
     Role.ANNOTATOR, {200}),
    ("entity-create", "post", "/api/projects/{project}/sentences/{sentence}/entities/",
     {"type": "{entity_type}", "fragments": [["{start}", "{start3}"]], "expected_version": "{version}"},
     Role.ANNOTATOR, {201}),
    ("entity-delete", "delete",
     "/api/projects/{project}/sentences/{sentence}/entities/{entity}/?expected_version={version}",
     None, Role.ANNOTATOR, {204}),
    ("normalizations", "get",
     "/api/projects/{project}/sentences/{sentence}/entities/{entity}/normalizations/", None,
     Role.ANNOTATOR, {200}),
    ("normalization-create", "post",
     "/api/projects/{project}/sentences/{sentence}/entities/{entity}/normalizations/",
     {"resource": "UMLS", "reference": "C0011849", "expected_version": "{version}"}, Role.ANNOTATOR, {201}),
    ("events", "get", "/api/projects/{project}/sentences/{sentence}/events/", None, Role.ANNOTATOR, {200}),
    ("relations", "get", "/api/projects/{project}/sentences/{relation_sentence}/relations/", None,
     Role.ANNOTATOR, {200}),
    ("relation", "get",
     "/api/projects/{project}/sentences/{relation_sentence}/relations/{relation}/", None,
     Role.ANNOTATOR, {200}),
    ("predicted-entities", "get", "/api/projects/{project}/predicted-entities/", None,
     Role.ANNOTATOR, {200}),
    ("predicted-entity", "get", "/api/projects/{project}/predicted-entities/{pe}/", None,
     Role.ANNOTATOR, {200}),
    ("predicted-entity-accept", "post", "/api/projects/{project}/predicted-entities/{pe}/accept/", {},
     Role.REVIEWER, {200}),
    ("predicted-entity-reject", "post", "/api/projects/{project}/predicted-entities/{pe}/reject/", {},
     Role.REVIEWER, {200}),
    ("predicted-relations", "get", "/api/projects/{project}/predicted-relations/", None,
     Role.ANNOTATOR, {200}),
    ("predicted-relation-accept", "post",
     "/api/projects/{project}/predicted-relations/{pr}/accept/", {}, Role.REVIEWER, {200}),
    ("predicted-relation-reject", "post",
     "/api/projects/{project}/predicted-relations/{pr}/reject/", {}, Role.REVIEWER, {200}),
    ("models", "get", "/api/projects/{project}/models/", None, Role.ANNOTATOR, {200}),
    ("model", "get", "/api/projects/{project}/models/{model}/", None, Role.ANNOTATOR, {200}),
    ("model-activate", "post", "/api/projects/{project}/models/{model}/activate/", None,
     Role.MANAGER, {200}),
    ("model-options", "get", "/api/projects/{project}/model-options/", None, Role.ANNOTATOR, {200}),
    ("model-options-set", "put", "/api/projects/{project}/model-options/",
     {"options": {"epochs": 2}}, Role.MANAGER, {200}),
    ("training-runs", "get", "/api/projects/{project}/training-runs/", None, Role.ANNOTATOR, {200}),
    ("training-run", "get", "/api/projects/{project}/training-runs/{run}/", None, Role.ANNOTATOR, {200}),
    ("training-start", "post", "/api/projects/{project}/training-runs/", None, Role.REVIEWER, {201}),
    ("training-cancel", "post", "/api/projects/{project}/training-runs/{run}/cancel/", None,
     Role.REVIEWER, {200}),
    ("imports", "get", "/api/projects/{project}/imports/", None, Role.MANAGER, {200}),
    ("import", "get", "/api/projects/{project}/imports/{job}/", None, Role.MANAGER, {200}),
    ("import-upload", "post", "/api/projects/{project}/imports/", "UPLOAD", Role.MANAGER, {201}),
    ("export", "get", "/api/projects/{project}/export/jsonl/", None, Role.MANAGER, {200}),
    ("audit", "get", "/api/projects/{project}/audit/", None, Role.MANAGER, {200}),
    ("agreement", "get", "/api/projects/{project}/agreement/", None, Role.REVIEWER, {200}),
]
RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.MANAGER: 3}
JSONL = (b'{"eligo": 1, "schema": {"entity_types": [], "relation_types": []}}\n'
         b'{"name": "upload-1", "text": "No prior chemotherapy.", "sentences": [{"start": 0, "end": 22}], '
         b'"entities": [{"id": "T1", "type": "Drug", "fragments": [[9, 21]]}], "relations": []}\n')


def _fill(value, ids):
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _ids(objects) -> dict:
    from annotation.models import Sentence

    sentence = Sentence.objects.get(pk=objects["sentence"])
    return {**objects, "start": sentence.start, "start3": sentence.start + 3}


def _call(client, method, template, body, ids):
    url = _fill(template, ids)
    if body == "UPLOAD":
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("more.jsonl", JSONL, content_type="application/x-ndjson")
        return client.post(url, {"format": "jsonl", "file": upload}, format="multipart")
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, _fill(body, ids), format="json")


def _expected(role, min_role, success):
    if role == "outsider":
        return {404}
    if role == "anonymous":
        return {401, 403}
    return {403} if RANK[Role(role)] < RANK[min_role] else success


def _isolated_call(client, method, template, body, ids):
    """One request whose writes are rolled back, so every role starts from the same state."""
    with transaction.atomic():
        response = _call(client, method, template, body, ids)
        transaction.set_rollback(True)
    return response


@pytest.mark.parametrize("name,method,template,body,min_role,success", ENDPOINTS,
                         ids=[e[0] for e in ENDPOINTS])
def test_role_matrix(seeded, users, api_for, name, method, template, body, min_role, success):
    ids = _ids(seeded)
    seen = {}
    for role in ("anonymous", "outsider", "annotator", "reviewer", "manager"):
        client = api_for(users.get(role))
        response = _isolated_call(client, method, template, body, ids)
        seen[role] = response.status_code
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "details"}
    wanted = {role: _expected(role, min_role, success) for role in seen}
    assert all(seen[r] in wanted[r] for r in seen), (seen, wanted)


# model versions are numbered per project (v1 exists in both), so they are not foreign ids
OBJECT_KEYS = ("document", "sentence", "relation_sentence", "pe", "pr", "run", "job")


def test_every_object_of_another_project_is_404(seeded, other_project, users, api_for):
    """The manager of ``trial`` gets 404 for ``secret``'s objects through ``trial``'s URLs and
    for every URL of ``secret`` itself (whose existence is not revealed)."""
    client = api_for(users["manager"])
    foreign = {**_ids(other_project), "project": seeded["project"]}
    wrong = {}
    for name, method, template, body, *_ in ENDPOINTS:
        if any(f"{{{key}}}" in template for key in OBJECT_KEYS):
            status = _isolated_call(client, method, template, body, foreign).status_code
            if status != 404:
                wrong[f"{name} via trial"] = status
        status = _isolated_call(client, method, template, body, _ids(other_project)).status_code
        if status != 404:
            wrong[f"{name} of secret"] = status
    assert not wrong


def test_project_list_shows_only_member_projects(seeded, other_project, users, api_for):
    names = [p["name"] for p in api_for(users["annotator"]).get("/api/projects/").json()["results"]]
    assert names == ["trial"]
