"""Aggregates over a set of scans, done by the database. The analytics issue will grow these."""

from __future__ import annotations

from django.db.models import Avg, Count, Max, Min, Q
from django.db.models.functions import TruncDate

from analytics import queries
from scans.models import Prediction

HISTOGRAM_BINS = 10


def _predictions(scans):
    return Prediction.objects.filter(scan__in=scans.order_by().values("pk")).order_by()


def label_counts(scans) -> dict[str, int]:
    return {label: sum(bins) for label, bins in queries.confidence_histogram(_predictions(scans)).items()}


def summary(scans) -> dict:
    agg = scans.order_by().aggregate(
        total=Count("id"), out_of_scope=Count("id", filter=Q(prediction__out_of_scope=True)),
        mean_confidence=Avg("prediction__confidence"), first=Min("created"), last=Max("created"))
    mean = agg["mean_confidence"]
    return {**agg, "mean_confidence": None if mean is None else round(mean, 4), "by_label": label_counts(scans)}


def confidence_histogram(scans) -> list[int]:
    """How many scans fall in each tenth of confidence (0-10 %, ..., 90-100 %), the analytics' bins."""
    per_class = queries.confidence_histogram(_predictions(scans), HISTOGRAM_BINS)
    return [sum(bins[i] for bins in per_class.values()) for i in range(HISTOGRAM_BINS)]


def daily_counts(scans) -> list[dict]:
    """Scans per day (in the current time zone), oldest first."""
    rows = scans.order_by().annotate(day=TruncDate("created")).values("day").annotate(n=Count("id")).order_by("day")
    return [{"date": row["day"].isoformat(), "count": row["n"]} for row in rows]
