"""Model rows as JSON-able dicts, and back into the database exactly as they were; model
instances from the columns of hand-written queries.

Undo keeps what an action changed or deleted in the session (JSON), and puts it back with
its ids, provenance and timestamps unchanged, so that an undone delete leaves the database
row for row as it was. The hot reads of the annotation view are plain SQL (the ORM spends
longer compiling them than the database running them): :func:`column_reads` and
:func:`instance_from` turn their rows into model instances as the ORM would.
"""
from __future__ import annotations

from datetime import datetime

from django.db import connection


def row_of(obj) -> dict:
    """Every concrete field of ``obj`` by attribute name (``type_id``, not ``type``); datetimes
    as ISO strings."""
    row = {}
    for field in obj._meta.concrete_fields:
        value = getattr(obj, field.attname)
        row[field.attname] = value.isoformat() if isinstance(value, datetime) else value
    return row


def instance_of(model, row: dict):
    """An unsaved ``model`` instance holding ``row`` (as made by :func:`row_of`)."""
    return model(**{field.attname: field.to_python(row[field.attname])
                    for field in model._meta.concrete_fields})


def rows_insert(model, rows: list[dict]) -> None:
    """Insert ``rows`` as they are: ids, ``auto_now`` timestamps and all, fire no signals.

    ``bulk_create`` would stamp ``created_at``/``updated_at`` with the current time; the raw
    insert that ``Model.save_base(raw=True)`` (fixture loading) uses keeps them. One statement
    per batch the database accepts.
    """
    if not rows:
        return
    fields = model._meta.concrete_fields
    objs = [instance_of(model, row) for row in rows]
    batch = connection.ops.bulk_batch_size(fields, objs) or len(objs)
    for start in range(0, len(objs), batch):
        model._base_manager._insert(objs[start:start + batch], fields=fields, raw=True)


def column_reads(model, positions: dict, fields: tuple[str, ...] | None = None) -> tuple:
    """``(position, column, converters)`` for each of ``model``'s concrete fields, in their
    order (what ``Model.from_db`` takes without field names), or for those of them named in
    ``fields`` (attribute names); ``positions`` maps each field to its column in the rows of
    the query."""
    reads = []
    for f in model._meta.concrete_fields:
        if fields is not None and f.attname not in fields:
            continue
        column = f.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + f.get_db_converters(connection)
        reads.append((positions[f], column, tuple(converters)))
    return tuple(reads)


def instance_from(model, reads: tuple, values, fields: tuple[str, ...] | None = None):
    """A ``model`` instance from its columns of a row (``reads``: see :func:`column_reads`),
    converted as the ORM would; with ``fields`` (the attribute names ``reads`` was made
    for, in field order) the other fields are deferred, as ``QuerySet.only`` leaves them."""
    row = [column_value(read, values) for read in reads]
    return model.from_db(connection.alias, list(fields) if fields is not None else None, row)


def column_value(read: tuple, values):
    """One column of a row (``read``: an entry of :func:`column_reads`), converted as the ORM
    would."""
    position, column, converters = read
    value = values[position]
    for convert in converters:
        value = convert(value, column, connection)
    return value
