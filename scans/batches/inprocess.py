"""The embedded default (no broker): batch tasks run on one background thread of the web process.

The upload answers at once and the batch page's progress bar moves while this thread works, the
same as with workers. One thread per process, so a batch never takes the cores from the requests
twice over (the model already uses them all for a forward pass). The tasks are the Celery tasks
themselves, applied here; each job closes its database connection when done.

Work queued here lives only in memory: a web process that dies leaves its items pending, and the
next one to start queues them again (scans.batches.tasks.resume_unfinished; a second copy is harmless).
Work lost while the process lives (a database fault) is sent again by the sweep the thread runs
whenever it has been idle for `idle_every` seconds (scans.batches.tasks.sweep).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

from django.db import close_old_connections, connections

log = logging.getLogger(__name__)

_jobs: queue.Queue = queue.Queue()
_thread: threading.Thread | None = None
_start_lock = threading.Lock()


def _after_fork() -> None:
    """A forked child (gunicorn --preload) has none of its parent's threads, and may have its
    locks in whatever state they were: it starts afresh."""
    global _jobs, _thread, _start_lock
    _jobs, _thread, _start_lock = queue.Queue(), None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def submit(fn, *args) -> None:
    """Run `fn(*args)` on the background thread, after what is already queued."""
    global _thread
    _jobs.put((fn, args))
    with _start_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="neurolens-batches", daemon=True)
            _thread.start()


def wait(timeout: float = 600.0) -> bool:
    """Block until every job queued so far has run (tests, the benchmark); False on timeout."""
    deadline = time.monotonic() + timeout
    with _jobs.all_tasks_done:
        while _jobs.unfinished_tasks:
            left = deadline - time.monotonic()
            if left <= 0 or not _jobs.all_tasks_done.wait(left):
                return not _jobs.unfinished_tasks
    return True


#  What the thread does each time it has waited `idle_every` seconds with nothing to do (the
#  recovery sweep, set by scans.batches.tasks: this module sits below it).
idle_job = None
idle_every = 15.0


def _run() -> None:
    while True:
        try:
            fn, args = _jobs.get(timeout=idle_every)
        except queue.Empty:
            _idle()
            continue
        try:
            close_old_connections()
            fn(*args)
        except Exception:
            #  Its items stay pending; the next process start queues them again.
            log.exception("in-process batch job %s failed", getattr(fn, "__name__", fn))
        finally:
            connections.close_all()
            _jobs.task_done()


def _idle() -> None:
    if idle_job is None:
        return
    try:
        close_old_connections()
        idle_job()
    except Exception:
        log.exception("the batch sweep failed; it runs again in %s s", idle_every)  # a database still down
    finally:
        connections.close_all()
