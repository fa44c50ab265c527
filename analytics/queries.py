"""Aggregates over a set of predictions, each one query done by the database (GROUP BY, date
truncation, filtered counts, percentiles). Python only reshapes the few grouped rows."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, DateField, F, IntegerField, Max, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Floor, Least, TruncDate, TruncWeek

from analytics.percentile import PercentileCont, native, percentile_by_offset
from ml.infer import CLASSES, DISPLAY_NAMES
from scans.models import Review

HISTOGRAM_BINS = 10
#  Users shown on their own in the usage figures (and as the busiest users); the rest are "others".
USAGE_TOP = 10
#  The reviewers' verdicts (issue 7): rows with `prediction`, `label` (the class the reviewer stands
#  by) and `current` (the newest review of a scan); agreement() reads only these three fields.


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _percentiles(preds: QuerySet, field: str, fractions: dict[str, float], group: str | None = None) -> dict:
    """{name: value} (or {group value: {name: value}}) where the database has no percentile_cont."""
    if group is None:
        return {name: percentile_by_offset(preds, field, f) for name, f in fractions.items()}
    keys = preds.values_list(group, flat=True).distinct()
    return {k: _percentiles(preds.filter(**{group: k}), field, fractions) for k in keys}


def totals(preds: QuerySet, low: float) -> dict:
    """Counts, shares and confidence summary; `low` is the low-confidence threshold (0-1)."""
    aggs = {"total": Count("id"), "out_of_scope": Count("id", filter=Q(out_of_scope=True)),
            "low_confidence": Count("id", filter=Q(confidence__lt=low)),
            "mean_confidence": Avg("confidence"), "first": Min("created"), "last": Max("created")}
    if native():
        aggs["median_confidence"] = PercentileCont("confidence", 0.5)
    row = preds.aggregate(**aggs)
    if not native():
        row["median_confidence"] = percentile_by_offset(preds, "confidence", 0.5)
    n = row["total"]
    return {**row, "mean_confidence": _round(row["mean_confidence"]),
            "median_confidence": _round(row["median_confidence"]),
            "out_of_scope_share": _share(row["out_of_scope"], n), "low_confidence_share": _share(row["low_confidence"], n)}


def class_stats(preds: QuerySet, low: float) -> list[dict]:
    """One row per class, in the model's order, zeros included."""
    #  Counting `confidence` rather than `id` lets PostgreSQL read (label, confidence, out_of_scope)
    #  from the covering index alone.
    aggs = {"count": Count("confidence"), "mean_confidence": Avg("confidence"),
            "low_confidence": Count("confidence", filter=Q(confidence__lt=low)),
            "out_of_scope": Count("confidence", filter=Q(out_of_scope=True))}
    if native():
        aggs["median_confidence"] = PercentileCont("confidence", 0.5)
    rows = {r["label"]: r for r in preds.values("label").annotate(**aggs)}
    if not native():
        for label, p in _percentiles(preds, "confidence", {"median_confidence": 0.5}, "label").items():
            rows[label].update(p)
    total = sum(r["count"] for r in rows.values())
    out = []
    for label in CLASSES:
        r = rows.get(label, {"count": 0, "mean_confidence": None, "median_confidence": None,
                             "low_confidence": 0, "out_of_scope": 0})
        out.append({"label": label, "name": DISPLAY_NAMES[label], "count": r["count"], "share": _share(r["count"], total),
                    "mean_confidence": _round(r["mean_confidence"]), "median_confidence": _round(r["median_confidence"]),
                    "low_confidence": r["low_confidence"], "low_confidence_share": _share(r["low_confidence"], r["count"]),
                    "out_of_scope": r["out_of_scope"]})
    return out


def confidence_histogram(preds: QuerySet, bins: int = HISTOGRAM_BINS) -> dict[str, list[int]]:
    """Per class, how many predictions fall in each 1/bins of confidence (the last bin includes 1.0)."""
    counts = {label: [0] * bins for label in CLASSES}
    for r in preds.values("label", bin=_bin(bins)).annotate(n=Count("id")):
        counts[r["label"]][max(r["bin"], 0)] += r["n"]
    return counts


def overview(preds: QuerySet, period: str = "week", bins: int = HISTOGRAM_BINS) -> dict:
    """The dashboard's counts in one pass: grouped by period, class and confidence bin, then folded
    into class counts, histogram, timeline and totals (a few hundred grouped rows, not predictions)."""
    rows = preds.values("label", start=_trunc(period), bin=_bin(bins)).annotate(
        n=Count("id"), oos=Count("id", filter=Q(out_of_scope=True)), confidence_sum=Sum("confidence"))
    hist = {label: [0] * bins for label in CLASSES}
    slots: dict[date, dict] = {}
    total = oos = 0
    confidence_sum = 0.0
    for r in rows:
        hist[r["label"]][max(r["bin"], 0)] += r["n"]
        slot = slots.setdefault(r["start"], {"counts": dict.fromkeys(CLASSES, 0), "out_of_scope": 0})
        slot["counts"][r["label"]] += r["n"]
        slot["out_of_scope"] += r["oos"]
        total, oos, confidence_sum = total + r["n"], oos + r["oos"], confidence_sum + r["confidence_sum"]
    counts = {label: sum(hist[label]) for label in CLASSES}
    return {"totals": {"total": total, "out_of_scope": oos, "out_of_scope_share": _share(oos, total),
                       "mean_confidence": _round(confidence_sum / total) if total else None},
            "classes": [{"label": c, "name": DISPLAY_NAMES[c], "count": counts[c], "share": _share(counts[c], total)}
                        for c in CLASSES],
            "histogram": hist, "timeline": _fill(slots, period)}


def _trunc(period: str):
    return TruncWeek("created", output_field=DateField()) if period == "week" else TruncDate("created")


def _bin(bins: int):
    return Cast(Least(Floor(F("confidence") * bins), Value(bins - 1.0)), IntegerField())


def _periods(first: date, last: date, period: str) -> list[date]:
    step = timedelta(days=7 if period == "week" else 1)
    days, d = [], first
    while d <= last:
        days.append(d)
        d += step
    return days


def timeline(preds: QuerySet, period: str = "day") -> list[dict]:
    """Per day or week (from Monday) in the current time zone: counts per class and out of scope."""
    rows = preds.values("label", start=_trunc(period)).annotate(n=Count("id"), oos=Count("id", filter=Q(out_of_scope=True)))
    slots: dict[date, dict] = {}
    for r in rows:
        slot = slots.setdefault(r["start"], {"counts": dict.fromkeys(CLASSES, 0), "out_of_scope": 0})
        slot["counts"][r["label"]] = r["n"]
        slot["out_of_scope"] += r["oos"]
    return _fill(slots, period)


def _fill(slots: dict[date, dict], period: str) -> list[dict]:
    """Every period from the first to the last, the empty ones as zeros."""
    if not slots:
        return []
    empty = {"counts": dict.fromkeys(CLASSES, 0), "out_of_scope": 0}
    out = []
    for start in _periods(min(slots), max(slots), period):
        slot = slots.get(start, empty)
        total = sum(slot["counts"].values())
        out.append({"start": start, "counts": slot["counts"], "total": total, "out_of_scope": slot["out_of_scope"],
                    "out_of_scope_share": _share(slot["out_of_scope"], total)})
    return out


def inference_by_version(preds: QuerySet) -> list[dict]:
    """Per model version: predictions, first and last use, inference time p50 and p95 (ms)."""
    aggs = {"count": Count("inference_ms"), "first": Min("created"), "last": Max("created")}  # index only
    if native():
        aggs["ms"] = PercentileCont("inference_ms", [0.5, 0.95])
    rows = list(preds.values("model_version").annotate(**aggs).order_by("first"))
    if native():
        for r in rows:
            r["p50_ms"], r["p95_ms"] = r.pop("ms")
    else:
        pct = _percentiles(preds, "inference_ms", {"p50_ms": 0.5, "p95_ms": 0.95}, "model_version")
        for r in rows:
            r.update(pct[r["model_version"]])
    for r in rows:
        r["p50_ms"], r["p95_ms"] = _round(r["p50_ms"], 1), _round(r["p95_ms"], 1)
    return rows


def usage(preds: QuerySet, top: int = USAGE_TOP, names: bool = False) -> dict:
    """Scans per user and day (days in the current time zone): one query grouped by owner and day
    (or by day alone when top is 0), read from the prediction table alone (its copy of the owner).
    Python folds the grouped rows, one per active user and day, never a prediction: per-day totals,
    and the `top` busiest users with their scans, active days and per-day counts; everyone else is
    summed per day in `others`. `names` fetches the kept users' names (one more small query)."""
    day = TruncDate("created")
    rows = (preds.values("owner", day=day) if top else preds.values(day=day)).annotate(n=Count("id"))
    users: dict[int, dict] = {}
    totals: dict[date, int] = {}
    for r in rows:
        totals[r["day"]] = totals.get(r["day"], 0) + r["n"]
        if top:
            u = users.setdefault(r["owner"], {"owner": r["owner"], "scans": 0, "per_day": {}})
            u["scans"] += r["n"]
            u["per_day"][r["day"]] = r["n"]
    ranked = sorted(users.values(), key=lambda u: (-u["scans"], u["owner"]))
    kept, others = ranked[:top], {}
    for u in ranked[top:]:
        for d, n in u["per_day"].items():
            others[d] = others.get(d, 0) + n
    found = dict(get_user_model().objects.filter(pk__in=[u["owner"] for u in kept]).values_list("pk", "username")
                 ) if names and kept else {}
    for u in kept:
        u["active_days"], u["name"] = len(u["per_day"]), found.get(u["owner"])
    days = _periods(min(totals), max(totals), "day") if totals else []
    return {"days": days, "per_day": [{"date": d, "count": totals.get(d, 0)} for d in days],
            "users": kept, "others": others}


def busiest_users(seen: dict) -> list[dict]:
    """The busiest users of usage(..., names=True), with the days they were active."""
    out = [{"username": u["name"], "scans": u["scans"], "active_days": u["active_days"],
            "per_active_day": round(u["scans"] / u["active_days"], 1)} for u in seen["users"]]
    return sorted(out, key=lambda u: (-u["scans"], u["username"]))


def agreement(preds: QuerySet) -> dict:
    """Model label against the reviewer's current label: confusion matrix and agreement rate."""
    rows = (Review.objects.filter(current=True, prediction__in=preds.values("id")).order_by()
            .values(model=F("prediction__label"), reviewed=F("label")).annotate(n=Count("id")))
    matrix = {m: dict.fromkeys(CLASSES, 0) for m in CLASSES}
    for r in rows:
        matrix[r["model"]][r["reviewed"]] = r["n"]
    reviewed = sum(sum(row.values()) for row in matrix.values())
    agreed = sum(matrix[c][c] for c in CLASSES)
    return {"matrix": matrix, "reviewed": reviewed, "agreed": agreed, "rate": _share(agreed, reviewed)}
