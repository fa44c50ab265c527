"""Heat maps as bytes: the class-activation map kept as a small 8-bit grey PNG in each prediction's
row, and the coloured layer the detail page lays over the image.

A CAM is a bilinear enlargement of the network's last feature map (a few pixels a side), so keeping it
at STORED_SIDE and enlarging it again on the way out loses nothing visible, and costs about 2 KB."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

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
