"""Uploaded files are held in memory while small and the request's total allows, else spilled to a
temporary file: a batch of slices costs no temporary file each, a large archive no memory."""

import io

from django.http.multipartparser import MultiPartParser

from devtools.bench import multipart
from scans.intake import uploads


def parse(files: list[tuple[str, bytes]]) -> list:
    body, ctype = multipart("files", files)
    meta = {"CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(body))}
    return MultiPartParser(meta, io.BytesIO(body), [uploads.SpooledUploadHandler()]).parse()[1].getlist("files")


def test_small_files_stay_in_memory_and_the_rest_roll_over_intact(settings, monkeypatch):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    monkeypatch.setattr(uploads, "REQUEST_MEMORY_BYTES", 1000)
    sent = [("a.png", b"a" * 500), ("big.zip", b"b" * 5000), ("c.png", b"c" * 700), ("d.png", b"d" * 400)]
    got = parse(sent)
    assert [(f.name, f.size, f.read()) for f in got] == [(n, len(d), d) for n, d in sent]
    #  a fits; big.zip is over the per-file size; c no longer fits the request's 500 bytes left; d does.
    assert [f.file._rolled for f in got] == [False, True, True, False]
