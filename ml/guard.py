"""The learned out-of-scope guard: "is this a brain MRI slice at all?".

A small network (one hidden layer) on what the classifier already computes for every
image: its pooled last feature maps, plus a few plain measurements of the picture (a
16-bin histogram of the model's input, how much of it is near black, how colourful the
original is, how uniform). It was trained with the training split's MRI slices as
positives and many kinds of generated and packaged non-MRI pictures as negatives
(``ml.negatives``), and validated by leaving whole kinds out (``python -m ml.guard_fit``).

It runs in plain NumPy (no TensorFlow); its weights ship beside the model as ``guard.npz``.
The reason shown for a flagged image names the guard's score and only facts measured on
that image (a colour picture, a blank one); it never claims a property the image lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

HIST_BINS = 16
#  Measured facts that may be added to a refusal, each true of the image when stated.
COLOUR_FACT = 24.0  # mean spread between the RGB channels, of 255: clearly a colour picture
UNIFORM_FACT = 2.0  # standard deviation of the model's input, of 255: a blank picture


def colourfulness(img: Image.Image) -> float:
    """Mean spread between the largest and smallest RGB channel on a 32 px thumbnail (0 for gray)."""
    if img.mode not in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV"):
        return 0.0
    thumb = img.copy()
    thumb.thumbnail((32, 32))
    rgb = np.asarray(thumb.convert("RGB"), np.int16)
    return float((rgb.max(-1) - rgb.min(-1)).mean())


THUMB = 32
#  The row and the column centre of each thumbnail cell, made once.
_ROWS, _COLS = np.mgrid[:THUMB, :THUMB] + 0.5


def picture_measures(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """(n, N_MEASURES) plain measurements of the uint8 model input (and the original's colour).

    A 16-bin histogram, the near-black share, mean and spread; on a 32 px thumbnail, how alike
    the picture is to its mirror images (a slice of a head is close to symmetric about one axis),
    the mean brightness in six rings around its centre of brightness, how far that centre is
    from the middle, and how busy its edges are; and the log of the colourfulness.

    Written for one image at a time (an upload), where NumPy's cost per call outweighs the
    arithmetic: the pixel statistics come from one 256-bin count of the values, and the ring
    means from one weighted count.
    """
    n, size = len(pixels), pixels.shape[1]
    flat = pixels.reshape(n, -1)
    count = flat.shape[1]
    if n == 1:
        values = np.bincount(flat.ravel(), minlength=256)
    else:
        values = np.bincount((flat + (np.arange(n, dtype=np.int64)[:, None] << 8)).ravel(), minlength=256 * n)
    values = values.reshape(n, 256).astype(np.float64)
    level = np.arange(256, dtype=np.float64)
    hist = values.reshape(n, HIST_BINS, 256 // HIST_BINS).sum(2) / count
    dark = values[:, :12].sum(1) / count
    mean_px = values @ level / count
    spread = np.sqrt(np.maximum(values @ (level**2) / count - mean_px**2, 0))
    k = size // THUMB
    crop = pixels[:, :k * THUMB, :k * THUMB]
    columns = crop[:, :, 0::k].astype(np.uint16)  # k x k cells of at most 255 each: no overflow up to k = 16
    for j in range(1, k):
        columns += crop[:, :, j::k]
    cells = columns[:, 0::k].copy()
    for i in range(1, k):
        cells += columns[:, i::k]
    thumb = cells / (k * k * 255.0)  # strided adds: a reshaped sum over two axes costs twice as much
    centred = thumb - thumb.mean((1, 2), keepdims=True)
    norm = np.einsum("nij,nij->n", centred, centred) + 1e-6
    mirror = np.stack([np.einsum("nij,nij->n", centred, centred[:, :, ::-1]) / norm,
                       np.einsum("nij,nij->n", centred, centred[:, ::-1, :]) / norm], 1)
    mirror.sort(1)  # slices come in any orientation: keep the better and the worse axis
    mass = thumb.sum((1, 2)) + 1e-6
    cy = np.einsum("nij,ij->n", thumb, _ROWS) / mass
    cx = np.einsum("nij,ij->n", thumb, _COLS) / mass
    radius = np.hypot(_ROWS[None] - cy[:, None, None], _COLS[None] - cx[:, None, None]) / (THUMB / 2)
    ring = np.minimum((radius * 4).astype(np.int64), 5)  # 6 rings of a quarter of the half-width each
    ring += np.arange(n, dtype=np.int64)[:, None, None] * 6
    ring_sum = np.bincount(ring.ravel(), weights=thumb.ravel(), minlength=6 * n).reshape(n, 6)
    ring_cells = np.bincount(ring.ravel(), minlength=6 * n).reshape(n, 6)
    mean = thumb.mean((1, 2)) + 1e-3
    rings = ring_sum / np.maximum(ring_cells, 1) / mean[:, None]
    offset = np.hypot(cy - THUMB / 2, cx - THUMB / 2) / (THUMB / 2)
    steps = (THUMB - 1) * THUMB
    edges = (np.abs(thumb[:, 1:] - thumb[:, :-1]).sum((1, 2)) / steps
             + np.abs(thumb[:, :, 1:] - thumb[:, :, :-1]).sum((1, 2)) / steps) / (thumb.std((1, 2)) + 0.02)
    return np.column_stack([hist, dark, mean_px / 255, spread / 255, mirror, rings, offset, edges,
                            np.log1p(np.asarray(colour, np.float64))]).astype(np.float32)


N_MEASURES = HIST_BINS + 14


def guard_inputs(pooled: np.ndarray, pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """The guard's input for each image: log pooled features, then the picture measures."""
    return np.column_stack([np.log1p(np.maximum(pooled, 0)), picture_measures(pixels, colour)]).astype(np.float32)


@dataclass
class Guard:
    mean: np.ndarray  # (d,) input standardisation
    scale: np.ndarray  # (d,)
    w1: np.ndarray  # (d, h)
    b1: np.ndarray  # (h,)
    w2: np.ndarray  # (h,)
    b2: float
    threshold: float  # flag when the score (probability of "not an MRI slice") is above it

    def score(self, inputs: np.ndarray) -> np.ndarray:
        """Probability that each image is not a brain MRI slice."""
        z = (np.asarray(inputs, np.float32) - self.mean) / self.scale
        hidden = np.maximum(z @ self.w1 + self.b1, 0)
        logit = hidden @ self.w2 + self.b2
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))

    def reasons(self, pooled: np.ndarray, pixels: np.ndarray, colour: np.ndarray) -> list[str | None]:
        """One reason per image (None where it looks like a brain MRI slice)."""
        scores = self.score(guard_inputs(pooled, pixels, colour))
        spread = pixels.reshape(len(pixels), -1).std(1)
        out: list[str | None] = []
        for s, c, sd in zip(scores, colour, spread):
            if sd < UNIFORM_FACT:  # the cheap pre-check: nothing to look at
                out.append("a blank, uniform picture")
                continue
            if s <= self.threshold:
                out.append(None)
                continue
            facts = []
            if c > COLOUR_FACT:
                facts.append("it is a colour picture")
            reason = f"does not look like a brain MRI slice (guard score {s:.2f})"
            out.append(reason + ("; " + "; ".join(facts) if facts else ""))
        return out

    def save(self, path: Path) -> None:
        np.savez_compressed(path, mean=self.mean, scale=self.scale, w1=self.w1, b1=self.b1, w2=self.w2,
                            b2=np.float32(self.b2), threshold=np.float32(self.threshold))

    @classmethod
    def load(cls, path: Path) -> Guard:
        z = np.load(path)
        return cls(z["mean"], z["scale"], z["w1"], z["b1"], z["w2"], float(z["b2"]), float(z["threshold"]))


def fit_guard(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, hidden: int = 32,
              l2: float = 1e-3, seed: int = 0, max_iter: int = 300) -> Guard:
    """Weighted logistic loss with L2, one ReLU hidden layer, fitted by L-BFGS (SciPy; training only).

    ``y`` is 1 for "not an MRI slice". The threshold is left at 0.5; ``ml.guard_fit`` sets it.
    """
    from scipy.optimize import minimize

    mean = x.mean(0)
    scale = x.std(0) + 1e-3
    z = ((x - mean) / scale).astype(np.float32)
    d = z.shape[1]
    rng = np.random.default_rng(seed)
    sizes = [(d, hidden), (hidden,), (hidden,), (1,)]
    init = np.concatenate([rng.normal(0, 1 / np.sqrt(d), d * hidden), np.zeros(hidden),
                           rng.normal(0, 1 / np.sqrt(hidden), hidden), np.zeros(1)])
    sw = (sample_weight / sample_weight.sum()).astype(np.float32)
    y = y.astype(np.float32)

    def unpack(theta):
        parts, k = [], 0
        for shape in sizes:
            m = int(np.prod(shape))
            parts.append(theta[k:k + m].reshape(shape))
            k += m
        return parts

    def loss_grad(theta):
        w1, b1, w2, b2 = unpack(theta.astype(np.float32))
        pre = z @ w1 + b1
        h = np.maximum(pre, 0)
        logit = h @ w2 + b2[0]
        p = 1 / (1 + np.exp(-np.clip(logit, -50, 50)))
        loss = -(sw * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).sum()
        loss += l2 * ((w1**2).sum() + (w2**2).sum())
        g_logit = sw * (p - y)
        g_w2 = h.T @ g_logit + 2 * l2 * w2
        g_b2 = np.array([g_logit.sum()])
        g_h = np.outer(g_logit, w2) * (pre > 0)
        g_w1 = z.T @ g_h + 2 * l2 * w1
        g_b1 = g_h.sum(0)
        return float(loss), np.concatenate([g_w1.ravel(), g_b1, g_w2, g_b2]).astype(np.float64)

    res = minimize(loss_grad, init, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    w1, b1, w2, b2 = unpack(res.x)
    return Guard(mean.astype(np.float32), scale.astype(np.float32), w1.astype(np.float32),
                 b1.astype(np.float32), w2.astype(np.float32), float(b2[0]), 0.5)
