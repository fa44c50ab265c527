"""Finding 2 of issue 12: every view of a large image's heat map or PDF decoded and blended it at full
resolution in float32 (seconds and gigabytes each). Heat maps, overlays and the PDF's pictures are
now drawn at display size (DISPLAY_SIDE, 1024 px a side); the memory itself is measured by
`manage.py bench_memory`, not here."""

from __future__ import annotations

import io

import numpy as np
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from scans.models import Prediction, Scan
from scans.reports.heatmaps import display_image
from tests.helpers import client_for, encode, mri_slice, upload


def big_upload(owner, side: int = 4096) -> Scan:
    """The largest legal image (MAX_IMAGE_PIXELS), a slice enlarged."""
    data = encode(mri_slice(512, 3).resize((side, side)), "PNG")
    assert upload(client_for(owner), data, name="big.png").status_code == 200
    return Scan.objects.get()


def test_heat_maps_and_pdf_pictures_of_the_largest_image_are_display_size(owner, settings):
    scan = big_upload(owner)
    assert (scan.width, scan.height) == (4096, 4096)
    Prediction.objects.filter(scan=scan).update(heat=b"")  # as a batch leaves it: computed on first view
    client = client_for(owner)
    layer = client.get(reverse("scans:heat-layer", args=[scan.pk]))
    if scan.prediction.shows_class:
        assert Image.open(io.BytesIO(layer.content)).size == (1024, 1024)
        overlay = client.get(reverse("api:scan-heatmap", args=[scan.pk]))
        assert Image.open(io.BytesIO(overlay.content)).size == (1024, 1024)
    pdf = PdfReader(io.BytesIO(client.get(reverse("scans:report", args=[scan.pk])).content))
    sizes = [(img.image.size) for page in pdf.pages for img in page.images]
    assert sizes and all(max(s) <= settings.DISPLAY_SIDE for s in sizes)


def test_the_display_side_is_a_setting_and_keeps_proportions(owner, settings):
    settings.DISPLAY_SIDE = 256
    data = encode(Image.fromarray(np.asarray(mri_slice(600, 4).resize((600, 300)))), "PNG")
    upload(client_for(owner), data, name="wide.png")
    scan = Scan.objects.get()
    assert display_image(scan).size == (256, 128)
