import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotation.models import Role
from annotation.selectors.projects import (
    project_get_for_user,
    project_schema,
    projects_for_user,
    user_role,
)
from annotation.services.projects import project_create
from mlcore.corpus.model import Schema
from tests.annotation.conftest import SMALL_SCHEMA


def test_project_schema_round_trips_the_applied_schema(project):
    schema = project_schema(project)
    assert schema.entity_names == SMALL_SCHEMA.entity_names
    assert schema.entity_types[0].color == "#E69F00" and schema.entity_types[0].key == "c"
    assert schema.relation_types[0].heads == ("Condition", "Drug")
    assert schema.relation_types[0].tails == ("Negation",)


def test_user_role(project, users, make_user):
    assert user_role(users["reviewer"], project) == Role.REVIEWER
    assert user_role(users["outsider"], project) is None
    assert user_role(make_user("root", is_superuser=True), project) == Role.MANAGER


def test_projects_for_user_lists_only_memberships(project, users):
    project_create(name="other", schema=Schema())
    assert [p.name for p in projects_for_user(users["annotator"])] == ["trial"]
    assert list(projects_for_user(users["outsider"])) == []


@pytest.mark.parametrize("username, min_role, outcome", [
    ("outsider", Role.ANNOTATOR, Http404),
    ("annotator", Role.MANAGER, PermissionDenied),
    ("reviewer", Role.MANAGER, PermissionDenied),
    ("reviewer", Role.REVIEWER, None),
    ("manager", Role.MANAGER, None),
])
def test_project_get_for_user(project, users, username, min_role, outcome):
    if outcome is None:
        assert project_get_for_user(users[username], "trial", min_role=min_role) == project
        assert project_get_for_user(users[username], project.pk, min_role=min_role) == project
    else:
        with pytest.raises(outcome):
            project_get_for_user(users[username], "trial", min_role=min_role)


def test_project_get_for_user_missing_project_is_404(users):
    with pytest.raises(Http404):
        project_get_for_user(users["manager"], "nope")
