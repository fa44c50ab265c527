"""Rebuilding the rollups from the rows, all in one transaction (pages keep reading the old figures
until it commits)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection, transaction

from analytics import cubes


def rebuild(progress: Callable[[int, int, str, float], None] | None = None, statistics: bool = True) -> None:
    """Empties every cube and fills it again: the finest two from the predictions (one grouped pass
    each), the others summed from a finer cube. `progress(done, total, cube, seconds)` after each step;
    planner statistics afterwards unless `statistics` is False (a caller that analyzes more tables)."""
    steps = cubes.build_steps(connection.vendor)
    start = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        for i, (cube, sql) in enumerate(steps, 1):
            cursor.execute(sql)
            if progress:
                progress(i, len(steps), cube.name, time.monotonic() - start)
    if statistics:
        analyze()


def analyze(*also: str) -> None:
    """Fresh planner statistics for the rollups (and the rows, and the tables `also` names), as after
    any bulk change."""
    tables = [c.table for c in cubes.CUBES] + [cubes.PREDICTIONS, cubes.REVIEWS, *also]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            #  VACUUM also sets the visibility map that index-only scans need; not possible inside a
            #  transaction (a test's), where ANALYZE alone still is.
            cursor.execute(f"{'' if connection.in_atomic_block else 'VACUUM '}ANALYZE {', '.join(tables)}")
        else:
            cursor.execute("ANALYZE")
