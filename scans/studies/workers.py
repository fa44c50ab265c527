"""De-identification and encoding of received instances in worker processes.

The listener's association thread must answer the next C-STORE quickly, but de-identifying a data set,
decoding it and writing its staged DICOM and 16-bit PNG are mostly pure Python: on threads they
hold the same interpreter lock as the association thread, which then waits for them (measured: 160
instances/s on threads against about 330/s for a receiver that only screens). A worker process has
its own interpreter. The instance travels to it as the encoded file the sender sent (through a pipe,
in memory; nothing is written), and comes back as de-identified, encoded frames.

`DICOM_WORK_PROCESSES` sets how many (default -1: one less than the machine's cores, at least one, at
most four); 0 keeps the work on threads in the listener's process. The processes are started by
spawning (a fork of a process with the network threads of pynetdicom and open database connections is
not safe), once per process, and shared by every listener in it.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

log = logging.getLogger(__name__)
#  The settings a worker reads (digests, the staged file's sealed patient key); sent with each instance,
#  so a worker follows the listener's settings, overridden ones included.
SHARED_SETTINGS = ("PATIENT_KEY_SECRET", "DICOM_ORIGINALS_KEY")

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def process_count() -> int:
    configured = int(getattr(settings, "DICOM_WORK_PROCESSES", -1))
    if configured >= 0:
        return configured
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def pool() -> ProcessPoolExecutor | None:
    """The shared pool, started (and its processes made ready) on first use; None when configured off."""
    global _pool
    count = process_count()
    if not count:
        return None
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker)
            #  Every process imports Django, pydicom and NumPy now, not on the first instance of a series.
            for done in [_pool.submit(_ready) for _ in range(count)]:
                done.result()
        return _pool


def _discard(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def submit(encoded: bytes, series: str) -> Future:
    """Complete one screened instance (`encoded`: the file as sent, meta included) in a worker process.
    The future's result is a list of encoded Frames, or a string: why the instance was dropped."""
    snapshot = {name: getattr(settings, name, None) for name in SHARED_SETTINGS}
    executor = pool()
    try:
        return executor.submit(complete_file, encoded, series, snapshot)
    except BrokenProcessPool:  # a worker died (killed, out of memory): start new ones, once
        log.error("a DICOM worker process died; starting new ones")
        _discard(executor)
        return pool().submit(complete_file, encoded, series, snapshot)


def frames_of(future: Future) -> list:
    """The frames a submitted instance gave; [] (logged) when it was dropped or its worker died."""
    try:
        result = future.result()
    except BrokenProcessPool:
        log.error("an instance was lost: its DICOM worker process died")
        return []
    except Exception as exc:  # noqa: BLE001 - its text could quote the instance: the type only
        log.error("an instance was lost: %s in its DICOM worker process", type(exc).__name__)
        return []
    if isinstance(result, str):
        log.warning("an instance was dropped after it was accepted: %s", result)
        return []
    return result


def shutdown() -> None:
    global _pool
    with _pool_lock:
        executor, _pool = _pool, None
    if executor is not None:
        executor.shutdown(wait=True)


# -- in the worker process ---------------------------------------------------------------------------

def _start_worker() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _ready() -> bool:
    import scans.studies.receive  # noqa: F401 - pydicom configured, the de-identification tables built

    return True


def complete_file(encoded: bytes, series: str, snapshot: dict):
    """De-identify, decode and encode one instance: its Frames, or the reason it was dropped."""
    import pydicom

    from scans.studies.receive import Refused, complete

    for name, value in snapshot.items():
        if getattr(settings, name, None) != value:
            setattr(settings, name, value)
    try:
        ds = pydicom.dcmread(io.BytesIO(encoded))
    except Exception:  # noqa: BLE001 - screened already; a message here could quote a value: say nothing of it
        return "the data set cannot be read"
    try:
        return [frame.encode() for frame in complete(ds, series)]
    except Refused as exc:
        return exc.message
