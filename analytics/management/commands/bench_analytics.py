"""Times the analytics against whatever the database holds (seed_demo fills it): dashboard p50/p95,
statistics p50, SQL queries per page, and the full CSV export's time and memory."""

import resource
import statistics
import time
import tracemalloc

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from scans.models import Prediction

PAGES = {"dashboard": "/analytics/", "statistics page": "/analytics/statistics/",
         "statistics API": "/api/v1/analytics/statistics"}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class Command(BaseCommand):
    help = "Benchmarks the analytics pages and the CSV export on the current database."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=30)
        parser.add_argument("--filter", default="date_from=2000-01-01&min_confidence=50",
                            help="query string of the filtered run")

    def handle(self, *args, runs, filter, **options):
        self.stdout.write(f"{connection.vendor}, {Prediction.objects.count()} predictions, {runs} runs per page")
        staff, _ = User.objects.get_or_create(username="demo-staff", defaults={"is_staff": True})
        researcher, made = User.objects.get_or_create(username="demo-researcher")
        if made:
            researcher.groups.add(Group.objects.get_or_create(name="researcher")[0])
        for user in (researcher, staff):
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            for name, url in PAGES.items():
                self._page(client, f"{name} ({user.username})", url, runs, filter)
        client = Client(HTTP_HOST="localhost")
        client.force_login(staff)
        self._export(client)

    def _page(self, client: Client, name: str, url: str, runs: int, filter: str) -> None:
        for _ in range(2):
            assert client.get(url).status_code == 200
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        counts = []
        for query in ("", filter):
            with CaptureQueriesContext(connection) as queries:
                client.get(f"{url}?{query}")
            counts.append(len(queries))
        p95 = statistics.quantiles(times, n=20)[-1]
        self.stdout.write(f"{name:38} p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  "
                          f"queries {counts[0]} (filtered: {counts[1]})")

    def _export(self, client: Client) -> None:
        before = _rss_mb()
        start = time.perf_counter()
        response = client.get("/analytics/export.csv")
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - start
        peak_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
        tracemalloc.start()
        for _ in client.get("/analytics/export.csv").streaming_content:
            pass
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        self.stdout.write(f"CSV export: {lines - 1} rows, {size / 2**20:.1f} MB in {seconds:.2f} s; "
                          f"peak RSS growth {max(peak_growth, 0):.1f} MB, Python peak (tracemalloc) {traced_peak:.1f} MB")
