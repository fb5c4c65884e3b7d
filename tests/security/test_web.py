"""Web hardening at the HTTP level: escaping, CSRF, login throttling, headers, settings."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from annotation.models import Document, EntityType, Sentence
from tests.api.conftest import (  # noqa: F401
    PASSWORD, _fresh_cache, api_for, client_for, imported_project, make_user, project, users,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'


@pytest.fixture
def hostile(imported_project):
    """Script in a label name, in the annotated text, in the guidelines and in a file name."""
    EntityType.objects.filter(project=imported_project, name="Condition").update(name=f"Cond{SCRIPT}")
    imported_project.guidelines = f"# Rules\n\n{SCRIPT}\n\n[click](javascript:alert(1)) {IMG}"
    imported_project.title = f"Trial {IMG}"
    imported_project.save()
    document = Document.objects.filter(project=imported_project).order_by("name").first()
    Sentence.objects.filter(document=document, index=0).update(text=f"Adults {IMG} {SCRIPT}")
    document.name = f"doc{SCRIPT}"
    document.save()
    return imported_project


def _pages(project) -> list[str]:
    sentence = Sentence.objects.filter(project=project).order_by("document__name", "index").first()
    document = sentence.document
    return [
        "/", f"/projects/{project.name}/", f"/projects/{project.name}/guidelines/",
        f"/projects/{project.name}/documents/", f"/projects/{project.name}/documents/{document.pk}/",
        f"/projects/{project.name}/sentences/{sentence.pk}/", f"/projects/{project.name}/models/",
        f"/projects/{project.name}/review/",
    ]


def test_html_in_text_labels_guidelines_and_names_is_rendered_inert(hostile, users, client_for):
    client = client_for(users["manager"])
    rendered = 0
    for url in _pages(hostile):
        response = client.get(url, follow=True)
        if response.status_code != 200:
            continue
        rendered += 1
        html = response.content.decode()
        assert SCRIPT not in html, url
        assert IMG not in html, url
        assert "href=\"javascript:" not in html.lower(), url
    assert rendered >= 4, "the hostile pages must actually render"


def test_api_returns_json_never_html(hostile, users, api_for):
    response = api_for(users["manager"]).get("/api/projects/trial/")
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert json.loads(response.content)["title"] == f"Trial {IMG}"


def test_csrf_is_required_for_session_writes(imported_project, users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["manager"])
    sentence = Sentence.objects.filter(project=imported_project).first()
    api = client.post(f"/api/projects/trial/sentences/{sentence.pk}/status/",
                      {"status": "done", "expected_version": sentence.version},
                      content_type="application/json")
    assert api.status_code == 403
    assert "CSRF" in api.json()["error"]["message"]
    page = client.post(f"/projects/trial/sentences/{sentence.pk}/do/done/", {"version": sentence.version})
    assert page.status_code == 403
    sentence.refresh_from_db()
    assert sentence.version == 1, "nothing was written"


def test_token_requests_need_no_csrf(imported_project, users):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=users["annotator"])
    client = Client(enforce_csrf_checks=True)
    sentence = Sentence.objects.filter(project=imported_project, status="new").first()
    response = client.post(f"/api/projects/trial/sentences/{sentence.pk}/status/",
                           {"status": "in_progress", "expected_version": sentence.version},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


def test_login_page_is_throttled_per_username_and_ip(users, client):
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "annotator", "password": "wrong"})
        assert response.status_code == 200
    locked = client.post("/accounts/login/", {"username": "annotator", "password": PASSWORD})
    assert locked.status_code == 200 and "_auth_user_id" not in client.session
    other_ip = Client(REMOTE_ADDR="10.1.2.3")
    assert other_ip.post("/accounts/login/", {"username": "annotator", "password": PASSWORD}).status_code == 302
    other_user = client.post("/accounts/login/", {"username": "reviewer", "password": PASSWORD})
    assert other_user.status_code == 302


def test_token_endpoint_is_throttled_too(users, client):
    for _ in range(5):
        assert client.post("/api/auth/token/", {"username": "reviewer", "password": "x"}).status_code == 400
    locked = client.post("/api/auth/token/", {"username": "reviewer", "password": PASSWORD})
    assert locked.status_code == 400
    assert set(locked.json()["error"]) == {"code", "message", "details"}


def test_security_headers_on_every_response(db, client):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def _settings_with(env: dict) -> dict:
    code = ("import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k, None) "
            "for k in ['SECURE_HSTS_SECONDS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
            "'SECURE_SSL_REDIRECT', 'SECURE_PROXY_SSL_HEADER', 'SESSION_COOKIE_HTTPONLY']}))")
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings", "DJANGO_SECRET_KEY": "k" * 50,
                **env}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_settings_are_strict_when_debug_is_off():
    strict = _settings_with({"DJANGO_DEBUG": "0"})
    assert strict["SECURE_HSTS_SECONDS"] >= 31536000
    assert strict["SESSION_COOKIE_SECURE"] and strict["CSRF_COOKIE_SECURE"]
    assert strict["SESSION_COOKIE_HTTPONLY"]
    assert strict["SECURE_SSL_REDIRECT"] is False and strict["SECURE_PROXY_SSL_HEADER"] is None
    behind_proxy = _settings_with({"DJANGO_DEBUG": "0", "DJANGO_SSL_REDIRECT": "1",
                                   "DJANGO_TRUST_X_FORWARDED_PROTO": "1"})
    assert behind_proxy["SECURE_SSL_REDIRECT"] is True
    assert behind_proxy["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    debug = _settings_with({"DJANGO_DEBUG": "1"})
    assert debug["SECURE_HSTS_SECONDS"] == 0 and not debug["SESSION_COOKIE_SECURE"]


def test_nul_characters_in_parameters_are_refused_before_any_query(imported_project, users,
                                                                  client_for, api_for):
    page = client_for(users["annotator"]).get(
        f"/projects/{imported_project.name}/documents/", {"q": "a\x00b"})
    assert page.status_code == 400 and b"NUL" in page.content
    api = api_for(users["manager"]).get(
        f"/api/projects/{imported_project.name}/audit/", {"action": "x\x00"})
    assert api.status_code == 400 and api.json()["error"]["code"] == "invalid_parameter"
    form = client_for(users["manager"]).post(
        f"/projects/{imported_project.name}/guidelines/", "guidelines=x%00",
        content_type="application/x-www-form-urlencoded")
    assert form.status_code == 400
