"""What the dashboard, the statistics page and both APIs show, assembled from queries.py."""

from __future__ import annotations

from django.conf import settings

from analytics import access, charts, queries
from analytics.scope import Scope
from analytics.versions import comparison as version_comparison

RESOLUTION = (f"Counts, shares and means are exact. Medians come from 1 %-wide confidence bins (within "
              f"{queries.CONFIDENCE_RESOLUTION}); inference-time p50 and p95 from bins about "
              f"{queries.MS_RESOLUTION} wide. Days are in your time zone (where it is not a whole number of "
              "hours from UTC, a day starts at the first whole UTC hour after midnight, e.g. 00:30 in India).")


def low_pct() -> int:
    return settings.ANALYTICS_LOW_CONFIDENCE_PCT


def statistics(scope: Scope, viewer) -> dict:
    staff = access.shows_users(viewer)
    #  Per day only, unless the busiest users are shown: then per user and day (the same one query).
    seen = queries.usage(scope, top=queries.USAGE_TOP if staff else 0, names=staff)
    body = queries.summary(scope, low_pct(), exact_span=True)
    del body["histogram"]
    body = {**body, "low_confidence_threshold": low_pct() / 100, "per_day": seen["per_day"]}
    if staff:
        body["busiest_users"] = queries.busiest_users(seen)
    return body


def dashboard(scope: Scope, viewer, period: str) -> dict:
    seen = queries.summary(scope, low_pct())
    versions = queries.inference_by_version(scope)
    slots = queries.timeline(scope, period)
    totals = {k: seen[k] for k in ("total", "out_of_scope", "out_of_scope_share", "mean_confidence")}
    found = [
        charts.classes_chart(seen["by_class"]),
        charts.confidence_chart(seen["histogram"]),
        charts.timeline_chart(slots, period),
        charts.out_of_scope_chart(slots, totals, period),
        charts.inference_chart(versions, scope.min_pct),
    ]
    staff = access.shows_users(viewer)
    usage = queries.usage(scope, names=staff)
    labels = [access.usage_label(viewer, rank, u["name"]) for rank, u in enumerate(usage["users"], 1)]
    found.append(charts.usage_chart(usage, labels))
    if staff:
        found.append(charts.users_chart(queries.busiest_users(usage)))
    found.append(charts.agreement_chart(queries.agreement(scope)))
    compared = version_comparison(scope)
    found.append(charts.verdicts_by_version_chart(compared["by_version"]))
    found.extend(charts.version_pairs_charts(compared["pairs"]))
    return {"totals": totals, "charts": found, "versions": [v["model_version"] for v in versions],
            "resolution": RESOLUTION}


def results(scope: Scope) -> dict:
    """The REST API's /statistics body (its documented fields), from the same figures."""
    seen = queries.summary(scope, low_pct(), exact_span=True)
    days = queries.usage(scope, top=0)["per_day"]
    return {"total": seen["total"], "out_of_scope": seen["out_of_scope"], "mean_confidence": seen["mean_confidence"],
            "first": seen["first"], "last": seen["last"],
            "by_label": {c["label"]: c["count"] for c in seen["by_class"]},
            "confidence_histogram": queries.total_histogram(seen),
            #  As this API always gave it: the days with scans only.
            "by_day": [{"date": d["date"].isoformat(), "count": d["count"]} for d in days if d["count"]]}


def model_versions(scope: Scope) -> dict:
    """The API's /versions body: versions against each other and against the reviewers."""
    return version_comparison(scope)
