"""Heat maps: where in the image the model looked for its prediction.

Stored as bytes: the class-activation map kept as a small 8-bit grey PNG in each prediction's row
(`heat_png`, written with the prediction; `read_heat` back). A CAM is a bilinear enlargement of the
network's last feature map (a few pixels a side), so keeping it at STORED_SIDE and enlarging it
again on the way out loses nothing visible, and costs about 2 KB. Shown as the coloured layer the
detail page lays over the image (`heat_layer_png`) or the overlay in the API and the PDF reports
(`heatmap_png`); a scan stored without a map (batches) gets it computed on first view.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from django.http import HttpResponse
from PIL import Image

from ml.infer import get_classifier
from ml.preprocess import load_image, to_grayscale_uint8
from scans.intake.errors import InferenceFailed
from scans.models import Prediction, Scan

log = logging.getLogger(__name__)
STORED_SIDE = 128


def heat_png(heat: np.ndarray) -> bytes:
    """A float map in [0, 1] as an 8-bit grey PNG at most STORED_SIDE a side (what is stored)."""
    step = -(-max(heat.shape) // STORED_SIDE)  # every step-th pixel: the map is smooth at that scale
    small = heat[::step, ::step]
    img = Image.fromarray(np.round(np.clip(small, 0, 1) * 255).astype(np.uint8), "L")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def read_heat(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """The stored map enlarged back to `size` (width, height), floats in [0, 1]."""
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert("L").resize(size, Image.Resampling.BILINEAR)
        return np.asarray(img, np.float32) / 255


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
    """The class-activation map of the predicted class laid over the image, as a PNG of its size."""
    image, heat = _image_and_heat(scan)
    return overlay_png(to_grayscale_uint8(image), heat)


def heat_layer_png(scan: Scan) -> bytes:
    """The coloured map alone (transparent elsewhere), for the page's overlay with its opacity slider."""
    return layer_png(_image_and_heat(scan)[1])


def png_response(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _image_and_heat(scan: Scan) -> tuple[Image.Image, np.ndarray]:
    try:
        with scan.image.open("rb") as fh:
            image = load_image(fh.read(), draft=False)
        stored = bytes(scan.prediction.heat)
        if stored:
            return image, read_heat(stored, image.size)
        heat = get_classifier().classify([image], heatmaps=True)[0].heatmap
        #  Kept for the next view (rows made without one, e.g. batches); the prediction itself is untouched.
        Prediction.objects.filter(pk=scan.prediction.pk).update(heat=heat_png(heat))
        return image, heat
    except Exception as exc:
        log.exception("heat map failed for scan %s", scan.pk)
        raise InferenceFailed("The heat map could not be computed; please try again.") from exc
