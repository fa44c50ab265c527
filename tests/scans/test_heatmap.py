"""Heat maps: stored with every prediction, laid over the image on the page, served by the API,
and made for every upload. What they cost is a figure printed by `python -m ml.bench`
(heat map extra per image), not a timed test."""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from ml.infer import enlarge_cam, get_classifier
from scans.models import Prediction, Scan
from scans.models.heat import MAGIC, PNG_SIGNATURE, read_heat, unpack_cam
from scans.reports.heatmaps import display_image
from tests.api.conftest import token_client
from tests.helpers import client_for, make_scan, mri_slice, png, upload

ARCHIVED = "neurolens-cnn-1.2.3"  # an earlier version whose files ml/model/archive/ keeps


def drawn_by(clf, image, label: str) -> np.ndarray:
    return enlarge_cam(clf.class_cam(image, label), clf.input_size, image.size)


def test_every_upload_keeps_its_heat_map(owner):
    upload(client_for(owner), png(256, seed=4))
    scan = Scan.objects.get()
    heat = read_heat(bytes(scan.prediction.heat), (256, 256))
    assert heat.shape == (256, 256) and heat.max() > 0.9 and len(scan.prediction.heat) < 20_000
    fresh = get_classifier().classify([mri_slice(256, 4)], heatmaps=True)[0].heatmap
    assert np.abs(heat - fresh).mean() < 0.02  # storing it small loses nothing that shows


def test_the_row_keeps_the_maps_cells_and_rows_with_the_older_picture_still_show(owner):
    """A new row keeps the 10 x 10 cells (a couple of hundred bytes, under PostgreSQL's out-of-line
    threshold); a row written before that keeps an 8-bit PNG of the map, and both draw the same map."""
    upload(client_for(owner), png(256, seed=8))
    scan = Scan.objects.get()
    stored = bytes(scan.prediction.heat)
    cells, side = unpack_cam(stored)
    assert stored.startswith(MAGIC) and len(stored) < 300 and cells.shape == (10, 10) and side == 160
    assert cells.min() >= 0 and cells.max() == 1.0
    drawn = read_heat(stored, (256, 256))
    picture = Image.fromarray(np.round(enlarge_cam(cells, side, (128, 128)) * 255).astype(np.uint8), "L")
    buf = io.BytesIO()
    picture.save(buf, "PNG")
    assert buf.getvalue().startswith(PNG_SIGNATURE)
    older = read_heat(buf.getvalue(), (256, 256))
    assert older.shape == drawn.shape == (256, 256) and np.abs(older - drawn).mean() < 0.01
    Prediction.objects.filter(pk=scan.prediction.pk).update(heat=buf.getvalue())
    layer = client_for(owner).get(reverse("scans:heat-layer", args=[scan.pk]))
    assert layer.status_code == 200 and Image.open(io.BytesIO(layer.content)).size == (256, 256)
    with pytest.raises(ValueError):
        unpack_cam(b"NLCAM")


def test_a_batchs_scans_keep_their_maps_as_they_are_classified(owner):
    files = [ContentFile(png(200, seed=s), name=f"b{s}.png") for s in (11, 12, 13)]
    response = token_client(owner).post("/api/predict/batch", {"images": files})
    assert response.status_code == 200
    assert [bytes(p.heat)[:len(MAGIC)] for p in Prediction.objects.all()] == [MAGIC] * 3


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
    served = get_classifier()
    scan = make_scan(owner, model_version=served.version)  # made without the model, so without a heat map
    assert not scan.prediction.heat
    image = display_image(scan)
    ranked_first = served.classify([image])[0].label
    stored = next(c for c in ("meningioma", "pituitary") if c != ranked_first)
    Prediction.objects.filter(pk=scan.prediction.pk).update(label=stored)
    response = client_for(owner).get(reverse("scans:heat-layer", args=[scan.pk]))
    assert response.status_code == 200
    scan.prediction.refresh_from_db()
    assert len(scan.prediction.heat) > 0 and scan.prediction.label == stored
    #  The map of the stored class, not of whatever class a new pass ranks first.
    drawn = read_heat(bytes(scan.prediction.heat), image.size)
    assert np.abs(drawn - drawn_by(served, image, stored)).mean() < 0.02
    assert np.abs(drawn - drawn_by(served, image, ranked_first)).mean() > 0.02


def test_a_map_drawn_later_comes_from_the_version_that_made_the_prediction(owner):
    """A batch's rows keep no map; when the served model has changed since, the map is drawn by
    the archived version the prediction came from, never by the one serving now."""
    old = get_classifier(ARCHIVED)
    scan = make_scan(owner, label="glioma", model_version=old.version, seed=3)
    response = client_for(owner).get(reverse("api:scan-heatmap", args=[scan.pk]))
    assert response.status_code == 200
    scan.prediction.refresh_from_db()
    image = display_image(scan)
    drawn = read_heat(bytes(scan.prediction.heat), image.size)
    assert np.abs(drawn - drawn_by(old, image, "glioma")).mean() < 0.02
    assert np.abs(drawn - drawn_by(get_classifier(), image, "glioma")).mean() > 0.02


def test_a_prediction_whose_model_is_not_kept_has_no_map_and_says_why(owner):
    scan = make_scan(owner, model_version="neurolens-cnn-0.9.0", seed=7)
    client = client_for(owner)
    page = client.get(reverse("scans:heat-layer", args=[scan.pk]))
    assert page.status_code == 404 and "neurolens-cnn-0.9.0" in page.text and "no longer kept" in page.text
    api = client.get(reverse("api:scan-heatmap", args=[scan.pk]))
    assert api.status_code == 404 and api.json()["error"]["code"] == "heatmap_unavailable"
    report = client.get(reverse("scans:report", args=[scan.pk]))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(report.content)).pages)
    assert report.status_code == 200 and "Heat map: none" in text and "Heat map (where" not in text
    scan.prediction.refresh_from_db()
    assert not scan.prediction.heat and scan.prediction.label == "glioma"
