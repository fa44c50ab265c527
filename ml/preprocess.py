"""Turn any decoded image into the model's input.

Training (``ml.data``) and serving (``ml.infer``) both go through ``load_image`` and
``to_model_input``, so a file gives the same tensor on either path.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

INPUT_SIZE = 160
#  Drafting a JPEG decodes it at 1/2, 1/4 or 1/8 scale, the largest reduction that still
#  leaves at least DRAFT_SIZE pixels a side (a 512 px slice decodes at 256 px), so the resize
#  never enlarges and most of the decode work is skipped. Changing how pixels are made means
#  retraining: PIPELINE names this recipe in the training cache and the model card.
DRAFT_SIZE = INPUT_SIZE
PIPELINE = f"gray-pad-bilinear-{INPUT_SIZE}-draft{DRAFT_SIZE}"

Image.MAX_IMAGE_PIXELS = 8192 * 8192


def load_image(source: str | os.PathLike | bytes | io.BytesIO, *, draft: bool = True) -> Image.Image:
    """Open and fully decode an image; JPEGs are decoded at reduced size where possible."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    elif isinstance(source, (str, Path)):
        source = open(source, "rb")  # noqa: SIM115 - closed below with the image
    with source:
        img = Image.open(source)
        if draft and img.format == "JPEG":
            img.draft(None, (DRAFT_SIZE, DRAFT_SIZE))
        img.load()
    return img


HIGH_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def to_model_mode(img: Image.Image) -> Image.Image:
    """Any mode Pillow decodes (1, L, LA, P, PA, RGB, RGBA, CMYK, YCbCr, I;16, I, F, ...) to 8-bit
    "L" or "RGB", upright, with what ``to_grayscale_uint8`` and the scope check would make of it.

    Transparent areas become black, the background of an MRI slice. Images of more than eight
    bits per sample are windowed to their 0.5-99.5 percentile range, which is what a viewer's
    default window does. Colour is kept (the scope check flags colour images).
    """
    img = ImageOps.exif_transpose(img) if img.format in ("JPEG", "TIFF", "WEBP") else img
    if img.mode in HIGH_BIT_MODES:
        return _window(np.asarray(img))
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA") and img.getextrema()[-1][0] == 255:
        return img.convert("RGB")  # opaque: compositing over black would change nothing
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    if img.mode == "1":
        return img.convert("L")
    return img if img.mode in ("L", "RGB") else img.convert("RGB")


def _window(arr: np.ndarray, rows: int = 256) -> Image.Image:
    """More than eight bits a sample to "L", windowed to the 0.5-99.5 percentile range: converted a
    band of rows at a time, so a large image never exists whole as floats."""
    lo, hi = np.percentile(arr, (0.5, 99.5))
    if hi <= lo:
        hi = lo + 1.0
    out = np.empty(arr.shape, np.uint8)
    for start in range(0, arr.shape[0], rows):
        band = arr[start:start + rows].astype(np.float32)
        out[start:start + rows] = np.round(np.clip((band - lo) * (255.0 / (hi - lo)), 0, 255))
    return Image.fromarray(out, "L")


def to_grayscale_uint8(img: Image.Image) -> Image.Image:
    """Any mode to 8-bit grayscale (``to_model_mode``, then luminance)."""
    img = to_model_mode(img)
    return img if img.mode == "L" else img.convert("L")


def square_resize(gray: Image.Image, size: int = INPUT_SIZE) -> np.ndarray:
    """Pad to a square with black (keeps the anatomy's proportions), then resize."""
    w, h = gray.size
    if w != h:
        side = max(w, h)
        canvas = Image.new("L", (side, side), 0)
        canvas.paste(gray, ((side - w) // 2, (side - h) // 2))
        gray = canvas
    if gray.size != (size, size):
        gray = gray.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(gray, dtype=np.uint8)


def to_pixels(img: Image.Image, size: int = INPUT_SIZE) -> np.ndarray:
    """The model's input as uint8 (size, size): what the training cache stores."""
    return square_resize(to_grayscale_uint8(img), size)


def to_model_input(img: Image.Image, size: int = INPUT_SIZE) -> np.ndarray:
    """The model's input: float32 (size, size, 1) in [0, 1]."""
    return pixels_to_input(to_pixels(img, size))


def pixels_to_input(pixels: np.ndarray) -> np.ndarray:
    """uint8 (..., size, size) to float32 (..., size, size, 1) in [0, 1]."""
    return (pixels.astype(np.float32) / np.float32(255.0))[..., None]
