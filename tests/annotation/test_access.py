"""The role rules of ``annotation.access``: lookups for a user (404 / 403), the role order,
and the rules the services enforce themselves."""
import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotation.access import (
    project_for_user,
    project_role,
    role_at_least,
    sentence_for_user,
    sentence_review_authorize,
    suggestion_decide_authorize,
)
from annotation.models import Claim, Document, Role, Sentence
from annotation.selectors.training import model_version_active
from annotation.services.projects import project_create
from mlcore.corpus.model import Schema
from tests.annotation.ml_fixtures import make_version


@pytest.fixture
def sentence(project):
    document = Document.objects.create(project=project, name="d1", text="No diabetes.")
    return Sentence.objects.create(project=project, document=document, index=0, start=0, end=12,
                                   text="No diabetes.")


def test_role_order():
    assert role_at_least(Role.MANAGER, Role.REVIEWER) and role_at_least("reviewer", "reviewer")
    assert not role_at_least(Role.ANNOTATOR, Role.REVIEWER)
    assert not role_at_least(None, Role.ANNOTATOR)


def test_project_role(project, users, make_user):
    assert project_role(user=users["reviewer"], project_id=project.pk) == Role.REVIEWER
    assert project_role(user=users["outsider"], project_id=project.pk) is None
    root = make_user("root", is_superuser=True)
    assert project_role(user=root, project_id=project.pk) == Role.MANAGER


@pytest.mark.parametrize("username, min_role, outcome", [
    ("outsider", Role.ANNOTATOR, Http404),
    ("annotator", Role.MANAGER, PermissionDenied),
    ("reviewer", Role.MANAGER, PermissionDenied),
    ("annotator", Role.ANNOTATOR, Role.ANNOTATOR),
    ("reviewer", Role.REVIEWER, Role.REVIEWER),
    ("manager", Role.MANAGER, Role.MANAGER),
])
def test_project_for_user(project, users, username, min_role, outcome):
    if isinstance(outcome, type):
        with pytest.raises(outcome):
            project_for_user(user=users[username], name="trial", min_role=min_role)
    else:
        assert project_for_user(user=users[username], name="trial", min_role=min_role) == (
            project, outcome)


def test_project_for_user_message_names_the_role(project, users):
    with pytest.raises(PermissionDenied, match="needs the manager role"):
        project_for_user(user=users["annotator"], name="trial", min_role=Role.MANAGER)


def test_project_for_user_superuser_acts_as_manager(project, make_user):
    root = make_user("root", is_superuser=True)
    assert project_for_user(user=root, name="trial", min_role=Role.MANAGER) == (project, Role.MANAGER)


def test_project_for_user_missing_project_or_anonymous_is_404(users, project):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        project_for_user(user=users["manager"], name="nope")
    with pytest.raises(Http404):
        project_for_user(user=AnonymousUser(), name="trial")


def test_sentence_for_user(project, users, sentence, make_user, django_assert_num_queries):
    with django_assert_num_queries(1):
        found, role = sentence_for_user(user=users["annotator"], name="trial", sentence_id=sentence.pk)
        assert (found.document.name, found.project.name) == ("d1", "trial")
        assert found.updated_by is None
    assert (found, role) == (sentence, Role.ANNOTATOR)
    assert (found.text, found.version, found.project, found.document) == (
        sentence.text, sentence.version, sentence.project, sentence.document)
    Sentence.objects.filter(pk=sentence.pk).update(updated_by=users["reviewer"])
    root = make_user("root", is_superuser=True)
    with django_assert_num_queries(1):  # a superuser who is no member: still one query
        found, role = sentence_for_user(user=root, name="trial", sentence_id=sentence.pk)
        assert (role, found.updated_by) == (Role.MANAGER, users["reviewer"])
    with pytest.raises(Http404):
        sentence_for_user(user=users["outsider"], name="trial", sentence_id=sentence.pk)
    with pytest.raises(PermissionDenied):
        sentence_for_user(user=users["annotator"], name="trial", sentence_id=sentence.pk,
                          min_role=Role.REVIEWER)


def test_sentence_for_user_reads_the_active_version_along(project, users, sentence,
                                                          django_assert_num_queries):
    """The project comes with its active model version (none, then the one activated), so
    the annotation view's rank, suggestions and queue ask no query for it; the columns not
    read along load on first use."""
    found, _ = sentence_for_user(user=users["annotator"], name="trial", sentence_id=sentence.pk)
    with django_assert_num_queries(0):
        assert model_version_active(found.project) is None
    make_version(project, 1, active=False)
    active = make_version(project, 2, options={"strategy": "mnlp"}, dev_metrics={"ner": {"f1": 0.5}})
    with django_assert_num_queries(1):
        found, _ = sentence_for_user(user=users["annotator"], name="trial", sentence_id=sentence.pk)
        version = model_version_active(found.project)
        assert (version.pk, version.number, version.options) == (active.pk, 2, {"strategy": "mnlp"})
    with django_assert_num_queries(1):
        assert version.dev_metrics == {"ner": {"f1": 0.5}}
    assert model_version_active(project) == active  # a project read elsewhere: one query


def test_sentence_for_user_reads_the_users_claim_expiry_along(project, users, sentence):
    """Only the user's own claim: another's claim on the sentence reads as none."""
    from annotation.services.queue import claim_take

    def expiry(user):
        found, _ = sentence_for_user(user=user, name="trial", sentence_id=sentence.pk)
        return found.claim_expires_at

    assert expiry(users["annotator"]) is None
    claim_take(sentence_id=sentence.pk, project_id=project.pk, user=users["annotator"])
    assert expiry(users["annotator"]) == Claim.objects.get().expires_at
    assert expiry(users["manager"]) is None


def test_sentence_of_another_project_is_404(project, users, sentence):
    other = project_create(name="other", schema=Schema())
    from annotation.services.projects import membership_set

    membership_set(project=other, user=users["manager"], role=Role.MANAGER)
    with pytest.raises(Http404):
        sentence_for_user(user=users["manager"], name="other", sentence_id=sentence.pk)


@pytest.mark.parametrize("rule", [sentence_review_authorize, suggestion_decide_authorize])
def test_service_rules_need_a_reviewer(project, users, rule):
    rule(user=users["reviewer"], project_id=project.pk)
    rule(user=users["manager"], project_id=project.pk)
    with pytest.raises(PermissionDenied, match="needs the reviewer role"):
        rule(user=users["annotator"], project_id=project.pk)


def test_only_staff_may_create_projects(make_user):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied

    from annotation.access import may_create_project, project_create_authorize

    assert may_create_project(make_user("boss", is_staff=True))
    assert not may_create_project(make_user("plain")) and not may_create_project(AnonymousUser())
    with pytest.raises(PermissionDenied, match="staff"):
        project_create_authorize(user=make_user("other"))
