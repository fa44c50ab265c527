"""Pictures that are not brain MRI slices, by source, to train and test the out-of-scope guard.

Every source makes its images on this machine, from a seed, with nothing downloaded:
generated ones (noise and patterns, fractal terrain and maps, textures, drawings, charts,
documents, screenshots, natural-like "dead leaves" scenes), scikit-image's bundled
photographs (in colour and in grayscale), and the CT, ultrasound and other non-MRI images
among pydicom's test files. The guard is validated by leaving whole sources out, so each
source should be a kind of picture, not a variation of another source.

    from ml.negatives import SOURCES, make
    images = make("documents", n=50, seed=0)   # list of PIL images
"""

from __future__ import annotations

import string
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Maker = Callable[[np.random.Generator, int], list[Image.Image]]


def _size(rng: np.random.Generator, lo: int = 128, hi: int = 640) -> tuple[int, int]:
    w = int(rng.integers(lo, hi))
    return w, int(w * rng.uniform(0.7, 1.4))


def _colour(rng: np.random.Generator, gray: bool = False) -> tuple[int, int, int]:
    if gray:
        v = int(rng.integers(0, 256))
        return v, v, v
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _font(rng: np.random.Generator, lo: int = 9, hi: int = 28) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=int(rng.integers(lo, hi)))


def _words(rng: np.random.Generator, n: int) -> str:
    letters = np.array(list(string.ascii_lowercase))
    return " ".join("".join(rng.choice(letters, int(rng.integers(1, 10)))) for _ in range(n))


def _maybe_gray(rng: np.random.Generator, img: Image.Image, p: float = 0.5) -> Image.Image:
    return img.convert("L") if rng.random() < p else img


def fractal_field(rng: np.random.Generator, h: int, w: int, beta: float) -> np.ndarray:
    """Gaussian random field with a 1/f^beta power spectrum, scaled to [0, 1]."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spectrum[0, 0] = 0
    field = np.fft.irfft2(spectrum, s=(h, w))
    field -= field.min()
    return field / max(float(field.max()), 1e-9)


# --- sources -------------------------------------------------------------------------------

def patterns(rng, n):
    """Noise, blank frames, gradients, checkerboards and colour charts."""
    out = []
    for i in range(n):
        w, h = _size(rng)
        kind = i % 6
        if kind == 0:
            shape = (h, w) if rng.random() < 0.5 else (h, w, 3)
            img = Image.fromarray(rng.integers(0, 256, shape, np.uint8))
        elif kind == 1:
            img = Image.new("RGB", (w, h), _colour(rng, gray=rng.random() < 0.5))
        elif kind == 2:
            ramp = np.linspace(rng.uniform(0, 128), rng.uniform(128, 255), w)
            arr = np.tile(ramp, (h, 1))
            img = Image.fromarray(arr.astype(np.uint8)).rotate(float(rng.uniform(0, 360)), expand=False)
        elif kind == 3:
            cell = int(rng.integers(4, 48))
            idx_y, idx_x = np.arange(h) // cell, np.arange(w) // cell
            arr = ((idx_y[:, None] + idx_x[None, :]) % 2 * 255).astype(np.uint8)
            img = Image.fromarray(arr)
        elif kind == 4:
            cells = int(rng.integers(3, 10))
            colours = rng.integers(0, 256, (cells, cells, 3), np.uint8)
            img = Image.fromarray(colours).resize((w, h), Image.Resampling.NEAREST)
        else:
            img = Image.fromarray((rng.random((h // 8 + 1, w // 8 + 1)) * 255).astype(np.uint8)).resize(
                (w, h), Image.Resampling.BICUBIC)
        out.append(img)
    return out


def _terrain_colours(height: np.ndarray, sea: float) -> np.ndarray:
    stops = np.array([0.0, sea, sea + 0.02, 0.55, 0.75, 0.9, 1.0])
    colours = np.array([[10, 30, 110], [60, 120, 200], [220, 210, 150], [60, 140, 60],
                        [120, 100, 60], [150, 140, 130], [250, 250, 250]], np.float32)
    stops = np.maximum.accumulate(stops)
    rgb = np.stack([np.interp(height, stops, colours[:, c]) for c in range(3)], -1)
    return rgb.astype(np.uint8)


def terrain(rng, n):
    """Height fields and maps: grayscale height, hill shading, coloured maps with contours and roads."""
    out = []
    for i in range(n):
        w, h = _size(rng, 128, 512)
        z = fractal_field(rng, h, w, rng.uniform(2.0, 3.4))
        kind = i % 4
        if kind == 0:
            img = Image.fromarray((z * 255).astype(np.uint8))
        elif kind == 1:
            gy, gx = np.gradient(z * rng.uniform(50, 300))
            az = rng.uniform(0, 2 * np.pi)
            shade = (np.cos(az) * gx + np.sin(az) * gy + 1) / np.sqrt(gx**2 + gy**2 + 1)
            shade = (shade - shade.min()) / max(float(np.ptp(shade)), 1e-9)
            img = Image.fromarray((shade * 255).astype(np.uint8))
        else:
            img = Image.fromarray(_terrain_colours(z, rng.uniform(0.2, 0.45)))
            draw = ImageDraw.Draw(img)
            if kind == 3:  # contour lines, roads and place names
                levels = np.linspace(0.1, 0.9, int(rng.integers(4, 12)))
                band = np.zeros_like(z, bool)
                for lv in levels:
                    band |= np.abs(z - lv) < 0.004
                arr = np.asarray(img).copy()
                arr[band] = (90, 60, 30)
                img = Image.fromarray(arr)
                draw = ImageDraw.Draw(img)
                for _ in range(int(rng.integers(1, 5))):
                    pts = [tuple(int(v) for v in (rng.integers(0, w), rng.integers(0, h))) for _ in range(4)]
                    draw.line(pts, fill=(200, 40, 40), width=int(rng.integers(1, 4)))
                for _ in range(int(rng.integers(1, 6))):
                    draw.text((int(rng.integers(0, w)), int(rng.integers(0, h))), _words(rng, 1).title(),
                              fill=(20, 20, 20), font=_font(rng, 8, 16))
            img = _maybe_gray(rng, img, 0.3)
        out.append(img)
    return out


def textures(rng, n):
    """Gratings, filtered noise, cells, rings, bricks and weaves."""
    out = []
    for i in range(n):
        w, h = _size(rng, 128, 448)
        yy, xx = np.mgrid[:h, :w].astype(np.float32)
        kind = i % 6
        if kind == 0:
            a, f = rng.uniform(0, np.pi), rng.uniform(0.03, 0.4)
            arr = np.sin((np.cos(a) * xx + np.sin(a) * yy) * f) * 0.5 + 0.5
        elif kind == 1:
            noise = Image.fromarray((rng.random((h, w)) * 255).astype(np.uint8))
            arr = np.asarray(noise.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 4))), np.float32)
            arr = (arr - arr.min()) / max(float(np.ptp(arr)), 1e-9)
        elif kind == 2:  # Voronoi cells
            k = int(rng.integers(8, 80))
            seeds = rng.random((k, 2)) * (h, w)
            d = np.full((h, w), np.inf)
            second = np.full((h, w), np.inf)
            for sy, sx in seeds:
                dist = np.hypot(yy - sy, xx - sx)
                second = np.minimum(second, np.maximum(d, dist))
                d = np.minimum(d, dist)
            arr = np.clip((second - d) / 12, 0, 1)
        elif kind == 3:  # wood rings
            cy, cx = rng.uniform(-h, 2 * h), rng.uniform(-w, 2 * w)
            r = np.hypot(yy - cy, xx - cx) + fractal_field(rng, h, w, 2.5) * rng.uniform(5, 40)
            arr = np.sin(r * rng.uniform(0.1, 0.6)) * 0.5 + 0.5
        elif kind == 4:  # bricks
            bh, bw = int(rng.integers(8, 40)), int(rng.integers(20, 90))
            row = (yy // bh).astype(int)
            col = ((xx + (row % 2) * bw / 2) // bw).astype(int)
            mortar = ((yy % bh) < 2) | (((xx + (row % 2) * bw / 2) % bw) < 2)
            shade = rng.uniform(0.4, 0.9, (row.max() + 1, col.max() + 2))[row, col]
            arr = np.where(mortar, 0.95, shade) + rng.normal(0, 0.04, (h, w))
        else:  # weave
            f = rng.uniform(0.2, 0.7)
            arr = (np.sin(xx * f) * np.sin(yy * f) * 0.5 + 0.5) ** rng.uniform(0.5, 2)
        gray = (np.clip(arr, 0, 1) * 255).astype(np.uint8)
        if rng.random() < 0.4:
            tint = np.array(_colour(rng), np.float32) / 255
            img = Image.fromarray((gray[..., None] * tint).astype(np.uint8))
        else:
            img = Image.fromarray(gray)
        out.append(img)
    return out


def drawings(rng, n):
    """Shapes, outlines and line art on plain backgrounds (some dark)."""
    out = []
    for _ in range(n):
        w, h = _size(rng)
        gray = rng.random() < 0.5
        bg = _colour(rng, gray)
        if rng.random() < 0.3:
            bg = (0, 0, 0)
        img = Image.new("RGB", (w, h), bg)
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(2, 25))):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            x1, y1 = x0 + int(rng.integers(5, w // 2 + 6)), y0 + int(rng.integers(5, h // 2 + 6))
            fill = _colour(rng, gray) if rng.random() < 0.6 else None
            outline = _colour(rng, gray)
            width = int(rng.integers(1, 6))
            shape = rng.integers(0, 4)
            if shape == 0:
                draw.ellipse((x0, y0, x1, y1), fill=fill, outline=outline, width=width)
            elif shape == 1:
                draw.rectangle((x0, y0, x1, y1), fill=fill, outline=outline, width=width)
            elif shape == 2:
                pts = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(int(rng.integers(3, 7)))]
                draw.polygon(pts, fill=fill, outline=outline)
            else:
                pts = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(int(rng.integers(2, 8)))]
                draw.line(pts, fill=outline, width=width)
        out.append(img.convert("L") if gray else img)
    return out


def charts(rng, n):
    """Bar, line, scatter and pie charts with axes and labels."""
    out = []
    for i in range(n):
        w, h = _size(rng, 200, 640)
        dark = rng.random() < 0.25
        img = Image.new("RGB", (w, h), (30, 30, 34) if dark else (255, 255, 255))
        draw = ImageDraw.Draw(img)
        ink = (220, 220, 220) if dark else (30, 30, 30)
        left, top, right, bottom = int(w * 0.12), int(h * 0.1), int(w * 0.95), int(h * 0.85)
        kind = i % 4
        if kind != 3:
            draw.line([(left, top), (left, bottom), (right, bottom)], fill=ink, width=2)
            for k in range(5):
                y = bottom - (bottom - top) * k // 5
                draw.text((4, y - 6), str(k * int(rng.integers(1, 50))), fill=ink, font=_font(rng, 8, 14))
        m = int(rng.integers(3, 20))
        vals = rng.random(m)
        if kind == 0:
            bw = (right - left) / m
            for k, v in enumerate(vals):
                draw.rectangle((left + k * bw + 2, bottom - v * (bottom - top), left + (k + 1) * bw - 2, bottom),
                               fill=_colour(rng))
        elif kind == 1:
            for _ in range(int(rng.integers(1, 4))):
                ys = np.cumsum(rng.normal(0, 1, m))
                ys = (ys - ys.min()) / max(float(np.ptp(ys)), 1e-9)
                pts = [(left + (right - left) * k / (m - 1), bottom - y * (bottom - top)) for k, y in enumerate(ys)]
                draw.line(pts, fill=_colour(rng), width=int(rng.integers(1, 4)))
        elif kind == 2:
            col = _colour(rng)
            for _ in range(int(rng.integers(20, 300))):
                x, y = rng.uniform(left, right), rng.uniform(top, bottom)
                draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=col)
        else:
            start = 0.0
            box = (w * 0.2, h * 0.15, w * 0.2 + min(w, h) * 0.6, h * 0.15 + min(w, h) * 0.6)
            for v in vals / vals.sum():
                draw.pieslice(box, start, start + 360 * v, fill=_colour(rng))
                start += 360 * v
        draw.text((left, 4), _words(rng, 3).title(), fill=ink, font=_font(rng, 10, 20))
        out.append(_maybe_gray(rng, img, 0.4))
    return out


def documents(rng, n):
    """Pages of text, some with tables, some light text on dark."""
    out = []
    for _ in range(n):
        w = int(rng.integers(200, 700))
        h = int(w * rng.uniform(1.0, 1.5))
        dark = rng.random() < 0.2
        paper = (20, 20, 20) if dark else tuple(int(v) for v in rng.integers(225, 256, 3))
        ink = (230, 230, 230) if dark else tuple(int(v) for v in rng.integers(0, 70, 3))
        img = Image.new("RGB", (w, h), paper)
        draw = ImageDraw.Draw(img)
        font = _font(rng, 8, 22)
        step = int(font.size * 1.4)
        y = int(rng.integers(5, 30))
        draw.text((10, y), _words(rng, 4).title(), fill=ink, font=_font(rng, 16, 32))
        y += 40
        while y < h - step:
            if rng.random() < 0.1:  # a table
                rows, cols = int(rng.integers(2, 6)), int(rng.integers(2, 5))
                cw = (w - 20) // cols
                for r in range(rows):
                    for c in range(cols):
                        draw.rectangle((10 + c * cw, y + r * step, 10 + (c + 1) * cw, y + (r + 1) * step), outline=ink)
                        draw.text((14 + c * cw, y + r * step + 2), _words(rng, 1), fill=ink, font=font)
                y += (rows + 1) * step
            else:
                draw.text((10, y), _words(rng, int(rng.integers(3, 14))), fill=ink, font=font)
                y += step
        out.append(_maybe_gray(rng, img, 0.5))
    return out


def screenshots(rng, n):
    """Application windows: title bars, side panels, buttons, text and picture placeholders."""
    out = []
    for _ in range(n):
        w, h = _size(rng, 240, 720)
        dark = rng.random() < 0.4
        base = (32, 33, 36) if dark else (245, 245, 247)
        ink = (225, 225, 225) if dark else (25, 25, 25)
        accent = _colour(rng)
        img = Image.new("RGB", (w, h), base)
        draw = ImageDraw.Draw(img)
        bar = int(rng.integers(18, 40))
        draw.rectangle((0, 0, w, bar), fill=accent if rng.random() < 0.5 else (60, 60, 60))
        draw.text((8, 4), _words(rng, 3), fill=(255, 255, 255), font=_font(rng, 9, 16))
        side = int(w * rng.uniform(0, 0.3))
        if side:
            draw.rectangle((0, bar, side, h), fill=tuple(max(0, c - 15) for c in base))
            for k in range(int(rng.integers(3, 12))):
                draw.text((8, bar + 10 + k * 22), _words(rng, 2), fill=ink, font=_font(rng, 9, 14))
        y = bar + 10
        while y < h - 30:
            r = rng.random()
            if r < 0.2:
                bw = int(rng.integers(50, 160))
                draw.rounded_rectangle((side + 10, y, side + 10 + bw, y + 26), 6, fill=accent)
                draw.text((side + 18, y + 6), _words(rng, 1), fill=(255, 255, 255), font=_font(rng, 9, 14))
                y += 36
            elif r < 0.35:
                ph = int(rng.integers(30, 120))
                draw.rectangle((side + 10, y, min(w - 10, side + 10 + int(rng.integers(60, 300))), y + ph),
                               fill=_colour(rng))
                y += ph + 10
            else:
                draw.text((side + 10, y), _words(rng, int(rng.integers(2, 10))), fill=ink, font=_font(rng, 9, 16))
                y += 20
        out.append(img)
    return out


def dead_leaves(rng, n):
    """Natural-image-like scenes: overlapping shapes of varied size, shade and texture, blurred in places."""
    out = []
    for _ in range(n):
        w, h = _size(rng, 160, 512)
        gray = rng.random() < 0.5
        arr = np.zeros((h, w, 3), np.float32) + np.array(_colour(rng, gray), np.float32)
        yy, xx = np.mgrid[:h, :w]
        for _ in range(int(rng.integers(30, 200))):
            r = max(w, h) * rng.uniform(0.01, 0.25) ** 1.5 * 3
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            ecc = rng.uniform(0.5, 2)
            reach = r * max(ecc, 1 / ecc)
            y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 1, h)
            x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 1, w)
            if y1 <= y0 or x1 <= x0:
                continue
            by, bx = yy[y0:y1, x0:x1], xx[y0:y1, x0:x1]
            mask = ((by - cy) / ecc) ** 2 + ((bx - cx) * ecc) ** 2 < r * r
            shade = np.array(_colour(rng, gray), np.float32)
            arr[y0:y1, x0:x1][mask] = shade + rng.normal(0, rng.uniform(0, 20), (int(mask.sum()), 1))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0, 2.5)))
        out.append(img.convert("L") if gray else img)
    return out


#  The ones scikit-image ships in its wheel (others would need a download).
SKIMAGE_PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "text", "page", "moon", "coins",
                  "clock", "horse", "immunohistochemistry", "hubble_deep_field", "retina", "colorwheel",
                  "grass", "gravel", "brick", "logo", "cat", "microaneurysms", "cell")


def _photo_arrays() -> list[np.ndarray]:
    try:
        from skimage import data
    except ImportError:
        return []
    out = []
    for name in SKIMAGE_PHOTOS:
        try:
            arr = np.asarray(getattr(data, name)())
        except Exception:  # noqa: BLE001, S112 - missing from an older scikit-image: skip it
            continue
        if arr.ndim == 3 and arr.shape[-1] > 4:  # a 3-D stack: take its middle plane
            arr = arr[arr.shape[0] // 2]
        if arr.ndim == 3 and arr.shape[-1] == 4:
            arr = arr[..., :3]
        if arr.dtype != np.uint8:
            arr = arr.astype(np.float32)
            arr = (255 * (arr - arr.min()) / max(float(np.ptp(arr)), 1e-6)).astype(np.uint8)
        out.append(arr)
    return out


def _variant(rng: np.random.Generator, img: Image.Image) -> Image.Image:
    """A random crop, turn, scale, mirror and (half the time) grayscale of one picture."""
    w, h = img.size
    frac = rng.uniform(0.45, 1.0)
    cw, ch = max(16, int(w * frac)), max(16, int(h * frac))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    out = img.crop((x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < 0.3:
        out = out.rotate(float(rng.choice([90, 180, 270])), expand=True)
    scale = rng.uniform(0.5, 1.5)
    out = out.resize((max(32, int(out.width * scale)), max(32, int(out.height * scale))), Image.Resampling.BILINEAR)
    return _maybe_gray(rng, out.convert("RGB"), 0.5)


def photographs(rng, n):
    """scikit-image's bundled photographs and micrographs, cropped, turned and scaled, colour or grayscale."""
    arrays = _photo_arrays()
    if not arrays:
        return []
    return [_variant(rng, Image.fromarray(arrays[i % len(arrays)])) for i in range(n)]


def _dicom_frames(modalities: set[str]) -> list[np.ndarray]:
    try:
        import pydicom
        from pydicom.data import get_testdata_files
    except ImportError:
        return []
    frames = []
    for path in get_testdata_files():
        try:
            ds = pydicom.dcmread(path)
            if getattr(ds, "Modality", "") not in modalities:
                continue
            arr = ds.pixel_array
            if getattr(ds, "PhotometricInterpretation", "").startswith("YBR"):
                from pydicom.pixels import convert_color_space

                arr = convert_color_space(arr, ds.PhotometricInterpretation, "RGB")
        except Exception:  # noqa: BLE001, S112 - unreadable without optional codecs: skip
            continue
        multi = int(getattr(ds, "NumberOfFrames", 1) or 1) > 1
        for a in (arr[:: max(1, len(arr) // 6)] if multi else [arr]):
            if min(a.shape[:2]) >= 48:
                frames.append(np.asarray(a))
    return frames


def _render_frame(rng: np.random.Generator, arr: np.ndarray) -> Image.Image:
    """A DICOM frame as a viewer would show it: a random window for 1-channel data."""
    if arr.ndim == 3:
        a = arr.astype(np.float32)
        a = 255 * (a - a.min()) / max(float(np.ptp(a)), 1e-6)
        return _variant(rng, Image.fromarray(a.astype(np.uint8)))
    a = arr.astype(np.float32)
    lo, hi = np.percentile(a, [rng.uniform(0, 5), rng.uniform(95, 100)])
    if rng.random() < 0.5:  # a narrower window somewhere inside the range
        centre, width = rng.uniform(lo, hi), rng.uniform(0.1, 0.6) * (hi - lo)
        lo, hi = centre - width / 2, centre + width / 2
    g = np.clip((a - lo) / max(hi - lo, 1e-6), 0, 1) * 255
    img = Image.fromarray(g.astype(np.uint8))
    return _variant(rng, img)


def _dicom_source(modalities: set[str]) -> Maker:
    def make_source(rng, n):
        frames = _dicom_frames(modalities)
        return [_render_frame(rng, frames[i % len(frames)]) for i in range(n)] if frames else []
    return make_source


#  name -> (maker, how many to make for training the guard)
SOURCES: dict[str, tuple[Maker, int]] = {
    "patterns": (patterns, 240),
    "terrain": (terrain, 240),
    "textures": (textures, 240),
    "drawings": (drawings, 240),
    "charts": (charts, 200),
    "documents": (documents, 200),
    "screenshots": (screenshots, 200),
    "dead-leaves": (dead_leaves, 240),
    "photographs": (photographs, 400),
    "dicom-ct": (_dicom_source({"CT"}), 120),
    "dicom-ultrasound": (_dicom_source({"US"}), 120),
    "dicom-other": (_dicom_source({"NM", "CR", "DX", "OT", "XA", "RF", "PT"}), 120),
}


def make(source: str, n: int | None = None, seed: int = 0) -> list[Image.Image]:
    """``n`` images (the source's default count when None) of one source, reproducibly."""
    maker, default = SOURCES[source]
    seed_key = sum(ord(c) * 31**i for i, c in enumerate(source)) % 2**31
    return maker(np.random.default_rng([seed, seed_key]), default if n is None else n)
