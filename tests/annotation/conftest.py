"""Shared fixtures for annotation tests: users with roles, a small project, logged-in clients.

Reusable by every annotation test module:
- ``users``: dict of saved users ``manager``, ``reviewer``, ``annotator`` (members of ``project``
  with those roles) and ``outsider`` (no membership); password ``PASSWORD``.
- ``project``: project ``trial`` with ``SMALL_SCHEMA`` and the three members.
- ``client_for(user)``: a Django test client logged in as ``user``.
- ``imported_project``: ``project`` with the brat fixture ``tests/fixtures/django/brat_small``
  imported (3 documents; CRLF, nested, discontinuous, groups, attributes, notes).
"""
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from annotation.models import Role
from mlcore.corpus.model import EntityType, RelationType, Schema

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "django"
PASSWORD = "test-password-1"
SMALL_SCHEMA = Schema(
    entity_types=[EntityType("Condition", "#E69F00", "c"), EntityType("Drug", "#56B4E9", "d"),
                  EntityType("Negation", "", "")],
    relation_types=[RelationType("is negated", ("Condition", "Drug"), ("Negation",))],
)
ROLES = {"manager": Role.MANAGER, "reviewer": Role.REVIEWER, "annotator": Role.ANNOTATOR}


@pytest.fixture
def make_user(db):
    def make(username: str, **extra):
        return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)

    return make


@pytest.fixture
def users(make_user):
    return {name: make_user(name) for name in (*ROLES, "outsider")}


@pytest.fixture
def project(users):
    from annotation.services.projects import membership_set, project_create

    project = project_create(name="trial", title="Trial project", schema=SMALL_SCHEMA)
    for name, role in ROLES.items():
        membership_set(project=project, user=users[name], role=role)
    return project


@pytest.fixture
def client_for(db):
    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def imported_project(project):
    from annotation.services.corpus_io import corpus_import

    corpus_import(project=project, path=FIXTURES / "brat_small", fmt="brat")
    return project
