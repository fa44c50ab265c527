"""Fixed-window call counts in the database, shared by every process (API throttles)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.db import IntegrityError, connection, transaction

from accounts.models import ThrottleWindow


def hit(scope: str, who: str, duration: int) -> tuple[int, float]:
    """Count one call of `who` in the current window of `duration` seconds: (calls so far in this
    window, this one included; seconds until the window ends)."""
    now = time.time()
    start = int(now // duration * duration)
    key = f"{scope}:{who}:{start}"[:255]
    count = _increment(key)
    if count is None:
        try:
            with transaction.atomic():
                ThrottleWindow.objects.create(key=key, count=1, expires=datetime.fromtimestamp(start + duration, UTC))
            count = 1
            ThrottleWindow.objects.filter(expires__lt=datetime.fromtimestamp(now, UTC)).delete()
        except IntegrityError:  # another process opened the window first
            count = _increment(key)
    return count, start + duration - now


def _increment(key: str) -> int | None:
    """Add one and read the new count in one statement (PostgreSQL and SQLite 3.35+ both have
    UPDATE ... RETURNING): two processes at the same instant each get their own number."""
    table, count, key_column = (connection.ops.quote_name(n) for n in (ThrottleWindow._meta.db_table, "count", "key"))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {count} = {count} + 1 WHERE {key_column} = %s RETURNING {count}", [key])
        row = cursor.fetchone()
    return row[0] if row else None
