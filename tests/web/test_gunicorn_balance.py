"""Kept-alive connections split evenly over the web workers of `make serve` (config/gunicorn_worker):
many clients connecting at once to two real gunicorn workers, each worker's share counted from the
access log (which names the worker that answered each request)."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from devtools.bench import free_port

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 24


@pytest.fixture
def served(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("two processes need a database server (PostgreSQL)")
    db = connection.settings_dict
    port, log = free_port(), tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "WARM_MODEL": "0", "DJANGO_SETTINGS_MODULE": "config.settings", "MEDIA_ROOT": str(tmp_path / "media"),
           "API_THROTTLE_USER": "100000/min"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "2", "--access-logfile", str(log), "--access-logformat", "%(p)s %(q)s"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("wb"))
    try:
        for _ in range(150):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail((tmp_path / "server.log").read_text()[-2000:])
                time.sleep(0.2)
        _two_workers(proc)
        yield port, log, proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _two_workers(proc, other_than: frozenset = frozenset()) -> frozenset:
    """Wait until the master runs two workers (none of `other_than`): it listens before they run."""
    for _ in range(200):
        found = _children(proc)
        if len(found) == 2 and not found & other_than:
            break
        time.sleep(0.1)
    time.sleep(1.5)
    return found


def _children(proc) -> frozenset:
    return frozenset(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split())


@pytest.mark.parametrize("reloaded", [False, True], ids=["started", "after a reload"])
def test_clients_connecting_at_once_are_shared_evenly_by_the_workers(served, reloaded):
    port, log, proc = served
    if reloaded:  # SIGHUP: new workers replace the old ones and take their slots
        old = _children(proc)
        proc.send_signal(signal.SIGHUP)
        _two_workers(proc, other_than=old)
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(CLIENTS)]

    def call(i: int) -> None:
        for _ in range(4):  # one connection each, kept alive: every request of a client to one worker
            connections[i].request("GET", f"/api/v1/health?client={i}")
            assert connections[i].getresponse().read()

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(call, range(CLIENTS)))
    finally:
        for c in connections:
            c.close()
    time.sleep(0.5)  # gunicorn writes the access line after the answer
    worker_of: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        pid, client = line.split()
        worker_of.setdefault(client, set()).add(pid)
    assert len(worker_of) == CLIENTS and all(len(pids) == 1 for pids in worker_of.values()), "a connection changed worker"
    shares = Counter(next(iter(pids)) for pids in worker_of.values())
    #  Even within a few: on a loaded 2-core machine a worker's published count can lag one turn of
    #  its loop (measured once in a whole-suite run: 14 and 10). gthread's own accepting gave one worker
    #  several times the other's queue; 15 and 9 is the most this allows.
    assert len(shares) == 2 and max(shares.values()) - min(shares.values()) <= 6, shares
