"""The format of Prediction.heat: the class-activation map kept in the row.

A CAM is a smooth enlargement of the network's last feature map (10 x 10 cells for model 1.x), so
the row keeps that map itself: a short header, then the cells as float16 in [0, 1] (about 210
bytes), and `read_heat` draws it at whatever size a view needs (ml.infer.enlarge_cam, the same
drawing the classifier does). Rows written before December 2026 hold an 8-bit grey PNG of the map
at most 128 px a side instead (3-4 KB); `read_heat` reads both.

Keeping the cells, not a picture, costs an upload about 0.02 ms instead of the 1.1 ms that
enlarging the map and encoding it as PNG took (`manage.py bench_serve profile`), keeps the row
under PostgreSQL's 2 KB out-of-line (TOAST) threshold, and loses nothing: the picture was an 8-bit
resampling of these same cells.

Written with the prediction (scans.classify) and read back by scans.reports.heatmaps.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from ml.infer import enlarge_cam

MAGIC = b"NLCAM1"
_HEADER = struct.Struct("<6sHHH")  # magic, cells down, cells across, the model's input side
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pack_cam(cam: np.ndarray, input_size: int) -> bytes:
    """A map at the network's resolution (float, [0, 1]) as stored, with the input side it is drawn over."""
    h, w = cam.shape
    return _HEADER.pack(MAGIC, h, w, input_size) + np.clip(cam, 0, 1).astype("<f2").tobytes()


def unpack_cam(data: bytes) -> tuple[np.ndarray, int]:
    """(cells float32 (h, w), input side) of a stored map; ValueError where it is not one."""
    if len(data) < _HEADER.size or not data.startswith(MAGIC):
        raise ValueError("not a stored class-activation map")
    _, h, w, input_size = _HEADER.unpack_from(data)
    cells = np.frombuffer(data, "<f2", count=h * w, offset=_HEADER.size)
    return cells.reshape(h, w).astype(np.float32), input_size


def read_heat(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """The stored map drawn at `size` (width, height), floats in [0, 1]."""
    if data.startswith(PNG_SIGNATURE):  # a row from before the cells were kept
        with Image.open(io.BytesIO(data)) as img:
            img = img.convert("L").resize(size, Image.Resampling.BILINEAR)
            return np.asarray(img, np.float32) / 255
    cells, input_size = unpack_cam(data)
    return enlarge_cam(cells, input_size, size)
