"""Behaviour of the API endpoints beyond access: locking, filters, formats, jobs, audit."""
import io
import json
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.authtoken.models import Token

from annotation.models import (
    AuditEvent, Document, Entity, ImportJob, PredictedEntity, PredictedRelation, Relation, Sentence,
    SuggestionStatus, TrainingRun,
)
from tests.api.conftest import PASSWORD

JSONL = (b'{"eligo": 1, "schema": {"entity_types": [], "relation_types": []}}\n'
         b'{"name": "upload-1", "text": "No prior chemotherapy.", "sentences": [{"start": 0, "end": 22}], '
         b'"entities": [{"id": "T1", "type": "Drug", "fragments": [[9, 21]]}], "relations": []}\n')


def _sentence(seeded):
    return Sentence.objects.get(pk=seeded["sentence"])


def test_token_auth_gives_access_to_the_api(imported_project, users, client):
    response = client.post("/api/auth/token/", {"username": "annotator", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=users["annotator"]).key == token
    listed = client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token}")
    assert [p["name"] for p in listed.json()["results"]] == ["trial"]
    assert listed.json()["results"][0]["role"] == "annotator"


def test_bad_token_is_401_with_error_body(client, db):
    response = client.get("/api/projects/", HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_project_detail_has_the_schema(seeded, users, api_for):
    data = api_for(users["annotator"]).get("/api/projects/trial/").json()
    names = {t["name"] for t in data["schema"]["entity_types"]}
    assert {"Condition", "Drug", "Negation", "Person"} <= names
    relation = next(t for t in data["schema"]["relation_types"] if t["name"] == "is negated")
    assert relation["tails"] == ["Negation"]


def test_staff_create_a_project_and_become_its_manager(make_user, api_for):
    staff = make_user("boss", is_staff=True)
    body = {"name": "new-one", "schema": {"entity_types": [{"name": "Drug", "color": "#112233"}]}}
    response = api_for(staff).post("/api/projects/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["role"] == "manager"
    assert [t["name"] for t in response.json()["schema"]["entity_types"]] == ["Drug"]
    assert api_for(make_user("plain")).post("/api/projects/", {"name": "x"}, format="json").status_code == 403


def test_entity_create_and_delete_with_optimistic_locking(seeded, users, api_for):
    client = api_for(users["annotator"])
    sentence = _sentence(seeded)
    url = f"/api/projects/trial/sentences/{sentence.pk}/entities/"
    body = {"type": seeded["entity_type"], "fragments": [[sentence.start, sentence.start + 3]],
            "expected_version": sentence.version}
    created = client.post(url, body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["created_by"] == "annotator"
    stale = client.post(url, {**body, "fragments": [[sentence.start + 4, sentence.start + 8]]},
                        format="json")
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["code"] == "stale_version"
    assert error["details"]["current_version"] == sentence.version + 1
    entity_id = created.json()["id"]
    gone = client.delete(f"{url}{entity_id}/?expected_version={sentence.version + 1}")
    assert gone.status_code == 204
    assert not Entity.objects.filter(pk=entity_id).exists()
    missing_version = client.delete(f"{url}{seeded['entity']}/")
    assert missing_version.status_code in (400, 404)


def test_invalid_offsets_are_400_not_500(seeded, users, api_for):
    sentence = _sentence(seeded)
    url = f"/api/projects/trial/sentences/{sentence.pk}/entities/"
    for fragments in ([[sentence.end, sentence.end + 50]], [[5, 2]], [[0]], "x"):
        response = api_for(users["annotator"]).post(
            url, {"type": seeded["entity_type"], "fragments": fragments,
                  "expected_version": sentence.version}, format="json")
        assert response.status_code == 400, (fragments, response.content)
        assert response.json()["error"]["code"] == "invalid"


def test_relation_create_and_list(seeded, users, api_for):
    client = api_for(users["annotator"])
    sentence = Sentence.objects.get(pk=seeded["relation_sentence"])
    url = f"/api/projects/trial/sentences/{sentence.pk}/relations/"
    listed = client.get(url).json()
    assert listed["count"] >= 1
    relation = listed["results"][0]
    client.delete(f"{url}{relation['id']}/?expected_version={sentence.version}")
    recreated = client.post(url, {"type": relation["type"], "head": relation["head"],
                                  "tail": relation["tail"], "expected_version": sentence.version + 1},
                            format="json")
    assert recreated.status_code == 201, recreated.json()


def test_sentences_filter_and_uncertainty_ordering(seeded, users, api_for):
    client = api_for(users["annotator"])
    ranked = client.get("/api/projects/trial/sentences/?ordering=-uncertainty").json()["results"]
    assert ranked[0]["id"] == seeded["sentence"] and ranked[0]["uncertainty"] == 0.9
    assert all(r["uncertainty"] is None for r in ranked[1:])
    done = client.get("/api/projects/trial/sentences/?status=done").json()["results"]
    assert done and all(r["status"] == "done" for r in done)
    text = client.get("/api/projects/trial/sentences/?text=DIABETES").json()["results"]
    assert text and all("diabetes" in r["text"].lower() for r in text)
    assert client.get("/api/projects/trial/sentences/?document=abc").status_code == 400
    assert client.get("/api/projects/trial/sentences/?ordering=nonsense").status_code == 400


def test_pagination_everywhere(seeded, users, api_for):
    page = api_for(users["annotator"]).get("/api/projects/trial/sentences/?page_size=2").json()
    assert len(page["results"]) == 2 and page["count"] > 2 and page["next"]


def test_annotator_cannot_mark_reviewed_but_reviewer_can(seeded, users, api_for):
    sentence = _sentence(seeded)
    url = f"/api/projects/trial/sentences/{sentence.pk}/status/"
    body = {"status": "reviewed", "expected_version": sentence.version}
    assert api_for(users["annotator"]).post(url, body, format="json").status_code == 403
    response = api_for(users["reviewer"]).post(url, body, format="json")
    assert response.status_code == 200 and response.json()["status"] == "reviewed"


def test_accept_and_reject_suggestions_are_audited(seeded, users, api_for):
    client = api_for(users["reviewer"])
    accepted = client.post(f"/api/projects/trial/predicted-entities/{seeded['pe']}/accept/", {},
                           format="json")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    entity = Entity.objects.get(pk=accepted.json()["entity"])
    assert entity.source == "model"
    again = client.post(f"/api/projects/trial/predicted-entities/{seeded['pe']}/reject/", {},
                        format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "suggestion_conflict"
    other = PredictedEntity.objects.exclude(pk=seeded["pe"]).filter(sentence__project__name="trial").first()
    rejected = client.post(f"/api/projects/trial/predicted-entities/{other.pk}/reject/", {}, format="json")
    assert rejected.json()["status"] == SuggestionStatus.REJECTED
    events = AuditEvent.objects.filter(project__name="trial", user=users["reviewer"])
    assert {(e.action, e.object_type) for e in events} >= {
        ("accepted", "predictedentity"), ("rejected", "predictedentity"), ("created", "entity")}


def _decide(client, kind: str, pk: int, action: str, **body):
    return client.post(f"/api/projects/trial/predicted-{kind}/{pk}/{action}/", body, format="json")


def test_accepting_twice_answers_the_same_suggestion_and_moves_the_version_once(seeded, users,
                                                                                 api_for):
    version = _sentence(seeded).version
    first = _decide(api_for(users["reviewer"]), "relations", seeded["pr"], "accept",
                    expected_version=version)
    again = _decide(api_for(users["manager"]), "relations", seeded["pr"], "accept",
                    expected_version=version)
    assert first.status_code == again.status_code == 200, again.json()
    assert again.json() == first.json() and first.json()["status"] == "accepted"
    assert _sentence(seeded).version == version + 1
    assert Relation.objects.filter(source="model").count() == 1
    assert list(AuditEvent.objects.filter(object_type="predictedrelation", object_id=seeded["pr"])
                .values_list("action", flat=True)) == ["accepted"]


def test_accepting_a_rejected_suggestion_is_409_naming_the_decision(seeded, users, api_for):
    assert _decide(api_for(users["manager"]), "relations", seeded["pr"], "reject").status_code == 200
    refused = _decide(api_for(users["reviewer"]), "relations", seeded["pr"], "accept")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "suggestion_conflict"
    assert "already rejected by manager" in refused.json()["error"]["message"]
    assert PredictedRelation.objects.get(pk=seeded["pr"]).status == SuggestionStatus.REJECTED
    again = _decide(api_for(users["reviewer"]), "relations", seeded["pr"], "reject")
    assert again.status_code == 200 and again.json()["status"] == "rejected"


def test_an_accepted_relation_suggestion_is_refused_when_its_types_are_not_allowed(seeded, users,
                                                                                   api_for):
    """'is negated' goes from a Condition or Drug to a Negation: a suggestion the other way
    round is refused with the very answer the same hand-made relation gets."""
    allowed = PredictedRelation.objects.get(pk=seeded["pr"])
    condition, negation = allowed.head, allowed.tail
    wrong = PredictedRelation.objects.create(model_version=allowed.model_version,
                                             sentence=allowed.sentence, type=allowed.type,
                                             head=negation, tail=condition, probability=0.5)
    client = api_for(users["reviewer"])
    refused = _decide(client, "relations", wrong.pk, "accept")
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {
        "non_field_errors": ["is negated cannot go from Negation to Condition."]}
    assert set(PredictedEntity.objects.filter(pk__in=[condition.pk, negation.pk])
               .values_list("status", flat=True)) == {SuggestionStatus.PENDING}
    assert not Entity.objects.filter(source="model").exists()
    version = _sentence(seeded).version
    heads = [_decide(client, "entities", p.pk, "accept").json()["entity"] for p in (negation, condition)]
    manual = client.post(f"/api/projects/trial/sentences/{allowed.sentence_id}/relations/",
                         {"type": allowed.type_id, "head": heads[0], "tail": heads[1],
                          "expected_version": version + 2}, format="json")
    assert manual.status_code == 400 and manual.json() == _decide(
        client, "relations", wrong.pk, "accept").json()
    assert not Relation.objects.filter(source="model").exists()


def test_an_import_is_refused_when_a_relation_type_does_not_allow_its_entity_types(
        seeded, users, api_for):
    def upload(head, tail):
        document = {"name": "negated", "text": "No prior chemotherapy.",
                    "sentences": [{"start": 0, "end": 22}],
                    "entities": [{"id": "T1", "type": "Negation", "fragments": [[0, 2]]},
                                 {"id": "T2", "type": "Drug", "fragments": [[9, 21]]}],
                    "relations": [{"id": "R1", "type": "is negated", "head": head, "tail": tail}]}
        data = JSONL.splitlines()[0] + b"\n" + json.dumps(document).encode() + b"\n"
        return api_for(users["manager"]).post(
            "/api/projects/trial/imports/",
            {"format": "jsonl", "file": SimpleUploadedFile("negated.jsonl", data)}, format="multipart")

    refused = upload("T1", "T2")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].endswith(
        "document negated: relation R1: is negated cannot go from Negation to Drug.")
    assert not Document.objects.filter(name="negated").exists()
    assert upload("T2", "T1").status_code == 201


def test_stale_version_on_accept_is_409(seeded, users, api_for):
    response = api_for(users["reviewer"]).post(
        f"/api/projects/trial/predicted-entities/{seeded['pe']}/accept/",
        {"expected_version": _sentence(seeded).version + 5}, format="json")
    assert response.status_code == 409


def test_audit_trail_records_create_and_delete_with_the_user(seeded, users, api_for):
    client = api_for(users["annotator"])
    sentence = _sentence(seeded)
    url = f"/api/projects/trial/sentences/{sentence.pk}/entities/"
    client.delete(f"{url}{seeded['entity']}/?expected_version={sentence.version}")
    events = api_for(users["manager"]).get(f"/api/projects/trial/audit/?sentence={sentence.pk}").json()
    deleted = [e for e in events["results"] if e["action"] == "deleted" and e["object_type"] == "entity"]
    assert deleted[0]["user"] == "annotator" and deleted[0]["object_id"] == seeded["entity"]
    assert deleted[0]["payload"]["fragments"]


def test_training_start_conflict_and_cancel(seeded, users, api_for):
    client = api_for(users["reviewer"])
    first = client.post("/api/projects/trial/training-runs/")
    assert first.status_code == 201 and first.json()["status"] == "queued"
    second = client.post("/api/projects/trial/training-runs/")
    assert second.status_code == 409
    assert second.json()["error"]["details"]["run"] == first.json()["id"]
    cancelled = client.post(f"/api/projects/trial/training-runs/{first.json()['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    progress = client.get(f"/api/projects/trial/training-runs/{first.json()['id']}/").json()
    assert {"percent", "phase", "epoch", "loss", "eta_s"} <= set(progress)


def test_model_activate_and_options(seeded, users, api_for):
    client = api_for(users["manager"])
    assert client.post("/api/projects/trial/models/1/activate/").json()["is_active"] is True
    assert client.put("/api/projects/trial/model-options/", {"options": {"epochs": 3}},
                      format="json").json()["options"]["epochs"] == 3
    bad = client.put("/api/projects/trial/model-options/", {"options": {"nonsense": 1}}, format="json")
    assert bad.status_code == 400 and "nonsense" in json.dumps(bad.json())
    for options, message in (({"mode": "ner"}, "mode must be one of joint, pipeline"),
                             ({"epochs": "3"}, "epochs must be a whole number"),
                             ({"pooling": "max", "lr": 0}, "lr must be a number above 0")):
        bad = client.put("/api/projects/trial/model-options/", {"options": options},
                         format="json")
        assert bad.status_code == 400 and message in json.dumps(bad.json()), bad.json()
    options = client.get("/api/projects/trial/model-options/").json()["options"]
    assert (options["epochs"], options["mode"], options["pooling"]) == (3, "joint", "mean")


@pytest.mark.parametrize("fmt,check", [
    ("jsonl", lambda body: body.splitlines()[0].startswith(b"{")),
    ("conll", lambda body: b"\t" in body or b" " in body),
    ("brat", lambda body: "doc_a.txt" in zipfile.ZipFile(io.BytesIO(body)).namelist()),
])
def test_export_every_format(seeded, users, api_for, fmt, check):
    response = api_for(users["manager"]).get(f"/api/projects/trial/export/{fmt}/?status=done")
    assert response.status_code == 200
    assert f"trial-{fmt}" in response["Content-Disposition"]
    assert check(b"".join(response.streaming_content))


def test_export_unknown_format_is_400(seeded, users, api_for):
    assert api_for(users["manager"]).get("/api/projects/trial/export/xml/").status_code == 400


def test_small_import_runs_inline(seeded, users, api_for):
    upload = SimpleUploadedFile("criteria.jsonl", JSONL)
    response = api_for(users["manager"]).post("/api/projects/trial/imports/",
                                              {"format": "jsonl", "file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["report"]["documents"] == 1
    assert AuditEvent.objects.filter(action="imported", object_id=response.json()["id"]).exists()


def test_failed_import_names_the_uploaded_file(seeded, users, api_for):
    broken = JSONL.replace(b"[[9, 21]]", b"[[9, 99]]")
    upload = SimpleUploadedFile("criteria.jsonl", broken)
    response = api_for(users["manager"]).post("/api/projects/trial/imports/",
                                              {"format": "jsonl", "file": upload}, format="multipart")
    assert response.status_code == 400
    assert "criteria.jsonl" in response.json()["error"]["message"]
    assert ImportJob.objects.get(pk=response.json()["error"]["details"]["job"]["id"]).status == "failed"


@override_settings(ELIGO_IMPORT_ASYNC_BYTES=10)
def test_large_import_is_queued_for_a_worker(seeded, users, api_for, django_capture_on_commit_callbacks):
    from unittest import mock

    upload = SimpleUploadedFile("criteria.jsonl", JSONL)
    with mock.patch("webapp.celery.app.send_task") as send, \
            django_capture_on_commit_callbacks(execute=True):
        response = api_for(users["manager"]).post(
            "/api/projects/trial/imports/", {"format": "jsonl", "file": upload}, format="multipart")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    job_id = response.json()["id"]
    send.assert_called_once_with("worker.tasks.import_corpus", args=[job_id],
                                 task_id=f"eligo-import-{job_id}")
    from worker.tasks import import_corpus

    assert import_corpus(job_id) == "succeeded"
    polled = api_for(users["manager"]).get(f"/api/projects/trial/imports/{job_id}/").json()
    assert polled["status"] == "succeeded" and polled["report"]["entities"] == 1


def test_members_add_change_remove(seeded, users, api_for):
    client = api_for(users["manager"])
    assert client.post("/api/projects/trial/members/", {"username": "outsider", "role": "reviewer"},
                       format="json").status_code == 201
    assert client.patch("/api/projects/trial/members/outsider/", {"role": "annotator"},
                        format="json").json()["role"] == "annotator"
    assert client.delete("/api/projects/trial/members/outsider/").status_code == 204
    assert client.post("/api/projects/trial/members/", {"username": "ghost", "role": "reviewer"},
                       format="json").status_code == 400


def test_schema_and_swagger_ui_are_served_locally(db, client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/projects/{project}/sentences/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    # every URL the page loads or links is local; matching URLs, not the whole page, because
    # the page carries a random CSRF token that can contain "cdn"
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)|url\s*:\s*["']([^"']+)""", html)
    urls = [a or b for a, b in urls]
    assert urls and "/static/drf_spectacular_sidecar/" in html
    assert not [u for u in urls if u.startswith(("http:", "https:", "//")) or "cdn" in u.lower()]


def test_training_runs_listed_newest_first(seeded, users, api_for):
    TrainingRun.objects.create(project_id=TrainingRun.objects.first().project_id, status="failed")
    runs = api_for(users["annotator"]).get("/api/projects/trial/training-runs/").json()["results"]
    assert runs[0]["status"] == "failed"


def test_entity_type_change_refused_by_a_relation_is_400(project, users, api_for):
    from annotation.services.annotations import entity_create, relation_create
    from tests.browser.scenario import make_document, span

    make_document(project)
    sentence = Sentence.objects.get(project=project, index=2)
    types = {t.name: t for t in project.entity_types.all()}
    made = [entity_create(sentence=sentence, user=users["annotator"], type=types[name],
                          fragments=[span(sentence, words)], expected_version=sentence.version)
            for name, words in (("Negation", "No"), ("Condition", "heart failure"))]
    relation_create(sentence=sentence, user=users["annotator"], type=project.relation_types.get(),
                    head_id=made[1].pk, tail_id=made[0].pk, expected_version=sentence.version)
    response = api_for(users["annotator"]).patch(
        f"/api/projects/trial/sentences/{sentence.pk}/entities/{made[0].pk}/",
        {"type": types["Drug"].pk, "expected_version": sentence.version}, format="json")
    assert response.status_code == 400
    message = response.json()["error"]["details"]["non_field_errors"][0]
    assert "Drug is not allowed by this relation" in message and "is negated" in message
    assert Entity.objects.get(pk=made[0].pk).type == types["Negation"]
    assert Sentence.objects.get(pk=sentence.pk).version == sentence.version


def test_ctgov_study_import_through_the_api_stores_unescaped_criteria(seeded, users, api_for):
    from pathlib import Path

    study = Path(__file__).parent.parent / "fixtures" / "ctgov" / "NCT03722472.json"
    client = api_for(users["manager"])
    response = client.post("/api/projects/trial/imports/",
                           {"format": "ctgov", "file": SimpleUploadedFile("study.json", study.read_bytes())},
                           format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["report"]["documents"] == 2
    found = client.get("/api/projects/trial/documents/?name=NCT03722472").json()["results"]
    assert sorted(d["name"] for d in found) == ["NCT03722472_exc", "NCT03722472_inc"]
    exc = next(d for d in found if d["name"] == "NCT03722472_exc")
    rows = client.get(f"/api/projects/trial/sentences/?document={exc['id']}&ordering=index&page_size=100")
    texts = [r["text"] for r in rows.json()["results"]]
    assert len(texts) == 29 and texts[25] == "BMI <18 or >35 kg/m2."
    assert not any("\\" in text or "Criteria:" in text for text in texts)


@pytest.mark.parametrize("path, field", [
    ("sentences/?status=bogus", "status"),
    ("sentences/?document=abc", "document"),
    ("sentences/?document=99999999999999999999", "document"),
    ("sentences/?ordering=sideways", "ordering"),
    ("predicted-entities/?status=maybe", "status"),
    ("predicted-entities/?model_version=-1", "model_version"),
    ("audit/?action=exploded", "action"),
    ("audit/?sentence=1.5", "sentence"),
    ("export/jsonl/?status=bogus", "status"),
    ("export/pdf/", "format"),
])
def test_bad_filters_are_400_naming_the_parameter(seeded, users, api_for, path, field):
    response = api_for(users["manager"]).get(f"/api/projects/trial/{path}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["details"]


def test_filters_narrow_the_lists(seeded, users, api_for):
    client = api_for(users["manager"])
    everything = client.get("/api/projects/trial/predicted-entities/").json()["results"]
    assert everything
    first = everything[0]
    same = client.get(f"/api/projects/trial/predicted-entities/?sentence={first['sentence']}"
                      "&status=pending").json()["results"]
    assert same and all(p["sentence"] == first["sentence"] for p in same)
    assert client.get("/api/projects/trial/predicted-entities/?status=rejected").json()["results"] == []
