"""The serving path under `make serve` (issue 15): how fast a web process is ready, how much memory it
holds through a 500-image batch, how many concurrent uploads the server sustains, and where one upload's
time goes. Every figure is wall clock on this machine, printed with the load average beside it: take
final figures with nothing else running.

    manage.py bench_serve startup | memory | load | profile   (several at once, or none: all four)
"""

from __future__ import annotations

import contextlib
import cProfile
import hashlib
import http.client
import io
import os
import pstats
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client, override_settings

from api.tokens import create_token
from devtools import bench, load
from devtools.stages import Timers
from scans.models import BatchJob, Scan

DATASET = Path(settings.BASE_DIR).parent / "shared" / "datasets"
PARTS = ("startup", "memory", "load", "profile")
GOALS = {"ready": 0.3, "rss": 150, "ups": 150, "p95": 300}


def _load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


class Command(BaseCommand):
    help = "Web process start-up, memory through a 500-image batch, concurrent upload throughput, and a per-stage profile."

    def add_arguments(self, parser):
        parser.add_argument("parts", nargs="*", help=f"what to measure: {', '.join(PARTS)} (default: all)")
        parser.add_argument("--clients", type=int, default=32, help="concurrent clients (load)")
        parser.add_argument("--uploads", type=int, default=3000, help="uploads in the concurrent run (load)")
        parser.add_argument("--sequential", type=int, default=200, help="uploads one at a time first (load)")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")),
                            help="gunicorn workers (load)")
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")),
                            help="threads per worker (load)")
        parser.add_argument("--images", type=int, default=500, help="images in the batch (memory)")
        parser.add_argument("--profile-uploads", type=int, default=200, help="uploads timed per stage (profile)")
        parser.add_argument("--cprofile", type=Path, metavar="FILE",
                            help="also write a cProfile of the timed uploads to FILE and print its top functions (profile)")
        parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                            help="profile: time each stage by the wall clock (waits on the database included) or by "
                                 "this thread's CPU time (the web process's own work)")
        parser.add_argument("--restarts", type=int, default=5, help="worker restarts timed (startup)")
        parser.add_argument("--dataset", default=str(DATASET), help="folder of JPEG slices (searched recursively)")

    def handle(self, parts, dataset, **o):
        parts = parts or list(PARTS)
        if set(parts) - set(PARTS):
            raise SystemExit(f"unknown part(s) {', '.join(sorted(set(parts) - set(PARTS)))}; choose from {', '.join(PARTS)}")
        self.stdout.write(f"bench_serve {' '.join(parts)}: {_load_average()} at the start")
        paths = sorted(Path(dataset).rglob("*.jpg"))
        self.files = list({hashlib.sha256(b := p.read_bytes()).digest(): (p.name, b) for p in paths}.values())
        self.users: list[User] = []
        self.token = self._clinician_token()
        self.env = {**os.environ, "API_THROTTLE_UPLOAD": "100000000/min", "API_THROTTLE_USER": "100000000/min",
                    "WARM_MODEL": "1", "CELERY_BROKER_URL": "", "BATCH_BACKGROUND": "1", "PYTHONUNBUFFERED": "1",
                    "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")}  # as make serve runs gunicorn
        self.used = 0  # files handed out so far: every upload of a run is a file not uploaded before
        try:
            for part in parts:
                getattr(self, f"_{part}")(o)
        finally:
            for user in self.users:
                self._clean(user)
        self.stdout.write(f"done: {_load_average()} at the end")

    def _clinician_token(self) -> str:
        user = User.objects.create_user(f"bench-serve-{int(time.time())}-{len(self.users)}")
        user.groups.add(Group.objects.get_or_create(name="clinician")[0])
        self.users.append(user)
        return create_token(user, "bench_serve")[1]

    def _take(self, n: int) -> list[tuple[str, bytes]]:
        if self.used + n > len(self.files):
            raise SystemExit(f"the data set has {len(self.files)} distinct slices; this run needs "
                             f"{self.used + n}: ask for fewer uploads")
        taken = self.files[self.used:self.used + n]
        self.used += n
        return taken

    # -- start-up -------------------------------------------------------------------------------------

    def _startup(self, o) -> None:
        imports = [self._import_seconds(warm) for warm in (False, True) for _ in range(3)]
        self.stdout.write("\nstart-up")
        self.stdout.write(f"  import config.wsgi as make serve's master does (the app, every URL module), median of 3: "
                          f"{sorted(imports[:3])[1]:.2f} s; with the model loaded too: {sorted(imports[3:])[1]:.2f} s")
        for label, args in (("make serve (preloaded master, config/gunicorn.py)", (*bench.SERVE, "--workers", "1")),
                            ("plain gunicorn config.wsgi (each worker loads all)", ("--workers", "1"))):
            ready, restart = self._restarts(args, o["restarts"])
            verdict = "meets" if max(ready) <= GOALS["ready"] else "misses"
            self.stdout.write(f"  {label}: worker fork -> first /health answered with the model loaded: "
                              f"median {sorted(ready)[len(ready) // 2]:.3f} s, worst {max(ready):.3f} s "
                              f"({verdict} <= {GOALS['ready']} s); worker killed -> answered again: "
                              f"median {sorted(restart)[len(restart) // 2]:.3f} s")
        self.stdout.write(f"  {_load_average()}")

    def _import_seconds(self, warm: bool) -> float:
        code = "import time; t = time.perf_counter(); import config.wsgi; print(time.perf_counter() - t)"
        env = {**self.env, "WARM_MODEL": "1" if warm else "0", "NEUROLENS_PRELOAD": "1"}
        out = subprocess.run([sys.executable, "-c", code], cwd=bench.ROOT, env=env, check=True,
                             capture_output=True, text=True).stdout
        return float(out.strip().splitlines()[-1])

    def _restarts(self, args: tuple, times: int) -> tuple[list[float], list[float]]:
        """Kill the one worker `times` times; each time, how long from its successor's fork (the kernel's
        start time of the process, 10 ms steps) and from the kill until /health answers 200 with the model."""
        server = bench.Server(self.env, self.token, args)
        ready, restart = [], []
        try:
            for _ in range(times):
                (old,) = bench.children(server.proc.pid)
                killed = _now()
                os.kill(old, signal.SIGKILL)
                answered = self._first_health(server.port)
                new = [p for p in bench.children(server.proc.pid) if p != old]
                ready.append(answered - _started_at(new[0]))
                restart.append(answered - killed)
        finally:
            server.stop()
        return ready, restart

    @staticmethod
    def _first_health(port: int) -> float:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", "/health")
                response = conn.getresponse()
                body = response.read()
                if response.status == 200 and b'"loaded": true' in body:
                    return _now()
            except OSError:
                time.sleep(0.002)
            finally:
                conn.close()
        raise RuntimeError("the worker did not come back")

    # -- memory ---------------------------------------------------------------------------------------

    def _memory(self, o) -> None:
        n = o["images"]
        self.stdout.write(f"\nmemory: {n} distinct slices, one gunicorn worker as make serve runs it")
        for label, path, field in ((f"POST /api/predict/batch ({n} files, one request)", "/api/predict/batch", "images"),
                                   (f"POST /api/v1/batches ({n} files, the process's batch thread)", "/api/v1/batches",
                                    "files")):
            server = bench.Server(self.env, self.token, (*bench.SERVE, "--workers", "1"))
            try:
                (worker,) = bench.children(server.proc.pid)
                before = bench.peak_rss_mb(worker)
                status, body = server.upload(path, field, self._take(n))
                assert status in (200, 201), (status, str(body)[:300])
                if path == "/api/v1/batches":
                    while BatchJob.objects.filter(pk=body["id"], finished__isnull=True).exists():
                        time.sleep(0.1)
                peak = bench.peak_rss_mb(worker)
                master = bench.peak_rss_mb(server.proc.pid)
            finally:
                server.stop()
            verdict = "meets" if peak <= GOALS["rss"] else "misses"
            self.stdout.write(f"  {label}: worker peak resident {peak:.0f} MB ({verdict} <= {GOALS['rss']} MB; "
                              f"{before:.0f} MB before the request), master {master:.0f} MB")
        self.stdout.write(f"  {_load_average()}")

    # -- throughput -----------------------------------------------------------------------------------

    def _load(self, o) -> None:
        args = (*bench.SERVE, "--workers", str(o["workers"]), "--threads", str(o["threads"]))
        server = bench.Server(self.env, self.token, args)
        try:
            self.stdout.write(f"\nthroughput: POST /api/v1/scans, distinct slices, one user per client, gunicorn {o['workers']} workers x "
                              f"{o['threads']} threads (config/gunicorn.py), PostgreSQL")
            pids = server.pids()
            deadline = time.monotonic() + 30
            while len(pids) < 1 + o["workers"] and time.monotonic() < deadline:  # every worker forked, or its CPU is missed
                time.sleep(0.05)
                pids = server.pids()
            #  One clinician per client, as at a hospital: each user's throttle rows are their own.
            tokens = [self.token] + [self._clinician_token() for _ in range(o["clients"] - 1)]
            for clients, count in ((1, o["sequential"]), (o["clients"], o["uploads"])):
                requests = [self._request(name, data, tokens[i % clients])
                            for i, (name, data) in enumerate(self._take(count))]
                cpu0, db0, client0 = bench.cpu_seconds(pids), bench.process_cpu("postgres"), time.process_time()
                out = load.run(server.port, requests, clients)
                cpu = bench.cpu_seconds(pids) - cpu0
                others = {"PostgreSQL": bench.cpu_since(db0, bench.process_cpu("postgres")),
                          "load client": time.process_time() - client0}
                self._report_load(clients, out, cpu, others)
        finally:
            server.stop()

    @staticmethod
    def _request(name: str, data: bytes, token: str) -> bytes:
        body, ctype = bench.multipart("image", [(name, data)])
        return load.request_bytes("/api/v1/scans", body, {"Authorization": f"Token {token}", "Content-Type": ctype})

    def _report_load(self, clients: int, out: load.Outcome, cpu: float, others: dict[str, float]) -> None:
        done = len(out.latencies_ms)
        rate = done / out.seconds if out.seconds else 0.0
        p50, p95, p99 = (load.percentile(out.latencies_ms, q) for q in (0.5, 0.95, 0.99))
        errors = out.errors(201)
        label = "sequential, 1 client" if clients == 1 else f"{clients} concurrent clients"
        self.stdout.write(f"  {label:22} {done} uploads in {out.seconds:.1f} s = {rate:.0f} uploads/s; "
                          f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms; errors {errors}"
                          f"{' ' + str(out.statuses) + ' ' + str(out.failures[:3]) if errors else ''}; "
                          f"server CPU {cpu * 1000 / max(done, 1):.1f} ms per upload; {_load_average()}")
        #  Everything shares the 2 cores: what the database and the load client cost per upload too.
        per = {"gunicorn workers": cpu, **others}
        self.stdout.write("  CPU per upload (ms): " + ", ".join(f"{k} {v * 1000 / max(done, 1):.1f}" for k, v in per.items())
                          + f"; {sum(per.values()) * 1000 / max(done, 1):.1f} in all, "
                          f"{sum(per.values()) / max(out.seconds, 1e-9):.2f} of {os.cpu_count()} cores busy")
        if clients > 1:  # a split in two shows clients served unevenly (connections held by one worker)
            self.stdout.write("  latency by tenths, fastest to slowest (ms): "
                              + " ".join(f"{load.percentile(out.latencies_ms, q / 10):.0f}" for q in range(11)))
        if clients > 1:
            met = rate >= GOALS["ups"] and p95 <= GOALS["p95"] and errors == 0
            self.stdout.write(f"  goal >= {GOALS['ups']} uploads/s, p95 <= {GOALS['p95']} ms, 0 errors: "
                              f"{'met' if met else 'not met'}")

    # -- where an upload's time goes ------------------------------------------------------------------

    def _profile(self, o) -> None:
        n = o["profile_uploads"]
        files = self._take(n + 6)
        client = Client(HTTP_AUTHORIZATION=f"Token {self.token}", HTTP_HOST="127.0.0.1")
        with override_settings(API_THROTTLE_RATES={"user": "100000000/min", "upload": "100000000/min"}):
            for name, data in files[:5]:  # the model, the connection and the code paths warmed
                client.post("/api/v1/scans", {"image": _named(name, data)})
            statements: list[str] = []
            with connection.execute_wrapper(lambda run, sql, *args: statements.append(sql) or run(sql, *args)):
                client.post("/api/v1/scans", {"image": _named(*files[5])})
            timers = Timers(time.thread_time if o["clock"] == "cpu" else time.perf_counter)
            timers.install()
            profiler = None
            if o.get("cprofile"):  # on the same clock as the stages: --clock cpu leaves database waits out
                profiler = cProfile.Profile(time.thread_time) if o["clock"] == "cpu" else cProfile.Profile()
            sql_ms: dict[str, float] = {}

            def timed_sql(run, sql, *args):
                t0 = time.perf_counter()
                try:
                    return run(sql, *args)
                finally:
                    key = " ".join(sql.split())[:110]
                    sql_ms[key] = sql_ms.get(key, 0.0) + (time.perf_counter() - t0) * 1000

            stack = contextlib.ExitStack()
            if o["verbosity"] > 1:  # each statement's time from send to result (PostgreSQL's work and the round trip)
                stack.enter_context(connection.execute_wrapper(timed_sql))
            try:
                for name, data in files[6:]:
                    upload = {"image": _named(name, data)}
                    if profiler:
                        profiler.enable()
                    response = client.post("/api/v1/scans", upload)
                    if profiler:
                        profiler.disable()
                    assert response.status_code == 201, response.content[:300]
            finally:
                stack.close()
                timers.uninstall()
        self.stdout.write(f"\nwhere one upload's {'CPU time (this thread)' if o['clock'] == 'cpu' else 'time'} goes "
                          f"(POST /api/v1/scans in this process, {n} distinct slices, one at a time; a stage includes "
                          f"the ones indented under it)")
        self.stdout.write(f"  {'stage':48} {'ms':>7} {'share':>6}")
        for label, ms, share in timers.table(n):
            self.stdout.write(f"  {label:48} {ms:7.2f} {share:6.1%}")
        kinds = [sql.split()[0].upper() for sql in statements]
        self.stdout.write(f"  SQL statements per upload: {len(kinds)} "
                          f"({', '.join(f'{k} {kinds.count(k)}' for k in dict.fromkeys(kinds))})")
        if o["verbosity"] > 1:
            for sql in statements:
                self.stdout.write(f"    {sql[:160]}")
            self.stdout.write("  each statement, ms per upload from send to result"
                              + (" (with --cprofile's own cost in them):" if profiler else ":"))
            for key, ms in sorted(sql_ms.items(), key=lambda kv: -kv[1]):
                self.stdout.write(f"    {ms / n:6.2f}  {key}")
        if profiler:
            profiler.dump_stats(o["cprofile"])
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
            self.stdout.write(f"\ncProfile of the {n} uploads (the test client's request building included), "
                              f"written to {o['cprofile']}:\n{out.getvalue()}")
        self.stdout.write(f"  {_load_average()}")

    def _clean(self, user) -> None:
        BatchJob.objects.filter(owner=user).delete()
        scans = Scan.objects.filter(owner=user)
        storage = Scan._meta.get_field("image").storage
        for name in scans.values_list("image", flat=True).iterator():
            storage.delete(name)
        scans.delete()
        user.delete()


def _named(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "image/jpeg")


def _now() -> float:
    """Seconds since boot, on the clock the kernel dates processes with."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def _started_at(pid: int) -> float:
    """When the process was created (its fork), in seconds since boot (the kernel counts in 10 ms ticks)."""
    ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    return ticks / os.sysconf("SC_CLK_TCK")
