"""Times the analytics against whatever the database holds (seed_demo fills it): dashboard p50/p95,
statistics p50, SQL queries per page and their time, and the full CSV export's time and memory.
Ends with the issue's goals, met or not; the load average says how busy the machine was."""

import os
import statistics
import time
import tracemalloc

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from scans.models import Prediction

PAGES = {"dashboard": "/analytics/", "statistics page": "/analytics/statistics/",
         "statistics API": "/api/v1/analytics/statistics"}
#  The issue's goals (ms, s, MB); a page's goal holds for every persona.
GOALS = {"dashboard": 150, "statistics API": 100}
EXPORT_SECONDS, EXPORT_MB = 5, 50


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


class Command(BaseCommand):
    help = "Benchmarks the analytics pages and the CSV export on the current database."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=30)
        parser.add_argument("--filter", default="date_from=2000-01-01&min_confidence=50",
                            help="query string of the filtered run")

    def handle(self, *args, runs, filter, **options):
        self.stdout.write(f"{connection.vendor}, {Prediction.objects.count()} predictions, {runs} runs per page; {_load()}")
        staff, _ = User.objects.get_or_create(username="demo-staff", defaults={"is_staff": True})
        researcher = self._member("demo-researcher", "researcher")
        #  The busiest demo clinician: their own scans only (the most rows a clinician's pages read).
        busiest = (Prediction.objects.filter(owner__groups__name="clinician").values("owner").order_by()
                   .annotate(n=Count("id")).order_by("-n").first())
        clinician = User.objects.get(pk=busiest["owner"]) if busiest else None
        p50s: dict[str, float] = {}
        for user in (researcher, staff, clinician):
            if user is None:
                continue
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            pages = PAGES if user != clinician else {"dashboard": PAGES["dashboard"]}
            for name, url in pages.items():
                p50 = self._page(client, f"{name} ({user.username})", url, runs, filter)
                p50s[name] = max(p50s.get(name, 0), p50)
        client = Client(HTTP_HOST="localhost")
        client.force_login(staff)
        seconds, growth = self._export(client)
        self.stdout.write(_load())
        for name, goal in GOALS.items():
            self._goal(f"{name} p50 (slowest persona)", p50s[name], goal, "ms")
        self._goal("CSV export time", seconds, EXPORT_SECONDS, "s")
        self._goal("CSV export memory growth", growth, EXPORT_MB, "MB")

    def _member(self, username: str, group: str) -> User:
        user, made = User.objects.get_or_create(username=username)
        if made:
            user.groups.add(Group.objects.get_or_create(name=group)[0])
        return user

    def _goal(self, what: str, value: float, goal: float, unit: str) -> None:
        verdict = "met" if value <= goal else "NOT met"
        self.stdout.write(f"goal {what}: {value:.1f} {unit} <= {goal} {unit}: {verdict}")

    def _page(self, client: Client, name: str, url: str, runs: int, filter: str) -> float:
        for _ in range(2):
            assert client.get(url).status_code == 200
        times, sql = [], []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
            sql.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        counts = []
        for query in ("", filter):
            with CaptureQueriesContext(connection) as queries:
                client.get(f"{url}?{query}")
            counts.append(len(queries))
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1] if runs > 1 else times[0]
        self.stdout.write(f"{name:42} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (SQL p50 {statistics.median(sql):5.1f} ms)  "
                          f"queries {counts[0]} (filtered: {counts[1]})")
        return p50

    def _export(self, client: Client) -> tuple[float, float]:
        """Streams the whole CSV; memory is the process's resident size sampled at every chunk."""
        before = peak = _rss_mb()
        start = time.perf_counter()
        response = client.get("/analytics/export.csv")
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
            peak = max(peak, _rss_mb())
        seconds = time.perf_counter() - start
        tracemalloc.start()
        for _ in client.get("/analytics/export.csv").streaming_content:
            pass
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        self.stdout.write(f"CSV export: {lines - 1} rows, {size / 2**20:.1f} MB in {seconds:.2f} s; "
                          f"peak RSS growth {peak - before:.1f} MB, Python peak (tracemalloc) {traced_peak:.1f} MB")
        return seconds, peak - before
