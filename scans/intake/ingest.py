"""Bytes from an upload -> a checked, decoded image, or ScanRejected with a message for the user.

Nothing here touches the database or the disk: a rejected file leaves no trace.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from ml.preprocess import load_image, to_model_mode
from scans.intake.deid import strip_image_metadata
from scans.intake.dicom import read_dicom
from scans.intake.errors import ScanRejected
from scans.intake.limits import check_size

ACCEPTED = {"JPEG": ".jpg", "PNG": ".png"}
MODEL_SIDE = 1024  # the most pixels a side a checked image keeps for the model (see for_the_model)
#  Formats recognised by their first bytes, so that a known-but-unsupported file gets a
#  specific message even where Pillow cannot open it.
_MAGIC = [
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
]


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    image: Image.Image
    format: str
    width: int
    height: int
    sha256: str
    #  DICOM only: the pseudonymous patient key and the technical attributes kept.
    patient_key: str = ""
    metadata: dict = field(default_factory=dict)
    size: int = -1  # of `data` as checked; kept when a caller lets go of the bytes (dropped_bytes)

    def __post_init__(self):
        if self.size < 0:
            object.__setattr__(self, "size", len(self.data))

    def dropped_bytes(self) -> CheckedImage:
        """The same check without its bytes, for a caller whose file is stored already (a staged
        batch file the scan adopts): a chunk of large images holds their pixels, not their files too."""
        return replace(self, data=b"", size=self.size)

    @property
    def extension(self) -> str:
        return ACCEPTED.get(self.format, ".png")  # a DICOM upload is stored as the PNG derived from it


def sniff_format(data: bytes) -> str | None:
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "DICOM"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for magic, fmt in _MAGIC if data.startswith(magic)), None)


def read_image(data: bytes, *, max_bytes: int, min_side: int, max_side: int, name: str = "") -> CheckedImage:
    if not data:
        raise ScanRejected("empty_file", "The file is empty.")
    if len(data) > max_bytes:
        raise ScanRejected("file_too_large", f"The file is larger than the {max_bytes // (1024 * 1024)} MB limit.")
    fmt = sniff_format(data)
    if fmt == "DICOM" or (fmt is None and name.lower().endswith(".dcm")):
        return _read_dicom(data, min_side, max_side)
    fmt = fmt or _pillow_format(data)
    if fmt not in ACCEPTED:
        raise ScanRejected("unsupported_format", f"{fmt} files are not supported; upload a JPEG, PNG or DICOM image.")
    width, height = _header_size(data)
    check_size(width, height, min_side, max_side)
    #  What is stored and hashed is the file without its metadata: two uploads of one image that
    #  differ only in EXIF or text chunks are the same scan, and the stored file carries none.
    data = strip_image_metadata(data, fmt)
    with DECODING.hold(width * height):
        image = for_the_model(_decode(data))
    return CheckedImage(data, image, fmt, width, height, hashlib.sha256(data).hexdigest())


def for_the_model(image: Image.Image) -> Image.Image:
    """What a checked image keeps until it is classified: "L" or "RGB" (ml.preprocess.to_model_mode),
    box-reduced by a whole factor to at most MODEL_SIDE pixels a side. The model sees 160 px, and its
    resize box-reduces by a whole factor first too, so the tensor hardly moves; what moves is what a
    batch chunk holds: a few megabytes an image, not the tens a large decoded image takes."""
    image = to_model_mode(image)
    factor = math.ceil(max(image.size) / MODEL_SIDE)
    return image.reduce(factor) if factor > 1 else image


def read_stored(data: bytes) -> Image.Image:
    """A stored scan's file (checked at upload; a DICOM upload's derived PNG) decoded as the model saw
    it then: the same decoder, the same pixel budget, the same reduction (manage.py rescore)."""
    with Image.open(io.BytesIO(data)) as img:
        pixels = img.size[0] * img.size[1]
    with DECODING.hold(pixels):
        return for_the_model(_decode(data))


def _read_dicom(data: bytes, min_side: int, max_side: int) -> CheckedImage:
    dicom = read_dicom(data, secret=settings.PATIENT_KEY_SECRET, min_side=min_side, max_side=max_side,
                       force=sniff_format(data) != "DICOM")
    buf = io.BytesIO()
    dicom.image.save(buf, "PNG")
    png = buf.getvalue()
    return CheckedImage(png, for_the_model(dicom.image), "DICOM", *dicom.image.size, hashlib.sha256(png).hexdigest(),
                        dicom.patient_key, dicom.metadata)


def _pillow_format(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.format or "Unknown"
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        raise ScanRejected("not_an_image", "This file is not an image; upload a JPEG or PNG MRI slice.") from None


def _header_size(data: bytes) -> tuple[int, int]:
    """The size the header declares, read before any pixel is decoded (bombs stop here)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                size = img.size
                img.verify()  # checksums and structure (PNG chunks); cheap, decodes nothing
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ScanRejected("image_too_large", "The image declares more pixels than NeuroLens will decode.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ScanRejected("corrupt_file", "The image is truncated or damaged and cannot be read.") from None
    return size


class _PixelBudget:
    """At most `limit` pixels being decoded and converted at once across threads: small images in
    parallel, images at the cap one at a time (their transient working set is the large part)."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0
        self._free = threading.Condition()

    @contextmanager
    def hold(self, pixels: int):
        with self._free:
            self._free.wait_for(lambda: self.used == 0 or self.used + pixels <= self.limit)
            self.used += pixels
        try:
            yield
        finally:
            with self._free:
                self.used -= pixels
                self._free.notify_all()


DECODING = _PixelBudget(4096 * 4096)


def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return load_image(data, draft=True)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ScanRejected("image_too_large", "The image declares more pixels than NeuroLens will decode.") from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise ScanRejected("corrupt_file", "The image is truncated or damaged and cannot be read.") from None
