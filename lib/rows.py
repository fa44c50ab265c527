"""INSERT of new model instances with the statement built once per model and row count.

`Model.objects.bulk_create` builds its SQL anew on every call; on an upload's path (a scan, its
prediction and its audit entry: three single-row inserts) that building cost about as much CPU as
the forward pass. `insert` writes the same columns with the same values (each field's pre_save and
database preparation, as bulk_create applies them) and sets the new primary keys, but reuses the
statement's text. It sends no signals, as bulk_create sends none.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections

_SQL: dict[tuple, str] = {}


@contextmanager
def pipelined(using: str = "default"):
    """Around an outermost `transaction.atomic()` on PostgreSQL, the statements inside go out in
    psycopg's pipeline mode: a statement whose result is not read at once waits in the client and
    goes to the server with the next one whose result is, or with the COMMIT (one round trip for
    all of them). Elsewhere it changes nothing.

    An upload writes its prediction (whose rollup trigger locks the shared summary rows until the
    transaction ends), its audit entry and the COMMIT in one round trip: no other upload waits on
    those locks while this one's thread waits for the network or for Python's GIL."""
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        #  Only around a transaction of its own: inside another one the last statements would be sent
        #  after its `atomic` had released its savepoint, and a failure would surface after that.
        yield
        return
    connection.ensure_connection()
    with connection.connection.pipeline():
        yield


def insert(objs: list, using: str = "default", *, later: list | None = None) -> list:
    """Insert these unsaved instances of one model (primary keys left to the database); returns them.

    With `later` (a list) inside `pipelined()`, the new keys are not read now: the statement waits
    to be sent with the next one, and `read_keys(later)` sets the keys once the transaction has
    been sent (after its COMMIT). Outside a pipeline `later` changes nothing."""
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
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params)
        except BaseException:
            cursor.close()
            raise
        if later is not None and _in_pipeline(connection):
            later.append((cursor, part, using))
            continue
        with cursor:
            _set_keys(cursor, part, using)
    return objs


def read_keys(later: list) -> None:
    """Set the keys of the rows that insert(..., later=...) sent without reading them."""
    while later:
        cursor, part, using = later.pop(0)
        with cursor:
            _set_keys(cursor, part, using)


def discard(later: list) -> None:
    """Close the cursors of rows whose transaction failed (their keys are never read)."""
    while later:
        later.pop(0)[0].close()


def _in_pipeline(connection) -> bool:
    return connection.vendor == "postgresql" and getattr(connection.connection, "_pipeline", None) is not None


def _set_keys(cursor, part: list, using: str) -> None:
    keys = [row[0] for row in cursor.fetchall()]
    for obj, key in zip(part, keys, strict=True):
        obj.pk = key
        obj._state.adding, obj._state.db = False, using


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
