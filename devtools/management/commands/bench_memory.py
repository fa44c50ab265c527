"""Peak memory of a web process for the worst legal requests (issue 12): each must add <= 300 MB.

A gunicorn worker (one process, as deployed) serves each request while a thread samples the
worker's resident memory every 5 ms; the figure is the peak during the request (and, for a batch,
until its last item is stored by the process's batch thread) less the resident memory just before.
"""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
import zlib
from functools import partial
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from PIL import Image
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from api.tokens import create_token
from devtools import bench
from scans.models import BatchJob, Prediction, Scan

LIMIT_MB = 300
DATASET = Path(settings.BASE_DIR).parent / "shared" / "datasets" / "brain-tumor-mri" / "Training" / "glioma"
MB = 1024 * 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """The largest resident size of `pid` between start and stop, sampled every 5 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.running = pid, 0.0, True
        self.before = rss_mb(pid)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.005)

    def stop(self) -> tuple[float, float]:
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))
        return self.before, self.peak


def worst_images(side: int, seed: int) -> dict[str, bytes]:
    """Legal images at the pixel cap in the modes that cost most to decode and convert: a real slice
    from the data sets (so that the model assesses it and it has a heat map), enlarged, with noise."""
    rng = np.random.default_rng(seed)
    source = next(iter(sorted(DATASET.rglob("*.jpg"))), None)
    if source is not None:
        head = np.asarray(Image.open(source).convert("L").resize((side, side), Image.Resampling.BILINEAR), np.int16)
    else:
        yy, xx = np.mgrid[:side, :side] / side - 0.5
        head = ((((xx / 0.38) ** 2 + (yy / 0.45) ** 2) < 1) * 120).astype(np.int16)
    grey = np.clip(head + rng.integers(0, 4, (side, side), dtype=np.int16), 0, 255).astype(np.uint8)
    out = {}
    buf = io.BytesIO()
    Image.fromarray(grey.astype(np.uint16) * 256).save(buf, "PNG", compress_level=1)
    out["PNG 16-bit grey"] = buf.getvalue()
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)]).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG", compress_level=1)
    out["PNG RGBA"] = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(np.dstack([grey] * 3).astype(np.uint8), "RGB").save(buf, "JPEG", quality=100)
    out["JPEG RGB q100"] = buf.getvalue()
    out["DICOM 16-bit"] = _dicom(grey, side)
    return out


def _dicom(grey: np.ndarray, side: int) -> bytes:
    """The largest MR slice under the per-file limit: 16 bits a pixel, rescaled and windowed."""
    rows = min(side, int(np.sqrt(settings.MAX_UPLOAD_BYTES / 2)) - 8)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.TransferSyntaxUID = MRImageStorage, ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.Modality = MRImageStorage, "MR"
    ds.Rows = ds.Columns = rows
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.WindowCenter, ds.WindowWidth = 1.5, -10, 600, 1200
    ds.PixelData = (grey[:rows, :rows].astype(np.uint16) * 16).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


class Command(BaseCommand):
    help = ("Peak memory a gunicorn worker adds for the worst legal single upload, heat-map view, PDF "
            "and ZIP batch (each should stay within 300 MB).")

    def add_arguments(self, parser):
        parser.add_argument("--zip-images", type=int, default=32, help="images at the pixel cap in the ZIP")

    def handle(self, zip_images, **options):
        side = int(np.sqrt(settings.MAX_IMAGE_PIXELS))
        user = User.objects.create_user(f"bench-memory-{int(time.time())}")
        user.groups.add(Group.objects.get_or_create(name="clinician")[0])
        _, token = create_token(user, "bench")
        env = {**os.environ, "API_THROTTLE_UPLOAD": "1000000/min", "API_THROTTLE_USER": "1000000/min",
               "WARM_MODEL": "1", "CELERY_BROKER_URL": "", "BATCH_BACKGROUND": "1",
               "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")}  # as `make serve` runs it
        rows: list[tuple[str, float, float]] = []
        server = bench.Server(env, token)
        try:
            [worker] = bench.children(server.proc.pid)

            def measure(label: str, fn) -> None:
                sampler = Sampler(worker)
                fn()
                before, peak = sampler.stop()
                rows.append((label, before, peak))
                self.stdout.write(f"  {label}: +{peak - before:.0f} MB", ending="\n")

            self.stdout.write(f"images of {side}x{side} (MAX_IMAGE_PIXELS); zip of {zip_images}")
            images = worst_images(side, 0)
            scan_id = None
            for kind, data in images.items():
                answers: list = []
                upload = partial(self._upload, server, f"worst.{kind.split()[0].lower()}", data, answers)
                measure(f"single upload, {kind} ({len(data) / MB:.1f} MB file)", upload)
                scan_id = scan_id or answers[0]["id"]
            if not Scan.objects.get(pk=scan_id).prediction.shows_class:
                raise SystemExit("the model found the image out of scope: it has no heat map to measure")
            Prediction.objects.filter(scan_id=scan_id).update(heat=b"")  # drawn on first view, the costly case
            measure("heat-map view (first: computed)", lambda: self._get(server, f"/api/v1/scans/{scan_id}/heatmap"))
            measure("heat-map view (stored)", lambda: self._get(server, f"/api/v1/scans/{scan_id}/heatmap"))
            measure("PDF report", lambda: self._get(server, f"/api/v1/scans/{scan_id}/report.pdf"))
            archive = self._worst_zip(side, zip_images)
            measure(f"ZIP batch, {zip_images} images at the cap + a 600 MiB member ({len(archive) / MB:.0f} MB)",
                    lambda: self._batch(server, archive))
        finally:
            server.stop()
            for scan in Scan.objects.filter(owner=user):
                scan.image.delete(save=False)
            Scan.objects.filter(owner=user).delete()
            BatchJob.objects.filter(owner=user).delete()
            user.delete()
        self._report(rows)

    def _upload(self, server, name: str, data: bytes, answers: list) -> None:
        status, body = server.upload("/api/v1/scans", "image", [(name, data)])
        assert status == 201, (status, body)
        answers.append(body)

    def _get(self, server, path: str) -> None:
        status, _ = server.request("GET", path)
        assert status == 200, (path, status)

    def _batch(self, server, archive: bytes) -> None:
        status, body = server.upload("/api/v1/batches", "files", [("worst.zip", archive)])
        assert status == 201, (status, body)
        while BatchJob.objects.filter(pk=body["id"], finished__isnull=True).exists():
            time.sleep(0.05)

    def _worst_zip(self, side: int, count: int) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            with zf.open("bomb.png", "w", force_zip64=True) as member:  # refused from its header, never read
                piece = b"\0" * MB
                for _ in range(600):
                    member.write(piece)
            png = worst_images(side, 1)["PNG 16-bit grey"]
            for i in range(count):  # each its own file; each decoded (the same pixels are then one scan)
                text = b"tEXtComment\0" + str(i).encode()
                chunk = len(text[4:]).to_bytes(4, "big") + text + zlib.crc32(text).to_bytes(4, "big")
                zf.writestr(f"slice-{i}.png", png[:33] + chunk + png[33:], zipfile.ZIP_STORED)
        return buf.getvalue()

    def _report(self, rows) -> None:
        self.stdout.write("")
        self.stdout.write(f"{'request':<70} {'before':>8} {'peak':>8} {'added':>8}")
        worst = 0.0
        for label, before, peak in rows:
            worst = max(worst, peak - before)
            self.stdout.write(f"{label:<70} {before:>6.0f}MB {peak:>6.0f}MB {peak - before:>6.0f}MB")
        verdict = "within" if worst <= LIMIT_MB else "OVER"
        self.stdout.write(f"largest addition {worst:.0f} MB: {verdict} the {LIMIT_MB} MB bound")
