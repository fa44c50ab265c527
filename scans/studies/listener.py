"""The DICOM C-STORE receiver (`manage.py dicom_listener`).

The C-STORE handler screens each instance on attributes that identify nobody (SOP class, modality,
pixel module, UIDs) and checks that its pixels decode (compressed ones are decoded; uncompressed
ones must hold every byte they declare), so a sender hears 0xC000 "cannot understand" for an
instance NeuroLens could not use, and nothing of it is kept. It then answers at once; a worker
process (scans.studies.workers) de-identifies it (scans.studies.receive) before anything else is
read, and encodes it, and the result is held in memory with its association. Should that still fail (an error no check
foresaw), the instance is dropped, logged and counted. Nothing is stored until its series is complete: when the association is
released, or when a series has received nothing for DICOM_SERIES_IDLE_S seconds while the
association stays open. An aborted association (or a dropped connection) discards what it
brought, so no half series is stored. Storing and classification run off the association's thread,
so the sender's next instance is never held up by them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections
from pydicom import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import AE, StoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

from scans.studies import workers
from scans.studies.receive import MR_CLASSES, OWN_CLASSES, Ignored, Refused, complete, screen
from scans.studies.store import store_frames

log = logging.getLogger(__name__)
UNCOMPRESSED = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian]
COMPRESSED = [JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless, JPEG2000, RLELossless, JPEGLosslessSV1,
              JPEGBaseline8Bit]


def decodable() -> list:
    """The compressed syntaxes this installation's pydicom can decode (only those are offered)."""
    out = []
    for uid in COMPRESSED:
        try:
            if get_decoder(uid).is_available:
                out.append(uid)
        except (NotImplementedError, ValueError):
            pass
    return out


class Listener:
    def __init__(self, *, ae_title: str | None = None, host: str | None = None, port: int | None = None,
                 allowed: list[str] | None = None, idle_s: float | None = None, on_stored=None):
        self.ae_title = ae_title or settings.DICOM_AE_TITLE
        self.address = (host or settings.DICOM_HOST, port if port is not None else settings.DICOM_PORT)
        self.allowed = settings.DICOM_ALLOWED_AES if allowed is None else allowed
        self.idle_s = settings.DICOM_SERIES_IDLE_S if idle_s is None else idle_s
        self.on_stored = on_stored  # called with the stored series (tests, the benchmark, the command's output)
        self._held: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        self._touched: dict[tuple[int, str], float] = {}
        self._callers: dict[int, str] = {}  # association -> the calling AE title
        self._lock = threading.Lock()
        self._store = ThreadPoolExecutor(1, thread_name_prefix="neurolens-dicom-store")
        #  De-identification, decoding and PNG encoding while the next instances arrive: in worker
        #  processes (scans.studies.workers), or on threads here where DICOM_WORK_PROCESSES is 0.
        self._processes = workers.process_count() > 0
        self._work = ThreadPoolExecutor(2, thread_name_prefix="neurolens-dicom-work")
        self._stop = threading.Event()
        self.received = self.refused = self.dropped = 0
        self.first_received = self.last_received = None
        self.server = None

    def build_ae(self) -> AE:
        ae = AE(ae_title=self.ae_title)
        ae.maximum_pdu_size = 0
        if self.allowed:
            ae.require_calling_aet = self.allowed
        ae.require_called_aet = True
        syntaxes = UNCOMPRESSED + decodable()
        for sop in MR_CLASSES:
            ae.add_supported_context(sop, syntaxes)
        #  Every other storage class is negotiated too, so that its instances get a C-STORE failure
        #  status that says why, rather than a rejected presentation context nobody reads.
        for context in StoragePresentationContexts:
            if context.abstract_syntax not in MR_CLASSES:
                ae.add_supported_context(context.abstract_syntax, UNCOMPRESSED)
        for sop in OWN_CLASSES:
            ae.add_supported_context(sop, UNCOMPRESSED)
        ae.add_supported_context(Verification)
        return ae

    def start(self, block: bool = False):
        from scans.studies.sr import warm

        warm()  # highdicom's tables, before the first series needs them
        if self._processes:
            workers.pool()  # its processes started and ready before the first association
        handlers = [(evt.EVT_C_STORE, self.on_store), (evt.EVT_C_ECHO, lambda e: 0x0000),
                    (evt.EVT_RELEASED, self.on_released), (evt.EVT_ABORTED, self.on_aborted),
                    (evt.EVT_CONN_CLOSE, self.on_closed)]
        threading.Thread(target=self._watch_idle, name="neurolens-dicom-idle", daemon=True).start()
        ae = self.build_ae()
        if block:
            return ae.start_server(self.address, block=True, evt_handlers=handlers)
        self.server = ae.start_server(self.address, block=False, evt_handlers=handlers)
        return self.server

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
        self._store.shutdown(wait=True)
        self._work.shutdown(wait=True)

    # -- events (on the association's thread) ---------------------------------------------------

    def on_store(self, event):
        """Screen the instance (the sender hears why it is refused), then hand its de-identification,
        decoding and encoding to the pool, so the next instance is not kept waiting."""
        ds = event.dataset
        ds.file_meta = event.file_meta
        try:
            series = screen(ds)
        except Ignored:
            return 0x0000
        except Refused as exc:
            self.refused += 1
            status = Dataset()
            status.Status, status.ErrorComment = exc.status, exc.message[:64]
            log.info("refused an instance from %s: %s", event.assoc.requestor.ae_title, exc.message)
            return status
        if self._processes:
            work = workers.submit(event.encoded_dataset(), series)
        else:
            work = self._work.submit(self._complete, ds, series)
        now = time.monotonic()
        key = id(event.assoc)
        with self._lock:
            self._callers[key] = event.assoc.requestor.ae_title
            self._held[key][series].append(work)
            self._touched[(key, series)] = now
            self.received += 1
            self.first_received = self.first_received or now
            self.last_received = now
        return 0x0000

    def _complete(self, ds, series: str) -> list:
        try:
            return [f.encode() for f in complete(ds, series)]
        except Refused as exc:  # screened and decodable, then failed after all: the series goes on without it
            return exc.message

    def _frames(self, work: list) -> list:
        frames = []
        for done in work:
            got = workers.frames_of(done)
            if not got:
                self.dropped += 1
            frames += got
        return frames

    def on_released(self, event) -> None:
        self._flush(id(event.assoc), event.assoc.requestor.ae_title)

    def on_aborted(self, event) -> None:
        with self._lock:
            dropped = self._held.pop(id(event.assoc), {})
            self._callers.pop(id(event.assoc), None)
            for series in dropped:
                self._touched.pop((id(event.assoc), series), None)
        if dropped:
            log.warning("association from %s aborted: %d incomplete series discarded",
                        event.assoc.requestor.ae_title, len(dropped))

    def on_closed(self, event) -> None:
        """A connection that ends without a release (dropped, killed sender) is a broken association."""
        if not event.assoc.is_released:
            self.on_aborted(event)

    # -- completion --------------------------------------------------------------------------------

    def _flush(self, key: int, sender: str, series: list[str] | None = None) -> None:
        with self._lock:
            held = self._held.get(key, {})
            names = list(held) if series is None else [s for s in series if s in held]
            work = [w for s in names for w in held.pop(s)]
            for s in names:
                self._touched.pop((key, s), None)
            if not held:
                self._held.pop(key, None)
                self._callers.pop(key, None)
        if work:
            self._store.submit(self._store_now, work, sender)

    def _store_now(self, work: list, sender: str) -> None:
        close_old_connections()
        frames = self._frames(work)
        try:
            for series in store_frames(frames, "dimse", f"AE {sender}"):
                log.info("series %s stored: %d new slices from AE %s", series.pk, len(frames), sender)
                if self.on_stored:
                    self.on_stored(series)
        except Exception:
            log.exception("storing %d received slices failed", len(frames))
        finally:
            connections.close_all()  # this thread's: a quiet listener holds no database connection

    def _watch_idle(self) -> None:
        while not self._stop.wait(min(1.0, self.idle_s / 4)):
            cutoff = time.monotonic() - self.idle_s
            with self._lock:
                quiet = [k for k, t in self._touched.items() if t < cutoff]
            by_assoc = defaultdict(list)
            for key, series in quiet:
                by_assoc[key].append(series)
            for key, names in by_assoc.items():
                self._flush(key, self._callers.get(key, "unknown"), names)
