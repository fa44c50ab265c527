"""DICOM files built for the tests, full of identifying values that must never come out again."""

from __future__ import annotations

import io

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from tests.helpers import mri_slice

PATIENT_NAME = "Zyxwut^Quorvena"
PATIENT_ID = "PID-9938271"
#  Every value below is identifying: none may appear in anything NeuroLens stores, logs or answers.
SECRETS = {
    "name": "Zyxwut", "given": "Quorvena", "id": "9938271", "birth": "19580214", "study_date": "20240117",
    "institution": "Elsewhere General", "physician": "Housegreg", "operator": "Opsalvatore",
    "serial": "SN77X1ABC", "accession": "ACC5550123", "private": "PRIVATE-SECRET-42", "address": "12 Rue Morgue",
    "study_uid": "1.2.826.0.1.3680043.8.498.111222333", "series_uid": "1.2.826.0.1.3680043.8.498.444555666",
    "station": "MRSTATION7Q",
}


def mr_dataset(patient_id: str = PATIENT_ID, seed: int = 0, frames: int = 1, size: int = 128,
               modality: str = "MR", pixels: bool = True) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.777888999"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.777888999"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = SECRETS["study_uid"], SECRETS["series_uid"]
    ds.PatientName, ds.PatientID = PATIENT_NAME, patient_id
    ds.PatientBirthDate, ds.StudyDate, ds.SeriesDate = SECRETS["birth"], SECRETS["study_date"], SECRETS["study_date"]
    ds.StudyTime = "101530"
    ds.PatientAddress = SECRETS["address"]
    ds.InstitutionName = f"St {SECRETS['institution']}"
    ds.ReferringPhysicianName = f"{SECRETS['physician']}^Gregory"
    ds.OperatorsName = f"{SECRETS['operator']}^X"
    ds.DeviceSerialNumber, ds.AccessionNumber = SECRETS["serial"], SECRETS["accession"]
    ds.StationName = SECRETS["station"]
    ds.Modality = modality
    ds.SeriesDescription = "T1 AX POST Zyxwut"
    ds.PixelSpacing, ds.SliceThickness = [0.5, 0.5], 5
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    block = ds.private_block(0x0011, "ACME NEUROLENS TEST", create=True)
    block.add_new(0x01, "LO", SECRETS["private"])
    if pixels:
        _add_pixels(ds, seed, frames, size)
    return ds


def _add_pixels(ds: Dataset, seed: int, frames: int, size: int) -> None:
    stack = []
    for f in range(frames):
        grey = np.asarray(mri_slice(size, seed + f), np.uint16)
        #  Only the middle frame has anatomy: a reader that takes another frame sees black.
        stack.append(grey * 8 if f == frames // 2 else np.zeros_like(grey))
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = np.stack(stack).tobytes() if frames > 1 else stack[0].tobytes()


def to_bytes(ds: Dataset, preamble: bool = True) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=preamble, implicit_vr=False, little_endian=True)
    return buf.getvalue()


def mr_file(**kwargs) -> bytes:
    return to_bytes(mr_dataset(**kwargs))


def leaked(text: str | bytes) -> list[str]:
    """The identifying values found in `text`."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    low = text.lower()
    return [key for key, value in SECRETS.items() if value.lower() in low] + (
        ["patient_id"] if PATIENT_ID.lower() in low else [])
