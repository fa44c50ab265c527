"""Is this a brain MRI slice at all? Two independent signals.

1. Image statistics on a 64 px thumbnail, each compared with the range seen on the
   training slices: colour (MRI is grayscale), contrast (blank images), a dark background
   around the head, brightness, and fine-grain texture (noise).
2. The network's own view: Mahalanobis distance of the pooled features from the nearest
   class mean (tied covariance, Lee et al. 2018), against a cut-off set on training data.

Either one flags the image, with a reason a person can read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ml.preprocess import to_grayscale_uint8

STAT_NAMES = ("colour", "contrast", "border_dark", "brightness", "texture")
#  reason shown when the statistic is below / above the range of the training slices
REASONS = {
    ("colour", "high"): "a colour image (MRI slices are grayscale)",
    ("contrast", "low"): "a blank or nearly uniform image",
    ("border_dark", "low"): "no dark background around the anatomy, as an MRI slice has",
    ("brightness", "low"): "far darker than an MRI slice",
    ("brightness", "high"): "far brighter than an MRI slice (a document or photograph?)",
    ("texture", "high"): "fine-grained texture like noise or print, unlike an MRI slice",
    ("texture", "low"): "too smooth to be an MRI slice",
}
FEATURE_REASON = "unlike the MRI slices the model was trained on (feature distance)"


def image_stats(img: Image.Image) -> np.ndarray:
    """The five statistics of STAT_NAMES for one decoded image."""
    thumb = img.copy()
    thumb.thumbnail((64, 64))
    if thumb.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV"):
        rgb = np.asarray(thumb.convert("RGB"), np.int16)
        colour = float((rgb.max(-1) - rgb.min(-1)).mean())
    else:
        colour = 0.0
    gray = np.asarray(to_grayscale_uint8(thumb).resize((64, 64), Image.Resampling.BILINEAR), np.float32)
    ring = np.concatenate([gray[:4].ravel(), gray[-4:].ravel(), gray[4:-4, :4].ravel(), gray[4:-4, -4:].ravel()])
    contrast = float(gray.std())
    lap = np.abs(4 * gray[1:-1, 1:-1] - gray[:-2, 1:-1] - gray[2:, 1:-1] - gray[1:-1, :-2] - gray[1:-1, 2:])
    texture = float(lap.mean() / (contrast + 1.0))
    return np.array([colour, contrast, float((ring < 40).mean()), float(gray.mean()), texture], np.float32)


@dataclass
class ScopeModel:
    stat_low: np.ndarray  # (5,) smallest value accepted per statistic
    stat_high: np.ndarray  # (5,)
    class_means: np.ndarray  # (4, d) pooled-feature means
    precision: np.ndarray  # (d, d) inverse of the tied covariance
    distance_cutoff: float

    @classmethod
    def fit(cls, stats: np.ndarray, pooled: np.ndarray, labels: np.ndarray,
            quantile: float = 0.998, margin: float = 1.15) -> ScopeModel:
        lo = np.quantile(stats, 1 - quantile, axis=0)
        hi = np.quantile(stats, quantile, axis=0)
        span = hi - lo
        lo, hi = lo - (margin - 1) * span, hi + (margin - 1) * span
        lo[0], hi[0] = -np.inf, max(hi[0], 12.0)  # grayscale JPEGs carry a little chroma noise
        means = np.stack([pooled[labels == c].mean(0) for c in range(len(np.unique(labels)))])
        centred = pooled - means[labels]
        cov = centred.T @ centred / len(pooled) + 1e-3 * np.eye(pooled.shape[1])
        precision = np.linalg.inv(cov).astype(np.float32)
        model = cls(lo.astype(np.float32), hi.astype(np.float32), means.astype(np.float32), precision, 0.0)
        model.distance_cutoff = float(np.quantile(model.distances(pooled), quantile) * margin)
        return model

    def distances(self, pooled: np.ndarray) -> np.ndarray:
        diff = pooled[:, None, :] - self.class_means[None]  # (n, 4, d)
        d2 = np.einsum("ncd,de,nce->nc", diff, self.precision, diff)
        return np.sqrt(np.maximum(d2.min(1), 0))

    def reasons(self, stats: np.ndarray, pooled: np.ndarray) -> list[str | None]:
        """One reason per image, or None where it looks like an MRI slice."""
        out: list[str | None] = []
        dist = self.distances(pooled)
        for s, d in zip(np.atleast_2d(stats), dist):
            found = [REASONS[(name, "low")] for name, v, lo in zip(STAT_NAMES, s, self.stat_low)
                     if v < lo and (name, "low") in REASONS]
            found += [REASONS[(name, "high")] for name, v, hi in zip(STAT_NAMES, s, self.stat_high)
                      if v > hi and (name, "high") in REASONS]
            if d > self.distance_cutoff:
                found.append(FEATURE_REASON)
            out.append("; ".join(found) if found else None)
        return out

    def save(self, path) -> None:
        np.savez_compressed(path, stat_low=self.stat_low, stat_high=self.stat_high, class_means=self.class_means,
                            precision=self.precision, distance_cutoff=np.float32(self.distance_cutoff))

    @classmethod
    def load(cls, path) -> ScopeModel:
        z = np.load(path)
        return cls(z["stat_low"], z["stat_high"], z["class_means"], z["precision"], float(z["distance_cutoff"]))
