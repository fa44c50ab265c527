"""What the dashboard, the statistics page and the API show, assembled from queries.py."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from analytics import access, charts, queries


def low_threshold() -> float:
    return settings.ANALYTICS_LOW_CONFIDENCE_PCT / 100


def statistics(preds: QuerySet, viewer) -> dict:
    low = low_threshold()
    body = {**queries.totals(preds, low), "low_confidence_threshold": low,
            "by_class": queries.class_stats(preds, low),
            "per_day": [{"date": s["start"], "count": s["total"]} for s in queries.timeline(preds, "day")]}
    if access.shows_users(viewer):
        body["busiest_users"] = queries.busiest_users(preds)
    return body


def dashboard(preds: QuerySet, viewer, period: str) -> dict:
    seen = queries.overview(preds, period)
    versions = queries.inference_by_version(preds)
    found = [
        charts.classes_chart(seen["classes"]),
        charts.confidence_chart(seen["histogram"]),
        charts.timeline_chart(seen["timeline"], period),
        charts.out_of_scope_chart(seen["timeline"], seen["totals"], period),
        charts.inference_chart(versions),
    ]
    if access.shows_users(viewer):
        found.append(charts.users_chart(queries.busiest_users(preds)))
    found.append(charts.agreement_chart(queries.agreement(preds)))
    return {"totals": seen["totals"], "charts": found, "versions": [v["model_version"] for v in versions]}
