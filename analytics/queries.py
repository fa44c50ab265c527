"""Every analytics figure, from the grouped counts of analytics.scope (rollups; rows only where no
rollup can answer). Counts, shares and means are exact; medians and percentiles come from bins,
whose resolution the pages state: confidence in 1 %-wide bins (each value taken as its bin's
middle, then interpolated as percentile_cont does: within 0.005), inference time in bins a factor 10**0.05 wide (p50/p95 within about 6 %)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import connection

from analytics import cubes
from analytics.scope import SUM_N, SUM_WHEN, Scope, as_date, grouped, grouped_sql, percentile, predictions
from ml.infer import CLASSES, DISPLAY_NAMES

#  The one histogram: tenths of confidence (the last includes 100 %).
HISTOGRAM_BINS = 10
#  Users shown on their own in the usage figures (and as the busiest users); the rest are "others".
USAGE_TOP = 10
CONFIDENCE_RESOLUTION = 0.005
MS_RESOLUTION = "6 %"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(micro: int, n: int) -> float | None:
    return round(micro / n / 1_000_000, 4) if n else None


def _median(bins: dict[int, int]) -> float | None:
    """A 1 % bin's middle (100 % is exactly 1), interpolated as percentile_cont does."""
    found = percentile(bins, 0.5, lambda b: min((b + 0.5) / 100, 1.0))
    return None if found is None else round(found, 4)


def _ms(bins: dict[int, int], fraction: float) -> float | None:
    """A log bin's middle on the log scale."""
    found = percentile(bins, fraction, lambda b: 10 ** ((b + 0.5) / cubes.MS_BINS_PER_DECADE))
    return None if found is None else round(found, 1)


def summary(scope: Scope, low_pct: int, exact_span: bool = False) -> dict:
    """Totals, per-class figures and the confidence histogram, from one grouped query (class, scope,
    confidence bin). Out-of-scope images are counted on their own (`out_of_scope`) and left out of
    every class and confidence figure: the model gives them no class. `exact_span` finds the first
    and last prediction's time (two short reads of the rows, within the first and last bucket);
    otherwise first/last are left out."""
    rows = grouped(scope, ("label", "out_of_scope", "conf_pct"), span=exact_span)
    per = {c: {"n": 0, "micro": 0, "low": 0, "bins": {}} for c in CLASSES}
    hist = {c: [0] * HISTOGRAM_BINS for c in CLASSES}
    oos = 0
    for r in rows:
        if r["out_of_scope"]:
            oos += r["n"]
            continue
        s = per[r["label"]]
        s["n"] += r["n"]
        s["micro"] += r["conf_micro"]
        s["low"] += r["n"] if r["conf_pct"] < low_pct else 0
        s["bins"][r["conf_pct"]] = s["bins"].get(r["conf_pct"], 0) + r["n"]
        hist[r["label"]][min(r["conf_pct"] * HISTOGRAM_BINS // 100, HISTOGRAM_BINS - 1)] += r["n"]
    assessed = sum(s["n"] for s in per.values())
    total = assessed + oos
    every: dict[int, int] = {}
    for s in per.values():
        for b, n in s["bins"].items():
            every[b] = every.get(b, 0) + n
    low = sum(s["low"] for s in per.values())
    body = {"total": total, "in_scope": assessed, "out_of_scope": oos, "out_of_scope_share": _share(oos, total),
            "low_confidence": low, "low_confidence_share": _share(low, assessed),
            "mean_confidence": _mean(sum(s["micro"] for s in per.values()), assessed),
            "median_confidence": _median(every),
            "by_class": [{"label": c, "name": DISPLAY_NAMES[c], "count": per[c]["n"], "share": _share(per[c]["n"], assessed),
                          "mean_confidence": _mean(per[c]["micro"], per[c]["n"]), "median_confidence": _median(per[c]["bins"]),
                          "low_confidence": per[c]["low"], "low_confidence_share": _share(per[c]["low"], per[c]["n"])}
                         for c in CLASSES],
            "histogram": hist}
    if exact_span:
        body["first"], body["last"] = _span(scope, rows)
    return body


def _span(scope: Scope, rows: list[dict]):
    """The first and last prediction's exact time: each one short read of the rows, within the first
    and the last bucket."""
    if not rows:
        return None, None
    first, last = min(r["first"] for r in rows), max(r["last"] for r in rows)
    preds = predictions(scope)
    found_first = preds.filter(created__gte=first, created__lt=_bucket_end(first)).order_by("created")
    found_last = preds.filter(created__gte=last, created__lt=_bucket_end(last)).order_by("-created")
    return (found_first.values_list("created", flat=True).first(),
            found_last.values_list("created", flat=True).first())


def _bucket_end(start):
    """The end of the coarsest bucket that may start at `start` (a month, a day or an hour): a bound
    that keeps the read of the rows to that bucket's index range."""
    if start.hour:
        return start + timedelta(hours=1)
    if start.day != 1:
        return start + timedelta(days=1)
    return (start + timedelta(days=32)).replace(day=1)


def total_histogram(summary_body: dict) -> list[int]:
    """The histogram of every class together."""
    return [sum(summary_body["histogram"][c][i] for c in CLASSES) for i in range(HISTOGRAM_BINS)]


def timeline(scope: Scope, period: str = "week") -> list[dict]:
    """Per day or week (from Monday) in the viewer's zone: counts per class and out of scope."""
    slots = _timeline_slots(scope, period)
    if slots is not None:
        return _fill(slots, period)
    slots = {}
    for r in grouped(scope, ("label", "out_of_scope"), period=period):
        slot = slots.setdefault(r["period"], {"counts": dict.fromkeys(CLASSES, 0), "out_of_scope": 0})
        if r["out_of_scope"]:  # no class: counted on its own
            slot["out_of_scope"] += r["n"]
        else:
            slot["counts"][r["label"]] += r["n"]
    return _fill(slots, period)


def _timeline_slots(scope: Scope, period: str) -> dict[date, dict] | None:
    """timeline()'s counts from the rollups in one row per day or week, a column per class and one for
    out of scope (counted without a class), instead of a row per class and period (at 1 M demo
    predictions by day: 180 rows to convert instead of 1,445). None where only the rows can answer."""
    inner = grouped_sql(scope, ("label", "out_of_scope"), period=period)
    if inner is None:
        return None
    sql, params = inner
    counts = ", ".join(f"{SUM_WHEN.format(condition='NOT out_of_scope AND label = %s')} AS c{i}"
                       for i in range(len(CLASSES)))
    query = (f"SELECT period, {counts}, {SUM_WHEN.format(condition='out_of_scope')} AS oos "
             f"FROM ({sql}) AS parts GROUP BY period HAVING SUM(n) <> 0")
    with connection.cursor() as cursor:
        cursor.execute(query, [*CLASSES, *params])
        found = cursor.fetchall()
    return {as_date(row[0]): {"counts": dict(zip(CLASSES, map(int, row[1:-1]), strict=True)), "out_of_scope": int(row[-1])}
            for row in found}


def _periods(first: date, last: date, period: str) -> list[date]:
    step = timedelta(days=7 if period == "week" else 1)
    days, d = [], first
    while d <= last:
        days.append(d)
        d += step
    return days


def _fill(slots: dict[date, dict], period: str) -> list[dict]:
    """Every period from the first to the last, the empty ones as zeros."""
    if not slots:
        return []
    empty = {"counts": dict.fromkeys(CLASSES, 0), "out_of_scope": 0}
    out = []
    for start in _periods(min(slots), max(slots), period):
        slot = slots.get(start, empty)
        total = sum(slot["counts"].values()) + slot["out_of_scope"]
        out.append({"start": start, "counts": slot["counts"], "total": total, "out_of_scope": slot["out_of_scope"],
                    "out_of_scope_share": _share(slot["out_of_scope"], total)})
    return out


def inference_by_version(scope: Scope) -> list[dict]:
    """Per model version, in order of first use: predictions, the first and last month used (UTC) and
    the inference time's p50 and p95 (ms) from the log-scale bins. A minimum confidence does not
    narrow these: how long the model took does not depend on how sure it was, and the rollups of
    times have no confidence bins (the chart says so)."""
    versions: dict[str, dict] = {}
    for r in grouped(replace(scope, min_pct=None), ("model_version", "ms_bin"), timing=True, span=True):
        v = versions.setdefault(r["model_version"], {"model_version": r["model_version"], "count": 0, "bins": {},
                                                     "first": r["first"], "last": r["last"]})
        v["count"] += r["n"]
        v["bins"][r["ms_bin"]] = r["n"]
        v["first"], v["last"] = min(v["first"], r["first"]), max(v["last"], r["last"])
    out = sorted(versions.values(), key=lambda v: (v["first"], v["model_version"]))
    for v in out:
        bins = v.pop("bins")
        v["p50_ms"], v["p95_ms"] = _ms(bins, 0.5), _ms(bins, 0.95)
    return out


def usage(scope: Scope, top: int = USAGE_TOP, names: bool = False) -> dict:
    """Scans per user and day (days in the viewer's zone): per-day totals, and the `top` busiest users
    with their scans, active days and per-day counts; everyone else is summed per day in `others`.
    `names` fetches the kept users' names. The ranking is done in SQL over the rollup (_ranked_days),
    so the page reads at most top + 1 rows per day however many users there are."""
    users: dict[int, dict] = {}
    totals: dict[date, int] = {}
    others: dict[date, int] = {}
    rows = _ranked_days(scope, top) if top else None
    if rows is None:
        rows = [(r.get("owner_id"), r["period"], r["n"]) for r in grouped(scope, ("owner_id",) if top else (),
                                                                         period="day")]
    for owner, day, n in rows:
        totals[day] = totals.get(day, 0) + n
        if top:
            u = users.setdefault(owner, {"owner": owner, "scans": 0, "per_day": {}})
            u["scans"] += n
            u["per_day"][day] = u["per_day"].get(day, 0) + n
    ranked = sorted((u for u in users.values() if u["owner"] is not None), key=lambda u: (-u["scans"], u["owner"]))
    kept = ranked[:top]
    for u in [*ranked[top:], *([users[None]] if None in users else [])]:
        for d, n in u["per_day"].items():
            others[d] = others.get(d, 0) + n
    found = dict(get_user_model().objects.filter(pk__in=[u["owner"] for u in kept]).values_list("pk", "username")
                 ) if names and kept else {}
    for u in kept:
        u["active_days"], u["name"] = len(u["per_day"]), found.get(u["owner"])
    days = _periods(min(totals), max(totals), "day") if totals else []
    return {"days": days, "per_day": [{"date": d, "count": totals.get(d, 0)} for d in days],
            "users": kept, "others": others}


def _ranked_days(scope: Scope, top: int) -> list[tuple] | None:
    """(owner or None for everyone outside the `top` busiest, day, scans) in one query over the
    rollup; None where no rollup serves the scope (the caller then groups the rows)."""
    inner = grouped_sql(scope, ("owner_id",), period="day")
    if inner is None:
        return None
    sql, params = inner
    ranked = (f"WITH g AS ({sql}), "
              f"t AS (SELECT owner_id, {SUM_N} AS scans FROM g GROUP BY owner_id HAVING SUM(n) > 0), "
              "k AS (SELECT owner_id FROM t ORDER BY scans DESC, owner_id LIMIT %s) "
              f"SELECT k.owner_id, g.period, {SUM_N} FROM g LEFT JOIN k ON k.owner_id = g.owner_id "
              "GROUP BY k.owner_id, g.period HAVING SUM(n) > 0")
    with connection.cursor() as cursor:
        cursor.execute(ranked, [*params, top])
        return [(owner, as_date(day), int(n)) for owner, day, n in cursor.fetchall()]


def busiest_users(seen: dict) -> list[dict]:
    """The busiest users of usage(..., names=True), with the days they were active."""
    out = [{"username": u["name"], "scans": u["scans"], "active_days": u["active_days"],
            "per_active_day": round(u["scans"] / u["active_days"], 1)} for u in seen["users"]]
    return sorted(out, key=lambda u: (-u["scans"], u["username"]))


def agreement(scope: Scope) -> dict:
    """The model's class against the reviewer's verdict, for the scans with one: the confusion matrix of
    in-scope scans a reviewer gave a class, the agreement rate over them, and apart from it the
    verdicts that give no comparison (not assessable; out-of-scope images, which have no model class)."""
    matrix = {m: dict.fromkeys(CLASSES, 0) for m in CLASSES}
    not_assessable = out_of_scope = 0
    for r in grouped(scope, ("label", "out_of_scope", "review", "reviewed_label")):
        if r["review"] == cubes.UNREVIEWED:
            continue
        if r["out_of_scope"]:
            out_of_scope += r["n"]
        elif r["reviewed_label"] in CLASSES:
            matrix[r["label"]][r["reviewed_label"]] += r["n"]
        else:
            not_assessable += r["n"]
    reviewed = sum(sum(row.values()) for row in matrix.values())
    agreed = sum(matrix[c][c] for c in CLASSES)
    return {"matrix": matrix, "reviewed": reviewed, "agreed": agreed, "rate": _share(agreed, reviewed),
            "not_assessable": not_assessable, "out_of_scope_reviewed": out_of_scope}
