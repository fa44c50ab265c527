"""A 100-slice MR series routed by the test Orthanc to an in-process listener: instances received
per second, and seconds from the last instance received to its SR stored in Orthanc."""

import json
import os
import socket
import time
import urllib.request
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from PIL import Image
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from scans.classify import warm_model
from scans.models import Series
from scans.studies.listener import Listener
from scans.studies.sr import to_bytes

DATASET = Path(settings.BASE_DIR).parent / "shared" / "datasets" / "brain-tumor-mri" / "Training" / "glioma"
GOAL_S, GOAL_RATE = 2.0, 200.0
WAIT_S = 300  # a series not stored, or an SR not sent, by then is a failure, not a figure


def call(base: str, method: str, path: str, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data, method=method), timeout=120) as r:
        text = r.read()
    return json.loads(text) if text and text[:1] in b"[{" else text


def series_datasets(count: int, size: int) -> list[Dataset]:
    paths = sorted(DATASET.glob("*.jpg"))
    if not paths:
        raise CommandError(f"No slices at {DATASET} (the shared data sets).")
    study, series, out = generate_uid(), generate_uid(), []
    for n in range(1, count + 1):
        with Image.open(paths[n % len(paths)]) as img:
            grey = np.asarray(img.convert("L").resize((size, size)), np.uint16) * 16
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientName, ds.PatientID, ds.Modality = "Bench^Series", "BENCH-1", "MR"
        ds.SeriesNumber, ds.InstanceNumber = 1, n
        ds.set_pixel_data(grey, "MONOCHROME2", 12, generate_instance_uid=False)
        ds.WindowCenter, ds.WindowWidth = 2048, 4096
        out.append(ds)
    return out


class Command(BaseCommand):
    help = ("Route a synthetic MR series from the test Orthanc (.ci/orthanc.sh start) to a listener in this "
            "process: instances/s received, and seconds from the last instance to its SR stored in Orthanc. "
            "Writes a study into the configured database: use a scratch one.")

    def add_arguments(self, parser):
        parser.add_argument("--slices", type=int, default=100)
        parser.add_argument("--size", type=int, default=256, help="pixels per side")
        parser.add_argument("--orthanc", default="http://127.0.0.1:18042")
        parser.add_argument("--orthanc-dicom", default="ORTHANC@127.0.0.1:18043")

    def handle(self, slices, size, orthanc, orthanc_dicom, **options):
        try:
            call(orthanc, "GET", "/system")
        except OSError:
            raise CommandError(f"No Orthanc at {orthanc}: start the test PACS with .ci/orthanc.sh start") from None
        settings.DICOM_RESULTS_AE, settings.DICOM_RESULTS_STOW_URL = orthanc_dicom, ""
        warm_model()
        datasets = series_datasets(slices, size)
        for i, ds in enumerate(datasets, start=1):
            call(orthanc, "POST", "/instances", raw=to_bytes(ds))
            self.stdout.write(f"\rstoring the series into Orthanc: {i}/{slices}", ending="")
            self.stdout.flush()
        self.stdout.write("")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        stored, stored_at = [], []

        def on_stored(series):
            stored_at.append(time.monotonic())
            stored.append(series)

        load_before = os.getloadavg()
        listener = Listener(host="127.0.0.1", port=port, allowed=[], idle_s=3600, on_stored=on_stored)
        listener.start()
        try:
            call(orthanc, "PUT", "/modalities/NEUROLENS",
                 {"AET": settings.DICOM_AE_TITLE, "Host": "127.0.0.1", "Port": port})
            [hit] = [h for h in call(orthanc, "POST", "/tools/lookup", raw=datasets[0].SeriesInstanceUID.encode())
                     if h["Type"] == "Series"]
            self.stdout.write(f"Orthanc sends {slices} instances to {settings.DICOM_AE_TITLE} ...")
            call(orthanc, "POST", "/modalities/NEUROLENS/store", {"Resources": [hit["ID"]], "Synchronous": True})
            deadline = time.monotonic() + WAIT_S
            while not stored:
                if time.monotonic() > deadline:
                    raise CommandError(f"No series was stored within {WAIT_S} s (see the log above).")
                time.sleep(0.005)
            series = Series.objects.get(pk=stored[0].pk)
            while series.sent is None and not series.send_error:
                if time.monotonic() > deadline:
                    raise CommandError(f"The SR was not sent within {WAIT_S} s (series {series.pk}: {series.status}).")
                time.sleep(0.005)
                series.refresh_from_db(fields=["sent", "send_error", "sr_uid", "label", "finished"])
            done = time.monotonic()
            wall_offset = time.time() - done  # Series.finished is wall-clock; the rest is monotonic
        finally:
            listener.stop()
        if series.send_error:
            raise CommandError(f"The SR was not sent: {series.send_error}")
        found = [h for h in call(orthanc, "POST", "/tools/lookup", raw=series.sr_uid.encode()) if h["Type"] == "Instance"]
        received = listener.last_received - listener.first_received
        rate = (slices - 1) / received if received > 0 else float("inf")
        latency = done - listener.last_received
        self.stdout.write(f"received {slices} instances in {received:.2f} s: {rate:.0f} instances/s "
                          f"(goal >= {GOAL_RATE:.0f}: {'met' if rate >= GOAL_RATE else 'NOT met'})")
        self.stdout.write(f"last instance received -> SR stored in Orthanc: {latency:.2f} s "
                          f"(goal <= {GOAL_S:.0f} s: {'met' if latency <= GOAL_S else 'NOT met'}); "
                          f"SR found in Orthanc: {'yes' if found else 'NO'}")
        last = listener.last_received
        classified = series.finished.timestamp() - wall_offset if series.finished else done
        self.stdout.write(f"  of which: stored (files, rows) {stored_at[0] - last:.2f} s, classified and series "
                          f"result {classified - stored_at[0]:.2f} s, SR + key image built and C-STOREd "
                          f"{done - classified:.2f} s")
        self.stdout.write(f"series label: {series.label or 'none'}")
        load_after = os.getloadavg()
        self.stdout.write(f"load average (1, 5, 15 min) before: {' '.join(f'{x:.2f}' for x in load_before)}, "
                          f"after: {' '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} CPUs "
                          "(figures are only comparable on a quiet machine)")
