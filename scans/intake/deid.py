"""De-identification of what an upload carries besides its pixels, before anything touches the disk.

DICOM (`deidentify`): an allow-list, not a deny-list. Only the attributes NeuroLens needs to decode
the pixels and to describe the acquisition are kept (KEPT), each value checked to be what its kind
allows (a number, a code of a fixed vocabulary, a UID); every other element goes, file meta
included. That removes everything DICOM PS3.15's basic confidentiality profile removes (and more),
including private elements, overlays, curves and every free-text attribute, wherever it sits.
Instance UIDs are replaced by new ones. The series description is free text typed at the scanner:
it is replaced by a description built only from a fixed list of sequence words (`sequence_label`),
so no word that is not on the list can come through.

JPEG and PNG (`strip_image_metadata`): the file is rewritten without any segment or chunk that is
not needed to draw the pixels (EXIF, XMP, IPTC, ICC, comments, PNG text chunks, data after the end),
losslessly; a JPEG with an EXIF rotation is re-encoded upright instead, so that what is shown is
what was classified.
"""

from __future__ import annotations

import io
import logging
import re
import struct
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from scans.intake.errors import ScanRejected

if TYPE_CHECKING:
    from pydicom import Dataset

#  Attributes kept, with how their values are checked: "number", "uid" (replaced by a new one unless
#  it names a kind of object), "code" (one of a fixed vocabulary), "pixels" (bytes or LUTs, needed
#  to decode; not text). Anything else, anywhere in the file, is removed.
_PIXELS = ["Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "BitsStored", "HighBit",
           "PixelRepresentation", "PlanarConfiguration", "NumberOfFrames", "FrameIncrementPointer",
           "SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue", "PixelPaddingRangeLimit",
           "PixelData", "FloatPixelData", "DoubleFloatPixelData", "ExtendedOffsetTable",
           "ExtendedOffsetTableLengths", "RedPaletteColorLookupTableDescriptor",
           "GreenPaletteColorLookupTableDescriptor", "BluePaletteColorLookupTableDescriptor",
           "RedPaletteColorLookupTableData", "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
           "LUTDescriptor", "LUTData", "PixelAspectRatio", "FileMetaInformationVersion",
           "FileMetaInformationGroupLength"]
_NUMBERS = ["RescaleIntercept", "RescaleSlope", "WindowCenter", "WindowWidth", "PixelSpacing", "SliceThickness",
            "SpacingBetweenSlices", "ImageOrientationPatient", "MagneticFieldStrength", "RepetitionTime",
            "EchoTime", "InversionTime", "FlipAngle", "EchoTrainLength", "InstanceNumber", "SeriesNumber",
            "AcquisitionNumber", "LossyImageCompressionRatio"]
_UIDS = ["SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "MediaStorageSOPInstanceUID"]
CLASS_UIDS = ["SOPClassUID", "MediaStorageSOPClassUID", "TransferSyntaxUID", "ImplementationClassUID"]
CODES = {
    "Modality": {"MR", "CT", "CR", "DX", "MG", "US", "NM", "PT", "XA", "RF", "OT", "SC", "SR", "SEG", "PR",
                 "DOC", "KO", "RTSTRUCT", "RTIMAGE", "RTDOSE", "RTPLAN", "ECG", "IO", "PX", "XC", "OP", "SM"},
    "PhotometricInterpretation": {"MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR", "YBR_FULL",
                                  "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "YBR_PARTIAL_420"},
    "MRAcquisitionType": {"2D", "3D"},
    "ScanningSequence": {"SE", "IR", "GR", "EP", "RM"},
    "SequenceVariant": {"SK", "MTC", "SS", "TRSS", "SP", "MP", "OSP", "NONE"},
    "BurnedInAnnotation": {"YES", "NO"},
    "VOILUTFunction": {"LINEAR", "LINEAR_EXACT", "SIGMOID"},
    "RescaleType": {"US", "OD", "HU", "MGML", "Z_EFF", "ED", "EDW", "HU_MOD", "PCT"},
    "ModalityLUTType": {"US", "OD", "HU", "MGML", "Z_EFF", "ED", "EDW", "HU_MOD", "PCT"},
    "LossyImageCompression": {"00", "01"},
    "PixelPresentation": {"MONOCHROME", "COLOR", "MIXED", "TRUE_COLOR"},
    "SpecificCharacterSet": {"ISO_IR 100", "ISO_IR 192", "ISO_IR 6", ""},
}
#  The only sequences kept (the pixel pipeline reads them); their items are held to the same rules.
SEQUENCES = {"ModalityLUTSequence", "VOILUTSequence"}
KEPT = ({k: "pixels" for k in _PIXELS} | {k: "number" for k in _NUMBERS} | {k: "uid" for k in _UIDS}
        | {k: "class_uid" for k in CLASS_UIDS} | {k: "code" for k in CODES} | {k: "sequence" for k in SEQUENCES})

#  The words a series description may keep: a sequence's name, weighting, plane and contrast. A
#  description is rebuilt from these alone, in the order they appear (see `sequence_label`).
SEQUENCE_WORDS = {
    "T1": "T1", "T1W": "T1", "T2": "T2", "T2W": "T2", "T2*": "T2*", "PD": "PD", "PDW": "PD", "FLAIR": "FLAIR",
    "DWI": "DWI", "DIFFUSION": "DWI", "ADC": "ADC", "SWI": "SWI", "GRE": "GRE", "TOF": "TOF", "MRA": "MRA",
    "DTI": "DTI", "STIR": "STIR", "MPRAGE": "MPRAGE", "SPGR": "SPGR", "FSPGR": "FSPGR", "BRAVO": "BRAVO",
    "SPACE": "SPACE", "CUBE": "CUBE", "TSE": "TSE", "FSE": "FSE", "SE": "SE", "EPI": "EPI", "PERF": "PERFUSION",
    "PERFUSION": "PERFUSION", "DSC": "DSC", "DCE": "DCE", "ASL": "ASL", "LOCALIZER": "LOCALIZER",
    "SCOUT": "LOCALIZER", "AX": "AX", "AXIAL": "AX", "TRA": "AX", "SAG": "SAG", "SAGITTAL": "SAG", "COR": "COR",
    "CORONAL": "COR", "2D": "2D", "3D": "3D", "POST": "POST", "PRE": "PRE", "GAD": "GAD", "GD": "GAD",
    "+C": "+C", "C+": "+C", "CONTRAST": "+C", "FS": "FS", "FATSAT": "FS", "MIP": "MIP",
}
_MAX_WORDS = 8
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def deidentify(ds: Dataset) -> None:
    """Strip `ds` in place, file meta included, to the allow-list; rebuild the series description."""
    label = sequence_label(str(ds.get("SeriesDescription", "") or ""))
    uids: dict[str, str] = {}
    _keep_only(ds, uids)
    if ds.file_meta is not None:
        _keep_only(ds.file_meta, uids)
    if label:
        ds.SeriesDescription = label


def sequence_label(text: str) -> str:
    """The words of SEQUENCE_WORDS found in `text`, in their order, each once: nothing else."""
    words: list[str] = []
    for token in re.split(r"[^A-Za-z0-9+*]+", text.upper()):
        word = SEQUENCE_WORDS.get(token)
        if word and word not in words:
            words.append(word)
    return " ".join(words[:_MAX_WORDS])


def _keep_only(ds: Dataset, uids: dict[str, str]) -> None:
    from pydicom.datadict import keyword_for_tag  # loaded with the data set being read (scans.intake.dicom)

    #  By tag, so that an element to be removed is never converted from its raw bytes (most are removed).
    for tag in list(ds.keys()):
        kind = KEPT.get(keyword_for_tag(tag)) if not tag.is_private else None
        if kind is None or not _acceptable(ds[tag], kind, uids):
            del ds[tag]


def _acceptable(elem, kind: str, uids: dict[str, str]) -> bool:
    values = _values(elem.value)
    if kind == "pixels":
        return not any(isinstance(v, str) for v in values)
    if kind == "number":
        return all(_is_number(v) for v in values)
    if kind == "code":
        return all(str(v).strip().upper() in CODES[elem.keyword] for v in values)
    if kind == "class_uid":
        return all(_UID.match(str(v)) and len(str(v)) <= 64 for v in values)
    if kind == "uid":
        from pydicom.uid import generate_uid  # loaded with the data set being read (scans.intake.dicom)

        new = [uids.setdefault(str(v), generate_uid()) for v in values]
        elem.value = new if elem.VM > 1 else (new[0] if new else "")
        return True
    if kind == "sequence":
        for item in elem.value:
            _keep_only(item, uids)
        return True
    return False


def _values(value) -> list:
    if value is None or isinstance(value, (bytes, bytearray)):
        return []
    if isinstance(value, (str, int, float)):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


# --- JPEG and PNG ------------------------------------------------------------------------------

#  Pillow logs every EXIF tag's value at DEBUG level as it reads them (an artist, a description): not
#  one of them may reach the logs, whatever level a deployment runs at.
logging.getLogger("PIL.TiffImagePlugin").setLevel(logging.INFO)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#  PNG chunks needed to draw the pixels; every other chunk (tEXt, zTXt, iTXt, eXIf, tIME, iCCP, ...) goes.
_PNG_KEEP = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
_DAMAGED = ("corrupt_file", "The image is truncated or damaged and cannot be read.")


def strip_image_metadata(data: bytes, fmt: str) -> bytes:
    """`data` (a JPEG or PNG already checked by Pillow) without metadata; ScanRejected if damaged."""
    try:
        if fmt == "PNG":
            return _strip_png(data)
        if fmt == "JPEG":
            return _upright_jpeg(data) if _rotated(data) else _strip_jpeg(data)
    except (IndexError, ValueError, struct.error, OSError, SyntaxError):
        raise ScanRejected(*_DAMAGED) from None
    return data


def _strip_png(data: bytes) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    out, pos = [_PNG_SIGNATURE], len(_PNG_SIGNATURE)
    while True:
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("truncated chunk")
        if kind in _PNG_KEEP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)  # whatever follows the end is dropped


def _strip_jpeg(data: bytes) -> bytes:
    """Every marker segment copied except APPn (EXIF, XMP, ICC, IPTC, JFIF thumbnails) and COM; an
    Adobe APP14 is rebuilt from its fixed fields alone (its colour-transform flag is needed)."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    out, pos = [b"\xff\xd8"], 2
    while True:
        if data[pos] != 0xFF:
            raise ValueError("marker expected")
        while data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            out.append(b"\xff\xd9")
            return b"".join(out)  # whatever follows the end is dropped
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(bytes((0xFF, marker)))
            continue
        length = int.from_bytes(data[pos:pos + 2], "big")
        segment = data[pos:pos + length]
        if length < 2 or len(segment) < length:
            raise ValueError("truncated segment")
        pos += length
        if marker == 0xEE and segment[2:7] == b"Adobe" and length >= 14:
            out.append(b"\xff\xee\x00\x0e" + segment[2:14])
        elif not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            out.append(bytes((0xFF, marker)) + segment)
        if marker == 0xDA:  # entropy-coded data: up to the next marker that is not a restart or a stuffed 0
            end = pos
            while True:
                end = data.index(b"\xff", end)
                following = data[end + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    end += 2
                    continue
                break
            out.append(data[pos:end])
            pos = end


def _rotated(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as img:
        return img.getexif().get(0x0112, 1) not in (1, 0)


def _upright_jpeg(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        upright = ImageOps.exif_transpose(img)
    clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())  # no info, no EXIF
    buf = io.BytesIO()
    clean.save(buf, "JPEG", quality=95, subsampling=0)
    return buf.getvalue()
