"""Database sessions that a view can save inside its own transaction.

The annotation view keeps each user's undo stack in the session, so every annotation
action changes it. Django saves a changed session after the view, in a transaction of its
own (BEGIN, UPDATE, COMMIT), or behind a savepoint when inside one: three statements, a
quarter of a whole action. :meth:`SessionStore.save_in_transaction` writes it with one
UPDATE in the caller's transaction instead; the save the session middleware does afterwards
is skipped unless the session changed again (it still sends the cookie as usual).
"""
from __future__ import annotations

from django.contrib.sessions.backends import db


class SessionStore(db.SessionStore):
    def __init__(self, session_key=None):
        self._saved_in_transaction = False
        super().__init__(session_key)

    @property
    def modified(self) -> bool:
        return self._modified

    @modified.setter
    def modified(self, value: bool) -> None:
        self._modified = value
        if value:
            self._saved_in_transaction = False

    def save_in_transaction(self) -> None:
        """Write the session with one UPDATE, in the transaction that is open; a session that
        is new, or was deleted meanwhile, is left to the middleware's ordinary save."""
        if self.session_key is None:
            return
        row = self.create_model_instance(self._get_session())
        written = self.model.objects.filter(session_key=row.session_key).update(
            session_data=row.session_data, expire_date=row.expire_date)
        self._saved_in_transaction = written == 1

    def save(self, must_create: bool = False) -> None:
        if self._saved_in_transaction and not must_create:
            return
        super().save(must_create=must_create)
