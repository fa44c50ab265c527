"""Times the analytics against whatever the database holds (seed_demo fills it): every page for
every persona (researcher, reviewer, administrator, the busiest clinician), without and with
filters, p50/p95, SQL queries per page and their time; a viewer outside UTC; the full CSV export's
time and memory. Ends with the issue's goals, met or not; the load average says how busy the
machine was. Run it on a database of its own (DATABASE_URL=.../nl_bench)."""

import gc
import logging
import os
import statistics
import time
import tracemalloc
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Sum
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import ROLLUPS
from scans.models import Prediction

PAGES = {"dashboard": "/analytics/", "statistics page": "/analytics/statistics/",
         "statistics API": "/api/v1/analytics/statistics", "REST statistics": "/api/v1/statistics"}
#  The issue's goals: every page and persona, with and without filters (ms); the export (s, MB).
P50_GOAL, P95_GOAL = 50, 100
EXPORT_SECONDS, EXPORT_MB = 5, 50
GOAL_ROWS = 1_000_000  # the export's goal names a million rows


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


class Command(BaseCommand):
    help = "Benchmarks the analytics pages and the CSV export on the current database."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=30)
        parser.add_argument("--filter", default="",
                            help="query string of the filtered runs (default: a month, a class, 70 %%, unreviewed)")

    def handle(self, *args, **options):
        #  As in a served worker (config/wsgi.py): what was loaded at start is out of the collector's sight.
        gc.collect()
        gc.freeze()
        #  django-axes logs every sign-in at INFO; the personas' sign-ins are not figures.
        logging.getLogger("axes").setLevel(logging.WARNING)
        try:
            self._measure(**options)
        finally:
            gc.unfreeze()

    def _measure(self, *, runs, filter, **options):
        self.stdout.write(f"{connection.vendor}, {Prediction.objects.count():,} predictions, {runs} runs per page; "
                          f"{_load()}")
        staff, _ = User.objects.get_or_create(username="demo-staff", defaults={"is_staff": True})
        personas = [("researcher", self._member("demo-researcher", "researcher")),
                    ("reviewer", self._member("demo-reviewer", "reviewer")), ("administrator", staff)]
        #  The busiest clinician: their own scans only (the most rows a clinician's pages read).
        busiest = (ROLLUPS["day_owner"].objects.values("owner_id").order_by().annotate(n=Sum("n"))
                   .order_by("-n").first())
        if busiest:
            personas.append(("busiest clinician", User.objects.get(pk=busiest["owner_id"])))
        filters = filter or self._default_filter()
        self.stdout.write(f"filtered: ?{filters}")
        worst = {"p50": 0.0, "p95": 0.0}
        for who, user in personas:
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            for name, url in PAGES.items():
                for query in ("", filters):
                    p50, p95 = self._page(client, f"{name}, {who}{' (filtered)' if query else ''}", url, runs, query)
                    worst = {"p50": max(worst["p50"], p50), "p95": max(worst["p95"], p95)}
        #  Outside UTC (most viewers): a whole-hour zone, and one half an hour off (India, +5:30).
        for zone, where in (("Europe/Paris", "Paris"), ("Asia/Kolkata", "India")):
            client = Client(HTTP_HOST="localhost")
            client.force_login(personas[0][1])
            client.cookies["tz"] = zone
            for query in ("period=day", f"{filters}&period=day"):
                p50, p95 = self._page(client, f"dashboard by day, researcher in {where}"
                                      f"{' (filtered)' if 'date' in query else ''}", PAGES["dashboard"], runs, query)
                worst = {"p50": max(worst["p50"], p50), "p95": max(worst["p95"], p95)}
        client = Client(HTTP_HOST="localhost")
        client.force_login(staff)
        seconds, growth = self._export(client)
        self.stdout.write(_load())
        self._goal("p50, slowest page and persona", worst["p50"], P50_GOAL, "ms")
        self._goal("p95, slowest page and persona", worst["p95"], P95_GOAL, "ms")
        self._goal("CSV export time, 1,000,000 rows or the whole table if smaller", seconds, EXPORT_SECONDS, "s")
        self._goal("CSV export memory growth", growth, EXPORT_MB, "MB")

    def _default_filter(self) -> str:
        """A month that ends two weeks ago, a class, a minimum confidence and a review status."""
        today = timezone.localdate()
        return (f"date_from={today - timedelta(days=45)}&date_to={today - timedelta(days=15)}"
                "&label=glioma&min_confidence=70&review=unreviewed")

    def _member(self, username: str, group: str) -> User:
        user, made = User.objects.get_or_create(username=username)
        if made:
            user.groups.add(Group.objects.get_or_create(name=group)[0])
        return user

    def _goal(self, what: str, value: float, goal: float, unit: str) -> None:
        verdict = "met" if value <= goal else "NOT met"
        self.stdout.write(f"goal {what}: {value:.1f} {unit} <= {goal} {unit}: {verdict}")

    def _page(self, client: Client, name: str, url: str, runs: int, query: str) -> tuple[float, float]:
        if url.startswith("/api/"):  # the APIs take a confidence as a fraction, the pages in per cent
            params = QueryDict(query, mutable=True)
            if params.get("min_confidence"):
                params["min_confidence"] = str(int(params["min_confidence"]) / 100)
            query = params.urlencode()
        url = f"{url}?{query}" if query else url
        for _ in range(2):
            assert client.get(url).status_code == 200, url
        times, sql, count = [], [], 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
            sql.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
            count = len(queries)
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1] if runs > 1 else times[0]
        self.stdout.write(f"{name:58} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (SQL p50 {statistics.median(sql):5.1f} ms)"
                          f"  {count} queries")
        return p50, p95

    def _export(self, client: Client) -> tuple[float, float]:
        """Streams the whole CSV (time, size, growth of the process's resident size sampled at every
        chunk), then, where the table holds more, the latest days that add up to 1,000,000 rows or more
        (the goal's size: an export a researcher asks for with a date range). Returns the seconds of the
        latter (the whole export where the table is that small) and the whole export's memory growth."""
        seconds, lines, size, growth = self._stream(client, "")
        self.stdout.write(f"CSV export, every row: {lines:,} rows, {size / 2**20:.1f} MB in {seconds:.2f} s; "
                          f"peak RSS growth {growth:.1f} MB")
        query = ""
        if lines > GOAL_ROWS:
            days = (ROLLUPS["day_class"].objects.values("bucket").order_by("-bucket").annotate(n=Sum("n")))
            total = 0
            for day in days:
                total += day["n"]
                if total >= GOAL_ROWS:
                    query = f"date_from={day['bucket'].date()}"
                    break
            seconds, lines, size, _ = self._stream(client, query)
            self.stdout.write(f"CSV export, ?{query}: {lines:,} rows, {size / 2**20:.1f} MB in {seconds:.2f} s")
        tracemalloc.start()
        for _ in client.get(f"/analytics/export.csv?{query}").streaming_content:
            pass
        self.stdout.write(f"  Python peak (tracemalloc) while streaming it: "
                          f"{tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB")
        tracemalloc.stop()
        return seconds, growth

    @staticmethod
    def _stream(client: Client, query: str) -> tuple[float, int, int, float]:
        before = peak = _rss_mb()
        start = time.perf_counter()
        response = client.get(f"/analytics/export.csv?{query}")
        assert response.status_code == 200, query
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
            peak = max(peak, _rss_mb())
        return time.perf_counter() - start, lines - 1, size, peak - before
