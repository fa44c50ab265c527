"""One arriving DICOM instance -> de-identified slices ready to store, or a refusal.

The original identifiers needed to send results back are read first and kept only in memory until
they are sealed (scans.studies.sealed); then the dataset is de-identified exactly as an upload is
(scans.intake.deid) before anything else is read from it. A multi-frame instance gives one slice per frame.
Per frame come a single-frame de-identified DICOM file, staged for the batch path (which reads it
exactly as an uploaded DICOM file), and the 16-bit modality values as a lossless PNG for the
series page's window/level.
"""

from __future__ import annotations

import io
import struct
import threading
import zlib
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut
from pydicom.pixels.utils import get_expected_length
from pydicom.uid import UID, ExplicitVRLittleEndian

from scans.intake import dicom
from scans.intake.deid import deidentify
from scans.intake.errors import ScanRejected
from scans.studies.sealed import digest

dicom.configured_pydicom()  # no validation message nor log line quoting a value, before a data set is read

MR_CLASSES = {
    UID("1.2.840.10008.5.1.4.1.1.4"): "MR Image Storage",
    UID("1.2.840.10008.5.1.4.1.1.4.1"): "Enhanced MR Image Storage",
}
#  NeuroLens's own results, when a PACS routes a whole study back: accepted and dropped (no loop).
OWN_CLASSES = {UID("1.2.840.10008.5.1.4.1.1.88.34"), UID("1.2.840.10008.5.1.4.1.1.7")}
MANUFACTURER = "NeuroLens"
#  Failure statuses of C-STORE (PS3.4 B.2.3).
SOP_CLASS_NOT_SUPPORTED, DOES_NOT_MATCH, CANNOT_UNDERSTAND = 0x0122, 0xA900, 0xC000

PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                 "AccessionNumber", "ReferringPhysicianName", "StudyID")


class Refused(Exception):
    """The instance is not taken; `status` is the C-STORE failure status, `message` says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class Ignored(Exception):
    """NeuroLens's own result object coming back: answered with success, stored nowhere."""


@dataclass
class Frame:
    """One slice, de-identified, held in memory until its series is stored."""

    study_digest: str
    series_digest: str
    uid_digest: str
    frame: int
    position: float
    study_sealed: dict = field(repr=False)
    series_sealed: dict = field(repr=False)
    slice_sealed: dict = field(repr=False)
    patient_ref: str
    series_number: int | None
    description: str
    metadata: dict
    #  Until encode(): the de-identified dataset and this frame's stored values.
    ds: Dataset | None = field(repr=False, default=None)
    raw: np.ndarray | None = field(repr=False, default=None)
    staged: bytes = field(repr=False, default=b"")  # a single-frame de-identified DICOM, for the batch path
    pixels_png: bytes = field(repr=False, default=b"")
    offset: float = 0.0
    window_center: float = 0.0
    window_width: float = 1.0
    _lock: threading.Lock = field(repr=False, default_factory=threading.Lock)

    def __getstate__(self) -> dict:
        """Pickled (from a worker process, scans.studies.workers) without its lock; encode() first."""
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def encode(self) -> Frame:
        """The staged DICOM, the 16-bit PNG and the default window (numpy and zlib let go of the GIL).
        Safe to call twice at once: the second call waits and finds the work done."""
        with self._lock:
            if self.raw is not None:
                self._encode()
        return self

    def _encode(self) -> None:
        values = np.asarray(apply_modality_lut(self.raw, self.ds), np.float32)
        self.offset = float(min(0.0, np.floor(values.min())))
        stored = np.clip(np.round(values - self.offset), 0, 65535).astype(np.uint16)
        self.window_center, self.window_width = _window(self.ds, values)
        self.pixels_png = png16(stored)
        self.staged = _staged(self.ds, self.raw, self.patient_ref)
        self.ds = self.raw = None


def receive(ds: Dataset) -> list[Frame]:
    """The slices of one instance (ds.file_meta set), or Refused / Ignored. Never anything else."""
    return complete(ds, screen(ds))


def screen(ds: Dataset) -> str:
    """The checks a sender is told about (C-STORE status), on attributes that identify nobody: the
    SOP class, modality, pixel module, burned-in annotation, the UIDs and decodable pixels. Returns
    the series' digest."""
    sop_class = UID(str(ds.get("SOPClassUID", "")))
    if sop_class in OWN_CLASSES and str(ds.get("Manufacturer", "")) == MANUFACTURER:
        raise Ignored()
    if sop_class not in MR_CLASSES:
        name = sop_class.name if sop_class.is_valid else "an unknown SOP class"
        raise Refused(SOP_CLASS_NOT_SUPPORTED, f"{name} is not accepted; NeuroLens takes MR images only")
    try:
        dicom.check_image(ds, settings.MIN_IMAGE_SIDE, settings.MAX_IMAGE_SIDE)
        series = str(ds.SeriesInstanceUID)
        if not (series and ds.get("StudyInstanceUID") and ds.get("SOPInstanceUID")):
            raise ScanRejected("corrupt_file", "the instance lacks its Study, Series or SOP Instance UID")
        _check_pixels(ds)
    except ScanRejected as exc:
        status = DOES_NOT_MATCH if exc.code == "unsupported_modality" else CANNOT_UNDERSTAND
        raise Refused(status, exc.message) from None
    except Exception:  # noqa: BLE001 - a damaged dataset breaks pydicom in many ways; all mean the same
        raise Refused(CANNOT_UNDERSTAND, "the data set cannot be read") from None
    return digest(series)


def _check_pixels(ds: Dataset) -> None:
    """Decodable pixels, checked before the sender is answered: compressed ones are decoded here (pydicom
    keeps the array for complete()); uncompressed ones must hold every byte their pixel module declares,
    the check that costs nothing on the association's thread."""
    syntax = ds.file_meta.get("TransferSyntaxUID") if ds.file_meta is not None else None
    if syntax is not None and syntax.is_encapsulated:
        try:
            _frames(ds)
        except ScanRejected:
            raise
        except Exception:  # noqa: BLE001 - each codec fails in its own way; all mean the same here
            raise ScanRejected("corrupt_file", "the compressed pixel data cannot be decoded") from None
        return
    if len(ds.PixelData) < get_expected_length(ds):
        raise ScanRejected("corrupt_file", "the pixel data is shorter than its rows, columns and frames declare")


def complete(ds: Dataset, series_digest: str) -> list[Frame]:
    """De-identify a screened instance and decode its frames (Refused if the pixels cannot be read)."""
    try:
        originals = _originals(ds)
        deidentify(ds)  # from here on nothing identifying is left in ds
        return _slices(ds, originals, _frames(ds))
    except ScanRejected as exc:
        raise Refused(CANNOT_UNDERSTAND, exc.message) from None
    except Exception:  # noqa: BLE001 - see screen
        raise Refused(CANNOT_UNDERSTAND, "the image cannot be decoded") from None


def _originals(ds: Dataset) -> dict:
    """What outbound objects need, read before de-identification and only ever stored sealed."""
    values = {k: str(ds.get(k, "") or "") for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
                                                  "SOPClassUID", *PATIENT_STUDY)}
    if not (values["StudyInstanceUID"] and values["SeriesInstanceUID"] and values["SOPInstanceUID"]):
        raise ValueError("instance without its UIDs")
    values["patient_ref"] = (dicom.patient_key(values["PatientID"], settings.PATIENT_KEY_SECRET)
                             if values["PatientID"].strip() else "")
    return values


def _frames(ds: Dataset) -> np.ndarray:
    """(frames, rows, columns) stored values."""
    pixels = ds.pixel_array
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if count == 1:
        pixels = pixels[None]
    if pixels.ndim != 3:
        raise ScanRejected("unsupported_image", "only grey-scale images are accepted")
    return pixels


def _slices(ds: Dataset, o: dict, raw: np.ndarray) -> list[Frame]:
    study = {k: o[k] for k in ("StudyInstanceUID", *PATIENT_STUDY)}
    series = {"SeriesInstanceUID": o["SeriesInstanceUID"]}
    number = ds.get("SeriesNumber")
    instance = int(ds.get("InstanceNumber", 0) or 0)
    metadata = dicom.kept_metadata(ds)
    out = []
    for index, stored_values in enumerate(raw):
        out.append(Frame(
            study_digest=digest(o["StudyInstanceUID"]), series_digest=digest(o["SeriesInstanceUID"]),
            uid_digest=digest(o["SOPInstanceUID"], str(index + 1)), frame=index + 1,
            position=instance * 10000 + index,
            study_sealed=study, series_sealed=series,
            slice_sealed={"SOPInstanceUID": o["SOPInstanceUID"], "SOPClassUID": o["SOPClassUID"],
                          "frame": index + 1, "frames": len(raw)},
            patient_ref=o["patient_ref"], series_number=int(number) if number not in (None, "") else None,
            description=str(ds.get("SeriesDescription", "") or "")[:64],
            metadata=metadata, ds=ds, raw=stored_values))
    return out


NOT_COPIED = {"PixelData", "NumberOfFrames", "FrameIncrementPointer", "ExtendedOffsetTable",
              "ExtendedOffsetTableLengths"}


def _staged(ds: Dataset, raw: np.ndarray, key: str) -> bytes:
    """One frame as the single-frame, uncompressed, de-identified DICOM file a batch stages, its
    Patient ID the sealed key (scans.intake.dicom.staged_upload's form): the batch path then reads
    it exactly as an uploaded DICOM file (patient pseudonym, technical attributes, windowing)."""
    one = Dataset()
    one.file_meta = FileMetaDataset()
    one.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    for elem in ds:
        if elem.keyword not in NOT_COPIED:
            one.add(elem)
    one.set_pixel_data(np.ascontiguousarray(raw), str(ds.PhotometricInterpretation), int(ds.BitsStored))
    dicom.seal_for_staging(one, key, settings.PATIENT_KEY_SECRET)
    buf = io.BytesIO()
    one.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _window(ds: Dataset, frame: np.ndarray) -> tuple[float, float]:
    try:
        center, width = ds.WindowCenter, ds.WindowWidth
        center = float(center[0] if isinstance(center, MultiValue) else center)
        width = float(width[0] if isinstance(width, MultiValue) else width)
        if width > 0:
            return center, width
    except (AttributeError, TypeError, ValueError, IndexError):
        pass
    lo, hi = np.percentile(frame, (0.5, 99.5))
    return float((lo + hi) / 2), float(max(hi - lo, 1.0))


def png16(values: np.ndarray) -> bytes:
    """A 16-bit grey PNG of `values` (uint16), written here: each row Up-filtered (the row above
    subtracted, byte by byte, as PNG defines it) and deflated with run-length matching at level 1.
    About half the time Pillow's encoder takes for the same size, on the listener's busiest path."""
    height, width = values.shape
    rows = np.ascontiguousarray(values, ">u2").view(np.uint8).reshape(height, width * 2)
    raw = np.empty((height, width * 2 + 1), np.uint8)
    raw[:, 0] = 2  # filter type Up
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])  # uint8: modulo 256, as the filter is
    deflate = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    body = deflate.compress(raw.tobytes()) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)  # 16 bits, grey, no interlace
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
