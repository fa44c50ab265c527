"""Finding 8 of issue 12: a 300 MB request body was spooled to disk before the size check. A body
larger than its route takes is now refused from its Content-Length, before a byte is read."""

from __future__ import annotations

import io

import pytest
from django.core.handlers.wsgi import WSGIHandler

MB = 1024 * 1024


class CountingInput(io.RawIOBase):
    """A request body that only counts what is read of it."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        self.read_bytes += len(buffer)
        buffer[:] = b"\0" * len(buffer)
        return len(buffer)


def post(path: str, length: int, **extra) -> tuple[int, bytes, int]:
    body = CountingInput()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "testserver", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "wsgi.input": body, "wsgi.errors": io.StringIO(),
               "CONTENT_TYPE": "multipart/form-data; boundary=x", "CONTENT_LENGTH": str(length), **extra}
    status = []
    chunks = WSGIHandler()(environ, lambda s, headers: status.append(s))
    return int(status[0].split()[0]), b"".join(chunks), body.read_bytes


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/scans/new/", "/api/v1/scans", "/api/predict", "/scans/batches/new", "/api/v1/batches"])
def test_a_body_too_large_for_its_route_is_refused_unread(path):
    status, content, read = post(path, 300 * MB if "batch" not in path else 1100 * MB)
    assert status == 413 and read == 0
    assert b"nothing was read" in content
    if path.startswith("/api/"):
        assert b'"request_too_large"' in content


@pytest.mark.django_db(transaction=True)  # the handler closes the connection at the request's end
def test_a_legal_size_goes_through_to_the_view():
    status, _, _ = post("/api/v1/scans", 10 * MB, HTTP_AUTHORIZATION="Token nope")
    assert status == 401  # the view answered (no such token): the size did not stop it
