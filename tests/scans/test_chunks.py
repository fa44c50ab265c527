"""Several files in one call (POST /api/predict/batch) are read a chunk at a time: at most BATCH_CHUNK
files, and at most so many bytes of them, so memory stays bounded however many are sent."""

from django.core.files.base import ContentFile

from scans.services import chunks


def _files(*sizes: int) -> list[ContentFile]:
    return [ContentFile(b"x" * size, name=f"{i}.png") for i, size in enumerate(sizes)]


def test_chunks_hold_at_most_batch_chunk_files_in_order(settings):
    settings.BATCH_CHUNK = 3
    files = _files(*[10] * 7)
    found = chunks(files)
    assert [len(c) for c in found] == [3, 3, 1]
    assert [f for c in found for f in c] == files


def test_chunks_hold_at_most_the_byte_limit_and_a_larger_file_goes_alone(settings):
    settings.BATCH_CHUNK = 64
    files = _files(40, 50, 20, 200, 30, 70)
    found = chunks(files, most_bytes=100)
    assert [[f.size for f in c] for c in found] == [[40, 50], [20], [200], [30, 70]]
