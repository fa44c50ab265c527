"""DICOM uploads: real decoding with the LUTs, multi-frame, and every refusal."""

import io

import numpy as np
import pydicom
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image
from pydicom.data import get_testdata_file

from scans.models import Scan
from tests.dicom_files import mr_dataset, mr_file, to_bytes
from tests.helpers import client_for, stored_files, upload


def bundled(name: str) -> bytes:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom's bundled {name} is missing"
    with open(path, "rb") as fh:
        return fh.read()


def stored_pixels(scan: Scan) -> np.ndarray:
    with scan.image.open("rb") as fh:
        return np.asarray(Image.open(io.BytesIO(fh.read())))


def test_it_reads_pydicoms_mr_file_through_its_luts(owner):
    response = upload(client_for(owner), bundled("MR_small.dcm"), name="MR_small.dcm")
    assert response.status_code == 200, response.content
    scan = Scan.objects.get()
    assert (scan.format, scan.width, scan.height) == ("DICOM", 64, 64)
    pixels = stored_pixels(scan)
    #  A raw cast of these 16-bit values to 8 bits would be nearly black or wrapped.
    assert pixels.dtype == np.uint8 and pixels.max() >= 250 and pixels.mean() > 40
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm", download=False))
    expected = ds.pixel_array.astype(np.float32)
    lo, hi = np.percentile(expected, (0.5, 99.5))
    assert np.corrcoef(stored_pixels(scan).ravel(), np.clip(expected, lo, hi).ravel())[0, 1] > 0.99
    assert scan.dicom_meta["Pixel spacing (mm)"] == "0.3125, 0.3125"
    assert scan.dicom_meta["Slice thickness (mm)"] == "0.8"
    assert scan.dicom_meta["Orientation (direction cosines)"] == "1, 0, 0, 0, 1, 0"
    assert scan.prediction.model_version


def test_it_applies_the_window_the_file_asks_for(owner):
    ds = mr_dataset()
    ds.WindowCenter, ds.WindowWidth = 200, 100  # a narrow window: everything above 250 is white
    upload(client_for(owner), to_bytes(ds), name="w.dcm")
    pixels = stored_pixels(Scan.objects.get())
    raw = np.frombuffer(ds.PixelData, np.uint16).reshape(pixels.shape)
    assert (pixels[raw >= 260] == 255).all() and (pixels[raw <= 140] == 0).all()


def test_it_classifies_the_middle_frame_and_says_so(owner):
    client = client_for(owner)
    upload(client, mr_file(frames=3), name="cine.dcm")
    scan = Scan.objects.get()
    assert scan.dicom_meta["Frame"] == "2 of 3 (the middle frame was classified)"
    assert stored_pixels(scan).mean() > 20  # the other frames are black
    assert "2 of 3 (the middle frame was classified)" in client.get(reverse("scans:detail", args=[scan.pk])).text


def test_it_shows_the_kept_technical_metadata(owner):
    client = client_for(owner)
    upload(client, mr_file(), name="a.dcm")
    page = client.get(reverse("scans:detail", args=[Scan.objects.get().pk])).text
    for text in ("Sequence", "T1 AX POST", "Pixel spacing (mm)", "0.5, 0.5", "Slice thickness (mm)", "Orientation"):
        assert text in page


def test_a_dcm_file_without_preamble_is_read_by_its_extension(owner):
    ds = mr_dataset()
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, implicit_vr=False, little_endian=True)  # no preamble, no DICM
    data = buf.getvalue()
    assert data[128:132] != b"DICM"
    assert upload(client_for(owner), data, name="slice.dcm").status_code == 200
    assert Scan.objects.get().format == "DICOM"


def test_the_api_takes_dicom_too(owner):
    response = client_for(owner).post(reverse("api:scans"), {"image": ContentFile(mr_file(), name="x.dcm")})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["format"] == "DICOM" and body["patient_ref"].startswith("dcm-")
    assert body["dicom_meta"]["Slice thickness (mm)"] == "5"


def _rejected(client, data: bytes, name: str, code: str, text: str, settings):
    response = upload(client, data, name=name)
    assert response.status_code == (413 if code == "image_too_large" else 400), response.content
    assert f'data-error-code="{code}"' in response.text and text in response.text
    assert not Scan.objects.exists() and stored_files(settings) == []


def test_it_refuses_pydicoms_ct_file(owner, settings):
    _rejected(client_for(owner), bundled("CT_small.dcm"), "CT_small.dcm", "unsupported_modality",
              "This DICOM file is CT, not MR", settings)


def test_it_refuses_pydicoms_truncated_file(owner, settings):
    _rejected(client_for(owner), bundled("MR_truncated.dcm"), "MR_truncated.dcm", "corrupt_file",
              "damaged or truncated", settings)


def test_it_refuses_a_file_cut_short(owner, settings):
    data = mr_file()
    _rejected(client_for(owner), data[: len(data) // 2], "half.dcm", "corrupt_file", "damaged or truncated", settings)


def test_it_refuses_a_file_without_pixel_data(owner, settings):
    _rejected(client_for(owner), to_bytes(mr_dataset(pixels=False)), "empty.dcm", "no_pixel_data",
              "no pixel data", settings)


def test_it_refuses_a_compression_it_cannot_decode(owner, settings):
    ds = pydicom.dcmread(io.BytesIO(bundled("JPEG-lossy.dcm")))
    ds.Modality = "MR"  # 12-bit JPEG Extended: no installed decoder reads it
    buf = io.BytesIO()
    ds.save_as(buf)
    _rejected(client_for(owner), buf.getvalue(), "jpeg.dcm", "unsupported_compression", "JPEG Extended", settings)


def test_the_api_gives_the_same_refusal(owner, settings):
    response = client_for(owner).post(reverse("api:scans"),
                                      {"image": ContentFile(bundled("CT_small.dcm"), name="ct.dcm")})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_modality"
    assert not Scan.objects.exists() and stored_files(settings) == []


@pytest.mark.parametrize("size", [32, 9000])
def test_it_checks_the_size_before_decoding(owner, settings, size):
    ds = mr_dataset(size=64)
    ds.Rows = ds.Columns = size  # the header lies; decoding would fail, the size check comes first
    code = "image_too_small" if size < 64 else "image_too_large"
    _rejected(client_for(owner), to_bytes(ds), "odd.dcm", code, "pixels", settings)


def test_the_batch_call_takes_dicom_and_refuses_per_file(owner):
    files = [ContentFile(mr_file(), name="mr.dcm"), ContentFile(bundled("CT_small.dcm"), name="ct.dcm")]
    response = client_for(owner).post("/api/predict/batch", {"images": files})
    assert response.status_code == 200, response.content
    good, bad = response.json()
    assert set(good["all_predictions"]) and bad["error"]["code"] == "unsupported_modality"
    assert Scan.objects.get().format == "DICOM"


def test_it_refuses_an_image_with_text_burned_in(owner, settings):
    ds = mr_dataset()
    ds.BurnedInAnnotation = "YES"
    _rejected(client_for(owner), to_bytes(ds), "burned.dcm", "burned_in_annotation", "burned into its pixels", settings)
