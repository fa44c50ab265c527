"""Percentiles computed by the database: PostgreSQL's percentile_cont, or, on SQLite, the same
linear interpolation from the two neighbouring rows fetched with ORDER BY ... OFFSET."""

from __future__ import annotations

import math

from django.db import connection
from django.db.models import Aggregate, FloatField, QuerySet


class PercentileCont(Aggregate):
    """percentile_cont(f) WITHIN GROUP (ORDER BY expr); a list of fractions gives a list of values
    from one sort."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float | list[float], **extra):
        fractions = fraction if isinstance(fraction, list) else [fraction]
        if not all(0 <= f <= 1 for f in fractions):
            raise ValueError("a percentile is a fraction between 0 and 1")
        sql = ", ".join(repr(float(f)) for f in fractions)
        if isinstance(fraction, list):
            from django.contrib.postgres.fields import ArrayField

            extra["output_field"] = ArrayField(FloatField())
            sql = f"ARRAY[{sql}]::double precision[]"
        super().__init__(expression, fraction=sql, **extra)


def native() -> bool:
    return connection.vendor == "postgresql"


def percentile_by_offset(rows: QuerySet, field: str, fraction: float) -> float | None:
    """percentile_cont for one group where the database has no such function: two rows read."""
    n = rows.count()
    if n == 0:
        return None
    pos = fraction * (n - 1)
    lo = math.floor(pos)
    values = list(rows.order_by(field).values_list(field, flat=True)[lo:lo + 2])
    if len(values) == 1 or pos == lo:
        return values[0]
    return values[0] + (values[1] - values[0]) * (pos - lo)
