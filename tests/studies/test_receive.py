"""The slice PNG the receiver writes itself: Pillow reads back exactly the 16-bit values."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scans.studies.receive import png16


@pytest.mark.parametrize("shape", [(256, 256), (1, 7), (33, 512)])
def test_the_slice_png_holds_every_16_bit_value_exactly(shape):
    values = np.random.default_rng(len(shape) + shape[0]).integers(0, 65536, shape, dtype=np.uint16)
    values.flat[:2] = (0, 65535)
    with Image.open(io.BytesIO(png16(values))) as image:
        assert image.mode == "I;16" and image.size == (shape[1], shape[0])
        assert np.array_equal(np.asarray(image), values)
