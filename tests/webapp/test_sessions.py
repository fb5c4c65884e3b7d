"""The session store that annotation actions save inside their own transaction."""
import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session

from webapp.sessions import SessionStore


def stored(session) -> dict:
    return SessionStore().decode(Session.objects.get(pk=session.session_key).session_data)


def test_a_session_saved_in_transaction_is_not_written_again_unless_changed(
        db, django_assert_num_queries):
    session = SessionStore()
    session["undo"] = {"1": []}
    session.create()
    session["undo"] = {"1": [{"version": 2}]}
    with django_assert_num_queries(1):
        session.save_in_transaction()
    assert stored(session) == {"undo": {"1": [{"version": 2}]}}
    with django_assert_num_queries(0):
        session.save()  # what the session middleware does after the view
    session["undo"] = {}
    session.save()
    assert stored(session) == {"undo": {}}


def test_a_new_or_vanished_session_is_left_to_the_ordinary_save(db, django_assert_num_queries):
    session = SessionStore()
    session["undo"] = {"1": []}
    with django_assert_num_queries(0):
        session.save_in_transaction()
    session.save()
    assert stored(session) == {"undo": {"1": []}}
    Session.objects.all().delete()
    session["undo"] = {"2": []}
    session.save_in_transaction()
    assert not Session.objects.exists()
    with pytest.raises(UpdateError):  # Django's own answer to a session deleted meanwhile
        session.save()
