"""The test PACS (Orthanc, started by .ci/orthanc.sh) and a NeuroLens listener on a free port."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, EnhancedMRImageStorage, MRImageStorage

from scans.studies import dimse
from scans.studies.listener import Listener

ORTHANC = "http://127.0.0.1:18042"
ORTHANC_DICOM = ("127.0.0.1", 18043, "ORTHANC")
SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "orthanc.sh"


def orthanc_call(method: str, path: str, body=None, raw: bytes | None = None, timeout: float = 60):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(ORTHANC + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read()
    return json.loads(text) if text and text[:1] in b"[{" else text


def _up() -> bool:
    try:
        orthanc_call("GET", "/system", timeout=2)
        return True
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def orthanc():
    """The test Orthanc: the one .ci/run started, else started here when installed, else a skip."""
    started = False
    if not _up():
        if not Path("/usr/sbin/Orthanc").exists():
            pytest.skip("Orthanc is not installed here (apt-get install orthanc orthanc-dicomweb; .ci/run does it)")
        subprocess.run([str(SCRIPT), "start"], check=True, timeout=120)
        started = True
    yield ORTHANC
    if started:
        subprocess.run([str(SCRIPT), "stop"], check=False, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """A started listener and the series it stored, for the tests to wait on."""

    def __init__(self, listener: Listener):
        self.listener, self.stored, self.done = listener, [], threading.Event()

    def on_stored(self, series):
        self.stored.append(series.pk)
        self.done.set()

    def wait_stored(self, count: int = 1, timeout: float = 60) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(self.stored) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.stored)


@pytest.fixture
def listener(transactional_db, settings):
    settings.DICOM_RESULTS_AE = ""
    running: Running | None = None

    def start(**kwargs) -> Running:
        nonlocal running
        kwargs.setdefault("allowed", [])
        kwargs.setdefault("idle_s", 30)
        listener = Listener(host="127.0.0.1", port=free_port(), **kwargs)
        running = Running(listener)
        listener.on_stored = running.on_stored
        listener.start()
        return running

    yield start
    if running is not None:
        running.listener.stop()


def associate(port: int, calling: str = "TESTSCU", syntaxes=None):
    ae = AE(ae_title=calling)
    #  pynetdicom's 30 s default was once too short for an answer on a machine loaded far past its cores.
    ae.dimse_timeout = 120
    for sop in (MRImageStorage, EnhancedMRImageStorage, CTImageStorage):
        ae.add_requested_context(sop, syntaxes) if syntaxes else ae.add_requested_context(sop)
    return dimse.associate(ae, "127.0.0.1", port, "NEUROLENS")
