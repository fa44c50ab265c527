"""ZIP archives -> the files to classify, and the members skipped with a reason.

Nothing is extracted to disk: members are read into memory one at a time, their names are only
labels. An archive that tries path traversal, or whose member count or unpacked size passes the
limits, is refused whole. Archives inside the archive are opened one level deep, no further.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from scans.intake.errors import ScanRejected
from scans.intake.ingest import sniff_format

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes = b""
    skipped: str = ""  # why it is not classified; empty for a file to classify
    code: str = "skipped"  # the item's error code when it is not classified


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


class _Budget:
    def __init__(self, max_members: int, max_bytes: int):
        self.members, self.bytes = max_members, max_bytes

    def take(self, infos: list[zipfile.ZipInfo]) -> None:
        self.members -= len(infos)
        if self.members < 0:
            raise ScanRejected("archive_too_many_members", "The archive holds more files than NeuroLens accepts.")
        self.spend(sum(i.file_size for i in infos))

    def spend(self, size: int) -> None:
        self.bytes -= size
        if self.bytes < 0:
            raise ScanRejected("archive_too_large", "The archive unpacks to more data than NeuroLens accepts.")


def unsafe_name(name: str) -> bool:
    path = name.replace("\\", "/")
    return path.startswith("/") or ".." in PurePosixPath(path).parts or (len(path) > 1 and path[1] == ":")


def read_archive(data: bytes | BinaryIO, *, max_members: int, max_bytes: int, label: str = "") -> Iterator[Member]:
    """Every member as a Member; raises ScanRejected for an archive that must be refused whole.
    `data` may be an open file: then only one member at a time is held in memory."""
    budget = _Budget(max_members, max_bytes)
    yield from _members(data, budget, label, depth=0)


def _members(data: bytes | BinaryIO, budget: _Budget, prefix: str, depth: int) -> Iterator[Member]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ScanRejected("corrupt_archive", f"{prefix or 'The archive'} is not a readable ZIP file.") from None
    bad = next((i.filename for i in archive.infolist() if unsafe_name(i.filename)), None)
    if bad is not None:
        raise ScanRejected("archive_unsafe_path", "The archive names a file outside itself; it was refused.")
    budget.take(infos)
    for info in infos:
        name = f"{prefix}/{info.filename}" if prefix else info.filename
        reason = _skip_reason(info)
        if reason:
            yield Member(name, skipped=reason)
            continue
        member = _read(archive, info, budget)
        if isinstance(member, str):
            yield Member(name, skipped=member)
        elif is_zip(member[:4]):
            if depth >= 1:
                yield Member(name, skipped="An archive inside an archive inside an archive is not opened.")
            else:
                yield from _members(member, budget, name, depth + 1)
        elif sniff_format(member) is None and not name.lower().endswith(".dcm"):
            yield Member(name, skipped="Not an image (JPEG, PNG or DICOM).")
        else:
            yield Member(name, member)


def _skip_reason(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x1:
        return "Encrypted; NeuroLens does not open protected files."
    if stat.S_ISLNK(info.external_attr >> 16):
        return "A link, not a file."
    return ""


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes | str:
    """The member's bytes, never more than it declared (sizes in the header can lie)."""
    try:
        with archive.open(info) as f:
            data = f.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return "Damaged or compressed in a way NeuroLens cannot read."
    if len(data) > info.file_size:
        budget.spend(budget.bytes + 1)  # it lied about its size: treat as a bomb
    return data
