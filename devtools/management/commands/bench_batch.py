import hashlib
import os
import time
from pathlib import Path

import redis
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from api.tokens import create_token
from devtools import bench
from ml.infer import get_classifier
from ml.preprocess import load_image
from scans.models import BatchJob, Scan

PROTOTYPE_S_PER_IMAGE, PROTOTYPE_IMAGES_PER_S = 1.2, 7.0
DATASET = Path(settings.BASE_DIR).parent / "shared" / "datasets" / "brain-tumor-mri"


class Command(BaseCommand):
    help = ("Single-upload round trip under gunicorn, a batch end to end in-process and with one Redis "
            "worker, images/s and peak memory, beside the prototype's published figures.")

    def add_arguments(self, parser):
        parser.add_argument("--images", type=int, default=500, help="images per batch")
        parser.add_argument("--singles", type=int, default=60, help="single uploads timed")
        parser.add_argument("--broker", default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12"))
        parser.add_argument("--dataset", default=str(DATASET), help="folder of JPEG slices (searched recursively)")

    def handle(self, images, singles, broker, dataset, **options):
        #  Distinct contents only: a repeated file would be answered as a duplicate, without the model.
        files = list({hashlib.sha256(p.read_bytes()).digest(): p for p in sorted(Path(dataset).rglob("*.jpg"))}.values())
        if len(files) < 3 * images + singles + 2:
            raise SystemExit(f"{dataset} holds {len(files)} distinct JPEGs; need {3 * images + singles + 2}")
        warm_ups = [[(p.name, p.read_bytes())] for p in files[-2:]]  # one per web process, untimed
        load = lambda start: [(p.name, p.read_bytes()) for p in files[start:start + images]]
        user = User.objects.create_user(f"bench-{int(time.time())}")
        user.groups.add(Group.objects.get_or_create(name="clinician")[0])
        _, token = create_token(user, "bench")
        env = {**os.environ, "API_THROTTLE_UPLOAD": "1000000/min", "API_THROTTLE_USER": "1000000/min",
               "WARM_MODEL": "1", "CELERY_BROKER_URL": "", "BATCH_BACKGROUND": "1",
               "API_BATCH_MAX_FILES": str(images), "BATCH_MAX_FILES": str(max(images, 500))}
        out = {}
        try:
            server = bench.Server(env, token)
            try:
                times = []
                for p in files[:singles]:
                    t0 = time.perf_counter()
                    status, _ = server.upload("/api/v1/scans", "image", [(p.name, p.read_bytes())])
                    times.append((time.perf_counter() - t0) * 1000)
                    assert status == 201, (status, p)
                out["p50"], out["p95"] = bench.percentile(times, 0.5), bench.percentile(times, 0.95)
                self._batch(server, warm_ups[0], [])  # the batch thread started, as in a process that ran before
                out["eager_answer_s"], out["eager_s"], out["eager_cpu"] = self._batch(server, load(singles), server.pids())
                batch = load(singles + images)
                t0, cpu0 = time.perf_counter(), bench.cpu_seconds(server.pids())
                status, body = server.upload("/api/predict/batch", "images", batch)
                out["legacy_s"], out["legacy_cpu"] = time.perf_counter() - t0, bench.cpu_seconds(server.pids()) - cpu0
                assert status == 200 and sum("prediction" in b for b in body) == images, (status, body[:1])
                out["web_rss"] = server.peak_rss_mb()
            finally:
                server.stop()
            out.update(self._with_worker(env, token, broker, load(singles + 2 * images), warm_ups[1]))
        finally:
            self._clean(user)
        out["model_ips"] = self._model_alone(files[singles:singles + images])
        self._report(out, images)

    def _batch(self, server, batch: list, pids: list[int]) -> tuple[float, float, float]:
        """POST /api/v1/batches, then wait for its last item: (seconds to the answer, seconds to the end,
        CPU seconds the processes `pids` used meanwhile)."""
        t0, cpu0 = time.perf_counter(), bench.cpu_seconds(pids)
        status, body = server.upload("/api/v1/batches", "files", batch)
        answered = time.perf_counter() - t0
        assert status == 201, body
        while BatchJob.objects.filter(pk=body["id"], finished__isnull=True).exists():
            time.sleep(0.05)
        elapsed, cpu = time.perf_counter() - t0, bench.cpu_seconds(pids) - cpu0
        job = BatchJob.objects.get(pk=body["id"])
        assert job.items.filter(status="done").count() == len(batch), "every image should be classified"
        return answered, elapsed, cpu

    def _model_alone(self, paths: list) -> float:
        """The ceiling: images per second through classify() alone, decoded beforehand, in this process."""
        decoded = [load_image(p.read_bytes(), draft=True) for p in paths]
        clf = get_classifier()
        t0 = time.perf_counter()
        clf.classify(decoded)
        return len(decoded) / (time.perf_counter() - t0)

    def _with_worker(self, env: dict, token: str, broker: str, batch: list, warm_up: list) -> dict:
        redis.Redis.from_url(broker).flushdb()
        env = {**env, "CELERY_BROKER_URL": broker}
        worker = bench.start_worker(env)
        server = bench.Server(env, token)
        try:
            bench.wait_for_worker(broker)
            self._batch(server, warm_up, [])  # the web process's broker connection made, as in one that ran before
            answered, elapsed, cpu = self._batch(server, batch, [*server.pids(), worker.pid, *bench.children(worker.pid)])
            worker_rss = max(bench.peak_rss_mb(p) for p in [worker.pid, *bench.children(worker.pid)])
            return {"worker_answer_s": answered, "worker_s": elapsed, "worker_cpu": cpu, "worker_rss": worker_rss,
                    "web_rss_broker": server.peak_rss_mb()}
        finally:
            server.stop()
            bench.stop(worker)

    def _clean(self, user) -> None:
        BatchJob.objects.filter(owner=user).delete()
        scans = Scan.objects.filter(owner=user)
        storage = Scan._meta.get_field("image").storage
        for name in scans.values_list("image", flat=True):
            storage.delete(name)
        scans.delete()
        user.delete()

    def _report(self, o: dict, n: int) -> None:
        rows = [
            ("single upload, HTTP round trip p50", f"{o['p50']:.0f} ms", f"{PROTOTYPE_S_PER_IMAGE * 1000 / o['p50']:.0f}x faster",
             "<= 40 ms"),
            ("single upload, HTTP round trip p95", f"{o['p95']:.0f} ms", f"{PROTOTYPE_S_PER_IMAGE * 1000 / o['p95']:.0f}x faster", ""),
            *self._batch_rows(f"{n}-image batch in-process (web thread), end to end", o["eager_s"],
                              o["eager_answer_s"], o["eager_cpu"], n),
            *self._batch_rows(f"{n} images, /api/predict/batch in-process", o["legacy_s"], None, o["legacy_cpu"], n),
            *self._batch_rows(f"{n}-image batch, one Redis worker, end to end", o["worker_s"], o["worker_answer_s"],
                              o["worker_cpu"], n),
            ("model alone (classify(), decoded images)", f"{o['model_ips']:.0f} images/s",
             f"{o['model_ips'] / PROTOTYPE_IMAGES_PER_S:.0f}x", "the ceiling for a batch here"),
            ("peak memory per web process", f"{max(o['web_rss'], o['web_rss_broker']):.0f} MB", "", "<= 250 MB"),
            ("peak memory per worker process", f"{o['worker_rss']:.0f} MB", "", ""),
        ]
        self.stdout.write(f"{'measure':56} {'NeuroLens':26} {'vs prototype':14} goal")
        for row in rows:
            self.stdout.write(f"{row[0]:56} {row[1]:26} {row[2]:14} {row[3]}")
        self.stdout.write(f"prototype: {PROTOTYPE_S_PER_IMAGE} s per image, {PROTOTYPE_IMAGES_PER_S:.0f} images/s. "
                          f"Load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.")

    @staticmethod
    def _batch_rows(label: str, seconds: float, answered: float | None, cpu: float, n: int) -> list[tuple]:
        rows = [(label, f"{seconds:.1f} s = {n / seconds:.0f} images/s", f"{n / seconds / PROTOTYPE_IMAGES_PER_S:.0f}x",
                 ">= 250 images/s")]
        if answered is not None:
            rows.append(("  of which the upload until its answer", f"{answered:.1f} s", "", ""))
        #  CPU time, unlike wall time, hardly depends on what else the machine runs.
        rows.append(("  CPU per image (web and worker processes)", f"{cpu * 1000 / n:.1f} ms", "", ""))
        return rows
