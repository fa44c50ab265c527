"""Findings 2, 5 and 8 of issue 12 at intake: every image mode Pillow decodes is classified at every
legal size (a 16-bit slice of 256 px or more failed, and took its batch neighbours down); a small
file that declares a huge image is refused before it is decoded; one kind of damage gets one code
on every path."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from ml.preprocess import to_model_mode
from scans.intake.errors import ScanRejected
from scans.intake.ingest import read_image
from scans.models import BatchJob, Scan
from tests.batches.helpers import post_batch
from tests.helpers import client_for, encode, mri_slice, png, upload


def slice_in(mode: str, size: int) -> Image.Image:
    grey = mri_slice(size, seed=size)
    if mode in ("I;16", "I"):
        return Image.fromarray(np.asarray(grey, np.uint16) * 200)  # mode I;16
    if mode == "LA":
        return Image.merge("LA", (grey, Image.new("L", grey.size, 255)))
    if mode == "P":
        return grey.convert("RGB").quantize(64)
    if mode == "1":
        return grey.point(lambda v: 255 if v > 60 else 0).convert("1")
    return grey.convert(mode)


#  (mode as made, file format): every mode a JPEG or PNG decodes to.
MODES = [("1", "PNG"), ("L", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("RGB", "PNG"), ("RGBA", "PNG"),
         ("I;16", "PNG"), ("L", "JPEG"), ("RGB", "JPEG"), ("CMYK", "JPEG")]


@pytest.mark.parametrize("size", [256, 1024])
@pytest.mark.parametrize(("mode", "fmt"), MODES, ids=lambda v: str(v))
def test_every_mode_is_classified_at_every_legal_size(owner, mode, fmt, size):
    data = encode(slice_in(mode, size), fmt)
    checked = read_image(data, max_bytes=20 * 2**20, min_side=64, max_side=8192)
    assert checked.image.mode in ("L", "RGB")  # what the model and the scope check take
    response = upload(client_for(owner), data, name=f"slice.{fmt.lower()}")
    assert response.status_code == 200, response.content.decode()[:500]
    assert Scan.objects.get().prediction.confidence > 0


def exotic(mode: str) -> Image.Image:
    base = mri_slice(300, 1)
    if mode in ("I", "F"):
        return Image.fromarray(np.asarray(base, np.float32) * 3.5, "F").convert(mode)
    if mode in ("I;16", "I;16B"):
        return Image.frombytes(mode, base.size, (np.asarray(base, "<u2" if mode == "I;16" else ">u2") * 100).tobytes())
    if mode in ("PA", "RGBa"):
        return base.convert("RGBA").convert(mode)
    return slice_in(mode, 300) if mode in ("1", "P", "LA") else base.convert(mode)


@pytest.mark.parametrize("mode", ["I", "F", "I;16", "I;16B", "LA", "PA", "CMYK", "YCbCr", "1", "P", "RGBa"])
def test_the_conversion_takes_every_mode_pillow_has(mode):
    img = exotic(mode)
    assert img.mode == mode
    out = to_model_mode(img)
    assert out.mode in ("L", "RGB") and out.size == (300, 300)
    out.copy().thumbnail((64, 64))  # what failed for I;16 in ml.scope


def test_a_16_bit_slice_does_not_take_its_batch_neighbours_down(owner):
    wide = encode(slice_in("I;16", 512), "PNG")
    files = [ContentFile(png(256, seed), name=f"{seed}.png") for seed in range(5)]
    files.insert(2, ContentFile(wide, name="sixteen.png"))
    post_batch(client_for(owner), files)
    statuses = list(BatchJob.objects.get().items.values_list("status", flat=True))
    assert statuses == ["done"] * 6


def test_a_small_file_declaring_a_huge_image_is_refused_before_decoding(owner, settings):
    huge = encode(Image.new("L", (8192, 8192), 0), "PNG", optimize=True)
    assert len(huge) < 200_000 and settings.MAX_IMAGE_PIXELS == 4096 * 4096
    response = upload(client_for(owner), huge, name="huge.png")
    assert response.status_code == 413
    assert b"megapixels" in response.content and not Scan.objects.exists()


def test_the_pixel_cap_is_a_setting(settings):
    settings.MAX_IMAGE_PIXELS = 300 * 300
    with pytest.raises(ScanRejected) as exc:
        read_image(png(400), max_bytes=2**24, min_side=64, max_side=8192)
    assert exc.value.code == "image_too_large"
    assert read_image(png(300), max_bytes=2**24, min_side=64, max_side=8192).width == 300


def test_a_garbage_dcm_file_gets_one_code_on_every_path(owner):
    garbage = bytes(np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8))
    response = upload(client_for(owner), garbage, name="garbage.dcm")
    assert 'data-error-code="corrupt_file"' in response.content.decode()
    post_batch(client_for(owner), [ContentFile(garbage, name="garbage.dcm"), ContentFile(png(128), name="a.png")])
    item = BatchJob.objects.get().items.get(position=0)
    assert (item.status, item.error_code) == ("failed", "corrupt_file")
    assert item.name == "DICOM 1 of 2"
