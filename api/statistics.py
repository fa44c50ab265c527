"""Aggregates over a set of scans, done by the database. The analytics issue will grow these."""

from __future__ import annotations

from django.db.models import Avg, Count, F, FloatField, Max, Min, Q, Value
from django.db.models.functions import Floor, Least, TruncDate

from ml.infer import CLASSES

HISTOGRAM_BINS = 10


def label_counts(scans) -> dict[str, int]:
    counts = dict.fromkeys(CLASSES, 0)
    for row in scans.order_by().values("prediction__label").annotate(n=Count("id")):
        counts[row["prediction__label"]] = row["n"]
    return counts


def summary(scans) -> dict:
    agg = scans.order_by().aggregate(
        total=Count("id"), out_of_scope=Count("id", filter=Q(prediction__out_of_scope=True)),
        mean_confidence=Avg("prediction__confidence"), first=Min("created"), last=Max("created"))
    mean = agg["mean_confidence"]
    return {**agg, "mean_confidence": None if mean is None else round(mean, 4), "by_label": label_counts(scans)}


def confidence_histogram(scans) -> list[int]:
    """How many scans fall in each tenth of confidence (0-10 %, ..., 90-100 %)."""
    counts = [0] * HISTOGRAM_BINS
    rows = (scans.order_by()
            .annotate(bin=Least(Floor(F("prediction__confidence") * HISTOGRAM_BINS),
                                Value(HISTOGRAM_BINS - 1, output_field=FloatField())))
            .values("bin").annotate(n=Count("id")))
    for row in rows:
        counts[max(int(row["bin"]), 0)] += row["n"]
    return counts


def daily_counts(scans) -> list[dict]:
    """Scans per day (in the current time zone), oldest first."""
    rows = scans.order_by().annotate(day=TruncDate("created")).values("day").annotate(n=Count("id")).order_by("day")
    return [{"date": row["day"].isoformat(), "count": row["n"]} for row in rows]
