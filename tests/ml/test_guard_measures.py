"""The guard's picture measures (ml.guard.picture_measures), written for speed on one image at a
time, equal their plain definition below, image by image and in batches, on slices, noise and
flat pictures: the served guard was fitted on exactly these numbers."""

import numpy as np
import pytest

from ml.guard import HIST_BINS, N_MEASURES, picture_measures
from ml.preprocess import INPUT_SIZE, load_image, to_pixels


def plain_measures(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """The measures as the guard's docstring defines them, one reduction at a time."""
    n, size = len(pixels), pixels.shape[1]
    flat = pixels.reshape(n, -1).astype(np.float64)
    hist = np.stack([np.histogram(row, bins=HIST_BINS, range=(0, 256))[0] for row in flat]) / flat.shape[1]
    k = size // 32
    thumb = pixels[:, :k * 32, :k * 32].reshape(n, 32, k, 32, k).mean((2, 4)) / 255
    centred = thumb - thumb.mean((1, 2), keepdims=True)
    norm = (centred**2).sum((1, 2)) + 1e-6
    mirror = np.sort(np.stack([(centred * centred[:, :, ::-1]).sum((1, 2)) / norm,
                               (centred * centred[:, ::-1, :]).sum((1, 2)) / norm], 1), 1)
    yy, xx = np.mgrid[:32, :32] + 0.5
    mass = thumb.sum((1, 2)) + 1e-6
    cy, cx = (thumb * yy).sum((1, 2)) / mass, (thumb * xx).sum((1, 2)) / mass
    ring = np.minimum((np.hypot(yy - cy[:, None, None], xx - cx[:, None, None]) / 16 * 4).astype(int), 5)
    rings = np.stack([(thumb * (ring == r)).sum((1, 2)) / np.maximum((ring == r).sum((1, 2)), 1)
                      / (thumb.mean((1, 2)) + 1e-3) for r in range(6)], 1)
    edges = (np.abs(np.diff(thumb, axis=1)).mean((1, 2)) + np.abs(np.diff(thumb, axis=2)).mean((1, 2))) / (
        thumb.std((1, 2)) + 0.02)
    return np.column_stack([hist, (flat < 12).mean(1), flat.mean(1) / 255, flat.std(1) / 255, mirror, rings,
                            np.hypot(cy - 16, cx - 16) / 16, edges, np.log1p(colour)]).astype(np.float32)


@pytest.fixture(scope="module")
def pictures(data_root, manifest):
    rng = np.random.default_rng(7)
    slices = [to_pixels(load_image(data_root / e.path), INPUT_SIZE) for e in manifest[::150][:40]]
    other = [rng.integers(0, 256, (INPUT_SIZE, INPUT_SIZE), dtype=np.uint8),  # noise
             np.zeros((INPUT_SIZE, INPUT_SIZE), np.uint8), np.full((INPUT_SIZE, INPUT_SIZE), 255, np.uint8),
             np.tile(np.arange(INPUT_SIZE, dtype=np.uint8), (INPUT_SIZE, 1))]  # a ramp
    pixels = np.stack(slices + other)
    return pixels, rng.uniform(0, 90, len(pixels))


def test_the_measures_equal_their_plain_definition(pictures):
    pixels, colour = pictures
    expected = plain_measures(pixels, colour)
    assert expected.shape == (len(pixels), N_MEASURES)
    np.testing.assert_allclose(picture_measures(pixels, colour), expected, rtol=1e-5, atol=1e-6)
    one_by_one = np.concatenate([picture_measures(pixels[i:i + 1], colour[i:i + 1]) for i in range(len(pixels))])
    np.testing.assert_allclose(one_by_one, expected, rtol=1e-5, atol=1e-6)


def test_other_input_sizes_are_measured_on_their_own_thumbnail(pictures):
    pixels, colour = pictures
    big = np.repeat(np.repeat(pixels[:6], 2, 1), 2, 2)[:, :300, :300]  # 300 px: 9 px cells, a border cut off
    np.testing.assert_allclose(picture_measures(big, colour[:6]), plain_measures(big, colour[:6]), rtol=1e-5, atol=1e-6)
