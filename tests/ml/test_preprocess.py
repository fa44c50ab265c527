import io

import numpy as np
import pytest
from PIL import Image

from ml.data import load_pixels
from ml.preprocess import INPUT_SIZE, load_image, pixels_to_input, to_grayscale_uint8, to_model_input, to_pixels


def _gradient(w=300, h=200):
    return np.tile(np.linspace(0, 255, w, dtype=np.float32), (h, 1))


MODES = {
    "1": lambda: Image.fromarray(_gradient() > 128),
    "L": lambda: Image.fromarray(_gradient().astype(np.uint8), "L"),
    "P": lambda: Image.fromarray(_gradient().astype(np.uint8), "L").convert("RGB").convert("P"),
    "RGB": lambda: Image.fromarray(np.stack([_gradient().astype(np.uint8)] * 3, -1), "RGB"),
    "RGBA": lambda: Image.fromarray(np.stack([_gradient().astype(np.uint8)] * 4, -1), "RGBA"),
    "LA": lambda: Image.fromarray(_gradient().astype(np.uint8), "L").convert("LA"),
    "CMYK": lambda: Image.fromarray(np.stack([_gradient().astype(np.uint8)] * 3, -1), "RGB").convert("CMYK"),
    "I;16": lambda: Image.fromarray((_gradient() * 200).astype(np.uint16)),
    "I": lambda: Image.fromarray((_gradient() * 1000).astype(np.int32)),
    "F": lambda: Image.fromarray((_gradient() / 255.0).astype(np.float32)),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_becomes_a_grayscale_square_tensor(mode):
    img = MODES[mode]()
    assert img.mode == mode
    x = to_model_input(img)
    assert x.shape == (INPUT_SIZE, INPUT_SIZE, 1)
    assert x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    #  a non-square image is padded, not stretched: the top and bottom rows are black
    assert x[0].max() == 0.0 and x[-1].max() == 0.0
    #  and the content survives: a left-to-right ramp stays one
    middle = x[INPUT_SIZE // 2, :, 0]
    assert middle[-5] > middle[5]


def test_sixteen_bit_images_are_windowed_not_clipped():
    arr = np.full((128, 128), 1000, np.uint16)
    arr[32:96, 32:96] = 3000
    out = np.asarray(to_grayscale_uint8(Image.fromarray(arr)))
    assert out.min() == 0 and out.max() == 255


def test_transparent_areas_become_black():
    img = Image.new("RGBA", (100, 100), (255, 255, 255, 0))
    img.paste((200, 200, 200, 255), (25, 25, 75, 75))
    px = to_pixels(img)
    assert px[0, 0] == 0 and px[INPUT_SIZE // 2, INPUT_SIZE // 2] == 200


def test_jpeg_bytes_and_path_decode_alike(tmp_path):
    img = Image.fromarray(np.random.default_rng(1).integers(0, 255, (512, 512), np.uint8), "L")
    img.save(tmp_path / "a.jpg", quality=90)
    from_path = to_pixels(load_image(tmp_path / "a.jpg"))
    from_bytes = to_pixels(load_image((tmp_path / "a.jpg").read_bytes()))
    np.testing.assert_array_equal(from_path, from_bytes)


def test_training_and_serving_paths_give_identical_tensors(data_root, manifest, classifier, tmp_path, monkeypatch):
    import ml.data

    monkeypatch.setattr(ml.data, "CACHE_DIR", tmp_path)
    ex = next(e for e in manifest if e.path.startswith("brain-tumor-classification"))
    training = pixels_to_input(load_pixels(data_root, [ex], progress=False)[0])  # as ml.train feeds the network
    served = to_model_input(load_image(io.BytesIO((data_root / ex.path).read_bytes())))
    np.testing.assert_array_equal(training, served)


@pytest.mark.parametrize(("side", "decoded"), [(512, 256), (1024, 256), (320, 160), (300, 300), (100, 100)])
def test_large_jpegs_are_decoded_at_reduced_size_but_never_below_the_input(side, decoded):
    """Drafting skips decode work on big slices (512 px decodes at 256) without going under INPUT_SIZE."""
    buf = io.BytesIO()
    Image.fromarray(np.stack([_gradient(side, side).astype(np.uint8)] * 3, -1), "RGB").save(buf, "JPEG")
    img = load_image(buf.getvalue())
    assert img.size == (decoded, decoded)
    assert min(img.size) >= min(side, INPUT_SIZE)
    assert to_pixels(img).shape == (INPUT_SIZE, INPUT_SIZE)


def test_draft_is_only_a_decoding_shortcut(tmp_path):
    """A drafted decode and a full decode of the same slice give nearly the same input."""
    rng = np.random.default_rng(3)
    smooth = Image.fromarray(rng.integers(0, 255, (32, 32), np.uint8), "L").resize((512, 512), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    smooth.save(buf, "JPEG", quality=95)
    drafted = to_pixels(load_image(buf.getvalue())).astype(int)
    full = to_pixels(load_image(buf.getvalue(), draft=False)).astype(int)
    assert np.abs(drafted - full).mean() < 2.0
