"""Batch uploads for the tests: files, ZIP archives, and the page's POST."""

from __future__ import annotations

import io
import zipfile

from django.core.files.base import ContentFile
from django.urls import reverse

from tests.helpers import jpeg, png


def good_files(n: int, start: int = 0) -> list[ContentFile]:
    return [ContentFile(png(96, seed) if seed % 2 else jpeg(96, seed), name=f"slice-{seed}.{'png' if seed % 2 else 'jpg'}")
            for seed in range(start, start + n)]


def bad_files() -> list[ContentFile]:
    return [ContentFile(b"just text", name="notes.txt"), ContentFile(png(96, 1)[:200], name="cut.png"),
            ContentFile(png(32, 2), name="tiny.png"), ContentFile(b"", name="empty.jpg")]


def zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def post_batch(client, files):
    return client.post(reverse("scans:batch-new"), {"files": files})
