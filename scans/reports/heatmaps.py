"""Heat maps: where in the image the model looked for its prediction.

Each upload stores its map (scans.heat); scans from before that are computed from the image on request.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image

from ml.infer import get_classifier
from ml.preprocess import load_image, to_grayscale_uint8
from scans.heat import heat_png, layer_png, read_heat
from scans.models import Scan
from scans.services import InferenceFailed

log = logging.getLogger(__name__)


def heatmap_png(scan: Scan) -> bytes:
    """The class-activation map of the predicted class laid over the image, as a PNG of its size."""
    image, heat = _image_and_heat(scan)
    return overlay_png(to_grayscale_uint8(image), heat)


def heat_layer_png(scan: Scan) -> bytes:
    """The coloured map alone (transparent elsewhere), for the page's overlay with its opacity slider."""
    return layer_png(_image_and_heat(scan)[1])


def _image_and_heat(scan: Scan) -> tuple[Image.Image, np.ndarray]:
    try:
        with scan.image.open("rb") as fh:
            image = load_image(fh.read(), draft=False)
        stored = bytes(scan.prediction.heat)
        if stored:
            return image, read_heat(stored, image.size)
        heat = get_classifier().classify([image], heatmaps=True)[0].heatmap
        #  Kept for the next view (rows made without one, e.g. batches); the prediction itself is untouched.
        type(scan.prediction).objects.filter(pk=scan.prediction.pk).update(heat=heat_png(heat))
        return image, heat
    except Exception as exc:
        log.exception("heat map failed for scan %s", scan.pk)
        raise InferenceFailed("The heat map could not be computed; please try again.") from exc


def overlay_png(gray: Image.Image, heat: np.ndarray) -> bytes:
    """Black -> red -> yellow, more opaque where the activation is higher, over the grey image."""
    if gray.size != (heat.shape[1], heat.shape[0]):  # an EXIF rotation the model undid
        gray = gray.resize((heat.shape[1], heat.shape[0]))
    colour = np.stack([np.clip(heat * 2, 0, 1), np.clip(heat * 2 - 1, 0, 1), np.zeros_like(heat)], axis=-1)
    base = np.asarray(gray.convert("RGB"), np.float32) / 255
    alpha = (0.6 * heat)[..., None]
    pixels = np.clip(((1 - alpha) * base + alpha * colour) * 255, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "PNG")
    return buf.getvalue()
