"""What the dashboard, the statistics page and the API show, assembled from queries.py."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from analytics import access, charts, queries


def low_threshold() -> float:
    return settings.ANALYTICS_LOW_CONFIDENCE_PCT / 100


def statistics(preds: QuerySet, viewer) -> dict:
    low = low_threshold()
    staff = access.shows_users(viewer)
    #  Per day only, unless the busiest users are shown: then per user and day (the same one query).
    seen = queries.usage(preds, top=queries.USAGE_TOP if staff else 0, names=staff)
    body = {**queries.totals(preds, low), "low_confidence_threshold": low,
            "by_class": queries.class_stats(preds, low), "per_day": seen["per_day"]}
    if staff:
        body["busiest_users"] = queries.busiest_users(seen)
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
    staff = access.shows_users(viewer)
    usage = queries.usage(preds, names=staff)
    labels = [access.usage_label(viewer, rank, u["name"]) for rank, u in enumerate(usage["users"], 1)]
    found.append(charts.usage_chart(usage, labels))
    if staff:
        found.append(charts.users_chart(queries.busiest_users(usage)))
    found.append(charts.agreement_chart(queries.agreement(preds)))
    return {"totals": seen["totals"], "charts": found, "versions": [v["model_version"] for v in versions]}
