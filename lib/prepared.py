"""Statements that PostgreSQL parses and plans once per connection, for the few that every API call runs.

Django's psycopg backend binds parameters in the client (the values are written into the SQL text),
so PostgreSQL parses and plans every statement anew. For the token lookup (a join of three tables)
that planning was most of its cost: 0.33 ms of PostgreSQL CPU per call, 0.08 ms prepared; the
duplicate check 0.11 -> 0.05 ms (replayed 1,500 times on one connection, README "Serving
performance"). Inserts gain nothing (their plans are trivial) and stay as they are.

`prepared_cursor()` is a Django cursor (query logging, execute wrappers and error wrapping as usual)
over a psycopg cursor that binds on the server and prepares what it executes. Connection poolers
that cannot carry prepared statements (PgBouncer before 1.21 in transaction mode) need
DATABASE_PREPARED_STATEMENTS=0, which makes it a plain cursor.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import connections


def prepared_cursor(using: str = "default"):
    connection = connections[using]
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _cursor_class()(connection.connection)
        _same_time_zone(connection, cursor)
        return connection._prepare_cursor(cursor)


def _same_time_zone(connection, cursor) -> None:
    """As Django's create_cursor does: dates read in the connection's time zone."""
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != loader.timezone:
        register_tzloader(connection.timezone, cursor)


@functools.cache
def _cursor_class():
    """Made on first use: Django's PostgreSQL backend is imported only where it is the database."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            #  psycopg keeps the statement's text only when it is sent unprepared; Django's query log
            #  (DEBUG, the tests' query capture) reads it from there.
            self._query = pgq
            super()._send_query_prepared(name, pgq, binary=binary)

    return PreparingCursor
