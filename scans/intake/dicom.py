"""DICOM uploads: read, refuse what cannot be used, de-identify, then turn the pixels into an image.

De-identification happens on the parsed dataset before anything leaves this module; what comes out
is a grey-scale image, a pseudonymous patient key and a few technical attributes. The DICOM file
itself is never stored (see README, "DICOM"), so no attribute this profile misses can reach the disk.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from scans.intake.deid import deidentify, strip_image_metadata
from scans.intake.errors import ScanRejected
from scans.intake.limits import check_size

if TYPE_CHECKING:
    import pydicom


@dataclass(frozen=True)
class DicomImage:
    image: Image.Image  # 8-bit grey, windowed as the file asks
    patient_key: str  # "" when the file has no Patient ID
    metadata: dict = field(default_factory=dict)  # technical attributes kept, JSON-ready


#  The technical attributes shown with the scan: (keyword, label).
KEPT = [
    ("SeriesDescription", "Sequence"),
    ("MRAcquisitionType", "Acquisition"),
    ("PixelSpacing", "Pixel spacing (mm)"),
    ("SliceThickness", "Slice thickness (mm)"),
    ("ImageOrientationPatient", "Orientation (direction cosines)"),
    ("MagneticFieldStrength", "Field strength (T)"),
    ("RepetitionTime", "Repetition time (ms)"),
    ("EchoTime", "Echo time (ms)"),
]


#  A data set has at least one of these; bytes that a forced read took for elements have none.
_DICOM_CORE = ("SOPClassUID", "Modality", "PixelData", "Rows", "StudyInstanceUID")


def patient_key(patient_id: str, secret: str) -> str:
    """A keyed hash: the same patient always gets the same key, and the key does not give the ID back."""
    digest = hmac.new(secret.encode(), patient_id.strip().encode(), hashlib.sha256).hexdigest()
    return f"dcm-{digest[:24]}"


#  pydicom's validation messages and warnings quote element values (a malformed birth date, a UID),
#  which would carry identifying data into the logs before de-identification: none are emitted.
#  Set for the process, once pydicom is imported (its import sets its logger to WARNING); per-call
#  filters are not thread-safe.
warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")


def configured_pydicom():
    """pydicom, validating nothing (so quoting no value) as it reads. Imported here, on the first DICOM
    file, not with this module: about 40 MB and 0.3 s that a web process seeing no DICOM is spared.
    Every module that reads DICOM calls this (scans.studies.receive for the network intake)."""
    import pydicom
    import pydicom.pixels

    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    logging.getLogger("pydicom").setLevel(logging.CRITICAL + 1)
    return pydicom


def read_dicom(data: bytes, *, secret: str, min_side: int, max_side: int, force: bool = False) -> DicomImage:
    ds, key = _parse_and_deidentify(data, secret, force)
    try:
        check_image(ds, min_side, max_side)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        frame = frames // 2
        pixels = _decode_frame(ds, frame if frames > 1 else None)
        image = _to_grey(pixels, ds)
        metadata = kept_metadata(ds)
    except ScanRejected:
        raise
    except Exception:  # noqa: BLE001 - a damaged file can break pydicom in many ways; all mean the same
        raise ScanRejected("corrupt_file", "The DICOM file is damaged or truncated and cannot be read.") from None
    if frames > 1:
        metadata["Frame"] = f"{frame + 1} of {frames} (the middle frame was classified)"
    return DicomImage(image, key, metadata)


def _parse_and_deidentify(data: bytes, secret: str, force: bool) -> tuple[pydicom.Dataset, str]:
    try:
        ds = configured_pydicom().dcmread(io.BytesIO(data), force=force)
        if not any(elem.tag.element for elem in ds):  # group lengths alone: zeros after a DICM marker
            raise ValueError("no data elements")
        if not any(keyword in ds for keyword in _DICOM_CORE):  # bytes a forced read took for elements
            raise ValueError("not a DICOM data set")
        patient_id = str(ds.get("PatientID", "") or "").strip()
        sealed = str(ds.get("DeidentificationMethod", "") or "")
        deidentify(ds)  # from here on nothing identifying is left in ds
    except Exception:  # noqa: BLE001 - see read_dicom
        raise ScanRejected("corrupt_file", "The DICOM file is damaged or truncated and cannot be read.") from None
    if patient_id and hmac.compare_digest(sealed, _seal(patient_id, secret)):
        return ds, patient_id  # staged by staged_upload: the ID is already the key
    return ds, patient_key(patient_id, secret) if patient_id else ""


def staged_upload(data: bytes, name: str, secret: str, sniffed: str | None) -> tuple[bytes, str]:
    """What may be stored of an upload before it is read (batches stage files for their workers),
    with a neutral description of it (never the upload's name): a DICOM file comes back
    de-identified, its Patient ID replaced by the key and sealed with the secret (so read_dicom
    takes it as the key, and nobody can forge one), described by its modality and instance number
    ("MR, instance 12"); a JPEG or PNG comes back without its metadata ("PNG"). Anything else comes
    back as it is ("file"). `sniffed` is the format ingest.sniff_format found (the caller asks: this
    module sits below ingest)."""
    is_dicom = sniffed == "DICOM"
    if sniffed in ("JPEG", "PNG"):
        return strip_image_metadata(data, sniffed), sniffed
    if not (is_dicom or name.lower().endswith(".dcm")):
        return data, "file"
    ds, key = _parse_and_deidentify(data, secret, force=not is_dicom)
    seal_for_staging(ds, key, secret)
    buf = io.BytesIO()
    try:
        ds.save_as(buf, enforce_file_format=True)
    except Exception:  # noqa: BLE001 - see read_dicom
        raise ScanRejected("corrupt_file", "The DICOM file is damaged or truncated and cannot be read.") from None
    return buf.getvalue(), dicom_description(ds)


def dicom_description(ds: pydicom.Dataset) -> str:
    """"MR, instance 12": only the kept, checked technical attributes (see deid.KEPT)."""
    modality = str(ds.get("Modality", "") or "DICOM")
    instance = ds.get("InstanceNumber")
    return f"{modality}, instance {int(float(instance))}" if instance not in (None, "") else modality


def seal_for_staging(ds: pydicom.Dataset, key: str, secret: str) -> None:
    """Mark a de-identified data set for staging: its Patient ID becomes the key, sealed with the
    secret, so that read_dicom takes it as the key (and nobody can forge one). Also used by the
    DICOM network intake (scans/studies), which stages each received slice this way."""
    ds.PatientIdentityRemoved = "YES"
    if key:
        ds.PatientID, ds.DeidentificationMethod = key, _seal(key, secret)


def _seal(key: str, secret: str) -> str:
    return "NeuroLens " + hmac.new(secret.encode(), f"staged:{key}".encode(), hashlib.sha256).hexdigest()[:40]


def check_image(ds: pydicom.Dataset, min_side: int, max_side: int) -> None:
    """Refuse what NeuroLens cannot read: another modality, burned-in text, no pixels, a bad size."""
    modality = str(ds.get("Modality", "") or "").strip()
    if modality != "MR":
        shown = modality or "of no stated modality"
        raise ScanRejected("unsupported_modality", f"This DICOM file is {shown}, not MR; NeuroLens reads MRI only.")
    if str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        #  Text drawn into the pixels (names, dates) survives any removal of attributes.
        raise ScanRejected("burned_in_annotation", "This DICOM image has text burned into its pixels, which "
                                                   "cannot be de-identified here; upload a clean export.")
    if "PixelData" not in ds:
        raise ScanRejected("no_pixel_data", "This DICOM file holds no image (no pixel data).")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    check_size(cols, rows, min_side, max_side)


def _decode_frame(ds: pydicom.Dataset, index: int | None) -> np.ndarray:
    syntax = ds.file_meta.get("TransferSyntaxUID") if ds.file_meta is not None else None
    try:
        if index is None:
            return ds.pixel_array
        return configured_pydicom().pixels.pixel_array(ds, index=index)
    except (NotImplementedError, RuntimeError) as exc:
        if syntax is not None and syntax.is_compressed:
            raise ScanRejected(
                "unsupported_compression",
                f"The image is compressed as {syntax.name}, which NeuroLens cannot decode; "
                "export it uncompressed (Explicit VR Little Endian) and upload again.",
            ) from exc
        raise ScanRejected("corrupt_file", "The DICOM image cannot be decoded.") from exc
    except (ValueError, TypeError, EOFError, KeyError, AttributeError, IndexError):
        raise ScanRejected("corrupt_file", "The DICOM file is damaged or truncated and cannot be read.") from None


def _to_grey(pixels: np.ndarray, ds: pydicom.Dataset) -> Image.Image:
    """Modality LUT (stored values -> physical), then the file's VOI LUT or window, then 0-255."""
    if ds.get("SamplesPerPixel", 1) != 1:
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert("L")
    windowed = "WindowCenter" in ds or "VOILUTSequence" in ds
    #  Both LUTs map each value alone: applied a band of rows at a time into one float32 array, so a
    #  large image is never held as float64 (what pydicom returns) whole.
    luts = configured_pydicom().pixels
    arr = np.empty(pixels.shape, np.float32)
    for start in range(0, pixels.shape[0], 256):
        band = luts.apply_modality_lut(pixels[start:start + 256], ds)
        arr[start:start + 256] = luts.apply_voi_lut(band, ds, index=0) if windowed else band
    lo, hi = (float(arr.min()), float(arr.max())) if windowed else np.percentile(arr, (0.5, 99.5))
    if hi <= lo:
        hi = lo + 1.0
    inverted = str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1"  # low values are white
    out = np.empty(arr.shape, np.uint8)
    for start in range(0, arr.shape[0], 256):
        grey = np.clip((arr[start:start + 256] - lo) * (255.0 / (hi - lo)), 0, 255)
        out[start:start + 256] = np.round(255 - grey if inverted else grey)
    return Image.fromarray(out, "L")


def kept_metadata(ds: pydicom.Dataset) -> dict:
    pd = configured_pydicom()
    kept = {}
    for keyword, label in KEPT:
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        if isinstance(value, pd.multival.MultiValue):
            kept[label] = ", ".join(f"{float(v):g}" for v in value)
        elif isinstance(value, (int, float, pd.valuerep.DSfloat, pd.valuerep.IS)):
            kept[label] = f"{float(value):g}"
        else:
            kept[label] = str(value)[:120]
    return kept
