"""The format of Prediction.heat: the class-activation map kept as a small 8-bit grey PNG in the row.

A CAM is a bilinear enlargement of the network's last feature map (a few pixels a side), so keeping
it at STORED_SIDE and enlarging it again on the way out loses nothing visible, and costs about 2 KB.
Written with the prediction (scans.classify) and read back by scans.reports.heatmaps.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

STORED_SIDE = 128
#  zlib effort: 3 instead of Pillow's 6 encodes a map in 0.40 ms instead of 0.88 ms (100 real maps, this
#  machine) for 13 % more bytes (3.4 KB instead of 3.0 KB), on every upload's path.
COMPRESS_LEVEL = 3


def heat_png(heat: np.ndarray) -> bytes:
    """A float map in [0, 1] as an 8-bit grey PNG at most STORED_SIDE a side (what is stored)."""
    step = math.ceil(max(heat.shape) / STORED_SIDE)  # every step-th pixel: the map is smooth at that scale
    small = heat[::step, ::step]
    img = Image.fromarray(np.round(np.clip(small, 0, 1) * 255).astype(np.uint8), "L")
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=COMPRESS_LEVEL)
    return buf.getvalue()


def read_heat(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """The stored map enlarged back to `size` (width, height), floats in [0, 1]."""
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert("L").resize(size, Image.Resampling.BILINEAR)
        return np.asarray(img, np.float32) / 255
