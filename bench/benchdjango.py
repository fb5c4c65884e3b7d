"""Shared set-up for the benchmarks that run Django in-process."""
from __future__ import annotations

import os
import tempfile


def setup_django(*, sqlite_prefix: str, **environment: str) -> str:
    """Configure Django for a benchmark, migrate, and name the database it runs on.

    DEBUG is off, as in production (the debug cursor would log every parameter of every
    bulk INSERT). Without ``DATABASE_URL``, a fresh SQLite file in a temporary folder
    named with ``sqlite_prefix``. ``environment`` adds defaults of the caller's own.
    """
    defaults = {"DJANGO_DEBUG": "0", "DJANGO_SETTINGS_MODULE": "webapp.settings", **environment}
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    if "DATABASE_URL" not in os.environ:
        folder = tempfile.mkdtemp(prefix=sqlite_prefix)
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    return f"{connection.vendor} {connection.settings_dict['NAME']}"
