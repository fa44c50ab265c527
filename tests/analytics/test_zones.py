"""Per-day and per-week figures for a viewer outside UTC: on PostgreSQL they come from day rollups with
the boundary hours (those whose day in the viewer's zone is not their UTC date) moved from one day
to the other; they must equal what grouping the prediction rows gives, in every zone, across a
daylight-saving change, with and without dates and filters."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from analytics import queries
from analytics.scope import (
    HOUR,
    WHOLE_DAY_FROM_HOURS,
    Scope,
    _fetch,
    _fetch_sql,
    _floor,
    _full_plan,
    _grouped_rows,
    _local_days,
    _rollup_parts,
    _rollup_sql,
    grouped,
    predictions,
)
from scans.models import Prediction, Scan
from tests.analytics.conftest import CLASSES

pytestmark = pytest.mark.django_db
#  Around the end of summer time in Europe (25 Oct 2026) and in the United States (1 Nov 2026).
FIRST = datetime(2026, 10, 22, tzinfo=UTC)
ZONES = ("Europe/Paris", "Asia/Kolkata", "America/New_York", "America/St_Johns")


@pytest.fixture
def every_hour(owner, colleague):
    """A prediction every hour for 12 days, some hours two, owners and classes varying."""
    rows = []
    for i in range(12 * 24):
        at = FIRST + timedelta(hours=i, minutes=(7 * i) % 60)
        for k in range(1 + (i % 5 == 0)):
            label = CLASSES[(i + k) % 4]
            who = owner if (i + k) % 3 else colleague
            confidence = 0.4 + ((i * 13 + k) % 60) / 100
            scan = Scan.objects.create(owner=who, created=at, original_name=f"s{i}-{k}.png", image="demo/none.png",
                                       sha256=f"{i * 2 + k:064x}", format="PNG", width=64, height=64, size_bytes=1)
            rest = (1 - confidence) / 3
            rows.append(Prediction(scan=scan, label=label, confidence=confidence, model_version="v1",
                                   inference_ms=10, created=at, out_of_scope=(i % 17 == 0),
                                   **{f"prob_{c}": confidence if c == label else rest for c in CLASSES}))
    Prediction.objects.bulk_create(rows)
    return owner


def same(a: list[dict], b: list[dict]) -> bool:
    def norm(rows):
        return sorted(tuple(sorted((k, v) for k, v in r.items() if k in ("owner_id", "label", "out_of_scope",
                                                                         "period", "n", "conf_micro")))
                      for r in rows if r["n"])
    return norm(a) == norm(b)


@pytest.mark.parametrize("zone", ZONES)
def test_days_and_weeks_outside_utc_equal_the_rows_grouped(every_hour, zone):
    tz = ZoneInfo(zone)
    scopes = [Scope(tz=tz), Scope(tz=tz, label="glioma", min_pct=70), Scope(tz=tz, owner=every_hour.pk),
              Scope(tz=tz).with_dates(date(2026, 10, 24), date(2026, 10, 26)),
              Scope(tz=tz, review="unreviewed").with_dates(date(2026, 10, 25), date(2026, 10, 25)),
              Scope(tz=tz).with_dates(None, date(2026, 10, 30)), Scope(tz=tz).with_dates(date(2026, 10, 28), None)]
    for scope in scopes:
        spans_a_utc_day = not (scope.start and scope.end) or scope.end - scope.start >= timedelta(days=2)
        if connection.vendor == "postgresql" and spans_a_utc_day:  # a single day: its hours are read
            assert _local_days(scope, {"owner_id"}, False, "day") is not None  # the day rollups are read
        for dims, period in ((("owner_id",), "day"), (("label", "out_of_scope"), "week"), ((), "day")):
            assert same(grouped(scope, dims, period), _grouped_rows(scope, dims, period, False, False)), \
                (zone, scope, dims, period)


def test_the_usage_chart_outside_utc_counts_each_scan_on_its_local_day(every_hour):
    tz = ZoneInfo("Asia/Kolkata")
    seen = queries.usage(Scope(tz=tz), top=1)
    by_day: dict[date, int] = {}
    for p in Prediction.objects.all():
        #  The UTC hour a scan falls in belongs to the local day that hour starts in (18:00 UTC is 23:30
        #  in India: that day; 19:00 UTC is 00:30: the next).
        day = p.created.replace(minute=0, second=0, microsecond=0).astimezone(tz).date()
        by_day[day] = by_day.get(day, 0) + 1
    assert {d["date"]: d["count"] for d in seen["per_day"] if d["count"]} == by_day
    assert sum(by_day.values()) == Prediction.objects.count()


@pytest.mark.parametrize("zone", ZONES)
def test_the_timeline_outside_utc_counts_each_scan_on_its_local_day_by_class(every_hour, zone):
    """The timeline's one row per period (a column per class) against the prediction rows counted here."""
    tz = ZoneInfo(zone)
    for scope in (Scope(tz=tz), Scope(tz=tz, label="glioma", min_pct=70),
                  Scope(tz=tz, review="unreviewed").with_dates(date(2026, 10, 24), date(2026, 10, 26))):
        for period in ("day", "week"):
            expected: dict[date, dict] = {}
            for p in predictions(scope):
                day = p.created.replace(minute=0, second=0, microsecond=0).astimezone(tz).date()
                start = day - timedelta(days=day.weekday()) if period == "week" else day
                slot = expected.setdefault(start, {"counts": dict.fromkeys(CLASSES, 0), "out_of_scope": 0})
                if p.out_of_scope:
                    slot["out_of_scope"] += 1
                else:
                    slot["counts"][p.label] += 1
            seen = queries.timeline(scope, period)
            assert {s["start"]: {"counts": s["counts"], "out_of_scope": s["out_of_scope"]}
                    for s in seen if s["total"]} == expected, (zone, scope, period)
            assert all(s["total"] == sum(s["counts"].values()) + s["out_of_scope"] for s in seen)
            assert len(expected) > 1, (zone, scope, period)  # not two empty timelines


@pytest.mark.parametrize("zone", ZONES)
def test_an_edge_covering_most_of_a_utc_day_is_the_day_less_its_other_hours(every_hour, zone):
    """A date range in a zone east of UTC ends at 22:00 or 23:00 UTC (west: starts at 04:00 or 05:00): that
    UTC day is read whole from a day rollup, and the hours outside the range taken back out; every figure
    still equals the rows grouped, with and without days, and the first and last bucket (`span`) still
    read the edge hours as they are."""
    tz = ZoneInfo(zone)
    scope = Scope(tz=tz).with_dates(date(2026, 10, 24), date(2026, 10, 29))
    edges = [(lo, hi) for lo, hi in ((scope.start, _floor(scope.start, "day") + timedelta(days=1)),
                                     (_floor(scope.end, "day"), scope.end)) if hi - lo >= WHOLE_DAY_FROM_HOURS * HOUR]
    assert edges, zone  # each of these zones has such an edge
    #  Per day or week outside UTC only PostgreSQL reads day rollups (_local_days); SQLite reads hours.
    for period in (None, "day", "week") if connection.vendor == "postgresql" else (None,):
        plan = _full_plan(scope, ("label",), period, False)
        taken_out = [bounds for _, bounds, _, sign in plan if sign < 0 and bounds[0] == "ranges"]
        assert taken_out, (zone, period)
        assert not any(sign < 0 and bounds[0] == "ranges" for _, bounds, _, sign in
                       _full_plan(scope, ("label",), period, False, whole_days=False)), (zone, period)
    for dims, period in ((("label", "out_of_scope", "conf_pct"), None), (("owner_id",), "day"), (("label",), "week"),
                         (("out_of_scope",), None)):
        assert same(grouped(scope, dims, period), _grouped_rows(scope, dims, period, False, False)), (zone, dims, period)
    #  The first and last bucket of each class hold its first and last prediction, inside the range.
    spans = {r["label"]: r for r in grouped(scope, ("label",), span=True)}
    rows = {r["label"]: r for r in _grouped_rows(scope, ("label",), None, False, True)}
    assert {k: r["n"] for k, r in spans.items()} == {k: r["n"] for k, r in rows.items()}, zone
    for label, r in rows.items():
        first, last = spans[label]["first"], spans[label]["last"]
        assert scope.start <= first <= r["first"] < queries._bucket_end(first), (zone, label)
        assert last <= r["last"] < min(queries._bucket_end(last), scope.end), (zone, label)


@pytest.mark.parametrize("zone", ("UTC", "Asia/Kolkata"))
def test_a_minimum_confidence_in_whole_tens_reads_deciles_and_counts_the_same(every_hour, zone):
    """Per user under a minimum confidence: in whole tens from the rollups of deciles, otherwise (or where a
    figure groups by the confidence) from the 1 % bins; every way equals the rows grouped."""
    tz = ZoneInfo(zone)
    for pct, table in ((0, "full10"), (70, "full10"), (73, "full"), (100, "full10")):
        scope = Scope(tz=tz, min_pct=pct).with_dates(date(2026, 10, 23), date(2026, 10, 30))
        read = {model._meta.db_table for model, *_ in _full_plan(scope, ("owner_id",), "day", False)}
        assert read and all(t.split("_", 2)[-1] == table for t in read), (pct, read)
        grouped_by_conf = {model._meta.db_table for model, *_ in _full_plan(scope, ("owner_id", "conf_pct"), None, False)}
        assert not any(t.endswith("full10") for t in grouped_by_conf), (pct, grouped_by_conf)
        for dims, period in ((("owner_id",), "day"), (("owner_id",), None), (("owner_id", "conf_pct"), None)):
            assert same(grouped(scope, dims, period), _grouped_rows(scope, dims, period, False, False)), (pct, dims)
        if pct == 100:
            assert not grouped(scope, ("owner_id",), None)  # the fixture has no certain prediction
        elif pct == 0:
            assert sum(r["n"] for r in grouped(scope, ("owner_id",), None)) == predictions(scope).count() > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL is written directly on PostgreSQL only")
def test_a_day_rollup_read_by_day_and_all_its_dimensions_is_not_grouped_again(every_hour):
    """Its rows are the groups already (the usage chart: owners per day), so the query reads them as they
    are; the boundary hours and a rollup with more dimensions than asked for are still grouped."""
    for zone in ("UTC", "Europe/Paris"):
        day, *rest = _rollup_sql(Scope(tz=ZoneInfo(zone)), ("owner_id",), "day", False)
        assert '"analytics_day_usage"' in day[0] and "GROUP BY" not in day[0] and "SUM(" not in day[0], zone
        assert all("GROUP BY" in sql for sql, _ in rest) and len(rest) == (zone != "UTC")
    [(filtered, _)] = _rollup_sql(Scope(label="glioma"), ("owner_id",), "day", False)
    assert '"analytics_day_owner"' in filtered and "GROUP BY" in filtered


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL is written directly on PostgreSQL only")
@pytest.mark.parametrize("zone", ("UTC", *ZONES))
def test_the_sql_written_directly_gives_what_the_orm_queries_give(every_hour, zone):
    """On PostgreSQL the rollup queries are written as SQL (_rollup_sql), not built as querysets; both
    must give the same groups for every plan: months, days and hours, boundary hours, filters, the
    class a scan stands at, and counting without the confidence sum."""
    tz = ZoneInfo(zone)
    scopes = [Scope(tz=tz), Scope(tz=tz, label="glioma", min_pct=70, review="unreviewed"), Scope(tz=tz, min_pct=55),
              Scope(tz=tz, owner=every_hour.pk, out_of_scope=True), Scope(tz=tz, headline_label="meningioma"),
              Scope(tz=tz, user=every_hour.pk, model_version="v1").with_dates(date(2026, 10, 24), date(2026, 10, 29)),
              Scope(tz=tz).with_dates(None, date(2026, 10, 30)), Scope(tz=tz).with_dates(date(2026, 10, 28), None)]
    shapes = [(("owner_id",), "day", False), (("label", "out_of_scope"), "week", False), ((), "day", False),
              (("label", "out_of_scope", "conf_pct"), None, False), (("model_version", "ms_bin"), None, True)]
    for scope in scopes:
        for dims, period, timing in shapes:
            written = _rollup_sql(scope, dims, period, timing)
            orm = _rollup_parts(scope, dims, period, timing, False)
            if orm is None:  # no rollup serves it (times have no confidence or review): the rows answer
                assert written is None and timing, (zone, scope, dims)
                continue
            assert written is not None, (zone, scope, dims)
            #  The SQL reads the boundary hours once for both of their days: one part fewer per such pair.
            moved = sum(1 for _, bounds, *_ in _full_plan(scope, dims, period, timing)
                        if bounds[0] == "boundary") // 2 if period else 0
            assert len(written) == len(orm) - moved, (zone, scope, dims, period)
            by_sql = summed([_fetch_sql(sql, params) for sql, params in written])
            by_orm = summed([_fetch(qs) for qs in orm])
            assert by_sql == by_orm, (zone, scope, dims, period)
            assert any(n for n, _ in by_orm.values()) or scope.out_of_scope, (zone, scope, dims)  # not two empty sets


def summed(parts: list[list[dict]]) -> dict[tuple, tuple[int, int]]:
    """Every group's count and confidence sum over all parts (a group may come once per part), the
    groups that sum to nothing left out."""
    out: dict[tuple, list[int]] = {}
    for rows in parts:
        for r in rows:
            key = tuple(sorted((k, v) for k, v in r.items() if k not in ("n", "conf_micro")))
            o = out.setdefault(key, [0, 0])
            o[0] += r["n"] or 0
            o[1] += r.get("conf_micro") or 0
    return {k: (n, c) for k, (n, c) in out.items() if n or c}
