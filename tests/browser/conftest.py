"""Playwright on Debian's Chromium (never a downloaded browser) against pytest-django's live server."""
import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# tests themselves (to compare the page with the database) are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "browser-pass-1"


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def scenario(transactional_db):
    """The demo schema, three members and one small trial document."""
    from django.contrib.auth import get_user_model

    from annotation.services.projects import membership_set, project_create
    from tests.browser.scenario import make_document

    users = {name: get_user_model().objects.create_user(name, password=PASSWORD)
             for name in ("alice", "bob", "carol")}
    project = project_create(name="demo", title="Diabetes trials")
    for name, role in (("alice", "annotator"), ("bob", "annotator"), ("carol", "manager")):
        membership_set(project=project, user=users[name], role=role)
    document = make_document(project)
    return {"project": project, "users": users, "document": document,
            "sentences": list(document.sentences.order_by("index"))}


@pytest.fixture
def new_page(browser, live_server):
    """``new_page(username)``: a fresh browser context, logged in through the login form."""
    contexts = []

    def open_as(username: str):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield open_as
    for context in contexts:
        context.close()
