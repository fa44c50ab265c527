import hashlib
import os
import time
from pathlib import Path

import redis
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from api.tokens import create_token
from scans import bench
from scans.batch_models import BatchJob
from scans.models import Scan

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
        if len(files) < 2 * images + singles:
            raise SystemExit(f"{dataset} holds {len(files)} JPEGs; need {2 * images + singles}")
        load = lambda paths: [(p.name, p.read_bytes()) for p in paths]
        user = User.objects.create_user(f"bench-{int(time.time())}")
        user.groups.add(Group.objects.get_or_create(name="clinician")[0])
        _, token = create_token(user, "bench")
        env = {**os.environ, "API_THROTTLE_UPLOAD": "1000000/min", "API_THROTTLE_USER": "1000000/min",
               "WARM_MODEL": "1", "CELERY_BROKER_URL": ""}
        out = {}
        try:
            server = bench.Server(env, token)
            try:
                times = []
                for name, data in load(files[:singles]):
                    t0 = time.perf_counter()
                    status, _ = server.upload("/api/v1/scans", "image", [(name, data)])
                    times.append((time.perf_counter() - t0) * 1000)
                    assert status == 201, (status, name)
                out["p50"], out["p95"] = bench.percentile(times, 0.5), bench.percentile(times, 0.95)
                batch = load(files[singles:singles + images])
                t0 = time.perf_counter()
                status, body = server.upload("/api/v1/batches", "files", batch)
                out["eager_s"] = time.perf_counter() - t0
                assert status == 201 and body["progress"]["done"] == images, body.get("progress")
                out["web_rss"] = server.peak_rss_mb()
            finally:
                server.stop()
            out.update(self._with_worker(env, token, broker, load(files[singles + images:singles + 2 * images])))
        finally:
            self._clean(user)
        out["model_ips"] = self._model_alone(files[singles:singles + images])
        self._report(out, images)

    def _model_alone(self, paths: list) -> float:
        """The ceiling: images per second through classify() alone, decoded beforehand, in this process."""
        from ml.infer import get_classifier
        from ml.preprocess import load_image

        decoded = [load_image(p.read_bytes(), draft=True) for p in paths]
        clf = get_classifier()
        t0 = time.perf_counter()
        clf.classify(decoded)
        return len(decoded) / (time.perf_counter() - t0)

    def _with_worker(self, env: dict, token: str, broker: str, batch: list) -> dict:
        redis.Redis.from_url(broker).flushdb()
        env = {**env, "CELERY_BROKER_URL": broker}
        worker = bench.start_worker(env)
        server = bench.Server(env, token)
        try:
            time.sleep(8)  # the worker loads the model before it takes tasks
            t0 = time.perf_counter()
            status, body = server.upload("/api/v1/batches", "files", batch)
            assert status == 201, body
            while BatchJob.objects.filter(pk=body["id"], finished__isnull=True).exists():
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            worker_rss = max(bench.peak_rss_mb(p) for p in [worker.pid, *bench.children(worker.pid)])
            return {"worker_s": elapsed, "worker_rss": worker_rss, "web_rss_broker": server.peak_rss_mb()}
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
            (f"{n}-image batch in-process, end to end", f"{o['eager_s']:.1f} s = {n / o['eager_s']:.0f} images/s",
             f"{n / o['eager_s'] / PROTOTYPE_IMAGES_PER_S:.0f}x", ">= 250 images/s"),
            (f"{n}-image batch, one Redis worker, end to end", f"{o['worker_s']:.1f} s = {n / o['worker_s']:.0f} images/s",
             f"{n / o['worker_s'] / PROTOTYPE_IMAGES_PER_S:.0f}x", ">= 250 images/s"),
            ("model alone (classify(), decoded images)", f"{o['model_ips']:.0f} images/s",
             f"{o['model_ips'] / PROTOTYPE_IMAGES_PER_S:.0f}x", "the ceiling for a batch here"),
            ("peak memory per web process", f"{max(o['web_rss'], o['web_rss_broker']):.0f} MB", "", "<= 250 MB"),
            ("peak memory per worker process", f"{o['worker_rss']:.0f} MB", "", ""),
        ]
        self.stdout.write(f"{'measure':46} {'NeuroLens':26} {'vs prototype':14} goal")
        for row in rows:
            self.stdout.write(f"{row[0]:46} {row[1]:26} {row[2]:14} {row[3]}")
        self.stdout.write(f"prototype: {PROTOTYPE_S_PER_IMAGE} s per image, {PROTOTYPE_IMAGES_PER_S:.0f} images/s. "
                          f"Load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.")
