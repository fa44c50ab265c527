"""Heat maps: stored with every prediction, laid over the image on the page, served by the API,
and made for every upload. What they cost is a figure printed by `python -m ml.bench`
(heat map extra per image), not a timed test."""

import io

import numpy as np
from django.urls import reverse
from PIL import Image

from ml.infer import get_classifier
from scans.models import Scan
from scans.models.heat import read_heat
from tests.helpers import client_for, make_scan, mri_slice, png, upload


def test_every_upload_keeps_its_heat_map(owner):
    upload(client_for(owner), png(256, seed=4))
    scan = Scan.objects.get()
    heat = read_heat(bytes(scan.prediction.heat), (256, 256))
    assert heat.shape == (256, 256) and heat.max() > 0.9 and len(scan.prediction.heat) < 20_000
    fresh = get_classifier().classify([mri_slice(256, 4)], heatmaps=True)[0].heatmap
    assert np.abs(heat - fresh).mean() < 0.02  # storing it small loses nothing that shows


def test_the_page_overlays_it_with_a_toggle_and_an_opacity_slider(owner):
    client = client_for(owner)
    upload(client, png(seed=5))
    scan = Scan.objects.get()
    page = client.get(reverse("scans:detail", args=[scan.pk])).text
    assert 'id="heat-toggle"' in page and 'id="heat-opacity"' in page and 'type="range"' in page
    assert reverse("scans:heat-layer", args=[scan.pk]) in page
    layer = client.get(reverse("scans:heat-layer", args=[scan.pk]))
    img = Image.open(io.BytesIO(layer.content))
    assert layer["Content-Type"] == "image/png" and img.mode == "RGBA" and img.size == (scan.width, scan.height)
    alpha = np.asarray(img)[..., 3]
    assert alpha.min() < 50 < alpha.max()  # see-through where the model did not look


def test_the_api_serves_it_as_png_to_those_who_see_the_scan(owner, colleague):
    upload(client_for(owner), png(seed=6))
    scan = Scan.objects.get()
    response = client_for(owner).get(reverse("api:scan-heatmap", args=[scan.pk]))
    assert response.status_code == 200 and Image.open(io.BytesIO(response.content)).size == (256, 256)
    assert client_for(colleague).get(reverse("api:scan-heatmap", args=[scan.pk])).status_code == 404
    assert client_for(colleague).get(reverse("scans:heat-layer", args=[scan.pk])).status_code == 404


def test_a_row_without_a_heat_map_gets_one_when_first_viewed(owner):
    scan = make_scan(owner)  # made without the model, so without a heat map
    assert not scan.prediction.heat
    response = client_for(owner).get(reverse("scans:heat-layer", args=[scan.pk]))
    assert response.status_code == 200
    scan.prediction.refresh_from_db()
    assert len(scan.prediction.heat) > 0 and scan.prediction.label == "glioma"
