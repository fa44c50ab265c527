"""ZIP archives: folders, non-images, one nested level, traversal names and bombs."""

import zipfile

import pytest
from django.core.files.base import ContentFile

from scans.intake.archive import read_archive
from scans.intake.errors import ScanRejected
from scans.models import BatchJob, Scan
from tests.batches.helpers import post_batch, zip_bytes
from tests.helpers import client_for, png, stored_files


def members(data: bytes, max_members: int = 100, max_bytes: int = 10**7) -> dict[str, str]:
    return {m.name: m.skipped for m in read_archive(data, max_members=max_members, max_bytes=max_bytes)}


def test_members_in_folders_are_read_and_named_by_their_position_alone():
    data = zip_bytes({"study/a/1.png": png(96, 1), "study/b/2.png": png(96, 2), "study/readme.txt": b"hello"})
    assert members(data) == {"PNG 1 of 3": "", "PNG 2 of 3": "",
                             "file 3 of 3": "Not an image (JPEG, PNG or DICOM)."}


def test_one_nested_archive_is_opened_and_a_deeper_one_is_skipped():
    deeper = zip_bytes({"x.png": png(96, 3)})
    inner = zip_bytes({"in.png": png(96, 4), "deeper.zip": deeper})
    found = members(zip_bytes({"top.png": png(96, 5), "inner.zip": inner}))
    assert found["PNG 1 of 3"] == "" and found["PNG 2 of 3"] == ""
    assert "not opened" in found["file 3 of 3"]


@pytest.mark.parametrize("name", ["../../etc/passwd.png", "/abs/slice.png", "a/../../b.png", "..\\win.png",
                                  "C:/x.png"])
def test_a_traversal_name_refuses_the_whole_archive(name):
    with pytest.raises(ScanRejected) as exc:
        members(zip_bytes({"ok.png": png(96, 1), name: png(96, 2)}))
    assert exc.value.code == "archive_unsafe_path"


def test_a_bomb_is_refused_by_its_unpacked_size():
    bomb = zip_bytes({f"zeros-{i}.png": b"\0" * 5_000_000 for i in range(4)})
    assert len(bomb) < 100_000
    with pytest.raises(ScanRejected) as exc:
        members(bomb, max_bytes=10_000_000)
    assert exc.value.code == "archive_too_large"


def test_a_nested_bomb_counts_against_the_same_limit():
    inner = zip_bytes({"zeros.png": b"\0" * 8_000_000})
    with pytest.raises(ScanRejected) as exc:
        members(zip_bytes({"a.zip": inner, "b.zip": inner}), max_bytes=10_000_000)
    assert exc.value.code == "archive_too_large"


def test_too_many_members_refuse_the_archive():
    with pytest.raises(ScanRejected) as exc:
        members(zip_bytes({f"{i}.txt": b"x" for i in range(11)}), max_members=10)
    assert exc.value.code == "archive_too_many_members"


def test_a_damaged_archive_is_refused():
    with pytest.raises(ScanRejected) as exc:
        members(b"PK\x03\x04" + b"\0" * 50)
    assert exc.value.code == "corrupt_archive"


def test_a_zip_upload_lists_skipped_members_with_their_reason(owner):
    data = zip_bytes({"s/1.png": png(96, 1), "s/2.png": png(96, 2), "s/notes.txt": b"text", "s/bad.png": b"\x89PNG\r\n\x1a\n" + b"junk"})
    client = client_for(owner)
    post_batch(client, [ContentFile(data, name="study.zip")])
    batch = BatchJob.objects.get()
    assert batch.name == "4 files"  # neither the archive's name nor its paths are kept
    assert {i.name: i.status for i in batch.items.all()} == {
        "PNG 1 of 4": "done", "PNG 2 of 4": "done", "file 3 of 4": "skipped", "PNG 4 of 4": "failed"}
    assert batch.items.get(name="file 3 of 4").error_message == "Not an image (JPEG, PNG or DICOM)."
    assert Scan.objects.count() == 2


def test_a_refused_archive_stores_nothing(owner, settings):
    response = post_batch(client_for(owner), [ContentFile(png(96, 1), name="a.png"),
                                              ContentFile(zip_bytes({"../x.png": png(96, 2)}), name="evil.zip")])
    assert response.status_code == 400 and b"outside itself" in response.content
    assert not BatchJob.objects.exists() and not stored_files(settings)


def test_a_bomb_upload_is_a_413(owner, settings):
    settings.BATCH_ZIP_MAX_UNPACKED_MB = 1
    bomb = zip_bytes({"zeros.png": b"\0" * 3_000_000}, zipfile.ZIP_DEFLATED)
    response = post_batch(client_for(owner), [ContentFile(bomb, name="bomb.zip")])
    assert response.status_code == 413 and not stored_files(settings)
