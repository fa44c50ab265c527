"""Images that are clearly not brain MRI slices, to measure out-of-scope detection.

Generated ones (always available) and natural photographs shipped with scikit-image
(when it is installed). Nothing here is used to fit the detector, only to test it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def generated(seed: int = 0, n_each: int = 6) -> list[tuple[str, Image.Image]]:
    rng = np.random.default_rng(seed)
    out: list[tuple[str, Image.Image]] = []
    for i in range(n_each):
        size = int(rng.integers(96, 512))
        out.append((f"noise-gray-{i}", Image.fromarray(rng.integers(0, 256, (size, size), np.uint8), "L")))
        out.append((f"noise-colour-{i}", Image.fromarray(rng.integers(0, 256, (size, size, 3), np.uint8), "RGB")))
        level = int(rng.integers(0, 256))
        out.append((f"blank-{i}", Image.new("L", (size, size), level)))
        out.append((f"blank-colour-{i}", Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 256, 3)))))
        ramp = np.tile(np.linspace(0, 255, size, dtype=np.float32), (size, 1))
        out.append((f"gradient-{i}", Image.fromarray((ramp if i % 2 else ramp.T).astype(np.uint8), "L")))
        out.append((f"colour-chart-{i}", _colour_chart(rng, size)))
        out.append((f"document-{i}", _document(rng, size)))
        out.append((f"checkerboard-{i}", _checkerboard(size, 8 + 4 * i)))
    return out


def _colour_chart(rng, size: int) -> Image.Image:
    cells = 6
    colours = rng.integers(0, 256, (cells, cells, 3), np.uint8)
    return Image.fromarray(np.repeat(np.repeat(colours, size // cells + 1, 0), size // cells + 1, 1)[:size, :size])


def _document(rng, size: int) -> Image.Image:
    img = Image.new("L", (size, int(size * 1.3)), 245)
    draw = ImageDraw.Draw(img)
    words = ["patient", "report", "findings", "normal", "scan", "the", "of", "and", "MRI", "date"]
    y = 10
    while y < img.height - 14:
        line = " ".join(rng.choice(words, 8))
        draw.text((8, y), line, fill=int(rng.integers(0, 60)))
        y += 14
    return img


def _checkerboard(size: int, cell: int) -> Image.Image:
    idx = np.arange(size) // cell
    return Image.fromarray(((idx[:, None] + idx[None, :]) % 2 * 255).astype(np.uint8), "L")


def photographs() -> list[tuple[str, Image.Image]]:
    """scikit-image's bundled natural images (colour and grayscale), or [] without it."""
    try:
        from skimage import data
    except ImportError:
        return []
    names = ["astronaut", "camera", "coffee", "chelsea", "rocket", "text", "page", "moon", "coins",
             "clock", "horse", "immunohistochemistry", "hubble_deep_field", "retina", "colorwheel",
             "grass", "gravel", "brick", "logo", "cat"]
    out = []
    for name in names:
        try:
            arr = getattr(data, name)()
        except Exception:  # noqa: BLE001, S112 - some need an optional download; skip those
            continue
        if arr.dtype == bool:
            arr = arr.astype(np.uint8) * 255
        if arr.dtype != np.uint8:
            arr = (255 * (arr - arr.min()) / max(float(np.ptp(arr)), 1e-6)).astype(np.uint8)
        out.append((f"photo-{name}", Image.fromarray(arr)))
    return out
