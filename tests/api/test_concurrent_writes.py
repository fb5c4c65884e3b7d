"""Two writers of the same name at once, through the API, while another transaction (a slow
import, another request) holds the same change uncommitted: found on PostgreSQL, where the
second writer failed on the unique constraint with a 500.

The test applies the first change in a transaction of its own, starts the request, waits
until it is blocked (PostgreSQL: its backend waits on a lock; SQLite: ``BEGIN IMMEDIATE``
waits for the write lock), then commits.
"""
import threading

import pytest
from django.db import connections, transaction
from rest_framework.test import APIClient

from annotation.models import AuditEvent, Document, EntityType, Project
from annotation.services.documents import document_rename
from annotation.services.projects import project_schema_apply
from mlcore.corpus.model import EntityType as EntityTypeSpec
from mlcore.corpus.model import RelationType as RelationTypeSpec
from mlcore.corpus.model import Schema
from tests.annotation.test_concurrent_decisions import WAIT_S, _wait_until_both_blocked


def _while_uncommitted(first_change, request):
    """Make ``first_change()`` in an open transaction, run ``request`` meanwhile; its response."""
    responses, started = [], threading.Event()

    def run():
        try:
            started.set()
            responses.append(request())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    with transaction.atomic():
        first_change()
        thread.start()
        assert started.wait(WAIT_S)
        _wait_until_both_blocked([thread])
    thread.join(WAIT_S)
    assert not thread.is_alive() and responses, "the request failed (see the traceback above)"
    return responses[0]


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def trial(transactional_db, imported_project):
    return imported_project


def test_two_schema_changes_adding_the_same_types_at_once_add_them_once(trial, users):
    schema = Schema(entity_types=[EntityTypeSpec("Device")], attribute_types=["Certainty"],
                    relation_types=[RelationTypeSpec("uses", ("Condition",), ("Device",))])
    response = _while_uncommitted(
        lambda: project_schema_apply(project=Project.objects.get(pk=trial.pk), schema=schema),
        lambda: _api(users["manager"]).post(
            "/api/projects/trial/schema/",
            {"entity_types": [{"name": "Device"}], "attribute_types": ["Severity"],
             "relation_types": [{"name": "uses", "heads": ["Condition"], "tails": ["Device"]}]},
            format="json"))
    assert response.status_code == 200, response.content
    assert response.json() == {"entity_types": 0, "relation_types": 0, "added": []}
    assert EntityType.objects.filter(project=trial, name="Device").count() == 1
    trial.refresh_from_db()
    assert {"Certainty", "Severity"} <= set(trial.attribute_types)  # neither lost the other's


def test_two_renames_to_the_same_name_at_once_one_gets_a_400(trial, users):
    first, second = Document.objects.filter(project=trial).order_by("name")[:2]
    response = _while_uncommitted(
        lambda: document_rename(document=Document.objects.get(pk=first.pk), name="taken"),
        lambda: _api(users["manager"]).patch(f"/api/projects/trial/documents/{second.pk}/",
                                             {"name": "taken"}, format="json"))
    assert response.status_code == 400, response.content
    assert "already exists" in str(response.json()["error"]["details"])
    assert Document.objects.get(pk=second.pk).name == second.name
    assert not AuditEvent.objects.filter(object_type="document", object_id=second.pk).exists()
