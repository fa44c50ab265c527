"""Fixed-window call counts in the database, shared by every process (API throttles)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.db import connection

from accounts.models import ThrottleWindow


def hit(scope: str, who: str, duration: int) -> tuple[int, float]:
    """Count one call of `who` in the current window of `duration` seconds: (calls so far in this
    window, this one included; seconds until the window ends)."""
    return hit_many([(scope, who, duration)])[0]


def hit_many(calls: list[tuple[str, str, int]]) -> list[tuple[int, float]]:
    """hit() for several (scope, who, duration) at once, in one statement: an upload counted against
    the per-user and the upload throttle costs one query, not two."""
    now = time.time()
    keys, expiries, left = [], [], []
    for scope, who, duration in calls:
        start = int(now // duration * duration)
        keys.append(f"{scope}:{who}:{start}"[:255])
        expiries.append(datetime.fromtimestamp(start + duration, UTC))
        left.append(start + duration - now)
    counts = _upsert(keys, expiries, datetime.fromtimestamp(now, UTC))
    return [(counts[key], remaining) for key, remaining in zip(keys, left)]


def _upsert(keys: list[str], expiries: list[datetime], now: datetime) -> dict[str, int]:
    """Open each window or add one to it, and read the new counts, in one statement (PostgreSQL and
    SQLite 3.35+ both have INSERT ... ON CONFLICT ... RETURNING): two processes at the same instant
    each get their own number. Windows that have ended are dropped when a new one opens (a count of
    1), once per caller and window, not on every call: deleting on every call, in the same
    statement, cost PostgreSQL 0.07 of its 0.26 ms per call."""
    table, count, key_column, expires_column = (
        connection.ops.quote_name(n) for n in (ThrottleWindow._meta.db_table, "count", "key", "expires"))
    rows = ", ".join(["(%s, 1, %s)"] * len(keys))
    upsert = (f"INSERT INTO {table} ({key_column}, {count}, {expires_column}) VALUES {rows} "
              f"ON CONFLICT ({key_column}) DO UPDATE SET {count} = {table}.{count} + 1 "
              f"RETURNING {key_column}, {count}")
    values = [v for pair in zip(keys, expiries) for v in pair]
    with connection.cursor() as cursor:
        cursor.execute(upsert, values)
        found = dict(cursor.fetchall())
        if 1 in found.values():
            cursor.execute(f"DELETE FROM {table} WHERE {expires_column} < %s", [now])
        return found
