"""Project setup pages over HTTP: create (staff), settings, schema edits with the key rule and
the schema's optimistic lock, annotation.conf previews, members; refusals change nothing."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation.models import EntityType, Membership, Project, RelationType, Role
from tests.annotation.conftest import FIXTURES

CONF = (FIXTURES / "brat_small" / "annotation.conf").read_bytes()


def _keys(project) -> list[str]:
    return [k for k in (*project.entity_types.values_list("key", flat=True),
                        *project.relation_types.values_list("key", flat=True)) if k]


@pytest.fixture
def staff(make_user):
    return make_user("admin-staff", is_staff=True)


def test_only_staff_may_create_projects(users, staff, client_for):
    assert client_for(users["manager"]).get(reverse("project_create")).status_code == 403
    page = client_for(staff).get(reverse("project_list")).content.decode()
    assert reverse("project_create") in page
    assert reverse("project_create") not in client_for(users["manager"]).get(reverse("project_list")).content.decode()
    response = client_for(users["manager"]).post(reverse("project_create"), {"name": "x", "schema_source": "chia"})
    assert response.status_code == 403 and not Project.objects.filter(name="x").exists()


def test_create_from_the_chia_preset(staff, client_for):
    response = client_for(staff).post(reverse("project_create"), {
        "name": "chia", "title": "Chia", "schema_source": "chia", "new_types": "refuse"})
    assert response.status_code == 302 and response["Location"] == reverse("project_setup", args=["chia"])
    project = Project.objects.get(name="chia")
    assert (project.entity_types.count(), project.relation_types.count()) == (17, 12)
    assert project.relation_types.get(name="Has_negation").key == "1"
    assert project.new_types == "refuse"
    assert Membership.objects.get(project=project, user=staff).role == Role.MANAGER
    assert len(_keys(project)) == len(set(_keys(project))) == 29


def test_create_from_an_annotation_conf(staff, client_for):
    upload = SimpleUploadedFile("annotation.conf", CONF)
    response = client_for(staff).post(reverse("project_create"), {
        "name": "from-conf", "schema_source": "conf", "conf": upload, "new_types": "ask"})
    assert response.status_code == 302
    project = Project.objects.get(name="from-conf")
    assert set(project.entity_types.values_list("name", flat=True)) == {
        "Condition", "Person", "Value", "Negation", "Procedure", "Measurement", "Scope"}
    assert sorted(t.name for t in project.relation_types.get(name="Has_value").heads.all()) == [
        "Measurement", "Person"]
    assert len(_keys(project)) == len(set(_keys(project))) == 9


@pytest.mark.parametrize("data, message", [
    ({"name": "bad", "schema_source": "conf"}, "Choose an annotation.conf file."),
    ({"name": "bad", "schema_source": "conf",
      "conf": SimpleUploadedFile("annotation.conf", b"[relations]\nR Arg1:A\n")}, "annotation.conf:2"),
    ({"name": "trial", "schema_source": "chia"}, "A project with this name already exists."),
    ({"name": "not a slug", "schema_source": "chia"}, "Enter a valid"),
    ({"name": "bad", "schema_source": "nope"}, "Select a valid choice"),
])
def test_create_refusals_name_the_problem_and_create_nothing(project, staff, client_for, data, message):
    data.setdefault("new_types", "ask")
    response = client_for(staff).post(reverse("project_create"), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert list(Project.objects.values_list("name", flat=True)) == ["trial"]


@pytest.mark.parametrize("username, expected", [("outsider", 404), ("annotator", 403),
                                                ("reviewer", 403), ("manager", 200)])
def test_setup_page_is_for_managers(project, users, client_for, username, expected):
    assert client_for(users[username]).get(reverse("project_setup", args=["trial"])).status_code == expected
    if username != "outsider":
        dashboard = client_for(users[username]).get(reverse("project_dashboard", args=["trial"])).content
        assert (reverse("project_setup", args=["trial"]).encode() in dashboard) == (expected == 200)
    response = client_for(users[username]).post(reverse("entity_type_add", args=["trial"]),
                                                {"name": "Device", "version": _version(project)})
    assert response.status_code == (302 if expected == 200 else expected)


def _version(project) -> int:
    project.refresh_from_db()
    return project.schema_version


def test_entity_type_edit_keeps_keys_unique_across_entity_and_relation_types(project, users, client_for):
    client = client_for(users["manager"])
    drug = project.entity_types.get(name="Drug")
    relation_key = project.relation_types.get(name="is negated").key
    url = reverse("entity_type_change", args=["trial", drug.pk])
    response = client.post(url, {"name": "Drug", "color": "#56b4e9", "key": relation_key,
                                 "version": _version(project)})
    assert response.status_code == 400
    assert f"The key &#x27;{relation_key}&#x27; is already used" in response.content.decode()
    response = client.post(url, {"name": "Drug", "color": "#56b4e9", "key": "n", "version": _version(project)})
    assert response.status_code == 400 and "reserved" in response.content.decode()
    drug.refresh_from_db()
    assert drug.key == "d"
    response = client.post(url, {"name": "Medication", "color": "#112233", "key": "m",
                                 "version": _version(project)})
    assert response.status_code == 302
    drug.refresh_from_db()
    assert (drug.name, drug.color, drug.key) == ("Medication", "#112233", "m")


def test_a_stale_schema_version_is_a_409_and_changes_nothing(project, users, client_for):
    client = client_for(users["manager"])
    stale = _version(project)
    assert client.post(reverse("entity_type_add", args=["trial"]),
                       {"name": "Device", "key": "v", "version": stale}).status_code == 302
    response = client.post(reverse("entity_type_add", args=["trial"]),
                           {"name": "Visit", "key": "i", "version": stale})
    assert response.status_code == 409 and "changed by someone else" in response.content.decode()
    assert not project.entity_types.filter(name="Visit").exists()


def test_add_and_change_a_relation_type_with_its_heads_and_tails(project, users, client_for):
    client = client_for(users["manager"])
    types = dict(project.entity_types.values_list("name", "pk"))
    response = client.post(reverse("relation_type_add", args=["trial"]), {
        "name": "treats", "key": "", "heads": [types["Drug"]], "tails": [types["Condition"]],
        "version": _version(project)})
    assert response.status_code == 302
    treats = project.relation_types.get(name="treats")
    assert treats.key == "2", "relation types take digits first (is negated has 1)"
    assert len(set(_keys(project))) == len(_keys(project))
    assert [t.name for t in treats.heads.all()] == ["Drug"]
    response = client.post(reverse("relation_type_change", args=["trial", treats.pk]), {
        "name": "treats", "key": "c", "heads": [types["Drug"]], "tails": [], "version": _version(project)})
    assert response.status_code == 400, "c is Condition's key"
    response = client.post(reverse("relation_type_change", args=["trial", treats.pk]), {
        "name": "treats", "key": "9", "heads": [types["Drug"], types["Negation"]], "tails": [],
        "version": _version(project)})
    assert response.status_code == 302
    treats.refresh_from_db()
    assert treats.key == "9" and not treats.tails.exists() and treats.heads.count() == 2


def test_a_conf_is_previewed_with_non_colliding_keys_then_added(project, users, client_for):
    from annotation.services.projects import project_create

    default = project_create(name="eligibility", created_by=users["manager"])
    before = _keys(default)
    client = client_for(users["manager"])
    upload = SimpleUploadedFile("annotation.conf", CONF)
    response = client.post(reverse("schema_conf_apply", args=["eligibility"]), {"conf": upload})
    content = response.content.decode()
    assert response.status_code == 200 and "This annotation.conf would add 6 types" in content
    assert 'data-name="Value"' in content and 'data-name="Has_value"' in content
    assert EntityType.objects.filter(project=default).count() == 15, "a preview adds nothing"
    conf_text = CONF.decode()
    for version, status in (("", 400), ("x", 400), (_version(default) - 1, 409)):
        response = client.post(reverse("schema_conf_apply", args=["eligibility"]),
                               {"conf_text": conf_text, "confirm": "1", "version": version})
        assert response.status_code == status
    assert EntityType.objects.filter(project=default).count() == 15
    response = client.post(reverse("schema_conf_apply", args=["eligibility"]),
                           {"conf_text": conf_text, "confirm": "1", "version": _version(default)})
    assert response.status_code == 302
    keys = _keys(default)
    assert len(keys) == len(set(keys)) == len(before) + 6 and set(before) < set(keys)
    value = default.entity_types.get(name="Value")
    assert value.key and not value.key.isdigit(), "entity types take letters first"
    assert RelationType.objects.get(project=default, name="Has_negation").key not in before


def test_members_are_added_changed_and_removed_and_the_last_manager_stays(project, users, client_for,
                                                                          make_user):
    client = client_for(users["manager"])
    dora = make_user("dora")
    assert client.post(reverse("member_save", args=["trial"]), {"username": "dora", "role": "annotator"}).status_code == 302
    assert client.post(reverse("member_save", args=["trial"]), {"username": "dora", "role": "reviewer"}).status_code == 302
    assert Membership.objects.get(project=project, user=dora).role == Role.REVIEWER
    response = client.post(reverse("member_save", args=["trial"]), {"username": "nobody", "role": "annotator"})
    assert response.status_code == 400 and "no user called" in response.content.decode()
    response = client.post(reverse("member_save", args=["trial"]), {"username": "manager", "role": "annotator"})
    assert response.status_code == 400 and "only manager" in response.content.decode()
    response = client.post(reverse("member_remove", args=["trial", "manager"]))
    assert response.status_code == 400
    assert Membership.objects.get(project=project, user=users["manager"]).role == Role.MANAGER
    assert client.post(reverse("member_remove", args=["trial", "dora"])).status_code == 302
    assert not Membership.objects.filter(project=project, user=dora).exists()


def test_a_project_set_to_refuse_refuses_an_import_that_would_add_types(project, users, client_for,
                                                                        settings, tmp_path):
    from tests.annotation.test_views_io import _zip_of

    settings.MEDIA_ROOT = tmp_path
    client = client_for(users["manager"])
    response = client.post(reverse("project_settings", args=["trial"]),
                           {"title": "Trial", "description": "", "new_types": "refuse",
                            "annotation_mode": "shared", "annotators_per_document": 2})
    assert response.status_code == 302
    upload = SimpleUploadedFile("small.zip", _zip_of(FIXTURES / "brat_small"))
    response = client.post(reverse("corpus_import", args=["trial"]), {"format": "brat", "file": upload})
    content = response.content.decode()
    assert response.status_code == 400 and "refuses imports that add types" in content
    assert "Types the project lacks: <strong>refuse the import</strong>" in content
    assert "entity Value (key" in content
    assert not project.documents.exists() and project.entity_types.count() == 3
    assert list((tmp_path / "uploads").iterdir()) == []


def test_the_settings_set_the_annotation_mode_and_k_and_a_bad_k_changes_nothing(project, users,
                                                                                client_for):
    client = client_for(users["manager"])
    page = client.get(reverse("project_setup", args=["trial"])).content.decode()
    assert 'name="annotation_mode"' in page and 'name="annotators_per_document"' in page
    settings_of = {"title": "Trial", "description": "", "new_types": "ask",
                   "annotation_mode": "independent", "annotators_per_document": 0}
    response = client.post(reverse("project_settings", args=["trial"]), settings_of)
    assert response.status_code == 400 and "annotators_per_document" in response.content.decode()
    project.refresh_from_db()
    assert (project.annotation_mode, project.annotators_per_document) == ("shared", 2)
    response = client.post(reverse("project_settings", args=["trial"]),
                           {**settings_of, "annotators_per_document": 3})
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.annotation_mode, project.annotators_per_document) == ("independent", 3)
