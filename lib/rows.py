"""INSERT of new model instances with the statement built once per model and row count.

`Model.objects.bulk_create` builds its SQL anew on every call; on an upload's path (a scan, its
prediction and its audit entry: three single-row inserts) that building cost about as much CPU as
the forward pass. `insert` writes the same columns with the same values (each field's pre_save and
database preparation, as bulk_create applies them) and sets the new primary keys, but reuses the
statement's text. It sends no signals, as bulk_create sends none.
"""

from __future__ import annotations

from django.db import connections

_SQL: dict[tuple, str] = {}


def insert(objs: list, using: str = "default") -> list:
    """Insert these unsaved instances of one model (primary keys left to the database); returns them."""
    if not objs:
        return objs
    model = type(objs[0])
    connection = connections[using]
    if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover - PostgreSQL and SQLite can
        return model._default_manager.db_manager(using).bulk_create(objs)
    fields = _fields(model)
    size = max(1, connection.ops.bulk_batch_size(fields, objs))
    for start in range(0, len(objs), size):
        part = objs[start:start + size]
        sql = _statement(connection, model, fields, len(part))
        params = [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for obj in part for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            keys = [row[0] for row in cursor.fetchall()]
        for obj, key in zip(part, keys, strict=True):
            obj.pk = key
            obj._state.adding, obj._state.db = False, using
    return objs


def _fields(model) -> list:
    meta = model._meta
    return [f for f in meta.concrete_fields if f is not meta.auto_field and not getattr(f, "generated", False)]


def _statement(connection, model, fields: list, rows: int) -> str:
    key = (connection.vendor, model, rows)
    sql = _SQL.get(key)
    if sql is None:
        q = connection.ops.quote_name
        row = f"({', '.join(['%s'] * len(fields))})"
        sql = _SQL[key] = (f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
                           f"VALUES {', '.join([row] * rows)} RETURNING {q(model._meta.pk.column)}")
    return sql
