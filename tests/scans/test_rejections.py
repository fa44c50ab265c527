"""Every kind of bad upload is refused with its own message and leaves nothing behind."""

import io
import zlib

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from scans.models import Prediction, Scan
from tests.api.conftest import token_client
from tests.helpers import client_for, encode, jpeg, mri_slice, png, stored_files, upload

pytestmark = pytest.mark.django_db


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header declaring a huge image, with a tiny compressed body (a decompression bomb)."""
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * min(height, 64), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def other_format(fmt: str) -> bytes:
    return encode(mri_slice(128, mode="RGB"), fmt)


#  (file, error code, words of its message, HTTP status: the same the API gives for that code)
CASES = {
    "empty": (lambda: b"", "empty_file", "The file is empty.", 400),
    "text": (lambda: b"patient: Jane Doe\nfindings: none\n" * 20, "not_an_image", "not an image", 415),
    "pdf": (lambda: b"%PDF-1.7\n" + b"0" * 500, "not_an_image", "not an image", 415),
    "gif": (lambda: other_format("GIF"), "unsupported_format", "GIF files are not supported", 415),
    "bmp": (lambda: other_format("BMP"), "unsupported_format", "BMP files are not supported", 415),
    "tiff": (lambda: other_format("TIFF"), "unsupported_format", "TIFF files are not supported", 415),
    "webp": (lambda: other_format("WEBP"), "unsupported_format", "WEBP files are not supported", 415),
    "dicom": (lambda: b"\x00" * 128 + b"DICM" + b"\x00" * 200, "corrupt_file", "DICOM file is damaged", 400),
    "truncated-jpeg": (lambda: jpeg(512)[:6000], "corrupt_file", "truncated or damaged", 400),
    "truncated-png": (lambda: png(512, seed=9)[:3000], "corrupt_file", "damaged", 400),
    "garbage-after-png-magic": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "corrupt_file", "damaged", 400),
    "bad-png-checksum": (lambda: png(128)[:40] + b"\xde\xad" + png(128)[42:], "corrupt_file", "damaged", 400),
    "too-small": (lambda: png(32), "image_too_small", "32x32 pixels; each side must be at least 64", 400),
    "too-thin": (lambda: encode(Image.new("L", (300, 40), 80), "PNG"), "image_too_small", "300x40", 400),
    "too-large": (lambda: encode(Image.new("L", (8200, 64), 80), "PNG"), "image_too_large", "no side may exceed 8192", 413),
    "bomb": (lambda: png_bomb(30000, 30000), "image_too_large", "more pixels than NeuroLens will decode", 413),
    "tall-bomb": (lambda: png_bomb(8000, 8192 * 3), "image_too_large", "more pixels than NeuroLens will decode", 413),
}


@pytest.mark.parametrize("case", CASES)
def test_it_rejects_with_a_specific_message_and_stores_nothing(owner, settings, case):
    make, code, message, status = CASES[case]
    response = upload(client_for(owner), make(), name=f"{case}.bin")
    assert response.status_code == status
    html = response.content.decode()
    assert f'data-error-code="{code}"' in html
    assert message in html and "Nothing was stored." in html
    assert not Scan.objects.exists() and not Prediction.objects.exists()
    assert stored_files(settings) == []


def test_a_rejection_has_one_status_on_the_page_the_api_and_the_prototypes_call(owner, settings):
    """An image wider than MAX_IMAGE_SIDE answers 413 with the same code wherever it is sent."""
    data = encode(Image.new("L", (8200, 64), 80), "PNG")
    page = upload(client_for(owner), data, name="wide.png")
    api = token_client(owner)
    native = api.post("/api/v1/scans", {"image": ContentFile(data, name="wide.png")})
    prototype = api.post("/api/predict", {"image": ContentFile(data, name="wide.png")})
    assert (page.status_code, native.status_code, prototype.status_code) == (413, 413, 413)
    assert 'data-error-code="image_too_large"' in page.content.decode()
    assert native.json()["error"]["code"] == prototype.json()["error"]["code"] == "image_too_large"
    assert not Scan.objects.exists() and stored_files(settings) == []


def test_it_rejects_a_file_over_the_size_limit(owner, settings):
    data = jpeg(256) + b"\x00" * (20 * 1024 * 1024)
    response = upload(client_for(owner), data, name="huge.jpg")
    assert response.status_code == 413
    assert "larger than the 20 MB limit" in response.content.decode()
    assert not Scan.objects.exists() and stored_files(settings) == []


def test_the_size_limit_is_a_setting(owner, settings):
    settings.MAX_UPLOAD_MB, settings.MAX_UPLOAD_BYTES = 1, 1024 * 1024
    buf = io.BytesIO()
    Image.effect_noise((1100, 1100), 100).save(buf, "PNG")
    response = upload(client_for(owner), buf.getvalue())
    assert response.status_code == 413 and "1 MB limit" in response.content.decode()


def test_it_rejects_a_post_without_a_file(owner):
    response = client_for(owner).post("/scans/new/", {"patient_ref": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and "This field is required" in response.content.decode()


def test_it_rejects_an_overlong_patient_reference(owner, settings):
    response = upload(client_for(owner), png(), patient_ref="x" * 65)
    assert response.status_code == 422 and "Patient reference" in response.content.decode()
    assert not Scan.objects.exists() and stored_files(settings) == []
