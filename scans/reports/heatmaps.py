"""Heat maps: where in the image the model looked for its prediction.

Each prediction keeps its map in its row (the format: scans.models.heat). Shown as the coloured
layer the detail page lays over the image (`heat_layer_png`) or as the overlay in the API and the
PDF reports (`heatmap_png`); a scan stored without a map (batches) gets it computed on first view,
by the model version that made its prediction.

Everything here is drawn at display size (`display_image`: at most DISPLAY_SIDE pixels a side, a
JPEG decoded reduced), never at the image's full resolution: a view's working set is a few
megabytes floats whatever the image's size (issue 12; `manage.py bench_memory` measures it).
"""

from __future__ import annotations

import io
import logging

import numpy as np
from django.conf import settings
from django.http import HttpResponse
from PIL import Image

from ml.infer import enlarge_cam, get_classifier
from ml.preprocess import to_grayscale_uint8, to_model_mode
from scans.intake.errors import HeatmapUnavailable, InferenceFailed
from scans.models import Prediction, Scan
from scans.models.heat import pack_cam, read_heat

log = logging.getLogger(__name__)

def colour(heat: np.ndarray) -> np.ndarray:
    """Black -> red -> yellow as RGB floats in [0, 1]."""
    return np.stack([np.clip(heat * 2, 0, 1), np.clip(heat * 2 - 1, 0, 1), np.zeros_like(heat)], axis=-1)


def layer_png(heat: np.ndarray) -> bytes:
    """The coloured map alone, transparent where the model did not look; the page sets its opacity."""
    rgba = np.concatenate([colour(heat), np.clip(heat * 1.5, 0, 1)[..., None]], axis=-1)
    buf = io.BytesIO()
    Image.fromarray(np.round(rgba * 255).astype(np.uint8), "RGBA").save(buf, "PNG")
    return buf.getvalue()


def overlay_png(gray: Image.Image, heat: np.ndarray) -> bytes:
    """The colour ramp, more opaque where the activation is higher, over the grey image."""
    if gray.size != (heat.shape[1], heat.shape[0]):  # an EXIF rotation the model undid
        gray = gray.resize((heat.shape[1], heat.shape[0]))
    base = np.asarray(gray.convert("RGB"), np.float32) / 255
    alpha = (0.6 * heat)[..., None]
    pixels = np.clip(((1 - alpha) * base + alpha * colour(heat)) * 255, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "PNG")
    return buf.getvalue()


def heatmap_png(scan: Scan) -> bytes:
    """The class-activation map of the predicted class laid over the image, as a PNG of the image's
    display size (at most DISPLAY_SIDE a side)."""
    image, heat = _image_and_heat(scan)
    return overlay_png(to_grayscale_uint8(image), heat)


def display_image(scan: Scan) -> Image.Image:
    """The scan's image in "L" or "RGB", upright, at most DISPLAY_SIDE pixels a side."""
    side = settings.DISPLAY_SIDE
    with scan.image.open("rb") as fh, Image.open(fh) as img:
        if img.format == "JPEG":
            img.draft(None, (side, side))  # decoded at 1/2, 1/4 or 1/8 where that still covers the side
        img.load()
        image = to_model_mode(img)
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    return image


def display_png(scan: Scan) -> bytes:
    buf = io.BytesIO()
    display_image(scan).save(buf, "PNG")
    return buf.getvalue()


def heat_layer_png(scan: Scan) -> bytes:
    """The coloured map alone (transparent elsewhere), for the page's overlay with its opacity slider."""
    return layer_png(_image_and_heat(scan)[1])


def png_response(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _image_and_heat(scan: Scan) -> tuple[Image.Image, np.ndarray]:
    """The display image and the map of the stored prediction: the one kept in its row, or else drawn
    now by the model version that made the prediction, for the class it gave. The served model may
    be another version by now, and its map (or its class) would not be the one this result rests on."""
    prediction = scan.prediction
    try:
        image = display_image(scan)
        stored = bytes(prediction.heat)
        if stored:
            return image, read_heat(stored, image.size)
        try:
            clf = get_classifier(prediction.model_version)
        except KeyError:
            raise HeatmapUnavailable(
                f"This prediction was made by model {prediction.model_version}, whose files are no longer kept, "
                "so its heat map cannot be drawn. The prediction itself stands.") from None
        cells = clf.class_cam(image, prediction.label)
        #  Kept for the next view (rows made without one, e.g. batches); the prediction itself is untouched.
        Prediction.objects.filter(pk=prediction.pk).update(heat=pack_cam(cells, clf.input_size))
        return image, enlarge_cam(cells, clf.input_size, image.size)
    except HeatmapUnavailable:
        raise
    except Exception as exc:
        log.exception("heat map failed for scan %s", scan.pk)
        raise InferenceFailed("The heat map could not be computed; please try again.") from exc
