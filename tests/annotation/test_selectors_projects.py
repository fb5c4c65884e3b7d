from annotation.selectors.projects import project_members, project_schema, projects_for_user
from annotation.services.projects import project_create
from mlcore.corpus.model import Schema
from tests.annotation.conftest import SMALL_SCHEMA


def test_project_schema_round_trips_the_applied_schema(project):
    schema = project_schema(project=project)
    assert schema.entity_names == SMALL_SCHEMA.entity_names
    assert schema.entity_types[0].color == "#E69F00" and schema.entity_types[0].key == "c"
    assert schema.relation_types[0].heads == ("Condition", "Drug")
    assert schema.relation_types[0].tails == ("Negation",)


def test_projects_for_user_lists_only_memberships(project, users, make_user):
    project_create(name="other", schema=Schema())
    assert [p.name for p in projects_for_user(user=users["annotator"])] == ["trial"]
    assert list(projects_for_user(user=users["outsider"])) == []
    root = make_user("root", is_superuser=True)
    assert [p.name for p in projects_for_user(user=root)] == ["other", "trial"]


def test_project_members_by_user_name(project):
    assert [(m.user.username, m.role) for m in project_members(project=project)] == [
        ("annotator", "annotator"), ("manager", "manager"), ("reviewer", "reviewer")]
