"""Where a single upload's time goes: the functions of each stage timed in place while real uploads
go through the whole Django stack in this process (middleware, DRF, the real model and database).

Each stage is a function wrapped where the code calls it; its time includes what it calls (the table
indents a stage under the one that contains it). Used by `manage.py bench_serve profile`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import time
from collections import defaultdict
from types import SimpleNamespace

#  (label, depth in the table, "module:attribute" or "module:Class.method" where the call is looked up)
STAGES = [
    ("whole request: middleware, DRF, view", 0, "django.core.handlers.base:BaseHandler.get_response"),
    ("multipart parsing (request body -> files)", 1, "django.http.multipartparser:MultiPartParser.parse"),
    ("token authentication", 1, "api.auth:TokenAuthentication.authenticate"),
    ("throttle counts (both scopes, 1 upsert)", 1, "api.throttles:throttling.hit_many"),
    ("upload check: format, size, decode, hash", 1, "scans.services:read_image"),
    ("  metadata stripped", 2, "scans.intake.ingest:strip_image_metadata"),
    ("  decode (draft) and model mode", 2, "scans.intake.ingest:_decode"),
    ("  SHA-256", 2, "scans.intake.ingest:hashlib.sha256"),
    ("duplicate lookup (1 query)", 1, "scans.services:stored_scans"),
    ("model: classify()", 1, "scans.services:classify"),
    ("  resize to the model's input", 2, "ml.infer:to_pixels"),
    ("  forward pass (LiteRT)", 2, "ml.infer:Classifier._forward"),
    ("  out-of-scope guard", 2, "ml.infer:Classifier.out_of_scope_reasons"),
    ("  heat map (class activation map)", 2, "ml.infer:Classifier.cam"),
    ("heat map kept (the map's cells, packed)", 1, "scans.classify:pack_cam"),
    ("file written to storage", 1, "django.core.files.storage:FileSystemStorage.save"),
    ("rows: transaction, INSERTs, patient, audit", 1, "scans.services:store"),
    ("  audit rows", 2, "scans.classify:record_many"),
    ("answer: serializer", 1, "api.views.scans:ScanSerializer.to_representation"),
    ("answer: JSON rendering", 1, "rest_framework.renderers:JSONRenderer.render"),
]


_INHERITED = object()


class Timers:
    """`clock`: time.perf_counter (wall clock, waits on the database included) or time.thread_time
    (this thread's CPU: what the stage costs the web process, the database's work left out)."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._undo: list = []

    def install(self) -> None:
        for label, _, where in STAGES:
            module_name, _, attr = where.partition(":")
            owner = importlib.import_module(module_name)
            *path, name = attr.split(".")
            for part in path:
                if part == "hashlib" and owner.__dict__.get("hashlib") is hashlib:
                    #  A module-level `hashlib` is given a stand-in with a timed sha256 (the C type cannot be patched).
                    shim = SimpleNamespace(**{k: getattr(hashlib, k) for k in ("sha256", "md5", "new")})
                    self._swap(owner, "hashlib", shim)
                owner = getattr(owner, part)
            self._swap(owner, name, self._timed(label, getattr(owner, name)))

    def _swap(self, owner, name: str, value) -> None:
        #  A method a class inherits is set on the class for the run and deleted again after it.
        self._undo.append((owner, name, owner.__dict__.get(name, _INHERITED) if isinstance(owner, type)
                           else getattr(owner, name)))
        setattr(owner, name, value)

    def _timed(self, label: str, fn):
        seconds, calls, clock = self.seconds, self.calls, self.clock

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[label] += clock() - t0
                calls[label] += 1

        return timed

    def uninstall(self) -> None:
        for owner, name, value in reversed(self._undo):
            if value is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        self._undo.clear()

    def table(self, requests: int) -> list[tuple[str, float, float]]:
        """(label, ms per request, share of the whole request) in STAGES order, the stages that ran."""
        whole = self.seconds[STAGES[0][0]] or 1.0
        rows = []
        for label, depth, _ in STAGES:
            if self.calls[label]:
                rows.append((("  " * depth) + label.strip(), self.seconds[label] * 1000 / requests,
                             self.seconds[label] / whole))
        rest = whole - sum(self.seconds[label] for label, depth, _ in STAGES if depth == 1)
        rows.append(("  the rest: middleware, routing, DRF, role check, session", rest * 1000 / requests, rest / whole))
        return rows
