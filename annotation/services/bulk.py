"""Multi-row inserts of plain values, for the one write that stores tens of thousands of rows
at once: a new model version's suggestions and scores (``predictions._store_batch``).

Django's ``bulk_create`` compiles every value of every row through its field (about 4 µs a
value: ~80% of storing a version's suggestions, measured in docs/benchmarks.md,
"Re-ranking"). Here the caller gives the values already in database form (ids, numbers,
texts), so only JSON columns go through their field; every column the caller leaves out takes
its field's default (``auto_now``/``auto_now_add``: now), as ``bulk_create`` would give it.
Ids come back in row order from ``RETURNING`` (PostgreSQL; SQLite 3.35 and later), which is
what ``bulk_create`` relies on on these backends too.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import JSONField
from django.db.models.constants import OnConflict
from django.utils import timezone

# SQLite allows 32,766 parameters in one statement; 400 rows x 15 columns stays well below
ROWS_PER_STATEMENT = 400


def rows_insert(model, names: Sequence[str], rows: Sequence[Sequence], *,
                returning_ids: bool = False, ignore_conflicts: bool = False) -> list[int]:
    """Insert ``rows`` (tuples of values for the fields ``names``, by attribute name, e.g.
    ``sentence_id``) into ``model``'s table; the new ids in row order with ``returning_ids``
    (not with ``ignore_conflicts``, where skipped rows have none)."""
    if returning_ids and ignore_conflicts:
        raise ValueError("a skipped row has no id: ask for ids or ignore conflicts, not both")
    meta = model._meta
    given = [meta.get_field(name) for name in names]
    rest = [f for f in meta.concrete_fields if not f.primary_key and f not in given]
    defaults = [_default(f) for f in rest]
    json_at = [i for i, f in enumerate(given) if isinstance(f, JSONField)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in given + rest)
    placeholder = "(" + ", ".join(["%s"] * (len(given) + len(rest))) + ")"
    conflict = OnConflict.IGNORE if ignore_conflicts else None
    head = (f"{connection.ops.insert_statement(on_conflict=conflict)} "
            f"{quote(meta.db_table)} ({columns}) VALUES ")
    suffix = connection.ops.on_conflict_suffix_sql(given + rest, conflict, None, None)
    tail = f" {suffix}" if suffix else ""
    if returning_ids:
        tail += f" RETURNING {quote(meta.pk.column)}"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start:start + ROWS_PER_STATEMENT]
            params: list = []
            for row in chunk:
                values = list(row)
                for i in json_at:
                    values[i] = given[i].get_db_prep_save(values[i], connection)
                params += values
                params += defaults
            cursor.execute(head + ", ".join([placeholder] * len(chunk)) + tail, params)
            if returning_ids:
                ids += [row[0] for row in cursor.fetchall()]
    return ids


def _default(field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return field.get_db_prep_save(timezone.now(), connection)
    return field.get_db_prep_save(field.get_default(), connection)
