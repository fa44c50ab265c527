"""multipart/related bodies for STOW-RS (PS3.18 10.5): one DICOM instance per part."""

from __future__ import annotations

import re
import uuid

from scans.intake.errors import ScanRejected

DICOM = "application/dicom"


def encode(parts: list[bytes]) -> tuple[bytes, str]:
    """The body and its Content-Type."""
    boundary = f"neurolens-{uuid.uuid4().hex}"
    chunks = []
    for part in parts:
        chunks += [f"--{boundary}\r\nContent-Type: {DICOM}\r\n\r\n".encode(), part, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f'multipart/related; type="{DICOM}"; boundary={boundary}'


def _param(content_type: str, name: str) -> str:
    m = re.search(rf'{name}\s*=\s*("([^"]*)"|[^;\s]+)', content_type, re.IGNORECASE)
    return (m.group(2) if m.group(2) is not None else m.group(1)) if m else ""


def decode(body: bytes, content_type: str) -> list[bytes]:
    """The DICOM parts of a STOW-RS request; ScanRejected with a code a caller can act on otherwise."""
    main = content_type.split(";")[0].strip().lower()
    if main != "multipart/related":
        raise ScanRejected("unsupported_media_type", 'Send multipart/related; type="application/dicom".')
    kind = _param(content_type, "type").lower()
    if kind and kind != DICOM:
        raise ScanRejected("unsupported_media_type", f"Parts of type {kind[:40]} are not accepted; send {DICOM}.")
    boundary = _param(content_type, "boundary")
    if not boundary:
        raise ScanRejected("bad_multipart", "The Content-Type names no boundary.")
    delimiter = b"--" + boundary.encode()
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise ScanRejected("bad_multipart", "The multipart body is not closed by its boundary.")
    parts = []
    for piece in pieces[1:-1]:
        piece = piece[2:] if piece.startswith(b"\r\n") else piece
        head, sep, data = piece.partition(b"\r\n\r\n")
        if not sep:
            raise ScanRejected("bad_multipart", "A part has no header block.")
        part_type = next((line.split(b":", 1)[1].strip().decode("latin-1").lower()
                          for line in head.split(b"\r\n") if line.lower().startswith(b"content-type:")), DICOM)
        if part_type.split(";")[0] != DICOM:
            raise ScanRejected("unsupported_media_type", f"A part is {part_type[:40]}; send {DICOM}.")
        parts.append(data[:-2] if data.endswith(b"\r\n") else data)
    if not parts:
        raise ScanRejected("no_files", "The request holds no DICOM instance.")
    return parts
