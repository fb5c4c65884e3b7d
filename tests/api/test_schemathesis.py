"""Property-based fuzzing of every operation in ``/api/schema/``: no input gives a server error.

Runs in-process against the WSGI app on the seeded test database (``project`` pinned to the
seeded project so requests get past the access check), a few examples per operation.
"""
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

EXAMPLES_PER_OPERATION = 4


@pytest.fixture
def api_schema(db):
    """The schema loaded from the app; like Django's test client, requests must not close the
    test transaction's connection, so ``close_old_connections`` is unhooked meanwhile."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(operation, headers: dict, pinned: dict, statuses: list) -> None:
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        for name, value in pinned.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
        response = case.call_and_validate(checks=[not_a_server_error], headers=headers)
        statuses.append(response.status_code)

    run()


def test_no_operation_gives_a_server_error(seeded, users, api_schema):
    token = Token.objects.create(user=users["manager"])
    headers = {"Authorization": f"Token {token.key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30
    failures, statuses = [], []
    for operation in operations:
        try:
            _fuzz(operation, headers, {"project": seeded["project"]}, statuses)
        except Exception as exc:  # noqa: BLE001 - collect every failing operation, then report
            failures.append(f"{operation.label}: {str(exc)[:500]}")
    assert not failures, "\n".join(failures)
    assert sum(200 <= s < 300 for s in statuses) >= 20, "the fuzzing must reach the views"
