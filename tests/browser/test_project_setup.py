"""Project setup in a real browser: a staff user creates a project, gives it a schema and
members; an import whose brat files want keys that are taken is previewed and keys stay
unique. The database must hold what the page shows."""
import io
import zipfile

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from annotation.models import Membership, Project, Role
from tests.annotation.conftest import FIXTURES
from tests.annotation.test_views_io import _zip_of
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser
SMALL = FIXTURES / "brat_small"


def _keys(project) -> list[str]:
    return [k for k in (*project.entity_types.values_list("key", flat=True),
                        *project.relation_types.values_list("key", flat=True)) if k]


def test_a_project_is_created_given_a_schema_and_members_in_the_browser(transactional_db, new_page,
                                                                        live_server, artifacts):
    users = get_user_model().objects
    users.create_user("root", password=PASSWORD, is_staff=True)
    alice = users.create_user("alice", password=PASSWORD)
    page = new_page("root")
    page.get_by_role("link", name="New project").click()
    page.fill("input[name=name]", "trials-2027")
    page.fill("input[name=title]", "Oncology trials 2027")
    page.get_by_label("Eligo eligibility criteria", exact=False).check()
    page.get_by_role("button", name="Create the project").click()
    page.wait_for_url(f"{live_server.url}/projects/trials-2027/setup/")
    expect(page.locator(".messages")).to_contain_text("15 entity and 7 relation types")
    project = Project.objects.get(name="trials-2027")

    # a key taken by a relation type is refused, a free one accepted
    add = page.locator("#entity-type-add")
    add.get_by_label("New entity type name").fill("Visit")
    add.get_by_label("New entity type key").fill("1")
    add.get_by_role("button", name="Add entity type").click()
    expect(page.get_by_role("alert")).to_contain_text("The key '1' is already used")
    assert not project.entity_types.filter(name="Visit").exists()
    add = page.locator("#entity-type-add")
    add.get_by_label("New entity type name").fill("Visit")
    add.get_by_label("New entity type key").fill("b")
    add.get_by_role("button", name="Add entity type").click()
    expect(page.locator(".messages")).to_contain_text("Entity type Visit saved (key b)")
    assert project.entity_types.get(name="Visit").key == "b"

    device = page.locator("form[data-type='Device']")
    device.get_by_label("Key of Device").fill("w")
    device.get_by_label("Colour of Device").fill("#123456")
    device.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Entity type Device saved (key w)")
    assert project.entity_types.filter(name="Device", key="w", color="#123456").exists()

    value = page.locator("form[data-type='has value']")
    value.get_by_label("Heads of has value").select_option(label=["Measurement", "Visit"])
    value.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Relation type has value saved")
    heads = project.relation_types.get(name="has value").heads.values_list("name", flat=True)
    assert sorted(heads) == ["Measurement", "Visit"]

    members = page.locator("#member-add")
    members.get_by_label("User name").fill("alice")
    members.get_by_label("Role").select_option("annotator")
    members.get_by_role("button", name="Add member").click()
    row = page.locator("tr[data-member='alice']")
    expect(row).to_be_visible()
    row.get_by_label("Role of alice").select_option("reviewer")
    row.get_by_role("button", name="Change").click()
    expect(page.locator(".messages")).to_contain_text("alice is now reviewer")
    assert Membership.objects.get(project=project, user=alice).role == Role.REVIEWER
    assert Membership.objects.get(project=project, user__username="root").role == Role.MANAGER

    # types from an annotation.conf: previewed with their keys, added on confirmation
    page.locator("#conf-upload input[type=file]").set_input_files(str(SMALL / "annotation.conf"))
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".setup-preview")
    expect(preview).to_contain_text("would add 6 types")
    expect(preview.locator("tr[data-name='Value']")).to_be_visible()
    page.screenshot(path=str(artifacts / "setup-conf-preview.png"), full_page=True)
    assert not project.entity_types.filter(name="Value").exists()
    preview.get_by_role("button", name="Add these types").click()
    expect(page.locator(".messages")).to_contain_text("4 entity and 2 relation types added")
    keys = _keys(project)
    assert len(keys) == len(set(keys)) == 16 + 7 + 6


def _zip_wanting_taken_keys() -> bytes:
    """brat_small plus a kb_shortcuts.conf giving Value ``1`` (is negated's key) and Scope
    ``m`` (Measurement's): what the incident of issue 14 did to a project."""
    buffer = io.BytesIO(_zip_of(SMALL))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("kb_shortcuts.conf", "1 Value\nm Scope\n")
    return buffer.getvalue()


def test_an_import_wanting_taken_keys_is_previewed_and_keys_stay_unique(scenario, new_page, live_server,
                                                                        artifacts):
    project = scenario["project"]
    before = dict(project.relation_types.values_list("name", "key"))
    page = new_page("carol")
    page.goto(f"{live_server.url}/projects/demo/import/")
    page.select_option("select[name=format]", "brat")
    page.set_input_files("input[name=file]", {"name": "chia-like.zip", "mimeType": "application/zip",
                                               "buffer": _zip_wanting_taken_keys()})
    page.locator("form.io-form button[type=submit]").click()

    confirm = page.locator(".io-confirm")
    expect(confirm).to_contain_text("This import would add 7 types to the project.")
    value_key = confirm.locator("tr[data-name='Value'] kbd").inner_text()
    scope_key = confirm.locator("tr[data-name='Scope'] kbd").inner_text()
    assert value_key not in ("1", "") and scope_key not in ("m", "")
    page.screenshot(path=str(artifacts / "import-new-types-preview.png"))
    assert not project.documents.filter(name="doc_a").exists(), "nothing imported before confirming"

    confirm.get_by_role("button", name="Add these types and import").click()
    success = page.locator(".io-success")
    expect(success).to_contain_text("Imported.")
    expect(success).to_contain_text(f"entity Value (key {value_key})")
    assert project.entity_types.get(name="Value").key == value_key
    assert dict(project.relation_types.filter(name__in=before).values_list("name", "key")) == before
    keys = _keys(project)
    assert len(keys) == len(set(keys))
    assert project.documents.filter(name="doc_a").exists()

    # the annotation view's help lists 1 once: is negated, not an entity type
    sentence = project.sentences.order_by("id").first()
    page.goto(f"{live_server.url}/projects/demo/sentences/{sentence.pk}/")
    expect(page.locator(".type-btn[data-key='1']")).to_have_count(0)
    expect(page.locator(".rel-btn[data-key='1']")).to_have_count(1)
