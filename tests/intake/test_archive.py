"""Finding 1 of issue 12: one ZIP request could exhaust memory and disk. Members are now checked
against the per-file limit from their header and while they stream, never read whole; the member
and image counts, and an archive with nothing to classify, are refused before anything is staged;
no member path is kept."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from scans.intake.archive import read_archive
from scans.intake.errors import ScanRejected
from scans.models import BatchItem, BatchJob
from tests.batches.helpers import post_batch, zip_bytes
from tests.helpers import client_for, png, stored_files

MB = 1024 * 1024


def zeros_zip(name: str, size: int) -> bytes:
    """A ZIP holding one member of `size` zero bytes, written in pieces (never held whole here)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(name, "w", force_zip64=True) as member:
        piece = b"\0" * MB
        for _ in range(size // MB):
            member.write(piece)
    return buf.getvalue()


def lying_zip(real: bytes, declared: int) -> bytes:
    """A ZIP whose one member's headers declare `declared` bytes while it holds `real`."""
    data = bytearray(zip_bytes({"slice.png": real, "ok.png": png(96, 9)}, zipfile.ZIP_STORED))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset:at + offset + 4] = declared.to_bytes(4, "little")
    return bytes(data)


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_huge_member_is_refused_from_its_header_without_being_read():
    bomb = zeros_zip("huge.png", 200 * MB)
    assert len(bomb) < 1 * MB
    found: list = []
    peak = peak_bytes(lambda: found.extend(read_archive(
        zip_bytes({"ok.png": png(96, 1), "bomb.zip": bomb}), max_members=10, max_bytes=2000 * MB,
        max_member_bytes=20 * MB, max_images=10)))
    assert [(m.code, bool(m.skipped)) for m in found] == [("skipped", False), ("file_too_large", True)]
    assert "20 MB limit" in found[1].skipped
    assert peak < 8 * MB  # the 1 MB nested archive, pieces of it; never the member


def test_a_member_whose_header_lies_is_never_taken_for_more_than_it_declares():
    real = png(96, 2) + b"\0" * (3 * MB)
    data = lying_zip(real, declared=1000)
    found = list(read_archive(data, max_members=10, max_bytes=100 * MB, max_member_bytes=2 * MB, max_images=10))
    assert not found[0].data and found[0].skipped


def test_a_member_over_the_file_limit_is_stopped_after_the_limit_while_streaming(monkeypatch):
    """Even a header that declares a legal size is not trusted: reading stops past the limit."""
    data = zip_bytes({"a.png": png(96, 3), "big.png": png(96, 4) + b"\0" * (30 * MB)})
    found: list = []
    peak = peak_bytes(lambda: found.extend(read_archive(data, max_members=10, max_bytes=100 * MB,
                                                         max_member_bytes=5 * MB, max_images=10)))
    assert found[1].code == "file_too_large"
    assert peak < 3 * 5 * MB


def test_too_many_images_are_refused_before_any_member_is_read(owner, settings):
    settings.BATCH_MAX_FILES = 5
    data = zip_bytes({f"{i}.png": png(96, i) for i in range(6)})
    members = read_archive(data, max_members=100, max_bytes=100 * MB, max_member_bytes=MB, max_images=5)
    with pytest.raises(ScanRejected) as exc:
        next(members)  # refused at the plan: not one member handed out to be staged
    assert exc.value.code == "too_many_files"
    response = post_batch(client_for(owner), [ContentFile(data, name="study.zip")])
    assert response.status_code == 400 and b"at most 5 per batch" in response.content
    assert not BatchJob.objects.exists() and not stored_files(settings)


def test_too_many_members_are_refused_before_any_is_read(owner, settings):
    settings.BATCH_ZIP_MAX_MEMBERS = 50
    data = zip_bytes({f"{i}.bin": b"\0" * 1000 for i in range(51)})
    response = post_batch(client_for(owner), [ContentFile(data, name="many.zip")])
    assert response.status_code == 400 and b"more files than NeuroLens accepts" in response.content
    assert not BatchJob.objects.exists() and not stored_files(settings)


def test_an_archive_with_nothing_to_classify_is_refused(owner, settings):
    data = zip_bytes({f"notes/{i}.txt": b"not an image" for i in range(1999)})
    response = post_batch(client_for(owner), [ContentFile(data, name="notes.zip")])
    assert response.status_code == 400 and b"no JPEG, PNG or DICOM image" in response.content
    assert not BatchJob.objects.exists() and not BatchItem.objects.exists() and not stored_files(settings)


def test_member_paths_are_never_kept(owner, settings):
    secret_path = "ZQFOLDER_Quorvena_PID-9938271/report_Quorvena"
    data = zip_bytes({f"{secret_path}.txt": b"notes", f"{secret_path}.png": png(96, 5),
                      f"{secret_path}-2.png": png(96, 6)})
    client = client_for(owner)
    post_batch(client, [ContentFile(data, name="Quorvena PID-9938271.zip")])
    batch = BatchJob.objects.get()
    names = [batch.name, *batch.items.values_list("name", flat=True), *batch.items.exclude(scan=None)
             .values_list("scan__original_name", flat=True)]
    assert names == ["3 files", "file 1 of 3", "PNG 2 of 3", "PNG 3 of 3", "PNG 2 of 3", "PNG 3 of 3"]
    pages = [client.get(reverse("scans:batch", args=[batch.pk])).content,
             b"".join(client.get(reverse("scans:batch-csv", args=[batch.pk])).streaming_content)]
    assert not any(b"Quorvena" in page or b"ZQFOLDER" in page for page in pages)
