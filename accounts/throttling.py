"""Fixed-window call counts in the database, shared by every process (API throttles)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.db import connection

from accounts.models import ThrottleWindow


def hit(scope: str, who: str, duration: int) -> tuple[int, float]:
    """Count one call of `who` in the current window of `duration` seconds: (calls so far in this
    window, this one included; seconds until the window ends)."""
    now = time.time()
    start = int(now // duration * duration)
    key = f"{scope}:{who}:{start}"[:255]
    count = _upsert(key, datetime.fromtimestamp(start + duration, UTC), datetime.fromtimestamp(now, UTC))
    return count, start + duration - now


def _upsert(key: str, expires: datetime, now: datetime) -> int:
    """Open the window or add one to it, and read the new count, in one statement (PostgreSQL and
    SQLite 3.35+ both have INSERT ... ON CONFLICT ... RETURNING): two processes at the same instant
    each get their own number. Windows that have ended are dropped on the way: on PostgreSQL in
    the same statement, so an API call costs one query; on SQLite when a window opens."""
    table, count, key_column, expires_column = (
        connection.ops.quote_name(n) for n in (ThrottleWindow._meta.db_table, "count", "key", "expires"))
    upsert = (f"INSERT INTO {table} ({key_column}, {count}, {expires_column}) VALUES (%s, 1, %s) "
              f"ON CONFLICT ({key_column}) DO UPDATE SET {count} = {table}.{count} + 1 RETURNING {count}")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH ended AS (DELETE FROM {table} WHERE {expires_column} < %s) {upsert}",
                           [now, key, expires])
            return cursor.fetchone()[0]
        cursor.execute(upsert, [key, expires])
        value = cursor.fetchone()[0]
        if value == 1:
            cursor.execute(f"DELETE FROM {table} WHERE {expires_column} < %s", [now])
        return value
