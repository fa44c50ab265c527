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
_used = multiprocessing.RawValue("i", 0)  # slots ever claimed: the ones to look at


class BalancedThreadWorker(ThreadWorker):
    def init_process(self):
        self._pid = os.getpid()
        self._slot = _claim(self._pid)
        super().init_process()

    @property
    def worker_connections(self) -> int:
        """gthread accepts while its connections are fewer than this (asked once per turn of its loop)."""
        if _shared[2 * self._slot] == self._pid:  # not once it has stopped and a new worker has its slot
            _shared[2 * self._slot + 1] = self.nr_conns
        if self.nr_conns < self.cfg.threads:
            return self._most
        fewest = min((_shared[2 * i + 1] for i in range(_used.value)
                      if i != self._slot and _shared[2 * i] and _alive(_shared[2 * i])), default=self._most)
        return min(self._most, max(self.cfg.threads, fewest + 1))

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._most = value  # gunicorn's --worker-connections: never more than this

    #  A worker that is stopping (a reload, a scale-down) takes no new connections: its slot is freed at
    #  once, or its few remaining connections would hold the others back until it has finished.
    def handle_exit(self, sig, frame):
        _release(self._slot)
        super().handle_exit(sig, frame)

    def handle_quit(self, sig, frame):
        _release(self._slot)
        super().handle_quit(sig, frame)


def _claim(pid: int) -> int:
    """A slot for this worker: a free one, or one whose worker has died."""
    with _claiming:
        for i in range(SLOTS):
            if _shared[2 * i] in (0, pid) or not _alive(_shared[2 * i]):
                _shared[2 * i], _shared[2 * i + 1] = pid, 0
                _used.value = max(_used.value, i + 1)
                return i
    raise RuntimeError(f"more than {SLOTS} web workers")


def _release(slot: int) -> None:
    if _shared[2 * slot] == os.getpid():
        _shared[2 * slot], _shared[2 * slot + 1] = 0, 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
