"""gunicorn's threaded worker, taking no more than its share of kept-alive connections.

A client that keeps its connection alive stays with the worker that accepted it. gunicorn's own
gthread workers accept whatever reaches them first, and when many clients connect at once the worker
that happens to be awake takes most of them: measured with 32 clients on 2 workers, half the uploads
were answered in 14-54 ms and the other half in 360-414 ms, one worker's queue being several times
the other's (`bench_serve load`, "latency by tenths"). Here a worker stops accepting while it holds
more connections than the least busy worker (and at least as many as it has threads), so the others
take the next ones; connections then split evenly and every client waits about as long.

Each worker publishes its count in a small array shared by all of them (made before the fork, in the
master, when gunicorn imports this module to start its workers).
"""

from __future__ import annotations

import multiprocessing
import os

from gunicorn.workers.gthread import ThreadWorker

SLOTS = 256  # more than any worker count this server would run; a slot is (pid, connections)
_shared = multiprocessing.RawArray("q", 2 * SLOTS)
_claiming = multiprocessing.Lock()  # workers forked together claim their slots one at a time


class BalancedThreadWorker(ThreadWorker):
    def init_process(self):
        self._slot = _claim(os.getpid())
        super().init_process()

    @property
    def worker_connections(self) -> int:
        """gthread accepts while its connections are fewer than this (asked once per turn of its loop)."""
        _shared[2 * self._slot + 1] = self.nr_conns
        if self.nr_conns < self.cfg.threads:
            return self._most
        fewest = min((_shared[2 * i + 1] for i in range(SLOTS)
                      if i != self._slot and _shared[2 * i] and _alive(_shared[2 * i])), default=self._most)
        return min(self._most, max(self.cfg.threads, fewest + 1))

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._most = value  # gunicorn's --worker-connections: never more than this


def _claim(pid: int) -> int:
    """A slot for this worker: a free one, or one whose worker has died."""
    with _claiming:
        for i in range(SLOTS):
            if _shared[2 * i] in (0, pid) or not _alive(_shared[2 * i]):
                _shared[2 * i], _shared[2 * i + 1] = pid, 0
                return i
    raise RuntimeError(f"more than {SLOTS} web workers")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
