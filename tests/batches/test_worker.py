"""The broker path: real Redis, real `celery worker` processes, one killed with SIGKILL mid-batch.

Delivery is at least once; results must be exactly once: no item lost, no prediction twice.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerDown

from config.celery import app
from scans.batches import tasks
from scans.batches.tasks import classify_items
from scans.models import BatchItem, BatchJob, Prediction, Scan
from tests.api.conftest import token_client
from tests.helpers import png

BROKER = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(settings):
    """Send tasks to Redis instead of running them here, and start from an empty queue."""
    if not django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("the worker process needs a database server to share (DATABASE_URL=postgres://...)")
    try:
        redis.Redis.from_url(BROKER).flushdb()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {BROKER}")
    settings.BATCH_CHUNK = 16
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=BROKER, task_always_eager=False)
    yield
    app._pool, app.amqp._producer_pool = None, None  # the next test opens its own connections
    app.conf.update(saved)
    redis.Redis.from_url(BROKER).flushdb()


def start_worker(settings, **extra_env: str) -> subprocess.Popen:
    db = django_settings.DATABASES["default"]
    env = {**os.environ, **extra_env, "CELERY_BROKER_URL": BROKER, "CELERY_VISIBILITY_TIMEOUT": "5",
           "MEDIA_ROOT": str(settings.MEDIA_ROOT), "BATCH_CHUNK": "16",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1",
                             "--without-gossip", "--without-mingle", "-l", "warning"],
                            cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(worker: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        worker.wait(timeout=30)


def wait_for(condition, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def upload(owner, n: int) -> BatchJob:
    files = [ContentFile(png(96, seed), name=f"s{seed}.png") for seed in range(n)]
    response = token_client(owner).post(reverse("api:batches"), {"files": files})
    assert response.status_code == 201
    return BatchJob.objects.get(pk=response.json()["id"])


def done(batch) -> int:
    return batch.items.filter(status=BatchItem.DONE).count()


def test_a_worker_settles_a_batch_sent_through_redis(broker, owner, settings):
    batch = upload(owner, 40)
    assert done(batch) == 0  # nothing ran in the web process
    worker = start_worker(settings)
    try:
        wait_for(lambda: BatchJob.objects.get(pk=batch.pk).finished is not None)
    finally:
        stop(worker)
    assert done(batch) == 40 and Prediction.objects.count() == 40
    on_disk = {str(p.relative_to(settings.MEDIA_ROOT)) for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}
    assert on_disk == set(Scan.objects.values_list("image", flat=True))  # nothing staged is left


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(broker, owner, settings):
    batch = upload(owner, 160)
    worker = start_worker(settings)
    try:
        wait_for(lambda: done(batch) >= 16)
        stop(worker, signal.SIGKILL)
        left = batch.items.filter(status=BatchItem.PENDING).count()
        assert 0 < left < 160, "the kill should land mid-batch"
        time.sleep(1)
        assert batch.items.filter(status=BatchItem.PENDING).count() == left  # nobody else is working
        worker = start_worker(settings)
        wait_for(lambda: BatchJob.objects.get(pk=batch.pk).finished is not None)
        #  Every item delivered once more: a redelivery must store nothing new.
        classify_items.delay(list(batch.items.values_list("pk", flat=True)))
        time.sleep(3)
    finally:
        stop(worker)
    assert done(batch) == 160 and not batch.items.exclude(status=BatchItem.DONE).exists()
    assert Scan.objects.count() == 160 and Prediction.objects.count() == 160
    assert set(batch.items.values_list("scan__prediction__id", flat=True)) == set(
        Prediction.objects.values_list("id", flat=True))
    #  No file without its row, wherever the kill landed (between a file's write and the commit too).
    on_disk = {str(p.relative_to(settings.MEDIA_ROOT)) for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}
    assert on_disk == set(Scan.objects.values_list("image", flat=True))


def test_a_live_worker_takes_up_work_lost_to_a_broker_outage_without_a_restart(broker, owner, settings, monkeypatch):
    """Issue 12, finding 6 on the broker path: the sends of a batch fail (the broker was down for a
    moment), and the worker, which stays up all along, finishes the batch through its own sweep."""
    worker = start_worker(settings, BATCH_SWEEP_S="1", BATCH_RETRY_S="1")
    try:
        wait_for(lambda: bool(app.control.ping(timeout=0.5)), timeout=120)
        real = tasks._send

        def refused(ids):
            raise BrokerDown("connection refused")

        monkeypatch.setattr(tasks, "_send", refused)
        batch = upload(owner, 20)
        monkeypatch.setattr(tasks, "_send", real)
        assert done(batch) == 0 and batch.items.filter(status=BatchItem.PENDING).count() == 20
        wait_for(lambda: BatchJob.objects.get(pk=batch.pk).finished is not None, timeout=120)
        assert worker.poll() is None  # the same worker process, never restarted
    finally:
        stop(worker)
    assert done(batch) == 20 and Prediction.objects.count() == 20
