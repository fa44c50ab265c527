"""ZIP archives -> the files to classify, and the members skipped with a reason.

Nothing is extracted to disk, and no member is ever read whole on trust: each is checked against
the per-file limit from its header, then read in pieces and dropped the moment it passes the limit
(headers can lie). The archive is read twice: first a plan, from the headers and each member's
first bytes only, which refuses the archive whole (path traversal, too many members, more images
than a batch takes, or nothing to classify) before anything is staged; then the members to
classify, one at a time. Archives inside the archive are opened one level deep, no further.

Member names are never kept (a path is often a patient's name and ID): a member is known by its
position and kind alone ("PNG 3 of 40").
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from django.conf import settings

from scans.intake.errors import ScanRejected
from scans.intake.ingest import sniff_format

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HEAD = 132  # enough to recognise every format, DICOM's "DICM" at 128 included
_PIECE = 1024 * 1024
_UNREADABLE = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class Member:
    name: str  # neutral: its kind and position, never the member's path
    data: bytes = b""
    skipped: str = ""  # why it is not classified; empty for a file to classify
    code: str = "skipped"  # the item's error code when it is not classified
    kind: str = "file"  # what its first bytes say it is: "PNG", "JPEG", "DICOM", "file"


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


@dataclass
class _Planned:
    info: zipfile.ZipInfo
    kind: str = "file"
    skipped: str = ""
    code: str = "skipped"
    nested: list[_Planned] | None = None  # the plan of an archive inside the archive


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


def read_archive(data: bytes | BinaryIO, *, max_members: int, max_bytes: int, max_member_bytes: int | None = None,
                 max_images: int | None = None, label: str = "") -> Iterator[Member]:
    """Every member as a Member; raises ScanRejected, before yielding anything, for an archive that
    must be refused whole. `data` may be an open file: only one member at a time is held in memory.
    The per-file and per-batch limits default to MAX_UPLOAD_BYTES and BATCH_MAX_FILES."""
    max_member_bytes = max_member_bytes or settings.MAX_UPLOAD_BYTES
    max_images = max_images or settings.BATCH_MAX_FILES
    budget = _Budget(max_members, max_bytes)
    archive = _open(data)
    plan = _plan(archive, budget, max_member_bytes, depth=0)
    flat = list(_flatten(plan))
    images = sum(not p.skipped for p in flat)
    if not images:
        raise ScanRejected("nothing_to_classify", "The archive holds no JPEG, PNG or DICOM image to classify.")
    if images > max_images:
        raise ScanRejected("too_many_files", f"The archive holds {images} images; at most {max_images} per batch.")
    yield from _read_members(archive, plan, max_member_bytes, len(flat), iter(range(1, len(flat) + 1)))


def _open(data: bytes | BinaryIO) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
        names = [i.filename for i in archive.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ScanRejected("corrupt_archive", "The archive is not a readable ZIP file.") from None
    if any(unsafe_name(n) for n in names):
        raise ScanRejected("archive_unsafe_path", "The archive names a file outside itself; it was refused.")
    return archive


def _plan(archive: zipfile.ZipFile, budget: _Budget, max_member_bytes: int, depth: int) -> list[_Planned]:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    budget.take(infos)
    plan = []
    for info in infos:
        planned = _Planned(info)
        plan.append(planned)
        if info.flag_bits & 0x1:
            planned.skipped = "Encrypted; NeuroLens does not open protected files."
        elif stat.S_ISLNK(info.external_attr >> 16):
            planned.skipped = "A link, not a file."
        elif info.file_size > max_member_bytes:
            planned.skipped, planned.code = _too_large(max_member_bytes), "file_too_large"
        else:
            _plan_member(archive, planned, budget, max_member_bytes, depth)
    return plan


def _plan_member(archive, planned: _Planned, budget: _Budget, max_member_bytes: int, depth: int) -> None:
    try:
        with archive.open(planned.info) as f:
            head = f.read(_HEAD)
    except _UNREADABLE:
        planned.skipped = "Damaged or compressed in a way NeuroLens cannot read."
        return
    if is_zip(head):
        if depth >= 1:
            planned.skipped = "An archive inside an archive inside an archive is not opened."
            return
        inner = _read(archive, planned.info, max_member_bytes)
        if isinstance(inner, tuple):
            planned.code, planned.skipped = inner
            return
        planned.kind = "ZIP"
        planned.nested = _plan(_open(inner), budget, max_member_bytes, depth + 1)
        return
    planned.kind = sniff_format(head) or ("DICOM" if planned.info.filename.lower().endswith(".dcm") else "file")
    if planned.kind == "file":
        planned.skipped = "Not an image (JPEG, PNG or DICOM)."


def _flatten(plan: list[_Planned]) -> Iterator[_Planned]:
    for p in plan:
        if p.nested is None:
            yield p
        else:
            yield from _flatten(p.nested)


def _read_members(archive, plan: list[_Planned], max_member_bytes: int, total: int, numbers) -> Iterator[Member]:
    for p in plan:
        if p.nested is not None:
            inner = _read(archive, p.info, max_member_bytes)
            if isinstance(inner, tuple):  # it read the first time: a change in between is damage
                raise ScanRejected("corrupt_archive", "The archive is not a readable ZIP file.")
            yield from _read_members(_open(inner), p.nested, max_member_bytes, total, numbers)
            continue
        name = f"{p.kind} {next(numbers)} of {total}"
        if p.skipped:
            yield Member(name, skipped=p.skipped, code=p.code, kind=p.kind)
            continue
        data = _read(archive, p.info, max_member_bytes)
        if isinstance(data, tuple):
            yield Member(name, skipped=data[1], code=data[0], kind=p.kind)
        else:
            yield Member(name, data, kind=p.kind)


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_member_bytes: int) -> bytes | tuple[str, str]:
    """The member's bytes, read in pieces and given up the moment they pass the per-file limit
    (or what the header declared: sizes in the header can lie); (code, reason) when they cannot be had."""
    buf = io.BytesIO()
    try:
        with archive.open(info) as f:
            while piece := f.read(_PIECE):
                buf.write(piece)
                if buf.tell() > max_member_bytes:
                    return "file_too_large", _too_large(max_member_bytes)
                if buf.tell() > info.file_size:
                    raise ScanRejected("archive_too_large", "The archive unpacks to more data than it declares.")
    except _UNREADABLE:
        return "skipped", "Damaged or compressed in a way NeuroLens cannot read."
    return buf.getvalue()


def _too_large(limit: int) -> str:
    return f"The file is larger than the {limit // (1024 * 1024)} MB limit."
